#include <string>
#include <vector>

#include "cli/commands.h"

int main(int argc, char** argv) {
  pbxwall::cli::Context ctx;
  const std::vector<std::string> args(argv, argv + argc);
  return pbxwall::cli::run_cli(args, ctx);
}

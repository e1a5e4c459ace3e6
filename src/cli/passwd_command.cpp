// `pbxwall passwd`: sets the admin password of the web UI. The password is read from the
// terminal without echo (twice), or as one line from standard input when that is not a
// terminal (`echo ... | pbxwall passwd`), and stored as an Argon2id hash in [web] password_file.
#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

#include "cli/commands.h"
#include "http/password.h"
#include "http/settings.h"
#include "model/model.h"

namespace pbxwall::cli {
namespace {

std::string read_line(std::istream& in, bool hide) {
  termios saved{};
  const bool tty = hide && ::isatty(STDIN_FILENO) && ::tcgetattr(STDIN_FILENO, &saved) == 0;
  if (tty) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  std::getline(in, line);
  if (tty) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// [web] password_file of the configuration, or the default when the file has no [web].
Result<std::string> password_path(const Context& ctx) {
  auto config = model::load_file(ctx.config_path);
  if (!config.ok()) {
    if (!std::filesystem::exists(ctx.config_path)) return std::string(http::kDefaultPasswordFile);
    std::string s;
    for (const auto& d : config.error()) s += d.str() + "\n";
    return fail(s);
  }
  const toml::table* web = config->table ? (*config->table)["web"].as_table() : nullptr;
  auto settings = http::web_settings_from_toml(web, ctx.config_path);
  if (!settings.ok()) {
    std::string s;
    for (const auto& d : settings.error()) s += d.str() + "\n";
    return fail(s);
  }
  return settings->password_file;
}

}  // namespace

void add_passwd_command(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("passwd", "Set the admin password of the web UI");
  auto file = std::make_shared<std::string>();
  cmd->add_option("--file", *file, "password file (default: [web] password_file)");
  cmd->callback([&ctx, file] {
    std::string path = *file;
    if (path.empty()) {
      auto p = password_path(ctx);
      if (!p.ok()) {
        ctx.e() << p.error();
        ctx.exit_status = kExitInvalid;
        return;
      }
      path = *p;
    }
    const bool tty = ::isatty(STDIN_FILENO) != 0;
    if (tty) ctx.o() << "New web UI password: " << std::flush;
    const std::string password = read_line(std::cin, true);
    if (tty) {
      ctx.o() << "\nAgain: " << std::flush;
      const std::string again = read_line(std::cin, true);
      ctx.o() << "\n";
      if (again != password) {
        ctx.e() << "pbxwall passwd: the passwords differ; nothing changed\n";
        ctx.exit_status = kExitInvalid;
        return;
      }
    }
    auto hash = http::hash_password(password);
    if (!hash.ok()) {
      ctx.e() << "pbxwall passwd: " << hash.error() << "\n";
      ctx.exit_status = kExitInvalid;
      return;
    }
    if (auto written = http::write_password_file(path, *hash); !written.ok()) {
      ctx.e() << "pbxwall passwd: " << written.error() << "\n";
      ctx.exit_status = kExitFailure;
      return;
    }
    ctx.o() << "web UI admin password set (" << path << ")\n";
  });
}

}  // namespace pbxwall::cli

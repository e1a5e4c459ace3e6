// Lists the accounts a PBX configuration defines, read with pbxwall's own Asterisk reader
// (src/pbx): one line per PJSIP endpoint and per chan_iax2 peer or friend, with its place.
//
//   pbx_accounts ASTERISK_ROOT
//     pjsip 300 pjsip.endpoint.conf:5
//     iax2 400 iax.conf:14
//
// tests/lab/asterisk-discovery compares them with what a running Asterisk reports.
#include <iostream>
#include <string>

#include "pbx/asterisk_config.h"
#include "pbx/filesystem.h"

namespace {

using pbxwall::pbx::ConfigSection;

std::string type_of(const ConfigSection& s) {
  const auto* type = s.find("type");
  return type ? type->value : "";
}

std::string place(const ConfigSection& s, const std::string& root) {
  std::string file = s.file;
  if (file.rfind(root + "/", 0) == 0) file = file.substr(root.size() + 1);
  return file + ":" + std::to_string(s.line);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: pbx_accounts ASTERISK_ROOT\n";
    return 2;
  }
  const std::string root = argv[1];
  pbxwall::pbx::DiskFileSystem fs;
  pbxwall::Diagnostics diagnostics;
  const auto pjsip = pbxwall::pbx::load_asterisk_config(fs, root, "pjsip.conf", diagnostics);
  const auto iax = pbxwall::pbx::load_asterisk_config(fs, root, "iax.conf", diagnostics);
  for (const auto& d : diagnostics) std::cerr << d.str() << "\n";
  for (const auto& s : pjsip.sections)
    if (!s.is_template && type_of(s) == "endpoint") std::cout << "pjsip " << s.name << " " << place(s, root) << "\n";
  for (const auto& s : iax.sections) {
    const std::string type = type_of(s);
    if (!s.is_template && (type == "friend" || type == "peer" || type == "user"))
      std::cout << "iax2 " << s.name << " " << place(s, root) << "\n";
  }
  return pbxwall::has_errors(diagnostics) ? 1 : 0;
}

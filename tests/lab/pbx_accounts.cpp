// Lists the accounts pbxwall's discovery (src/pbx, the list pbxwalld gives the engine) finds in
// a PBX configuration: one line per PJSIP endpoint and per chan_iax2 peer, user or friend, with
// its place. The aors and auth usernames discovery also keeps have no `show` command to
// compare with.
//
//   pbx_accounts ASTERISK_ROOT
//     pjsip 300 pjsip.endpoint.conf:5
//     iax2 400 iax.conf:14
//
// tests/lab/asterisk-discovery compares them with what a running Asterisk reports.
#include <iostream>
#include <string>

#include "pbx/discovery.h"
#include "pbx/filesystem.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: pbx_accounts ASTERISK_ROOT\n";
    return 2;
  }
  const std::string root = argv[1];
  pbxwall::pbx::DiskFileSystem fs;
  const auto found = pbxwall::pbx::discover(fs, root);
  for (const auto& d : found.diagnostics) std::cerr << d.str() << "\n";
  auto place = [&](const pbxwall::pbx::Origin& o) {
    std::string file = o.file;
    if (file.rfind(found.root + "/", 0) == 0) file = file.substr(found.root.size() + 1);
    return file + ":" + std::to_string(o.line);
  };
  for (const auto& a : found.accounts) {
    if (a.via == "pjsip endpoint") std::cout << "pjsip " << a.name << " " << place(a.origin) << "\n";
    else if (a.driver == "chan_iax2") std::cout << "iax2 " << a.name << " " << place(a.origin) << "\n";
  }
  return pbxwall::has_errors(found.diagnostics) ? 1 : 0;
}

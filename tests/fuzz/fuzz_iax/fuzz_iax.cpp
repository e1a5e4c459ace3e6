// libFuzzer target for the IAX2 parser: every view and span it returns must lie inside the
// datagram; anything else aborts.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

#include "iax/iax.h"

namespace {

void require_inside(const void* p, std::size_t n, const std::uint8_t* data, std::size_t size) {
  if (n == 0) return;
  auto* b = static_cast<const std::uint8_t*>(p);
  if (b < data || b + n > data + size) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto r = pbxwall::iax::parse(std::span<const std::uint8_t>(data, size));
  if (!r.ok()) {
    if (r.error().offset > size) std::abort();
    return 0;
  }
  const auto& f = *r;
  require_inside(f.payload.data(), f.payload.size(), data, size);
  for (std::string_view v : {f.ies.username, f.ies.called_number, f.ies.calling_number, f.ies.calling_name,
                             f.ies.called_context, f.ies.cause})
    require_inside(v.data(), v.size(), data, size);
  if (f.ies.count < 0 || static_cast<std::size_t>(f.ies.count) * 2 > size) std::abort();
  return 0;
}

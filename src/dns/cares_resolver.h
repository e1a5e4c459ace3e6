// Resolver over c-ares. Each lookup runs the c-ares channel to completion with poll(), so a
// lookup blocks its caller for at most `timeout` x `tries`; the daemon calls it from a worker
// thread. The channel uses /etc/resolv.conf unless servers are given.
#pragma once

#include <memory>
#include <string>

#include "base/result.h"
#include "dns/resolver.h"

namespace pbxwall::dns {

struct CaresOptions {
  std::string servers;  // "127.0.0.1:5353,[2001:db8::53]:53"; empty: the system's resolvers
  Duration timeout = std::chrono::seconds(2);  // per try
  int tries = 2;
};

class CaresResolver final : public Resolver {
 public:
  static Result<std::unique_ptr<CaresResolver>> open(const CaresOptions& options = {});
  ~CaresResolver() override;
  CaresResolver(const CaresResolver&) = delete;
  CaresResolver& operator=(const CaresResolver&) = delete;

  Answer lookup(const Question& question) override;

 private:
  struct Channel;
  explicit CaresResolver(std::unique_ptr<Channel> channel);
  std::unique_ptr<Channel> channel_;
};

}  // namespace pbxwall::dns

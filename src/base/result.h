// Result<T, E>: a value or an error, for failures that are expected (bad input from a file or
// the network). C++20 has no std::expected; this is the subset pbxwall uses.
#pragma once

#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

namespace pbxwall {

template <class E>
struct Unexpected {
  E error;
};

template <class E>
Unexpected(E) -> Unexpected<E>;

// Wraps an error so that it converts to any Result<T, E>.
template <class E>
Unexpected<std::decay_t<E>> fail(E&& error) {
  return {std::forward<E>(error)};
}

template <class T, class E = std::string>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  template <class G>
  Result(Unexpected<G> u) : v_(std::in_place_index<1>, E(std::move(u.error))) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return checked(); }
  const T& value() const& { return const_cast<Result*>(this)->checked(); }
  T&& value() && { return std::move(checked()); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const E& error() const {
    if (ok()) std::abort();  // asking a success for its error is a programming error
    return std::get<1>(v_);
  }

 private:
  T& checked() {
    if (!ok()) std::abort();  // using a failed result's value is a programming error
    return std::get<0>(v_);
  }
  std::variant<T, E> v_;
};

// Result without a value: success, or an error.
template <class E = std::string>
class [[nodiscard]] Status {
 public:
  Status() = default;
  template <class G>
  Status(Unexpected<G> u) : error_(E(std::move(u.error))), ok_(false) {}  // NOLINT
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const E& error() const {
    if (ok_) std::abort();
    return error_;
  }

 private:
  E error_{};
  bool ok_ = true;
};

}  // namespace pbxwall

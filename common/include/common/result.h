// Expected failures are values: Result<T> carries either a T or an Error with a stable code that
// maps one-to-one onto API.md's error codes. g++ 12 has no std::expected, so this is the minimal
// subset we need, with the same names so it can be swapped for std::expected later.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace fbg {

enum class ErrorCode {
  InvalidRequest,
  Unauthenticated,
  Forbidden,
  NotFound,
  AlreadyExists,
  OrderNotCancelable,
  AccountBusy,
  PayloadTooLarge,
  InsufficientFunds,
  InsufficientPosition,
  UnsupportedOrder,
  IdempotencyKeyReused,
  Unavailable,
  Internal,
};

struct Error {
  ErrorCode code;
  std::string message;
};

[[nodiscard]] const char* errorCodeName(ErrorCode code);
[[nodiscard]] int errorHttpStatus(ErrorCode code);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit by design, like std::expected
  Result(Error error) : state_(std::move(error)) {}  // NOLINT

  [[nodiscard]] bool has_value() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return has_value(); }
  [[nodiscard]] T& value() & {
    assert(has_value());
    return std::get<T>(state_);
  }
  [[nodiscard]] const T& value() const& {
    assert(has_value());
    return std::get<T>(state_);
  }
  [[nodiscard]] T&& value() && {
    assert(has_value());
    return std::get<T>(std::move(state_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  [[nodiscard]] const Error& error() const {
    assert(!has_value());
    return std::get<Error>(state_);
  }

 private:
  std::variant<T, Error> state_;
};

struct Ok {};
using Status = Result<Ok>;

inline Error makeError(ErrorCode code, std::string message) {
  return Error{code, std::move(message)};
}

// The refusal of outside input that breaks its contract (a request, a FIX field, a config value).
inline Error invalidInput(std::string why) {
  return makeError(ErrorCode::InvalidRequest, std::move(why));
}

}  // namespace fbg

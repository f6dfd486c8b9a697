#pragma once

#include <type_traits>
#include <utility>
#include <variant>

#include "ulus/core/assert.hpp"
#include "ulus/core/error.hpp"

namespace ulus {

// Result<T> holds either a T or an Error: the way expected failures travel in Ulus (a small
// stand-in for C++23 std::expected). Accessing the wrong alternative is a bug and asserts.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}      // NOLINT
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  [[nodiscard]] bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    ULUS_ASSERT(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    ULUS_ASSERT(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    ULUS_ASSERT(ok());
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const& {
    ULUS_ASSERT(!ok());
    return std::get<1>(v_);
  }
  Error&& error() && {
    ULUS_ASSERT(!ok());
    return std::get<1>(std::move(v_));
  }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  [[nodiscard]] bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const& {
    ULUS_ASSERT(!ok_);
    return error_;
  }
  Error&& error() && {
    ULUS_ASSERT(!ok_);
    return std::move(error_);
  }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

inline Status Ok() {
  return {};
}

}  // namespace ulus

// Propagates an error from an expression returning Result<...>:
//   ULUS_TRY(conn.Execute(sql));
#define ULUS_TRY(expr)                            \
  do {                                            \
    auto ulus_try_result_ = (expr);               \
    if (!ulus_try_result_.ok()) {                 \
      return std::move(ulus_try_result_).error(); \
    }                                             \
  } while (false)

#define ULUS_CONCAT_INNER(a, b) a##b
#define ULUS_CONCAT(a, b) ULUS_CONCAT_INNER(a, b)

// Declares `lhs` from the value of a Result, or returns its error:
//   ULUS_ASSIGN_OR_RETURN(auto rows, conn.Query(sql));
#define ULUS_ASSIGN_OR_RETURN(lhs, expr) \
  ULUS_ASSIGN_OR_RETURN_IMPL(ULUS_CONCAT(ulus_result_, __LINE__), lhs, expr)
#define ULUS_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) {                                 \
    return std::move(tmp).error();                 \
  }                                                \
  lhs = std::move(tmp).value()

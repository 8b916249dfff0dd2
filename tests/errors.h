#pragma once
// The message of the exception an expression throws, without LibTorch's backtrace, for exact comparisons.
#include <c10/util/Exception.h>

#include <functional>
#include <string>

namespace ssl::testing {

/// What `f` throws (c10::Error without its backtrace), or "<no exception>".
inline std::string error_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "<no exception>";
}

}  // namespace ssl::testing

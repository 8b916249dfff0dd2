#pragma once
// Text that comes from outside (file names, INI values, decoded strings) made safe to store and to print.
#include <string>
#include <string_view>

namespace ssl {

/// Whether `text` is well-formed UTF-8 (no stray continuation bytes, overlong forms, surrogates or code points
/// above U+10FFFF).
bool is_valid_utf8(std::string_view text);

/// `text` with every byte that is not part of well-formed UTF-8, and every terminal control byte (0x00-0x1f and
/// 0x7f), written as \xNN (two lowercase hex digits), so it prints as one inert line.
std::string escape_bytes(std::string_view text);

}  // namespace ssl

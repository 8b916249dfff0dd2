// Text from outside made safe to store (UTF-8 check) and to print (escaped bytes).
#include "sslkit/ssl/text.h"

#include <catch2/catch.hpp>

#include <string>

TEST_CASE("escape_bytes writes terminal control bytes and bytes outside UTF-8 as \\xNN", "[core][text]") {
  // Printable ASCII and well-formed UTF-8 (é U+00E9, € U+20AC, 😀 U+1F600) pass unchanged.
  const std::string plain = "sslkit: caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 ~";
  CHECK(ssl::escape_bytes(plain) == plain);
  // An ANSI sequence (clear screen, red), NUL, tab, newline, carriage return and DEL.
  CHECK(ssl::escape_bytes("\x1b[2J\x1b[31mred") == "\\x1b[2J\\x1b[31mred");
  CHECK(ssl::escape_bytes(std::string("a\0b\tc\nd\re\x7f", 10)) == "a\\x00b\\x09c\\x0ad\\x0de\\x7f");
  // Latin-1 é, a stray continuation byte, an overlong '/', a surrogate, a sequence cut short, above U+10FFFF.
  CHECK(ssl::escape_bytes("caf\xe9") == "caf\\xe9");
  CHECK(ssl::escape_bytes("\x80x") == "\\x80x");
  CHECK(ssl::escape_bytes("\xc0\xaf") == "\\xc0\\xaf");
  CHECK(ssl::escape_bytes("\xed\xa0\x80") == "\\xed\\xa0\\x80");
  CHECK(ssl::escape_bytes("\xe2\x82") == "\\xe2\\x82");
  CHECK(ssl::escape_bytes("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");
  CHECK(ssl::escape_bytes("") == "");
}

TEST_CASE("is_valid_utf8 accepts well-formed UTF-8 only", "[core][text]") {
  CHECK(ssl::is_valid_utf8(""));
  CHECK(ssl::is_valid_utf8("T-shirt"));
  CHECK(ssl::is_valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf"));  // up to U+10FFFF
  CHECK_FALSE(ssl::is_valid_utf8("caf\xe9"));
  CHECK_FALSE(ssl::is_valid_utf8("\xc3"));
  CHECK_FALSE(ssl::is_valid_utf8("\xc0\xaf"));
  CHECK_FALSE(ssl::is_valid_utf8("\xe0\x80\xaf"));
  CHECK_FALSE(ssl::is_valid_utf8("\xed\xa0\x80"));
  CHECK_FALSE(ssl::is_valid_utf8("\xf4\x90\x80\x80"));
  CHECK_FALSE(ssl::is_valid_utf8("\xff"));
}

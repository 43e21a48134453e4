// Outside bytes checked and escaped as text PostgreSQL and JSON take.
#include <catch2/catch.hpp>
#include <string>

#include "base/printable.hpp"
#include "base/utf8.hpp"

using projectord::as_text;
using projectord::is_text;
using projectord::printable;
using projectord::utf8_sequence_length;

TEST_CASE("well-formed UTF-8 without NUL bytes is text, anything else is not") {
  CHECK(is_text(""));
  CHECK(is_text("plain ascii"));
  CHECK(is_text("Zo\xc3\xab \xe6\x97\xa5 \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf"));
  CHECK_FALSE(is_text(std::string("a\0b", 3)));
  CHECK_FALSE(is_text("\xff"));
  CHECK_FALSE(is_text("\x80"));              // a stray continuation byte
  CHECK_FALSE(is_text("\xc3"));              // cut short
  CHECK_FALSE(is_text("\xc0\xaf"));          // overlong '/'
  CHECK_FALSE(is_text("\xe0\x80\xaf"));      // overlong, three bytes
  CHECK_FALSE(is_text("\xed\xa0\x80"));      // a UTF-16 surrogate
  CHECK_FALSE(is_text("\xf4\x90\x80\x80"));  // past U+10FFFF
  CHECK(utf8_sequence_length("\xe2\x82\xac rest") == 3);
}

TEST_CASE("bytes that are not text are escaped byte by byte, text is kept as it is") {
  CHECK(as_text("caf\xc3\xa9 \\ ok") == "caf\xc3\xa9 \\ ok");
  CHECK(as_text(std::string("a\0b\xff\\", 5)) == "a\\x00b\\xff\\\\");
  CHECK(is_text(as_text("\xc3\x28\xe2\x82")));
}

TEST_CASE("printable text escapes each byte of malformed UTF-8 and keeps well-formed sequences") {
  CHECK(printable("caf\xc3\xa9 \xff\xfe") == "caf\xc3\xa9 \\xff\\xfe");
  CHECK(printable("\xed\xa0\x80") == "\\xed\\xa0\\x80");
}

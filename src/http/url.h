// URL pieces: percent-decoding and application/x-www-form-urlencoded parsing (used for both
// query strings and form POST bodies). Stateless and thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace xscaler::http {

// Decodes %XX escapes; with `plus_as_space` also '+' → ' ' (form encoding). Malformed escapes
// ("%zz", a trailing "%") are kept literally, as Go's net/url does not, but a lenient server
// should rather answer than reject a browser-typed URL.
std::string PercentDecode(std::string_view s, bool plus_as_space);

// Splits "a=1&b=2&a=3" into `out` (appending). Keys without '=' get an empty value; empty
// pieces ("a=1&&b=2") are skipped.
void ParseFormEncoded(std::string_view s, std::multimap<std::string, std::string>& out);

}  // namespace xscaler::http

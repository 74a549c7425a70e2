// Small string helpers for std::string_view. Debian's Abseil is built with its own
// absl::string_view (not std::string_view), so absl::StrCat/StrSplit do not accept
// std::string_view arguments; these fill that gap inside http and api. Stateless.
#pragma once

#include <cctype>
#include <concepts>
#include <string>
#include <string_view>
#include <vector>

namespace xscaler::http {

namespace str_internal {
inline void Append(std::string& out, std::string_view s) { out.append(s); }
inline void Append(std::string& out, char c) { out.push_back(c); }
template <std::integral T>
requires(!std::same_as<T, char> && !std::same_as<T, bool>) void Append(std::string& out, T v) {
  out.append(std::to_string(v));
}
}  // namespace str_internal

// Concatenates strings, string_views, chars and integers.
template <typename... Args>
std::string Cat(const Args&... args) {
  std::string out;
  (str_internal::Append(out, args), ...);
  return out;
}

// A std::string_view over anything with data()/size() (e.g. absl::Status::message()).
template <typename S>
std::string_view Sv(const S& s) {
  return std::string_view(s.data(), s.size());
}

inline std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

inline std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

inline bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

// Splits at every `sep`, keeping empty pieces.
inline std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    size_t p = s.find(sep);
    out.push_back(s.substr(0, p));
    if (p == std::string_view::npos) return out;
    s.remove_prefix(p + 1);
  }
}

inline std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out.append(sep);
    out.append(parts[i]);
  }
  return out;
}

}  // namespace xscaler::http

#include "tenant/tenant_id.h"

#include <string>

namespace xscaler::tenant {
namespace {

constexpr std::string_view kAllowedSentence =
    "tenant IDs may use letters, digits and ! - _ . * ' ( )";

bool AllowedChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '-': case '_': case '.': case '*': case '\'': case '(': case ')':
      return true;
    default:
      return false;
  }
}

// The ID as shown in messages: clipped, with unprintable bytes escaped so the message stays
// one readable line.
std::string Quote(std::string_view id) {
  constexpr size_t kShown = 60;
  std::string out = "\"";
  for (size_t i = 0; i < id.size() && i < kShown; ++i) {
    unsigned char c = static_cast<unsigned char>(id[i]);
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (id.size() > kShown) out += "...";
  out += "\"";
  return out;
}

std::string DescribeChar(char ch) {
  unsigned char c = static_cast<unsigned char>(ch);
  if (c == ' ') return "a space";
  if (c >= 0x21 && c < 0x7f) return std::string("'") + ch + "'";
  static constexpr char kHex[] = "0123456789abcdef";
  return std::string("the byte 0x") + kHex[c >> 4] + kHex[c & 15];
}

}  // namespace

absl::Status ValidateTenantId(std::string_view id) {
  const std::string header(kTenantHeader);
  if (id.empty()) {
    return absl::InvalidArgumentError(header + " is empty: set it to your tenant ID");
  }
  if (id.size() > kMaxTenantIdLength) {
    return absl::InvalidArgumentError(header + " " + Quote(id) + " is " +
                                      std::to_string(id.size()) +
                                      " bytes long: tenant IDs may be at most 150 bytes");
  }
  for (char c : id) {
    if (!AllowedChar(c)) {
      return absl::InvalidArgumentError(header + " " + Quote(id) + " contains " +
                                        DescribeChar(c) + ", which is not allowed: " +
                                        std::string(kAllowedSentence));
    }
  }
  if (id == "." || id == "..") {
    return absl::InvalidArgumentError(header + " " + Quote(id) +
                                      " is not allowed: tenant IDs may not be \".\" or \"..\"");
  }
  if (id == "__mimir_cluster") {
    return absl::InvalidArgumentError(header + " \"__mimir_cluster\" is reserved and cannot be "
                                      "used as a tenant ID");
  }
  return absl::OkStatus();
}

bool IsValidTenantId(std::string_view id) { return ValidateTenantId(id).ok(); }

}  // namespace xscaler::tenant

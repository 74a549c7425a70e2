#include "labels/matcher.h"

#include "absl/status/status.h"
#include "re2/re2.h"

namespace xscaler::labels {

absl::StatusOr<Matcher> Matcher::Create(MatchType type, std::string name, std::string value) {
  std::shared_ptr<const re2::RE2> re;
  if (type == MatchType::kRegexMatch || type == MatchType::kRegexNoMatch) {
    re2::RE2::Options opts;
    opts.set_log_errors(false);
    opts.set_dot_nl(true);  // Prometheus compiles with (?s): `.` matches newlines
    auto compiled = std::make_shared<re2::RE2>("^(?:" + value + ")$", opts);
    if (!compiled->ok()) {
      return absl::InvalidArgumentError("invalid regular expression \"" + value +
                                        "\": " + compiled->error());
    }
    re = std::move(compiled);
  }
  return Matcher(type, std::move(name), std::move(value), std::move(re));
}

bool Matcher::Matches(std::string_view v) const {
  switch (type_) {
    case MatchType::kEqual: return v == value_;
    case MatchType::kNotEqual: return v != value_;
    case MatchType::kRegexMatch: return re2::RE2::FullMatch(v, *re_);
    case MatchType::kRegexNoMatch: return !re2::RE2::FullMatch(v, *re_);
  }
  return false;
}

std::string Matcher::ToString() const {
  static constexpr const char* kOps[] = {"=", "!=", "=~", "!~"};
  std::string out = name_;
  out += kOps[static_cast<int>(type_)];
  out += '"';
  for (char c : value_) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace xscaler::labels

// A label matcher: `name op "value"` with op one of =, !=, =~, !~. Regexes are RE2, fully
// anchored as in Prometheus (`=~"a.*"` means ^(?:a.*)$). A matcher on a missing label sees "".
// Immutable and copyable (the compiled regex is shared); safe to use from many threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace re2 {
class RE2;
}

namespace xscaler::labels {

enum class MatchType { kEqual, kNotEqual, kRegexMatch, kRegexNoMatch };

class Matcher {
 public:
  // Fails with InvalidArgument when a regex does not compile (message names the regex).
  static absl::StatusOr<Matcher> Create(MatchType type, std::string name, std::string value);

  MatchType type() const { return type_; }
  const std::string& name() const { return name_; }
  const std::string& value() const { return value_; }

  bool Matches(std::string_view v) const;
  // True when the matcher matches the empty string, i.e. also selects series without the label.
  bool MatchesEmpty() const { return Matches(""); }

  // `name="value"` with the operator and Go-style quoting, as Prometheus prints matchers.
  std::string ToString() const;

 private:
  Matcher(MatchType type, std::string name, std::string value, std::shared_ptr<const re2::RE2> re)
      : type_(type), name_(std::move(name)), value_(std::move(value)), re_(std::move(re)) {}

  MatchType type_;
  std::string name_;
  std::string value_;
  std::shared_ptr<const re2::RE2> re_;  // set for regex types only
};

}  // namespace xscaler::labels

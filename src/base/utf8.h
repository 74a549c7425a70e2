// UTF-8 well-formedness as Go's unicode/utf8 decides it, which is what Prometheus applies to
// label values and what Go's JSON and protobuf encoders assume of strings. Pure functions;
// thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace xscaler::base {

// Length (1-4) of the well-formed UTF-8 sequence that starts at s[i], or 0 when none does
// there: a stray continuation byte, a truncated sequence, an overlong form, a surrogate
// (U+D800-DFFF) or a code point past U+10FFFF. REQUIRES: i < s.size().
size_t Utf8SequenceLength(std::string_view s, size_t i);

// Like Utf8SequenceLength, but checks only the lead byte's length and that the continuation
// bytes follow; overlong forms, surrogates and code points past U+10FFFF pass. Go rejects those,
// so this is not Go's rule: it is what the PromQL printer, AST JSON and label validation
// accepted when they were written, kept so their output does not change.
size_t Utf8SequenceLengthLax(std::string_view s, size_t i);

// True when every byte of s is part of a well-formed sequence (Go's utf8.ValidString).
bool IsValidUtf8(std::string_view s);

// s with every byte that is not part of a well-formed sequence replaced by U+FFFD.
std::string ToValidUtf8(std::string_view s);

}  // namespace xscaler::base

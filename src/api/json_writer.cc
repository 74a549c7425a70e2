#include "api/json_writer.h"

#include "base/format.h"
#include "base/utf8.h"

namespace xscaler::api {

void AppendTimestamp(std::string& out, int64_t t) {
  uint64_t u = static_cast<uint64_t>(t);
  if (t < 0) {
    out.push_back('-');
    u = 0 - u;
  }
  out.append(std::to_string(u / 1000));
  uint64_t fraction = u % 1000;
  if (fraction != 0) {
    out.push_back('.');
    if (fraction < 100) out.push_back('0');
    if (fraction < 10) out.push_back('0');
    out.append(std::to_string(fraction));
  }
}

namespace {

constexpr char kHex[] = "0123456789abcdef";

void AppendUnicodeEscape(std::string& out, unsigned cp) {
  out.append("\\u");
  out.push_back(kHex[(cp >> 12) & 0xf]);
  out.push_back(kHex[(cp >> 8) & 0xf]);
  out.push_back(kHex[(cp >> 4) & 0xf]);
  out.push_back(kHex[cp & 0xf]);
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    // Runs of printable ASCII other than '"' and '\\' (label names and most values entirely)
    // are copied at once.
    size_t run = i;
    while (run < s.size()) {
      auto rc = static_cast<unsigned char>(s[run]);
      if (rc < 0x20 || rc >= 0x80 || rc == '"' || rc == '\\') break;
      ++run;
    }
    if (run > i) {
      out.append(s.data() + i, run - i);
      i = run;
      if (i == s.size()) break;
    }
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (!base::AppendJsonEscape(out, c)) out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    size_t n = base::Utf8SequenceLength(s, i);
    if (n == 0) {
      out.append("\\ufffd");
      ++i;
      continue;
    }
    // U+2028 / U+2029 break JavaScript string literals; Go escapes them.
    if (n == 3 && c == 0xe2 && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
        (static_cast<unsigned char>(s[i + 2]) & 0xfe) == 0xa8) {
      AppendUnicodeEscape(out, 0x2028 | (static_cast<unsigned char>(s[i + 2]) & 1));
    } else {
      out.append(s.substr(i, n));
    }
    i += n;
  }
  out.push_back('"');
}

void JsonWriter::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_.empty()) {
    if (!first_.back()) out_.push_back(',');
    first_.back() = false;
  }
}

void JsonWriter::Open(char c) {
  BeforeValue();
  out_.push_back(c);
  first_.push_back(true);
}

void JsonWriter::Close(char c) {
  out_.push_back(c);
  if (!first_.empty()) first_.pop_back();
}

void JsonWriter::Key(std::string_view key) {
  BeforeValue();
  AppendJsonString(out_, key);
  out_.push_back(':');
  after_key_ = true;
}

void JsonWriter::String(std::string_view s) {
  BeforeValue();
  AppendJsonString(out_, s);
}

void JsonWriter::Int(int64_t v) {
  BeforeValue();
  out_.append(std::to_string(v));
}

void JsonWriter::Bool(bool v) {
  BeforeValue();
  out_.append(v ? "true" : "false");
}

void JsonWriter::Null() {
  BeforeValue();
  out_.append("null");
}

void JsonWriter::SampleValue(double v) {
  BeforeValue();
  out_.push_back('"');
  AppendSampleValue(out_, v);
  out_.push_back('"');
}

void JsonWriter::Timestamp(int64_t t_ms) {
  BeforeValue();
  AppendTimestamp(out_, t_ms);
}

void JsonWriter::Raw(std::string_view json) {
  BeforeValue();
  out_.append(json);
}

}  // namespace xscaler::api

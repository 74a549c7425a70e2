#include "promql/lexer.h"

#include <cctype>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"

namespace xscaler::promql {
namespace {

struct Keyword {
  std::string_view word;
  TokenType type;
};

constexpr Keyword kKeywords[] = {
    {"and", TokenType::kLand},
    {"or", TokenType::kLor},
    {"unless", TokenType::kLunless},
    {"atan2", TokenType::kAtan2},
    {"avg", TokenType::kAvg},
    {"bottomk", TokenType::kBottomk},
    {"count", TokenType::kCount},
    {"count_values", TokenType::kCountValues},
    {"group", TokenType::kGroup},
    {"max", TokenType::kMax},
    {"min", TokenType::kMin},
    {"quantile", TokenType::kQuantile},
    {"stddev", TokenType::kStddev},
    {"stdvar", TokenType::kStdvar},
    {"sum", TokenType::kSum},
    {"topk", TokenType::kTopk},
    {"limitk", TokenType::kLimitk},
    {"limit_ratio", TokenType::kLimitRatio},
    {"offset", TokenType::kOffset},
    {"by", TokenType::kBy},
    {"without", TokenType::kWithout},
    {"on", TokenType::kOn},
    {"ignoring", TokenType::kIgnoring},
    {"group_left", TokenType::kGroupLeft},
    {"group_right", TokenType::kGroupRight},
    {"bool", TokenType::kBool},
    {"start", TokenType::kStart},
    {"end", TokenType::kEnd},
    {"inf", TokenType::kNumber},
    {"nan", TokenType::kNumber},
};

bool IsAlpha(char c) { return c == '_' || std::isalpha(static_cast<unsigned char>(c)); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) { return IsAlpha(c) || IsDigit(c); }
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

class Lexer {
 public:
  explicit Lexer(std::string_view in) : in_(in) {}

  std::vector<Token> Run() {
    while (true) {
      if (!Step()) break;
    }
    return std::move(out_);
  }

 private:
  char Peek(size_t off = 0) const { return pos_ + off < in_.size() ? in_[pos_ + off] : '\0'; }
  bool AtEnd() const { return pos_ >= in_.size(); }

  void Emit(TokenType t, size_t start) {
    out_.push_back(Token{t, std::string(in_.substr(start, pos_ - start)), static_cast<int>(start)});
  }
  bool Error(size_t at, std::string msg) {
    out_.push_back(Token{TokenType::kError, std::move(msg), static_cast<int>(at)});
    return false;
  }

  // Returns false once the final token (EOF or error) is emitted.
  bool Step() {
    while (!AtEnd() && IsSpace(Peek())) ++pos_;
    if (AtEnd()) {
      if (brace_open_) return Error(pos_, "unexpected end of input inside braces");
      if (bracket_open_) return Error(pos_, "unexpected end of input inside brackets");
      if (paren_depth_ > 0) return Error(pos_, "unclosed left parenthesis");
      out_.push_back(Token{TokenType::kEOF, "", static_cast<int>(pos_)});
      return false;
    }
    size_t start = pos_;
    char c = Peek();
    if (c == '#') {
      while (!AtEnd() && Peek() != '\n') ++pos_;
      return true;
    }
    if (brace_open_) return InsideBraces(start, c);
    switch (c) {
      case ',':
        ++pos_;
        Emit(TokenType::kComma, start);
        return true;
      case '*':
        ++pos_;
        Emit(TokenType::kMul, start);
        return true;
      case '/':
        ++pos_;
        Emit(TokenType::kDiv, start);
        return true;
      case '%':
        ++pos_;
        Emit(TokenType::kMod, start);
        return true;
      case '+':
        ++pos_;
        Emit(TokenType::kAdd, start);
        return true;
      case '-':
        ++pos_;
        Emit(TokenType::kSub, start);
        return true;
      case '^':
        ++pos_;
        Emit(TokenType::kPow, start);
        return true;
      case '@':
        ++pos_;
        Emit(TokenType::kAt, start);
        return true;
      case ':':
        if (!bracket_open_) break;  // starts an identifier such as `:foo` or `job:rate5m`
        ++pos_;
        Emit(TokenType::kColon, start);
        return true;
      case '=':
        ++pos_;
        if (Peek() == '=') {
          ++pos_;
          Emit(TokenType::kEqlc, start);
        } else if (Peek() == '~') {
          return Error(pos_, "unexpected character after '=': '~'");
        } else {
          Emit(TokenType::kAssign, start);
        }
        return true;
      case '!':
        ++pos_;
        if (Peek() == '=') {
          ++pos_;
          Emit(TokenType::kNeq, start);
          return true;
        }
        return Error(start, absl::StrFormat("unexpected character after '!': %s", Quote(Peek())));
      case '<':
      case '>':
        ++pos_;
        if (Peek() == '=') {
          ++pos_;
          Emit(c == '<' ? TokenType::kLte : TokenType::kGte, start);
        } else {
          Emit(c == '<' ? TokenType::kLss : TokenType::kGtr, start);
        }
        return true;
      case '(':
        ++pos_;
        ++paren_depth_;
        Emit(TokenType::kLeftParen, start);
        return true;
      case ')':
        ++pos_;
        if (--paren_depth_ < 0) return Error(start, "unexpected right parenthesis ')'");
        Emit(TokenType::kRightParen, start);
        return true;
      case '{':
        ++pos_;
        brace_open_ = true;
        Emit(TokenType::kLeftBrace, start);
        return true;
      case '}':
        return Error(start, "unexpected right brace '}'");
      case '[':
        if (bracket_open_) return Error(start, "unexpected left bracket '['");
        ++pos_;
        bracket_open_ = true;
        Emit(TokenType::kLeftBracket, start);
        return true;
      case ']':
        if (!bracket_open_) return Error(start, "unexpected right bracket ']'");
        ++pos_;
        bracket_open_ = false;
        Emit(TokenType::kRightBracket, start);
        return true;
      case '"':
      case '\'':
      case '`':
        return LexString(start, c);
      default:
        break;
    }
    if (IsDigit(c) || (c == '.' && IsDigit(Peek(1)))) return LexNumberOrDuration(start);
    if (IsAlpha(c) || c == ':') {
      while (!AtEnd() && (IsAlnum(Peek()) || Peek() == ':')) ++pos_;
      std::string word(in_.substr(start, pos_ - start));
      std::string lower = absl::AsciiStrToLower(word);
      if (bracket_open_) {
        return Error(start,
                     absl::StrFormat("unexpected character in duration expression: %s", Quote(c)));
      }
      for (const auto& kw : kKeywords) {
        if (kw.word == lower) {
          Emit(kw.type, start);
          return true;
        }
      }
      Emit(word.find(':') == std::string::npos ? TokenType::kIdentifier
                                               : TokenType::kMetricIdentifier,
           start);
      return true;
    }
    return Error(start, absl::StrFormat("unexpected character: %s", Quote(c)));
  }

  static std::string Quote(char c) {
    if (c == '\0') return "EOF";
    if (c == '\'') return "'\\''";
    return absl::StrFormat("'%c'", c);
  }

  bool InsideBraces(size_t start, char c) {
    if (IsAlpha(c)) {
      while (!AtEnd() && IsAlnum(Peek())) ++pos_;
      Emit(TokenType::kIdentifier, start);
      return true;
    }
    switch (c) {
      case ',':
        ++pos_;
        Emit(TokenType::kComma, start);
        return true;
      case '"':
      case '\'':
      case '`':
        return LexString(start, c);
      case '=':
        ++pos_;
        if (Peek() == '~') {
          ++pos_;
          Emit(TokenType::kEqlRegex, start);
        } else {
          Emit(TokenType::kAssign, start);
        }
        return true;
      case '!':
        ++pos_;
        if (Peek() == '~') {
          ++pos_;
          Emit(TokenType::kNeqRegex, start);
        } else if (Peek() == '=') {
          ++pos_;
          Emit(TokenType::kNeq, start);
        } else {
          return Error(start, absl::StrFormat("unexpected character after '!' inside braces: %s",
                                              Quote(Peek())));
        }
        return true;
      case '{':
        return Error(start, "unexpected left brace '{'");
      case '}':
        ++pos_;
        brace_open_ = false;
        Emit(TokenType::kRightBrace, start);
        return true;
      default:
        return Error(start, absl::StrFormat("unexpected character inside braces: %s", Quote(c)));
    }
  }

  bool LexString(size_t start, char quote) {
    ++pos_;
    while (true) {
      if (AtEnd()) return Error(start, "unterminated quoted string");
      char c = Peek();
      if (quote == '`') {
        ++pos_;
        if (c == '`') break;
        continue;
      }
      if (c == '\n') return Error(start, "unterminated quoted string");
      if (c == '\\') {
        pos_ += 2;
        continue;
      }
      ++pos_;
      if (c == quote) break;
    }
    if (pos_ > in_.size()) return Error(start, "unterminated quoted string");
    Emit(TokenType::kString, start);
    return true;
  }

  // Scans a number as Prometheus does; false if it is followed by an alphanumeric character
  // (then it may be a duration).
  bool ScanNumber() {
    std::string_view digits = "0123456789";
    if (Peek() == '0' && (Peek(1) == 'x' || Peek(1) == 'X') && std::isxdigit(Peek(2))) {
      pos_ += 2;
      while (std::isxdigit(static_cast<unsigned char>(Peek()))) ++pos_;
      return !IsAlnum(Peek());
    }
    while (digits.find(Peek()) != std::string_view::npos && Peek() != '\0') ++pos_;
    if (Peek() == '.') {
      ++pos_;
      while (IsDigit(Peek())) ++pos_;
    }
    if ((Peek() == 'e' || Peek() == 'E') &&
        (IsDigit(Peek(1)) || ((Peek(1) == '+' || Peek(1) == '-') && IsDigit(Peek(2))))) {
      pos_ += 2;
      while (IsDigit(Peek())) ++pos_;
    }
    return !IsAlnum(Peek());
  }

  bool LexNumberOrDuration(size_t start) {
    if (ScanNumber()) {
      Emit(TokenType::kNumber, start);
      return true;
    }
    // A duration: digits followed by a unit, repeated.
    pos_ = start;
    bool any = false;
    while (IsDigit(Peek())) {
      while (IsDigit(Peek())) ++pos_;
      char u = Peek();
      if (u == 'm' && Peek(1) == 's') {
        pos_ += 2;
      } else if (u == 's' || u == 'm' || u == 'h' || u == 'd' || u == 'w' || u == 'y') {
        ++pos_;
      } else {
        break;
      }
      any = true;
    }
    if (!any || IsAlnum(Peek()) || Peek() == '.') {
      while (IsAlnum(Peek()) || Peek() == '.') ++pos_;
      return Error(start, absl::StrFormat("bad number or duration syntax: \"%s\"",
                                          std::string(in_.substr(start, pos_ - start))));
    }
    Emit(TokenType::kDuration, start);
    return true;
  }

  std::string_view in_;
  size_t pos_ = 0;
  bool brace_open_ = false;
  bool bracket_open_ = false;
  int paren_depth_ = 0;
  std::vector<Token> out_;
};

}  // namespace

bool IsAggregator(TokenType t) { return t >= TokenType::kAvg && t <= TokenType::kLimitRatio; }
bool IsOperator(TokenType t) { return t >= TokenType::kAdd && t <= TokenType::kAtan2; }
bool IsKeyword(TokenType t) { return t >= TokenType::kOffset && t <= TokenType::kEnd; }
bool IsComparison(TokenType t) { return t >= TokenType::kEqlc && t <= TokenType::kGtr; }
bool IsSetOperator(TokenType t) {
  return t == TokenType::kLand || t == TokenType::kLor || t == TokenType::kLunless;
}

std::string_view TokenSpelling(TokenType t) {
  switch (t) {
    case TokenType::kAdd:
      return "+";
    case TokenType::kSub:
      return "-";
    case TokenType::kMul:
      return "*";
    case TokenType::kDiv:
      return "/";
    case TokenType::kMod:
      return "%";
    case TokenType::kPow:
      return "^";
    case TokenType::kEqlc:
      return "==";
    case TokenType::kNeq:
      return "!=";
    case TokenType::kLte:
      return "<=";
    case TokenType::kLss:
      return "<";
    case TokenType::kGte:
      return ">=";
    case TokenType::kGtr:
      return ">";
    case TokenType::kEqlRegex:
      return "=~";
    case TokenType::kNeqRegex:
      return "!~";
    case TokenType::kAssign:
      return "=";
    case TokenType::kLeftParen:
      return "(";
    case TokenType::kRightParen:
      return ")";
    case TokenType::kLeftBrace:
      return "{";
    case TokenType::kRightBrace:
      return "}";
    case TokenType::kLeftBracket:
      return "[";
    case TokenType::kRightBracket:
      return "]";
    case TokenType::kComma:
      return ",";
    case TokenType::kColon:
      return ":";
    case TokenType::kAt:
      return "@";
    default:
      break;
  }
  for (const auto& kw : kKeywords) {
    if (kw.type == t && t != TokenType::kNumber) return kw.word;
  }
  return "";
}

std::string DescribeToken(const Token& t) {
  switch (t.type) {
    case TokenType::kEOF:
      return "end of input";
    case TokenType::kError:
      return t.text;
    case TokenType::kIdentifier:
      return absl::StrFormat("identifier \"%s\"", t.text);
    case TokenType::kMetricIdentifier:
      return absl::StrFormat("metric identifier \"%s\"", t.text);
    case TokenType::kNumber:
      return absl::StrFormat("number \"%s\"", t.text);
    case TokenType::kDuration:
      return absl::StrFormat("duration \"%s\"", t.text);
    case TokenType::kString:
      return absl::StrFormat("string %s", t.text);
    default:
      break;
  }
  if (IsOperator(t.type)) return absl::StrFormat("<op:%s>", t.text);
  if (IsAggregator(t.type)) return absl::StrFormat("<aggr:%s>", t.text);
  if (IsKeyword(t.type)) return absl::StrFormat("<%s>", t.text);
  return absl::StrFormat("\"%s\"", t.text);
}

std::vector<Token> Lex(std::string_view input) { return Lexer(input).Run(); }

bool IsKeywordWord(std::string_view word) {
  std::string lower = absl::AsciiStrToLower(std::string(word));
  for (const auto& kw : kKeywords) {
    if (kw.word == lower) return true;
  }
  return false;
}

}  // namespace xscaler::promql

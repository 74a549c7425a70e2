#include "base/utf8.h"

#include <string>
#include <string_view>

#include "gtest/gtest.h"

namespace xscaler::base {
namespace {

using namespace std::string_view_literals;

TEST(Utf8SequenceLength, WellFormedSequences) {
  EXPECT_EQ(Utf8SequenceLength("a", 0), 1u);
  EXPECT_EQ(Utf8SequenceLength("\xC3\xA9", 0), 2u);          // é
  EXPECT_EQ(Utf8SequenceLength("\xE2\x82\xAC", 0), 3u);      // €
  EXPECT_EQ(Utf8SequenceLength("\xF0\x9F\x98\x80", 0), 4u);  // 😀
  EXPECT_EQ(Utf8SequenceLength("\xF4\x8F\xBF\xBF", 0), 4u);  // U+10FFFF
  EXPECT_EQ(Utf8SequenceLength("x\xED\x9F\xBF", 1), 3u);     // U+D7FF, just below surrogates
}

TEST(Utf8SequenceLength, RejectsWhatGoRejects) {
  EXPECT_EQ(Utf8SequenceLength("\x80", 0), 0u);              // stray continuation
  EXPECT_EQ(Utf8SequenceLength("\xC3", 0), 0u);              // truncated
  EXPECT_EQ(Utf8SequenceLength("\xE2\x82", 0), 0u);          // truncated
  EXPECT_EQ(Utf8SequenceLength("\xC3(", 0), 0u);             // bad continuation
  EXPECT_EQ(Utf8SequenceLength("\xC0\x80", 0), 0u);          // overlong NUL
  EXPECT_EQ(Utf8SequenceLength("\xE0\x9F\xBF", 0), 0u);      // overlong
  EXPECT_EQ(Utf8SequenceLength("\xF0\x8F\xBF\xBF", 0), 0u);  // overlong
  EXPECT_EQ(Utf8SequenceLength("\xED\xA0\x80", 0), 0u);      // U+D800 surrogate
  EXPECT_EQ(Utf8SequenceLength("\xF4\x90\x80\x80", 0), 0u);  // U+110000
  EXPECT_EQ(Utf8SequenceLength("\xF5\x80\x80\x80", 0), 0u);
  EXPECT_EQ(Utf8SequenceLength("\xFF", 0), 0u);
}

TEST(Utf8SequenceLengthLax, ChecksOnlyLeadAndContinuationBytes) {
  EXPECT_EQ(Utf8SequenceLengthLax("a", 0), 1u);
  EXPECT_EQ(Utf8SequenceLengthLax("\xE2\x82\xAC", 0), 3u);
  EXPECT_EQ(Utf8SequenceLengthLax("\xC0\x80", 0), 2u);          // overlong passes
  EXPECT_EQ(Utf8SequenceLengthLax("\xED\xA0\x80", 0), 3u);      // surrogate passes
  EXPECT_EQ(Utf8SequenceLengthLax("\xF4\x90\x80\x80", 0), 4u);  // past U+10FFFF passes
  EXPECT_EQ(Utf8SequenceLengthLax("\x80", 0), 0u);
  EXPECT_EQ(Utf8SequenceLengthLax("\xF0\x9F\x98", 0), 0u);  // truncated
  EXPECT_EQ(Utf8SequenceLengthLax("\xC3(", 0), 0u);
  EXPECT_EQ(Utf8SequenceLengthLax("\xF8\x80\x80\x80\x80", 0), 0u);
}

TEST(IsValidUtf8, WholeStrings) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  EXPECT_TRUE(IsValidUtf8("nul\0inside"sv));
  EXPECT_FALSE(IsValidUtf8("caf\xC3"));
  EXPECT_FALSE(IsValidUtf8("a\xED\xA0\x80z"));
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));
}

TEST(ToValidUtf8, ReplacesEachBadByte) {
  EXPECT_EQ(ToValidUtf8("ok \xC3\xA9"), "ok \xC3\xA9");
  EXPECT_EQ(ToValidUtf8("a\xFF"
                        "b"),
            "a\xEF\xBF\xBD"
            "b");
  // A truncated sequence: its lead byte is replaced, then the rest is read again.
  EXPECT_EQ(ToValidUtf8("\xE2\x82"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(ToValidUtf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(ToValidUtf8(""), "");
  EXPECT_TRUE(IsValidUtf8(ToValidUtf8("\x80\xC0\xF5x\xF0\x9F")));
}

}  // namespace
}  // namespace xscaler::base

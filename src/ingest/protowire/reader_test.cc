// Checks the hand-written reader against bytes produced by libprotobuf's own encoder.
#include "ingest/protowire/reader.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/wire_format_lite.h>
#include <gtest/gtest.h>

#include <vector>

namespace xscaler::ingest::protowire {
namespace {

using google::protobuf::internal::WireFormatLite;

std::string Encode(const std::function<void(google::protobuf::io::CodedOutputStream&)>& fn) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream sos(&out);
    google::protobuf::io::CodedOutputStream cos(&sos);
    fn(cos);
  }
  return out;
}

TEST(ReaderTest, ReadsEveryWireTypeAsLibprotobufWritesIt) {
  std::string buf = Encode([](auto& o) {
    WireFormatLite::WriteUInt64(1, 300, &o);
    WireFormatLite::WriteSInt64(2, -5, &o);
    WireFormatLite::WriteFixed64(3, 0x0102030405060708ULL, &o);
    WireFormatLite::WriteDouble(4, 1.5, &o);
    WireFormatLite::WriteString(5, "hello", &o);
    WireFormatLite::WriteFixed32(6, 7, &o);
    WireFormatLite::WriteSFixed64(7, -9, &o);
    WireFormatLite::WriteInt64(8, -1, &o);  // 10-byte varint
  });
  Reader r(buf);
  ASSERT_TRUE(r.Next());
  EXPECT_EQ(r.field(), 1u);
  EXPECT_EQ(r.varint(), 300u);
  ASSERT_TRUE(r.Next());
  EXPECT_EQ(r.sint64(), -5);
  ASSERT_TRUE(r.Next());
  EXPECT_EQ(r.fixed64(), 0x0102030405060708ULL);
  ASSERT_TRUE(r.Next());
  EXPECT_EQ(r.dbl(), 1.5);
  ASSERT_TRUE(r.Next());
  EXPECT_EQ(r.bytes(), "hello");
  ASSERT_TRUE(r.Next());
  EXPECT_EQ(r.fixed32(), 7u);
  ASSERT_TRUE(r.Next());
  EXPECT_EQ(r.sfixed64(), -9);
  ASSERT_TRUE(r.Next());
  EXPECT_EQ(r.int64(), -1);
  EXPECT_FALSE(r.Next());
  EXPECT_TRUE(r.ok());
}

TEST(ReaderTest, PackedAndUnpackedRepeatedFields) {
  std::string packed = Encode([](auto& o) {
    WireFormatLite::WriteTag(1, WireFormatLite::WIRETYPE_LENGTH_DELIMITED, &o);
    o.WriteVarint32(24);
    for (double d : {1.0, 2.5, -3.0}) o.WriteLittleEndian64(WireFormatLite::EncodeDouble(d));
    WireFormatLite::WriteTag(2, WireFormatLite::WIRETYPE_LENGTH_DELIMITED, &o);
    o.WriteVarint32(3);
    for (uint32_t v : {1u, 2u, 127u}) o.WriteVarint32(v);
  });
  std::string unpacked = Encode([](auto& o) {
    for (double d : {1.0, 2.5, -3.0}) WireFormatLite::WriteDouble(1, d, &o);
    for (uint32_t v : {1u, 2u, 127u}) WireFormatLite::WriteUInt32(2, v, &o);
  });
  for (const std::string& buf : {packed, unpacked}) {
    std::vector<double> ds;
    std::vector<uint64_t> vs;
    Reader r(buf);
    while (r.Next()) {
      if (r.field() == 1) ForEachFixed64(r, [&](uint64_t v) { ds.push_back(std::bit_cast<double>(v)); });
      if (r.field() == 2) ForEachVarint(r, [&](uint64_t v) { vs.push_back(v); });
    }
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(ds, (std::vector<double>{1.0, 2.5, -3.0}));
    EXPECT_EQ(vs, (std::vector<uint64_t>{1, 2, 127}));
  }
}

TEST(ReaderTest, TruncatedInputIsAnErrorWithOffset) {
  std::string buf = Encode([](auto& o) {
    WireFormatLite::WriteUInt64(1, 1, &o);
    WireFormatLite::WriteString(2, "abcdef", &o);
  });
  buf.resize(buf.size() - 2);
  Reader r(buf);
  EXPECT_TRUE(r.Next());
  EXPECT_FALSE(r.Next());
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("at byte 2"), std::string::npos) << r.status();
}

TEST(ReaderTest, GroupsAndWrongWireTypesAreRejected) {
  std::string group = Encode([](auto& o) { WireFormatLite::WriteTag(1, WireFormatLite::WIRETYPE_START_GROUP, &o); });
  Reader g(group);
  EXPECT_FALSE(g.Next());
  EXPECT_FALSE(g.ok());

  std::string s = Encode([](auto& o) { WireFormatLite::WriteString(1, "x", &o); });
  Reader r(s);
  ASSERT_TRUE(r.Next());
  EXPECT_EQ(r.fixed64(), 0u);
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(r.Next());
}

TEST(ReaderTest, SkipsUnknownFieldsOfEveryType) {
  std::string buf = Encode([](auto& o) {
    WireFormatLite::WriteFixed32(100, 1, &o);
    WireFormatLite::WriteBytes(101, std::string(1000, 'x'), &o);
    WireFormatLite::WriteUInt64(2, 42, &o);
  });
  Reader r(buf);
  uint64_t got = 0;
  while (r.Next()) {
    if (r.field() == 2) got = r.varint();
  }
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(got, 42u);
}

}  // namespace
}  // namespace xscaler::ingest::protowire

#include "storage/block/columnar_page.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/coding.h"
#include "storage/chunk/xor.h"

namespace xscaler::storage::block {
namespace {

enum Stream {
  kKinds = 0,
  kCounts = 1,
  kVerbatim = 2,
  kTHead = 3,
  kTDod = 4,
  kDHead = 5,
  kDBody = 6,
  kExceptions = 7,
  kFFirst = 8,
  kPlanes = 9,  // 9..16, most significant byte first
};

enum Kind : uint8_t { kKindVerbatim = 0, kKindDecDelta = 1, kKindDecDod = 2, kKindFloat = 3 };

constexpr int kMaxExponent = 15;
constexpr double kPow10[kMaxExponent + 1] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                             1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
constexpr double kMaxMantissa = 9007199254740992.0;  // 2^53
constexpr int64_t kMaxIntMantissa = int64_t{1} << 53;

// Wrapping int64 arithmetic (timestamps and mantissas may come from corrupt input).
inline int64_t Sub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}
inline int64_t Add(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}

// x / 1.0 == x exactly, so exponent 0 skips the (slow) division.
inline double MantissaValue(int64_t m, int e) {
  return e == 0 ? static_cast<double>(m) : static_cast<double>(m) / kPow10[e];
}

// True when the value with bit pattern `bits` is exactly double(m) / 10^e for an int64 m with
// |m| <= 2^53 (checked through the decoder's own formula, so it round-trips by construction).
inline bool DecimalAt(uint64_t bits, int e, int64_t* m) {
  double x = std::nearbyint(std::bit_cast<double>(bits) * kPow10[e]);
  if (!(std::fabs(x) <= kMaxMantissa)) return false;  // also NaN
  int64_t mi = static_cast<int64_t>(x);
  if (std::bit_cast<uint64_t>(MantissaValue(mi, e)) != bits) return false;
  *m = mi;
  return true;
}

inline int MinExponent(uint64_t bits) {
  int64_t m;
  for (int e = 0; e <= kMaxExponent; ++e) {
    if (DecimalAt(bits, e, &m)) return e;
  }
  return -1;
}

// ---------------------------------------------------------------------------------------------
// XorRebuilder: the XOR chunk encoder that re-creates a page's chunks. It makes exactly the
// choices chunk::XorEncoder makes (docs/format/chunk.md leaves the writer free to pick among
// encodings; a columnar page relies on these particular picks), written here separately so that
// (1) pages keep decoding to the same bytes even if chunk::XorEncoder's heuristics change later
// (chunks it then produces would merely no longer round-trip and be stored verbatim), and
// (2) it runs about twice as fast: no buffer growth checks, inlined bit writes, and the
// decimal test of a value is computed once, not again when it becomes the previous value.
class XorRebuilder {
 public:
  // Appends `entry := len:uvarint chunk` of the n samples fed by Append to *out.
  void Start(uint32_t n) {
    // Worst case per sample: 68 bits of timestamp + 78 of value; sample 0: 80 + 64 bits.
    size_t cap = kHeader + 32 + size_t{n} * 19;
    if (buf_.size() < cap) buf_.resize(cap);
    pos_ = kHeader;
    acc_ = 0;
    acc_n_ = 0;
    num_ = 0;
    leading_ = 0xff;
    trailing_ = 0;
    exp_ = 0;
    prev_int_ = false;
    cache_[0].bits = cache_[1].bits = 0;
    cache_[0].e = cache_[1].e = -1;
  }

  // `is_int`: the value is known to be double(m) for an integer |m| <= 2^53, so its decimal
  // test at exponent 0 is (true, m) without computing it (IEEE: double(m) * 1 rounds to m and
  // m / 1.0 == double(m)). Integer runs (counters, buckets) then never divide.
  void Append(int64_t t, uint64_t bits, bool is_int = false, int64_t m = 0) {
    // The bit state lives in a local while the sample is written, so that the byte stores
    // (which may alias anything) do not force it back to memory after every field.
    Sink o{acc_, pos_, buf_.data(), acc_n_};
    if (num_ == 0) {
      WriteUvarint(o, (static_cast<uint64_t>(t) << 1) ^ static_cast<uint64_t>(t >> 63));
      Write(o, bits >> 32, 32);
      Write(o, bits, 32);
      v_bits_ = bits;
    } else if (num_ == 1) {
      t_delta_ = static_cast<uint64_t>(t) - static_cast<uint64_t>(t_);
      WriteUvarint(o, t_delta_);
      WriteValue(o, bits, is_int, m);
    } else {
      uint64_t delta = static_cast<uint64_t>(t) - static_cast<uint64_t>(t_);
      auto dod = static_cast<int64_t>(delta - t_delta_);
      t_delta_ = delta;
      WriteDod(o, dod);
      WriteValue(o, bits, is_int, m);
    }
    acc_ = o.acc;
    pos_ = o.pos;
    acc_n_ = o.n;
    prev_int_ = is_int;
    prev_m_ = m;
    t_ = t;
    ++num_;
  }

  // Samples 2.. of an integer chunk - exponent 0, no exceptions, so every value is double(m)
  // with |m| <= 2^53 and the encoder's exponent stays 0 - read straight from the t_dod and
  // d_body streams (`dod_kind`: d_body holds second differences). Writes the same bits as
  // Append would, keeping all state in registers. t, d, m, m_delta carry the decoder's state
  // in and out. Returns nullptr, or what went wrong (the caller reports DataLoss).
  // REQUIRES: NumSamples() >= 2 and the last two samples were appended with is_int.
  const char* AppendIntegerRun(uint32_t count, std::string_view* tdod, std::string_view* dbody,
                               bool dod_kind, int64_t* t_io, int64_t* d_io, int64_t* m_io,
                               int64_t* m_delta_io) {
    Sink o{acc_, pos_, buf_.data(), acc_n_};
    const char* tp = tdod->data();
    const char* const te = tp + tdod->size();
    const char* vp = dbody->data();
    const char* const ve = vp + dbody->size();
    int64_t t = *t_io, d = *d_io, m = *m_io, m_delta = *m_delta_io;
    uint64_t vb = v_bits_;
    uint8_t leading = leading_, trailing = trailing_;
    const char* err = nullptr;
    uint32_t i = 0;
    for (; i < count; ++i) {
      uint64_t zt, zv;
      if (tp != te && static_cast<uint8_t>(*tp) < 0x80) {
        zt = static_cast<uint8_t>(*tp++);
      } else if ((tp = base::DecodeVarint64(tp, te, &zt)) == nullptr) {
        err = "t_dod stream truncated";
        break;
      }
      if (vp != ve && static_cast<uint8_t>(*vp) < 0x80) {
        zv = static_cast<uint8_t>(*vp++);
      } else if ((vp = base::DecodeVarint64(vp, ve, &zv)) == nullptr) {
        err = "d_body stream truncated";
        break;
      }
      const int64_t dod = base::ZigZagDecode(zt);
      d = Add(d, dod);
      const int64_t next_t = Add(t, d);
      if (next_t <= t) {
        err = "timestamps do not increase";
        break;
      }
      t = next_t;
      const int64_t z = base::ZigZagDecode(zv);
      m_delta = dod_kind ? Add(m_delta, z) : z;
      const int64_t pm = m;
      m = Add(m, m_delta);
      if (m < -kMaxIntMantissa || m > kMaxIntMantissa) {
        err = "mantissa out of range";
        break;
      }
      // Timestamp bits (the encoder's delta-of-delta is exactly dod).
      WriteDod(o, dod);
      // Value bits: WriteValue with both values integers at exponent 0.
      const uint64_t bits = std::bit_cast<uint64_t>(static_cast<double>(m));
      const uint64_t x = bits ^ vb;
      vb = bits;
      if (x == 0) {
        Write(o, 0, 1);
        continue;
      }
      const int lead = std::min(std::countl_zero(x), 31);
      const int trail = std::countr_zero(x);
      const bool reuse = leading != 0xff && lead >= leading && trail >= trailing;
      const int xor_cost =
          reuse ? 2 + (64 - leading - trailing) : 3 + 11 + (64 - lead - trail);
      const int64_t dm = m - pm;  // |dm| <= 2^54
      int b = -1;
      for (int k = 0; k < 4; ++k) {
        if (Fits(dm, kDecimalDeltaBits[k])) {
          b = k;
          break;
        }
      }
      if (b >= 0 && 3 + PrefixLen(b) + kDecimalDeltaBits[b] < xor_cost) {
        Write(o, 0b111, 3);
        Write(o, PrefixBits(b), PrefixLen(b));
        WriteWide(o, static_cast<uint64_t>(dm), kDecimalDeltaBits[b]);
      } else if (reuse) {
        Write(o, 0b10, 2);
        WriteWide(o, x >> trailing, 64 - leading - trailing);
      } else {
        leading = static_cast<uint8_t>(lead);
        trailing = static_cast<uint8_t>(trail);
        const int sig = 64 - lead - trail;
        Write(o, 0b110, 3);
        Write(o, static_cast<uint64_t>(lead), 5);
        Write(o, static_cast<uint64_t>(sig & 63), 6);
        WriteWide(o, x >> trail, sig);
      }
    }
    acc_ = o.acc;
    pos_ = o.pos;
    acc_n_ = o.n;
    v_bits_ = vb;
    leading_ = leading;
    trailing_ = trailing;
    prev_m_ = m;
    t_delta_ = static_cast<uint64_t>(d);
    t_ = t;
    num_ += i;
    *tdod = std::string_view(tp, static_cast<size_t>(te - tp));
    *dbody = std::string_view(vp, static_cast<size_t>(ve - vp));
    *t_io = t;
    *d_io = d;
    *m_io = m;
    *m_delta_io = m_delta;
    return err;
  }

  void Finish(std::string* out) {
    buf_[0] = static_cast<char>(num_ >> 8);
    buf_[1] = static_cast<char>(num_ & 0xff);
    // The pending bits, left-aligned; the padding bits of the last byte are zero.
    uint32_t w = acc_n_ == 0 ? 0 : __builtin_bswap32(static_cast<uint32_t>(acc_ << (32 - acc_n_)));
    std::memcpy(buf_.data() + pos_, &w, 4);
    size_t size = pos_ + (acc_n_ + 7) / 8;
    char lenbuf[base::kMaxVarint64Bytes];
    out->append(lenbuf, base::EncodeVarint64(lenbuf, size) - lenbuf);
    out->append(buf_.data(), size);
  }

 private:
  struct Sink {
    uint64_t acc;  // pending bits, right-aligned (n < 32 of them between writes)
    size_t pos;    // bytes of buf written
    char* buf;
    int n;
  };

  static constexpr size_t kHeader = chunk::kXorHeaderSize;
  static constexpr int kDodBits[] = {0, 7, 14, 20, 64};
  static constexpr int kDecimalDeltaBits[] = {7, 14, 21, 34};
  static constexpr int kMaxDecimalExp = 7;
  static constexpr double kMaxExactInt = 9007199254740992.0;  // 2^53

  static bool Fits(int64_t x, int nbits) {
    int64_t half = int64_t{1} << (nbits - 1);
    return x >= -(half - 1) && x <= half;
  }
  static int PrefixLen(int i) { return i == 4 ? 4 : i + 1; }
  static uint64_t PrefixBits(int i) { return i == 4 ? 0b1111 : ((uint64_t{1} << i) - 1) << 1; }

  // As chunk::XorEncoder's Decimal(), memoised by (bits, e) for the last two current values.
  bool Decimal(uint64_t bits, int e, int64_t* m) {
    for (const Memo& c : cache_) {
      if (c.e == e && c.bits == bits) {
        *m = c.m;
        return c.ok;
      }
    }
    double s = std::bit_cast<double>(bits) * kPow10[e];
    bool ok = false;
    int64_t r = 0;
    if (s >= -kMaxExactInt && s <= kMaxExactInt) {
      r = static_cast<int64_t>(std::nearbyint(s));
      ok = std::bit_cast<uint64_t>(static_cast<double>(r) / kPow10[e]) == bits;
    }
    Memo& slot = cache_[next_memo_];
    next_memo_ ^= 1;
    slot = Memo{bits, r, e, ok};
    *m = r;
    return ok;
  }

  // Bits collect in acc_ (acc_n_ < 32 of them pending, right-aligned) and leave 32 at a time,
  // so no store is ever re-loaded. REQUIRES: 0 < nbits <= 32.
  [[gnu::always_inline]] static void Write(Sink& o, uint64_t bits, int nbits) {
    o.acc = (o.acc << nbits) | (bits & ((uint64_t{1} << nbits) - 1));
    o.n += nbits;
    if (o.n >= 32) {
      o.n -= 32;
      uint32_t w = __builtin_bswap32(static_cast<uint32_t>(o.acc >> o.n));
      std::memcpy(o.buf + o.pos, &w, 4);
      o.pos += 4;
    }
  }
  [[gnu::always_inline]] static void WriteWide(Sink& o, uint64_t bits, int nbits) {  // 0 < nbits <= 64
    if (nbits > 32) {
      Write(o, bits >> 32, nbits - 32);
      Write(o, bits, 32);
    } else {
      Write(o, bits, nbits);
    }
  }
  // A timestamp's delta-of-delta as chunk::XorEncoder writes it (docs/format/chunk.md).
  [[gnu::always_inline]] static void WriteDod(Sink& o, int64_t dod) {
    if (dod == 0) {
      Write(o, 0, 1);
      return;
    }
    int b = 4;
    for (int k = 1; k < 4; ++k) {
      if (Fits(dod, kDodBits[k])) {
        b = k;
        break;
      }
    }
    Write(o, PrefixBits(b), PrefixLen(b));
    if (b == 4) {
      Write(o, static_cast<uint64_t>(dod) >> 32, 32);
      Write(o, static_cast<uint64_t>(dod), 32);
    } else {
      Write(o, static_cast<uint64_t>(dod), kDodBits[b]);
    }
  }
  static void WriteUvarint(Sink& o, uint64_t v) {
    while (v >= 0x80) {
      Write(o, (v & 0x7f) | 0x80, 8);
      v >>= 7;
    }
    Write(o, v, 8);
  }

  [[gnu::always_inline]] void WriteValue(Sink& o, uint64_t bits, bool is_int, int64_t m) {
    const uint64_t x = bits ^ v_bits_;
    const uint64_t prev = v_bits_;
    v_bits_ = bits;
    if (x == 0) {
      Write(o, 0, 1);
      return;
    }
    int lead = std::min(std::countl_zero(x), 31);
    int trail = std::countr_zero(x);
    const bool reuse = leading_ != 0xff && lead >= leading_ && trail >= trailing_;
    const int xor_cost = reuse ? 2 + (64 - leading_ - trailing_) : 3 + 11 + (64 - lead - trail);
    int64_t pm, cm;
    int exp = -1;
    if (exp_ == 0 && prev_int_ && is_int) {
      pm = prev_m_;
      cm = m;
      exp = 0;
    } else if (Decimal(prev, exp_, &pm) && Decimal(bits, exp_, &cm)) {
      exp = exp_;
    } else if (int64_t m7; Decimal(bits, kMaxDecimalExp, &m7)) {
      for (int e = 0; e <= kMaxDecimalExp; ++e) {
        if (e != exp_ && Decimal(bits, e, &cm) && Decimal(prev, e, &pm)) {
          exp = e;
          break;
        }
      }
    }
    if (exp >= 0) {
      int64_t d = cm - pm;
      int b = -1;
      for (int i = 0; i < 4; ++i) {
        if (Fits(d, kDecimalDeltaBits[i])) {
          b = i;
          break;
        }
      }
      if (b >= 0 && 3 + (exp == exp_ ? 0 : 7) + PrefixLen(b) + kDecimalDeltaBits[b] < xor_cost) {
        Write(o, 0b111, 3);
        if (exp != exp_) {
          Write(o, 0b1111, 4);
          Write(o, static_cast<uint64_t>(exp), 3);
          exp_ = static_cast<uint8_t>(exp);
        }
        Write(o, PrefixBits(b), PrefixLen(b));
        WriteWide(o, static_cast<uint64_t>(d), kDecimalDeltaBits[b]);
        return;
      }
    }
    if (reuse) {
      Write(o, 0b10, 2);
      WriteWide(o, x >> trailing_, 64 - leading_ - trailing_);
      return;
    }
    leading_ = static_cast<uint8_t>(lead);
    trailing_ = static_cast<uint8_t>(trail);
    int sig = 64 - lead - trail;
    Write(o, 0b110, 3);
    Write(o, static_cast<uint64_t>(lead), 5);
    Write(o, static_cast<uint64_t>(sig & 63), 6);
    WriteWide(o, x >> trail, sig);
  }

  struct Memo {
    uint64_t bits = 0;
    int64_t m = 0;
    int e = -1;
    bool ok = false;
  };
  static constexpr double kPow10[kMaxDecimalExp + 1] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7};

  std::string buf_;
  size_t pos_ = 0;  // bytes of buf_ written
  uint64_t acc_ = 0;
  int acc_n_ = 0;
  uint32_t num_ = 0;
  int64_t t_ = 0;
  uint64_t t_delta_ = 0;
  uint64_t v_bits_ = 0;
  uint8_t leading_ = 0xff;
  uint8_t trailing_ = 0;
  uint8_t exp_ = 0;
  Memo cache_[2];
  int next_memo_ = 0;
  bool prev_int_ = false;  // the previous value is double(prev_m_), |prev_m_| <= 2^53
  int64_t prev_m_ = 0;
};

struct Encoder {
  std::string streams[kColumnarStreams];
  int64_t prev_t0 = 0, prev_d1 = 0;
  uint32_t num_chunks = 0;
  ColumnarStats* stats = nullptr;
  // Scratch, reused across chunks.
  std::vector<int64_t> ts;
  std::vector<uint64_t> vs;
  std::vector<int64_t> ms;
  XorRebuilder rebuilder;
  std::string check;

  void Verbatim(std::string_view chunk) {
    streams[kKinds].push_back(static_cast<char>(kKindVerbatim));
    base::PutVarint64(&streams[kCounts], chunk.size());
    streams[kVerbatim].append(chunk);
    if (stats) ++stats->chunks_by_kind[kKindVerbatim];
  }

  // Samples of `chunk` into ts/vs when it decodes and re-encodes to exactly the same bytes.
  bool Decode(std::string_view chunk) {
    ts.clear();
    vs.clear();
    chunk::XorDecoder d(chunk);
    while (d.Next()) {
      if (!ts.empty() && d.t() <= ts.back()) return false;
      ts.push_back(d.t());
      vs.push_back(std::bit_cast<uint64_t>(d.v()));
    }
    if (!d.status().ok() || ts.empty() || ts.size() != d.NumSamples()) return false;
    rebuilder.Start(static_cast<uint32_t>(ts.size()));
    for (size_t i = 0; i < ts.size(); ++i) rebuilder.Append(ts[i], vs[i]);
    check.clear();
    rebuilder.Finish(&check);
    std::string_view in = check;
    uint64_t len;
    return base::GetVarint64(&in, &len) && in == chunk;
  }

  void Add(std::string_view chunk) {
    ++num_chunks;
    if (!Decode(chunk)) {
      Verbatim(chunk);
      return;
    }
    const size_t n = ts.size();
    // Timestamps.
    base::PutVarsint64(&streams[kTHead], Sub(ts[0], prev_t0));
    prev_t0 = ts[0];
    if (n >= 2) {
      int64_t d1 = Sub(ts[1], ts[0]);
      base::PutVarsint64(&streams[kTHead], Sub(d1, prev_d1));
      prev_d1 = d1;
    }
    for (size_t i = 2; i < n; ++i) {
      base::PutVarsint64(&streams[kTDod], Sub(Sub(ts[i], ts[i - 1]), Sub(ts[i - 1], ts[i - 2])));
    }
    // Values: decimal when at most 1/8 of them (specials such as stale markers) are not.
    const size_t max_exceptions = n / 8;
    size_t non_decimal = 0;
    int exp = 0;
    for (size_t i = 0; i < n && non_decimal <= max_exceptions; ++i) {
      int e = MinExponent(vs[i]);
      if (e < 0) {
        ++non_decimal;
      } else if (e > exp) {
        exp = e;
      }
    }
    Kind kind = kKindFloat;
    std::string exceptions;
    uint32_t num_exceptions = 0;
    if (non_decimal <= max_exceptions) {
      ms.resize(n);
      int64_t prev_m = 0;
      size_t next_index = 0;
      for (size_t i = 0; i < n; ++i) {
        int64_t m;
        if (DecimalAt(vs[i], exp, &m)) {
          ms[i] = prev_m = m;
          continue;
        }
        ms[i] = prev_m;
        ++num_exceptions;
        base::PutVarint64(&exceptions, i - next_index);
        base::PutFixed64(&exceptions, vs[i]);
        next_index = i + 1;
      }
      if (num_exceptions <= max_exceptions) {
        size_t delta_cost = 0, dod_cost = 0;
        for (size_t i = 1; i < n; ++i) {
          int64_t d = Sub(ms[i], ms[i - 1]);
          delta_cost += base::VarintLength(base::ZigZagEncode(d));
          dod_cost += base::VarintLength(base::ZigZagEncode(
              i == 1 ? d : Sub(d, Sub(ms[i - 1], ms[i - 2]))));
        }
        kind = dod_cost < delta_cost ? kKindDecDod : kKindDecDelta;
      }
    }
    streams[kKinds].push_back(static_cast<char>(kind));
    base::PutVarint64(&streams[kCounts], n);
    if (stats) {
      ++stats->chunks_by_kind[kind];
      stats->samples_by_kind[kind] += n;
    }
    if (kind == kKindFloat) {
      base::PutFixed64(&streams[kFFirst], vs[0]);
      for (size_t i = 1; i < n; ++i) {
        uint64_t x = vs[i] ^ vs[i - 1];
        for (int j = 0; j < 8; ++j) {
          streams[kPlanes + j].push_back(static_cast<char>(x >> (56 - 8 * j)));
        }
      }
      return;
    }
    std::string& head = streams[kDHead];
    head.push_back(static_cast<char>(exp));
    base::PutVarint64(&head, num_exceptions);
    base::PutVarsint64(&head, ms[0]);
    streams[kExceptions].append(exceptions);
    for (size_t i = 1; i < n; ++i) {
      int64_t d = Sub(ms[i], ms[i - 1]);
      if (kind == kKindDecDod && i >= 2) d = Sub(d, Sub(ms[i - 1], ms[i - 2]));
      base::PutVarsint64(&streams[kDBody], d);
    }
  }

  std::string Finish() {
    std::string body;
    body.push_back(static_cast<char>(kColumnarVersion));
    base::PutVarint64(&body, num_chunks);
    size_t total = 0;
    for (const auto& s : streams) {
      base::PutVarint64(&body, s.size());
      total += s.size();
    }
    body.reserve(body.size() + total);
    for (int i = 0; i < kColumnarStreams; ++i) {
      body.append(streams[i]);
      if (stats) stats->stream_bytes[i] += streams[i].size();
    }
    return body;
  }
};

const char* const kStreamNames[kColumnarStreams] = {
    "kinds",   "counts",  "verbatim", "t_head",  "t_dod",   "d_head",
    "d_body",  "exceptions", "f_first", "plane 0", "plane 1", "plane 2",
    "plane 3", "plane 4", "plane 5",  "plane 6", "plane 7"};

absl::Status Bad(const std::string& what) {
  return absl::DataLossError(absl::StrCat("columnar page: ", what));
}

// One stream being consumed; every getter fails (returns false) at its end.
struct In {
  std::string_view s;
  bool U8(uint8_t* v) {
    if (s.empty()) return false;
    *v = static_cast<uint8_t>(s[0]);
    s.remove_prefix(1);
    return true;
  }
  bool Uvarint(uint64_t* v) { return base::GetVarint64(&s, v); }
  bool Svarint(int64_t* v) { return base::GetVarsint64(&s, v); }
  bool Fixed64(uint64_t* v) { return base::GetFixed64(&s, v); }
};

}  // namespace

absl::StatusOr<std::string> EncodeColumnarPage(std::string_view raw, ColumnarStats* stats) {
  Encoder enc;
  enc.stats = stats;
  std::string_view in = raw;
  while (!in.empty()) {
    uint64_t len;
    const size_t before = in.size();
    // A non-minimal length varint would not be rebuilt byte for byte.
    if (!base::GetVarint64(&in, &len) || len > in.size() ||
        before - in.size() != static_cast<size_t>(base::VarintLength(len))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "raw page entry at offset ", raw.size() - before, " has a bad or non-minimal length"));
    }
    enc.Add(in.substr(0, len));
    in.remove_prefix(len);
  }
  return enc.Finish();
}

absl::Status DecodeColumnarPage(std::string_view body, size_t raw_len, std::string* raw) {
  raw->clear();
  In b{body};
  uint8_t version;
  if (!b.U8(&version)) return Bad("empty body");
  if (version != kColumnarVersion) return Bad(absl::StrCat("unsupported version ", version));
  uint64_t num_chunks;
  if (!b.Uvarint(&num_chunks)) return Bad("truncated chunk count");
  uint64_t lens[kColumnarStreams];
  uint64_t total = 0;
  for (int i = 0; i < kColumnarStreams; ++i) {
    if (!b.Uvarint(&lens[i])) return Bad("truncated stream lengths");
    if (lens[i] > body.size()) return Bad(absl::StrCat(kStreamNames[i], " stream too long"));
    total += lens[i];
  }
  if (total != b.s.size()) {
    return Bad(absl::StrCat("streams take ", total, " bytes, body has ", b.s.size()));
  }
  In s[kColumnarStreams];
  for (int i = 0; i < kColumnarStreams; ++i) {
    s[i].s = b.s.substr(0, lens[i]);
    b.s.remove_prefix(lens[i]);
  }
  if (num_chunks != lens[kKinds]) return Bad("chunk count does not match the kinds stream");
  auto truncated = [](int stream) {
    return Bad(absl::StrCat(kStreamNames[stream], " stream truncated"));
  };
  raw->reserve(raw_len);
  XorRebuilder rebuilder;
  int64_t prev_t0 = 0, prev_d1 = 0;
  std::vector<std::pair<uint32_t, uint64_t>> exceptions;
  char lenbuf[base::kMaxVarint64Bytes];
  for (uint64_t c = 0; c < num_chunks; ++c) {
    uint8_t kind;
    uint64_t count;
    if (!s[kKinds].U8(&kind)) return truncated(kKinds);
    if (kind > kKindFloat) return Bad(absl::StrCat("chunk ", c, " has unknown kind ", kind));
    if (!s[kCounts].Uvarint(&count)) return truncated(kCounts);
    if (kind == kKindVerbatim) {
      if (count > s[kVerbatim].s.size()) return truncated(kVerbatim);
      if (raw->size() + count > raw_len) {
        return Bad(absl::StrCat("rebuilt page exceeds its raw length ", raw_len));
      }
      raw->append(lenbuf, base::EncodeVarint64(lenbuf, count) - lenbuf);
      raw->append(s[kVerbatim].s.substr(0, count));
      s[kVerbatim].s.remove_prefix(count);
      continue;
    }
    if (count == 0 || count > chunk::kXorMaxSamples) {
      return Bad(absl::StrCat("chunk ", c, " has ", count, " samples"));
    }
    const uint32_t n = static_cast<uint32_t>(count);
    int exp = 0;
    int64_t m = 0, m_delta = 0;
    uint64_t v_bits = 0;
    exceptions.clear();
    if (kind == kKindFloat) {
      if (!s[kFFirst].Fixed64(&v_bits)) return truncated(kFFirst);
      for (int j = 0; j < 8; ++j) {
        if (s[kPlanes + j].s.size() < n - 1) return truncated(kPlanes + j);
      }
    } else {
      uint8_t e;
      uint64_t k;
      if (!s[kDHead].U8(&e) || !s[kDHead].Uvarint(&k) || !s[kDHead].Svarint(&m)) {
        return truncated(kDHead);
      }
      if (e > kMaxExponent) return Bad(absl::StrCat("chunk ", c, " has exponent ", e));
      exp = e;
      if (k > n || k * 9 > s[kExceptions].s.size()) return truncated(kExceptions);
      uint64_t next = 0;
      for (uint64_t i = 0; i < k; ++i) {
        uint64_t gap, bits;
        if (!s[kExceptions].Uvarint(&gap) || !s[kExceptions].Fixed64(&bits)) {
          return truncated(kExceptions);
        }
        if (gap >= n - next) return Bad(absl::StrCat("chunk ", c, ": exception beyond its samples"));
        next += gap;
        exceptions.emplace_back(static_cast<uint32_t>(next), bits);
        ++next;
      }
    }
    rebuilder.Start(n);
    int64_t t = 0, d = 0;
    size_t next_exception = 0;
    const bool integer_run = kind != kKindFloat && exp == 0 && exceptions.empty();
    for (uint32_t i = 0; i < n; ++i) {
      if (i == 2 && integer_run) {
        if (const char* err = rebuilder.AppendIntegerRun(n - 2, &s[kTDod].s, &s[kDBody].s,
                                                         kind == kKindDecDod, &t, &d, &m,
                                                         &m_delta)) {
          return Bad(absl::StrCat("chunk ", c, ": ", err));
        }
        break;
      }
      // Timestamp.
      if (i == 0) {
        int64_t z;
        if (!s[kTHead].Svarint(&z)) return truncated(kTHead);
        t = prev_t0 = Add(prev_t0, z);
      } else {
        int64_t z;
        if (i == 1) {
          if (!s[kTHead].Svarint(&z)) return truncated(kTHead);
          d = prev_d1 = Add(prev_d1, z);
        } else {
          if (!s[kTDod].Svarint(&z)) return truncated(kTDod);
          d = Add(d, z);
        }
        int64_t next_t = Add(t, d);
        if (next_t <= t) {
          return Bad(absl::StrCat("chunk ", c, ": timestamps do not increase at sample ", i));
        }
        t = next_t;
      }
      // Value.
      if (kind == kKindFloat) {
        if (i > 0) {
          uint64_t x = 0;
          for (int j = 0; j < 8; ++j) {
            x = (x << 8) | static_cast<uint8_t>(s[kPlanes + j].s[0]);
            s[kPlanes + j].s.remove_prefix(1);
          }
          v_bits ^= x;
        }
      } else {
        if (i > 0) {
          int64_t z;
          if (!s[kDBody].Svarint(&z)) return truncated(kDBody);
          m_delta = (kind == kKindDecDod && i >= 2) ? Add(m_delta, z) : z;
          m = Add(m, m_delta);
        }
        if (m < -kMaxIntMantissa || m > kMaxIntMantissa) {
          return Bad(absl::StrCat("chunk ", c, ": mantissa out of range"));
        }
        if (next_exception < exceptions.size() && exceptions[next_exception].first == i) {
          v_bits = exceptions[next_exception++].second;
        } else {
          v_bits = std::bit_cast<uint64_t>(MantissaValue(m, exp));
          if (exp == 0) {
            rebuilder.Append(t, v_bits, true, m);
            continue;
          }
        }
      }
      rebuilder.Append(t, v_bits);
    }
    rebuilder.Finish(raw);
    if (raw->size() > raw_len) {
      return Bad(absl::StrCat("rebuilt page exceeds its raw length ", raw_len));
    }
  }
  for (int i = 0; i < kColumnarStreams; ++i) {
    if (!s[i].s.empty()) {
      return Bad(absl::StrCat(s[i].s.size(), " bytes left in the ", kStreamNames[i], " stream"));
    }
  }
  if (raw->size() != raw_len) {
    return Bad(absl::StrCat("rebuilt page has ", raw->size(), " bytes, header says ", raw_len));
  }
  return absl::OkStatus();
}

}  // namespace xscaler::storage::block

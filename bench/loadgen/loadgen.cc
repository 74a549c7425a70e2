// xscaler-loadgen: pre-encodes the benchmark workload (workload.h) and then
//   push        sends it over HTTP/1.1 keep-alive, one connection per shard, and reports
//               accepted samples/s, requests and errors by status (JSON);
//   parse-only  times one thread running the server's own decoders (remote write: snappy +
//               protobuf → Appender; OTLP: protobuf decode + translation) over the same bodies
//               into an Appender that stores nothing: the "physical limit" of issue 5;
//   query       times PromQL / metadata calls (a TSV file) and reports median and p99;
//   info        prints the workload's shape (series, time range, request bytes).
// Plain POSIX sockets, blocking, one thread per connection: the generator must cost little and
// never be the bottleneck, so everything is encoded before the clock starts.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ingest/otlp/decode.h"
#include "ingest/otlp/ingester.h"
#include "ingest/otlp/model.h"
#include "ingest/remote_write/remote_write.h"
#include "ingest/report.h"
#include "loadgen/workload.h"
#include "loadgen/digest_appender.h"
#include "storage/null_appender.h"
#include "storage/storage.h"

namespace xscaler::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

double ProcessCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

std::string JsonEscape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

// ---------- command line ----------

struct Args {
  std::map<std::string, std::vector<std::string>> values;
  std::string Get(const std::string& k, const std::string& def = "") const {
    auto it = values.find(k);
    return it == values.end() || it->second.empty() ? def : it->second.back();
  }
  std::vector<std::string> All(const std::string& k) const {
    auto it = values.find(k);
    return it == values.end() ? std::vector<std::string>{} : it->second;
  }
  int64_t Int(const std::string& k, int64_t def) const {
    std::string v = Get(k);
    return v.empty() ? def : std::stoll(v);
  }
  double Double(const std::string& k, double def) const {
    std::string v = Get(k);
    return v.empty() ? def : std::stod(v);
  }
};

// "15", "15s", "500ms", "1m" → milliseconds.
int64_t ParseDurationMs(const std::string& s) {
  size_t pos = 0;
  double v = std::stod(s, &pos);
  std::string unit = s.substr(pos);
  if (unit == "ms") return static_cast<int64_t>(v);
  if (unit == "m") return static_cast<int64_t>(v * 60000);
  if (unit == "h") return static_cast<int64_t>(v * 3600000);
  if (unit.empty() || unit == "s") return static_cast<int64_t>(v * 1000);
  throw std::invalid_argument("unknown duration unit in \"" + s + "\" (use ms, s, m or h)");
}

WorkloadOptions WorkloadFromArgs(const Args& a) {
  WorkloadOptions o;
  o.seed = static_cast<uint64_t>(a.Int("seed", 1));
  o.series = a.Int("series", 10000);
  o.samples = a.Int("samples", 120);
  o.interval_ms = ParseDurationMs(a.Get("interval", "15s"));
  if (!a.Get("duration").empty()) o.samples = std::max<int64_t>(1, ParseDurationMs(a.Get("duration")) / o.interval_ms);
  o.batch = a.Int("batch", 2000);
  o.shards = static_cast<int>(a.Int("concurrency", 4));
  o.base_ms = a.Int("base-ms", 0);
  o.churn_every = a.Int("churn-every", 0);
  o.churn_fraction = a.Double("churn-fraction", 0.1);
  o.otlp_start_time = a.Get("otlp-start-time", "false") == "true";
  return o;
}

Protocol ProtocolFromArgs(const Args& a) {
  std::string p = a.Get("protocol", "remote-write");
  if (p == "otlp") return Protocol::kOtlp;
  if (p == "remote-write" || p == "rw") return Protocol::kRemoteWrite;
  throw std::invalid_argument("--protocol must be remote-write or otlp, not \"" + p + "\"");
}

// Encodes every shard, one thread per shard.
std::vector<std::vector<EncodedRequest>> EncodeAll(const Workload& wl, Protocol p) {
  std::vector<std::vector<EncodedRequest>> shards(wl.options().shards);
  std::vector<std::thread> threads;
  for (int s = 0; s < wl.options().shards; ++s) {
    threads.emplace_back([&, s] { shards[s] = wl.Encode(p, s); });
  }
  for (auto& t : threads) t.join();
  return shards;
}

void WriteOut(const Args& a, const std::string& json) {
  std::string path = a.Get("out");
  if (path.empty()) {
    std::fwrite(json.data(), 1, json.size(), stdout);
    std::fputc('\n', stdout);
    return;
  }
  std::ofstream f(path);
  f << json << "\n";
}

std::string WorkloadJson(const Workload& wl, Protocol p) {
  const WorkloadOptions& o = wl.options();
  const WorkloadInfo& i = wl.info();
  std::ostringstream j;
  j << "\"protocol\":\"" << ProtocolName(p) << "\",\"seed\":" << o.seed
    << ",\"series\":" << i.series << ",\"targets\":" << i.targets
    << ",\"total_series\":" << i.total_series << ",\"samples_per_series\":" << o.samples
    << ",\"interval_ms\":" << o.interval_ms << ",\"batch\":" << o.batch
    << ",\"concurrency\":" << o.shards << ",\"churn_every\":" << o.churn_every
    << ",\"samples_total\":" << i.samples_total << ",\"min_t_ms\":" << i.min_t
    << ",\"max_t_ms\":" << i.max_t;
  return j.str();
}

// ---------- HTTP/1.1 client ----------

struct Url {
  std::string host = "127.0.0.1";
  int port = 80;
};

Url ParseUrl(const std::string& s) {
  std::string rest = s;
  if (rest.rfind("http://", 0) == 0) rest = rest.substr(7);
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  Url u;
  size_t colon = rest.rfind(':');
  if (colon == std::string::npos) {
    u.host = rest;
  } else {
    u.host = rest.substr(0, colon);
    u.port = std::stoi(rest.substr(colon + 1));
  }
  return u;
}

struct Response {
  int status = 0;  // 0: network error
  std::string body;
  std::string error;
};

// One keep-alive connection; reconnects when the server closed it.
class HttpConn {
 public:
  explicit HttpConn(Url url) : url_(std::move(url)) {}
  ~HttpConn() { Close(); }

  Response Do(const std::string& request) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      const bool reused = fd_ >= 0;
      if (fd_ < 0 && !Connect()) return {0, "", "connect to " + url_.host + ":" + std::to_string(url_.port) + " failed: " + std::strerror(errno)};
      Response r;
      if (SendAll(request) && ReadResponse(r)) return r;
      Close();
      if (!reused) return {0, "", r.error.empty() ? "connection failed" : r.error};
    }
    return {0, "", "connection closed by server"};
  }

 private:
  bool Connect() {
    addrinfo hints{}, *res = nullptr;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(url_.host.c_str(), std::to_string(url_.port).c_str(), &hints, &res) != 0) {
      return false;
    }
    for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
      int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
      if (fd < 0) continue;
      if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        fd_ = fd;
        break;
      }
      close(fd);
    }
    freeaddrinfo(res);
    buf_.clear();
    return fd_ >= 0;
  }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    buf_.clear();
  }
  bool SendAll(const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      ssize_t n = send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        return false;
      }
      off += static_cast<size_t>(n);
    }
    return true;
  }
  bool Fill() {
    char tmp[65536];
    ssize_t n;
    do {
      n = recv(fd_, tmp, sizeof(tmp), 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }
  // Reads until `buf_` holds at least `n` bytes.
  bool Need(size_t n) {
    while (buf_.size() < n) {
      if (!Fill()) return false;
    }
    return true;
  }
  bool ReadResponse(Response& r) {
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) {
        r.error = "connection closed before the response headers";
        return false;
      }
    }
    std::string head = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    if (head.size() < 12 || head.compare(0, 5, "HTTP/") != 0) {
      r.error = "malformed status line";
      return false;
    }
    r.status = std::atoi(head.c_str() + 9);
    int64_t content_length = -1;
    bool chunked = false, close_after = false;
    std::istringstream hs(head);
    std::string line;
    std::getline(hs, line);
    while (std::getline(hs, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      size_t c = line.find(':');
      if (c == std::string::npos) continue;
      std::string k = line.substr(0, c), v = line.substr(c + 1);
      std::transform(k.begin(), k.end(), k.begin(), ::tolower);
      std::transform(v.begin(), v.end(), v.begin(), ::tolower);
      while (!v.empty() && v.front() == ' ') v.erase(0, 1);
      if (k == "content-length") content_length = std::stoll(v);
      if (k == "transfer-encoding" && v.find("chunked") != std::string::npos) chunked = true;
      if (k == "connection" && v.find("close") != std::string::npos) close_after = true;
    }
    if (chunked) {
      for (;;) {
        size_t eol;
        while ((eol = buf_.find("\r\n")) == std::string::npos) {
          if (!Fill()) return false;
        }
        size_t len = std::stoull(buf_.substr(0, eol), nullptr, 16);
        buf_.erase(0, eol + 2);
        if (!Need(len + 2)) return false;
        r.body.append(buf_, 0, len);
        buf_.erase(0, len + 2);
        if (len == 0) break;  // (trailers are not used by the servers we talk to)
      }
    } else if (content_length >= 0) {
      if (!Need(static_cast<size_t>(content_length))) return false;
      r.body = buf_.substr(0, static_cast<size_t>(content_length));
      buf_.erase(0, static_cast<size_t>(content_length));
    } else if (r.status != 204 && r.status != 304) {
      while (Fill()) {
      }
      r.body.swap(buf_);
      close_after = true;
    }
    if (close_after) Close();
    return true;
  }

  Url url_;
  int fd_ = -1;
  std::string buf_;
};

std::string HeaderLines(const Args& a, const Url& u) {
  std::string h = "Host: " + u.host + ":" + std::to_string(u.port) + "\r\n";
  for (const std::string& x : a.All("header")) h += x + "\r\n";
  return h;
}

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t idx = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size()))) ;
  idx = idx == 0 ? 0 : idx - 1;
  return v[std::min(idx, v.size() - 1)];
}

// ---------- push ----------

int Push(const Args& a) {
  const Protocol proto = ProtocolFromArgs(a);
  Workload wl(WorkloadFromArgs(a));
  const Url url = ParseUrl(a.Get("url", "http://127.0.0.1:9090"));
  const std::string path =
      a.Get("path", proto == Protocol::kOtlp ? "/otlp/v1/metrics" : "/api/v1/write");
  const int retries = static_cast<int>(a.Int("retries", 3));

  auto t_enc = Clock::now();
  auto shards = EncodeAll(wl, proto);
  const double encode_s = Seconds(t_enc, Clock::now());

  std::string head = "POST " + path + " HTTP/1.1\r\n" + HeaderLines(a, url);
  if (proto == Protocol::kRemoteWrite) {
    head += "Content-Type: application/x-protobuf\r\nContent-Encoding: snappy\r\n"
            "X-Prometheus-Remote-Write-Version: 0.1.0\r\nUser-Agent: xscaler-loadgen\r\n";
  } else {
    head += "Content-Type: application/x-protobuf\r\nUser-Agent: xscaler-loadgen\r\n";
  }
  // Whole requests (headers + body) are built before the clock starts, too.
  int64_t requests = 0, bytes = 0;
  std::vector<std::vector<std::string>> wire(shards.size());
  for (size_t s = 0; s < shards.size(); ++s) {
    for (EncodedRequest& r : shards[s]) {
      wire[s].push_back(head + "Content-Length: " + std::to_string(r.body.size()) + "\r\n\r\n" +
                        r.body);
      bytes += static_cast<int64_t>(r.body.size());
      ++requests;
      std::string().swap(r.body);  // only the wire copy is kept: large runs need the memory
    }
  }

  std::mutex mu;
  std::map<std::string, int64_t> errors;
  std::string first_error;
  std::atomic<int64_t> accepted{0}, ok_requests{0}, attempts{0}, not_sent{0};
  // Set when a request got no answer even after its retries: the server is gone, and sending
  // the rest would only add minutes of retries to a run that has already failed.
  std::atomic<bool> server_gone{false};
  std::vector<std::vector<double>> lat(shards.size());
  const double cpu0 = ProcessCpuSeconds();
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (size_t s = 0; s < shards.size(); ++s) {
    threads.emplace_back([&, s] {
      HttpConn conn(url);
      for (size_t i = 0; i < wire[s].size(); ++i) {
        if (server_gone) {
          not_sent += static_cast<int64_t>(wire[s].size() - i);
          break;
        }
        for (int attempt = 0; attempt <= retries; ++attempt) {
          auto rs = Clock::now();
          Response r = conn.Do(wire[s][i]);
          lat[s].push_back(Seconds(rs, Clock::now()) * 1000);
          ++attempts;
          if (r.status >= 200 && r.status < 300) {
            accepted += shards[s][i].samples;
            ++ok_requests;
            break;
          }
          const std::string key = r.status == 0 ? "network" : std::to_string(r.status);
          {
            std::lock_guard<std::mutex> l(mu);
            ++errors[key];
            if (first_error.empty()) {
              first_error = key + ": " + (r.status == 0 ? r.error : r.body.substr(0, 300));
            }
          }
          const bool retryable = r.status == 0 || r.status == 429 || r.status >= 500;
          if (!retryable) break;
          if (r.status == 0 && attempt == retries) server_gone = true;
          std::this_thread::sleep_for(std::chrono::milliseconds(100 * (attempt + 1)));
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  const double wall = Seconds(t0, Clock::now());
  const double cpu = ProcessCpuSeconds() - cpu0;

  std::vector<double> all_lat;
  for (auto& l : lat) all_lat.insert(all_lat.end(), l.begin(), l.end());
  std::ostringstream j;
  j.precision(6);
  j << std::fixed;
  j << "{\"mode\":\"push\"," << WorkloadJson(wl, proto) << ",\"path\":\"" << path << "\""
    << ",\"requests\":" << requests << ",\"requests_ok\":" << ok_requests.load()
    << ",\"attempts\":" << attempts.load() << ",\"requests_not_sent\":" << not_sent.load()
    << ",\"aborted\":" << (server_gone ? "true" : "false")
    << ",\"samples_sent\":" << wl.info().samples_total
    << ",\"samples_accepted\":" << accepted.load() << ",\"bytes_sent\":" << bytes
    << ",\"bytes_per_sample\":" << static_cast<double>(bytes) / static_cast<double>(std::max<int64_t>(1, wl.info().samples_total))
    << ",\"encode_seconds\":" << encode_s << ",\"wall_seconds\":" << wall
    << ",\"samples_per_second\":" << static_cast<double>(accepted.load()) / wall
    << ",\"loadgen_cpu_seconds\":" << cpu << ",\"request_latency_ms\":{\"p50\":"
    << Percentile(all_lat, 0.5) << ",\"p99\":" << Percentile(all_lat, 0.99) << "}"
    << ",\"errors_by_status\":{";
  bool first = true;
  for (const auto& [k, v] : errors) {
    j << (first ? "" : ",") << "\"" << k << "\":" << v;
    first = false;
  }
  j << "},\"first_error\":\"" << JsonEscape(first_error) << "\"}";
  WriteOut(a, j.str());
  return 0;
}

// ---------- parse-only ----------


int ParseOnly(const Args& a) {
  const Protocol proto = ProtocolFromArgs(a);
  Workload wl(WorkloadFromArgs(a));
  const int passes = static_cast<int>(a.Int("passes", 3));
  auto shards = EncodeAll(wl, proto);
  std::vector<std::string*> bodies;
  for (auto& s : shards) {
    for (auto& r : s) bodies.push_back(&r.body);
  }
  // Two measurements, each the best of `passes` passes over every body into a NullAppender:
  //  - cached: with the series caches the server keeps per tenant (remote write's label-bytes
  //    cache, OTLP's series cache), warm after the first pass: the decoding work the server
  //    really does per request in steady state, i.e. the physical limit;
  //  - uncached: every series' labels decoded, translated and validated on every request.
  int64_t appended = 0, rejected = 0, failed = 0;
  std::string first_error;
  auto run = [&](bool cached) {
    ingest::otlp::TranslationOptions opts;
    if (!cached) opts.series_cache_entries = 0;
    ingest::otlp::Ingester ingester(nullptr, opts);
    ingest::remote_write::SeriesRefCache rw_cache;
    storage::NullAppender app;  // one for all passes, so cached refs stay valid
    double best = 0;
    for (int p = 0; p < passes; ++p) {
      const int64_t appended_before = app.appended();
      int64_t rej = 0;
      const auto t0 = Clock::now();
      for (std::string* b : bodies) {
        ingest::IngestReport report;
        absl::Status st =
            proto == Protocol::kRemoteWrite
                ? ingest::remote_write::IngestSnappy(*b, 256 << 20, app, report,
                                                     cached ? &rw_cache : nullptr)
                : ingester.Ingest(*b, ingest::otlp::Encoding::kProtobuf, app, report);
        if (!st.ok()) {
          ++failed;
          if (first_error.empty()) first_error = st.ToString();
        }
        rej += report.rejected_points();
      }
      const double s = Seconds(t0, Clock::now());
      best = p == 0 ? s : std::min(best, s);
      appended = app.appended() - appended_before;
      rejected = rej;
    }
    return best;
  };
  const double best = run(/*cached=*/true);
  const double uncached_best = run(/*cached=*/false);
  // OTLP only: the protobuf decode alone, without translation.
  double decode_best = 0;
  if (proto == Protocol::kOtlp) {
    for (int p = 0; p < passes; ++p) {
      const auto t0 = Clock::now();
      ingest::otlp::Request req;
      for (std::string* b : bodies) {
        (void)ingest::otlp::DecodeProto(*b, req);
        req.Clear();
      }
      double s = Seconds(t0, Clock::now());
      decode_best = p == 0 ? s : std::min(decode_best, s);
    }
  }
  const double n = static_cast<double>(wl.info().samples_total);
  std::ostringstream j;
  j.precision(6);
  j << std::fixed;
  j << "{\"mode\":\"parse-only\"," << WorkloadJson(wl, proto) << ",\"threads\":1"
    << ",\"requests\":" << bodies.size() << ",\"passes\":" << passes
    << ",\"best_seconds\":" << best << ",\"samples_per_second\":" << n / best
    << ",\"ns_per_sample\":" << best * 1e9 / n
    << ",\"uncached_samples_per_second\":" << n / uncached_best
    << ",\"appended_per_pass\":" << appended
    << ",\"rejected_points\":" << rejected << ",\"failed_requests\":" << failed;
  if (proto == Protocol::kOtlp) {
    j << ",\"decode_only_samples_per_second\":" << n / decode_best;
  }
  j << ",\"first_error\":\"" << JsonEscape(first_error) << "\"}";
  WriteOut(a, j.str());
  return failed == 0 ? 0 : 1;
}


// Decodes the remote-write and the OTLP form of the same workload with the server's decoders
// and checks that they yield the same series and samples.
int CheckEquivalence(const Args& a) {
  WorkloadOptions o = WorkloadFromArgs(a);
  Workload wl(o);
  o.base_ms = wl.options().base_ms;  // same time base for both encodings
  DigestAppender rw, otlp;
  ingest::otlp::Ingester ingester(nullptr, ingest::otlp::TranslationOptions{});
  int64_t failed = 0;
  for (int s = 0; s < o.shards; ++s) {
    for (EncodedRequest& r : wl.Encode(Protocol::kRemoteWrite, s)) {
      ingest::IngestReport rep;
      if (!ingest::remote_write::IngestSnappy(r.body, 256 << 20, rw, rep).ok()) ++failed;
    }
    for (EncodedRequest& r : wl.Encode(Protocol::kOtlp, s)) {
      ingest::IngestReport rep;
      if (!ingester.Ingest(r.body, ingest::otlp::Encoding::kProtobuf, otlp, rep).ok()) ++failed;
      if (rep.rejected_points() > 0) ++failed;
    }
  }
  int64_t mismatches = 0;
  for (const auto& [k, d] : rw.series) {
    auto it = otlp.series.find(k);
    if (it == otlp.series.end() || it->second.n != d.n || it->second.tsum != d.tsum ||
        std::abs(it->second.sum - d.sum) > 1e-6 * std::max(1.0, std::abs(d.sum))) {
      if (mismatches++ < 5) std::fprintf(stderr, "differs: %s\n", k.c_str());
    }
  }
  for (const auto& [k, d] : otlp.series) {
    if (!rw.series.contains(k) && mismatches++ < 10) std::fprintf(stderr, "only in OTLP: %s\n", k.c_str());
  }
  std::printf("{\"mode\":\"check-equivalence\",\"rw_series\":%zu,\"otlp_series\":%zu,"
              "\"mismatches\":%lld,\"failed_requests\":%lld}\n",
              rw.series.size(), otlp.series.size(), static_cast<long long>(mismatches),
              static_cast<long long>(failed));
  return mismatches == 0 && failed == 0 ? 0 : 1;
}

// ---------- query ----------

std::string UrlEncode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

size_t CountOccurrences(const std::string& s, std::string_view needle) {
  size_t n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

// Result size: series for query/query_range/series, entries for labels/label_values.
int64_t ResultSize(const std::string& kind, const std::string& body) {
  if (kind == "range" || kind == "instant") {
    return static_cast<int64_t>(CountOccurrences(body, "\"metric\""));
  }
  if (kind == "series") return static_cast<int64_t>(CountOccurrences(body, "\"__name__\""));
  size_t p = body.find("\"data\"");
  if (p == std::string::npos) return 0;
  size_t open = body.find('[', p), close = body.find(']', p);
  if (open == std::string::npos || close == std::string::npos || close < open) return 0;
  return static_cast<int64_t>(std::count(body.begin() + static_cast<long>(open), body.begin() + static_cast<long>(close), '"') / 2);
}

std::string FormatSeconds(int64_t ms) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f", static_cast<double>(ms) / 1000.0);
  return buf;
}

int Query(const Args& a) {
  const Url url = ParseUrl(a.Get("url", "http://127.0.0.1:9090"));
  const std::string start = FormatSeconds(a.Int("start-ms", 0));
  const std::string end = FormatSeconds(a.Int("end-ms", 0));
  const std::string step = a.Get("step", "60");
  const int runs = static_cast<int>(a.Int("runs", 20));
  const int warmup = static_cast<int>(a.Int("warmup", 2));
  std::ifstream f(a.Get("queries"));
  if (!f) {
    std::fprintf(stderr, "cannot read --queries file \"%s\"\n", a.Get("queries").c_str());
    return 2;
  }
  const std::string headers = HeaderLines(a, url);
  HttpConn conn(url);
  std::ostringstream j;
  j.precision(3);
  j << std::fixed << "{\"mode\":\"query\",\"runs\":" << runs << ",\"queries\":[";
  bool first = true;
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> cols;
    std::stringstream ls(line);
    std::string c;
    while (std::getline(ls, c, '\t')) cols.push_back(c);
    if (cols.size() < 2) continue;
    const std::string& name = cols[0];
    const std::string& kind = cols[1];
    const std::string expr = cols.size() > 2 ? cols[2] : "";
    std::string target;
    if (kind == "range") {
      target = "/api/v1/query_range?query=" + UrlEncode(expr) + "&start=" + start + "&end=" + end + "&step=" + step;
    } else if (kind == "instant") {
      target = "/api/v1/query?query=" + UrlEncode(expr) + "&time=" + end;
    } else if (kind == "series") {
      target = "/api/v1/series?match%5B%5D=" + UrlEncode(expr) + "&start=" + start + "&end=" + end;
    } else if (kind == "labels") {
      target = "/api/v1/labels?start=" + start + "&end=" + end;
    } else if (kind == "label_values") {
      target = "/api/v1/label/" + expr + "/values?start=" + start + "&end=" + end;
    } else {
      std::fprintf(stderr, "unknown query kind \"%s\"\n", kind.c_str());
      continue;
    }
    const std::string req = "GET " + target + " HTTP/1.1\r\n" + headers + "Accept: application/json\r\n\r\n";
    std::vector<double> ms;
    Response last;
    bool ok = true;
    for (int i = 0; i < warmup + runs && ok; ++i) {
      auto t0 = Clock::now();
      last = conn.Do(req);
      double d = Seconds(t0, Clock::now()) * 1000;
      ok = last.status == 200 && last.body.find("\"success\"") != std::string::npos;
      if (i >= warmup) ms.push_back(d);
    }
    j << (first ? "" : ",") << "{\"name\":\"" << JsonEscape(name) << "\",\"kind\":\"" << kind
      << "\",\"expr\":\"" << JsonEscape(expr) << "\",\"status\":" << last.status
      << ",\"ok\":" << (ok ? "true" : "false");
    if (ok) {
      j << ",\"median_ms\":" << Percentile(ms, 0.5) << ",\"p99_ms\":" << Percentile(ms, 0.99)
        << ",\"min_ms\":" << Percentile(ms, 0.0) << ",\"result_size\":" << ResultSize(kind, last.body);
    } else {
      j << ",\"error\":\"" << JsonEscape(last.status == 0 ? last.error : last.body.substr(0, 300)) << "\"";
    }
    j << "}";
    first = false;
  }
  j << "]}";
  WriteOut(a, j.str());
  return 0;
}

int Info(const Args& a) {
  const Protocol proto = ProtocolFromArgs(a);
  Workload wl(WorkloadFromArgs(a));
  auto shards = EncodeAll(wl, proto);
  int64_t requests = 0, bytes = 0;
  for (auto& s : shards) {
    for (auto& r : s) {
      ++requests;
      bytes += static_cast<int64_t>(r.body.size());
    }
  }
  std::ostringstream j;
  j << "{\"mode\":\"info\"," << WorkloadJson(wl, proto) << ",\"requests\":" << requests
    << ",\"bytes\":" << bytes << "}";
  WriteOut(a, j.str());
  return 0;
}

const char kUsage[] =
    "usage: xscaler-loadgen push|parse-only|query|info|check-equivalence [--flag value]...\n"
    "workload: --series N (10000) --samples N (120) | --duration D, --interval D (15s),\n"
    "          --batch N samples/request (2000), --concurrency N senders (4), --seed N (1),\n"
    "          --churn-every STEPS (0) --churn-fraction F (0.1), --base-ms MS (now-based),\n"
    "          --protocol remote-write|otlp, --otlp-start-time true|false (false)\n"
    "push:     --url http://127.0.0.1:PORT --path P --header 'K: V' (repeatable) --retries N\n"
    "parse-only: --passes N (3)\n"
    "query:    --url U --queries FILE.tsv --start-ms MS --end-ms MS --step S --runs N --warmup N\n"
    "all:      --out FILE (JSON; default stdout)\n";

}  // namespace
}  // namespace xscaler::bench

int main(int argc, char** argv) {
  using namespace xscaler::bench;
  if (argc < 2 || std::string(argv[1]) == "-h" || std::string(argv[1]) == "--help") {
    std::fputs(kUsage, stderr);
    return argc < 2 ? 2 : 0;
  }
  Args a;
  for (int i = 2; i < argc; ++i) {
    std::string k = argv[i];
    if (k.rfind("--", 0) != 0 || i + 1 >= argc) {
      std::fprintf(stderr, "expected --flag value, got \"%s\"\n%s", k.c_str(), kUsage);
      return 2;
    }
    a.values[k.substr(2)].push_back(argv[++i]);
  }
  const std::string mode = argv[1];
  try {
    if (mode == "push") return Push(a);
    if (mode == "parse-only") return ParseOnly(a);
    if (mode == "query") return Query(a);
    if (mode == "info") return Info(a);
    if (mode == "check-equivalence") return CheckEquivalence(a);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "xscaler-loadgen: %s\n", e.what());
    return 2;
  }
  std::fprintf(stderr, "unknown mode \"%s\"\n%s", mode.c_str(), kUsage);
  return 2;
}

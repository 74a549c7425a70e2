// The only translation unit that includes Boost.Beast (compile time: keep it that way).
#include "http/server.h"

#include <cstring>
#include <algorithm>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstring>
#include <exception>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "http/decompress.h"
#include "http/middleware.h"
#include "http/str.h"
#include "http/url.h"
#include "spdlog/spdlog.h"

namespace xscaler::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr uint32_t kHeaderLimit = 64 << 10;

// Fills path (percent-decoded) and query params from a request target.
void SplitTarget(std::string_view target, Request& req) {
  size_t q = target.find('?');
  req.path = PercentDecode(target.substr(0, q), false);
  if (q != std::string_view::npos) ParseFormEncoded(target.substr(q + 1), req.params);
}

bool IsFormBody(const Request& req) {
  std::optional<std::string_view> type = req.Header("Content-Type");
  std::optional<std::string_view> enc = req.Header("Content-Encoding");
  return req.method == "POST" && type.has_value() &&
         StartsWithIgnoreCase(*type, "application/x-www-form-urlencoded") &&
         (!enc.has_value() || enc->empty() || EqualsIgnoreCase(*enc, "identity"));
}

// Responses smaller than this are not worth compressing.
constexpr size_t kGzipMinBytes = 1024;

// gzip-encodes large responses for clients that accept it (Grafana always does; label and
// series lists compress ~10x). Runs on the worker pool, not the I/O threads.
void MaybeGzip(const Request& req, Response& res) {
  if (res.body.size() < kGzipMinBytes || req.method == "HEAD") return;
  for (const auto& [k, v] : res.headers) {
    if (EqualsIgnoreCase(k, "Content-Encoding")) return;
  }
  std::optional<std::string_view> accept = req.Header("Accept-Encoding");
  if (!accept.has_value() || !AcceptsGzip(*accept)) return;
  std::string gz = GzipEncode(res.body);
  if (gz.empty() || gz.size() >= res.body.size()) return;
  res.body = std::move(gz);
  res.SetHeader("Content-Encoding", "gzip");
  res.SetHeader("Vary", "Accept-Encoding");
}

}  // namespace

class Server::Impl {
 public:
  Impl(ServerOptions options, const Router& router)
      : options_(std::move(options)),
        router_(router),
        ioc_(std::max(1, options_.io_threads)),
        pool_(static_cast<size_t>(std::max(1, options_.worker_threads))) {}

  ~Impl() { Stop(); }

  absl::Status Start();
  void Stop();
  uint16_t port() const { return port_; }

  const ServerOptions& options() const { return options_; }
  const Router& router() const { return router_; }
  net::thread_pool& pool() { return pool_; }
  std::atomic<size_t>& in_flight() { return in_flight_; }

 private:
  void Accept();

  ServerOptions options_;
  const Router& router_;
  net::io_context ioc_;
  net::thread_pool pool_;
  std::optional<tcp::acceptor> acceptor_;
  std::vector<std::thread> io_threads_;
  std::atomic<size_t> in_flight_{0};
  uint16_t port_ = 0;
  bool running_ = false;
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Server::Impl& server) : stream_(std::move(socket)), server_(server) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = Cat(ep.address().to_string(), ":", ep.port());
  }

  void Run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::ReadHeader, shared_from_this()));
  }

 private:
  void ReadHeader() {
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(server_.options().max_body_bytes);
    stream_.expires_after(std::chrono::seconds(server_.options().idle_timeout_seconds));
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             beast::bind_front_handler(&Session::OnHeader, shared_from_this()));
  }

  void OnHeader(beast::error_code ec, size_t) {
    if (ec) return OnReadError(ec);
    const auto& h = parser_->get();
    if (auto len = parser_->content_length(); len && *len > server_.options().max_body_bytes) {
      return RejectTooLarge();
    }
    auto expect = h.find(bhttp::field::expect);
    if (expect != h.end() && beast::iequals(expect->value(), "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                       [self = shared_from_this()](beast::error_code wec, size_t) {
                         if (wec) return self->Close();
                         self->ReadBody();
                       });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    // With a Content-Length (every OTLP and remote-write sender), the body is read straight
    // into one string of that size: one copy instead of Beast's socket -> flat buffer ->
    // string body, and reads as large as the socket has (Beast reads 64 KiB at a time).
    // Chunked bodies, and bodies Beast has already begun, take the parser's path.
    const auto len = parser_->content_length();
    if (len && *len > 0 && !parser_->chunked() && !parser_->is_done()) {
      direct_body_.emplace();
      direct_body_->resize(*len);
      const size_t have = std::min<size_t>(*len, buffer_.size());
      std::memcpy(direct_body_->data(), buffer_.data().data(), have);
      buffer_.consume(have);
      if (have == *len) return OnBody(beast::error_code(), 0);
      net::async_read(stream_, net::buffer(direct_body_->data() + have, *len - have),
                      beast::bind_front_handler(&Session::OnBody, shared_from_this()));
      return;
    }
    direct_body_.reset();
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&Session::OnBody, shared_from_this()));
  }

  void OnReadError(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) return RejectTooLarge();
    if (ec == bhttp::error::end_of_stream || ec == net::error::eof || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset) {
      return Close();
    }
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category()) {
      // Beast has consumed the request line and the good fields; the failing field onwards
      // is still buffered. Name the bad header and answer in the route's error format.
      std::string_view raw(static_cast<const char*>(buffer_.data().data()), buffer_.size());
      Request req;
      if (parser_.has_value()) {
        auto target = parser_->get().target();
        SplitTarget(std::string_view(target.data(), target.size()), req);
      }
      std::string why = ExplainMalformedHead(raw);
      if (why.empty()) why = Cat("malformed HTTP request: ", ec.message());
      Response res;
      int status = ec == bhttp::error::header_limit ? 431 : 400;
      server_.router().ErrorWriterFor(req.path)(req, res, status, why);
      return Write(std::move(res), /*keep_alive=*/false, /*head=*/false);
    }
    Close();
  }

  // Builds the Request from the parsed message (without the body when `with_body` is false).
  Request MakeRequest(bool with_body) {
    auto& m = parser_->get();
    Request req;
    req.method = std::string(m.method_string());
    req.target = std::string(m.target());
    SplitTarget(req.target, req);
    req.headers.reserve(std::distance(m.begin(), m.end()));
    for (const auto& f : m) req.headers.emplace_back(f.name_string(), f.value());
    if (with_body) req.body = direct_body_ ? std::move(*direct_body_) : std::move(m.body());
    direct_body_.reset();
    req.remote_address = remote_;
    return req;
  }

  void RejectTooLarge() {
    Request req = MakeRequest(false);
    Response res;
    server_.router().ErrorWriterFor(req.path)(req, res, 413,
                                              Cat("request body is larger than the limit of ",
                                                  server_.options().max_body_bytes, " bytes"));
    LogAccess(req, res, std::chrono::steady_clock::now());
    Write(std::move(res), /*keep_alive=*/false, req.method == "HEAD");
  }

  void OnBody(beast::error_code ec, size_t) {
    if (ec) return OnReadError(ec);
    auto start = std::chrono::steady_clock::now();
    bool keep_alive = parser_->get().keep_alive();
    auto req = std::make_shared<Request>(MakeRequest(true));
    bool head = req->method == "HEAD";
    stream_.expires_never();  // the handler may take long; the write re-arms the timer

    size_t in_flight = ++server_.in_flight();
    if (in_flight > server_.options().max_in_flight) {
      --server_.in_flight();
      Response res;
      server_.router().ErrorWriterFor(req->path)(
          *req, res, 503, "server overloaded: too many requests in flight; retry shortly");
      res.SetHeader("Retry-After", "1");
      LogAccess(*req, res, start);
      return Write(std::move(res), keep_alive, head);
    }
    counted_ = true;  // released once the response is written (Stop waits for that)
    net::post(server_.pool(), [self = shared_from_this(), req, keep_alive, head, start] {
      Response res;
      if (IsFormBody(*req)) ParseFormEncoded(req->body, req->params);
      try {
        self->server_.router().Dispatch(*req, res);
      } catch (const std::exception& e) {
        // A bug must not take the worker thread (and the process) down with it.
        spdlog::error("handler for {} {} threw: {}", req->method, req->path, e.what());
        res = Response{};
        self->server_.router().ErrorWriterFor(req->path)(*req, res, 500,
                                                         "internal error; see the server log");
      }
      MaybeGzip(*req, res);
      self->LogAccess(*req, res, start);
      net::post(self->stream_.get_executor(),
                [self, res = std::move(res), keep_alive, head]() mutable {
                  self->Write(std::move(res), keep_alive, head);
                });
    });
  }

  void LogAccess(const Request& req, const Response& res,
                 std::chrono::steady_clock::time_point start) {
    if (!server_.options().access_log) return;
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::steady_clock::now() - start)
                  .count();
    spdlog::info("http {} {} {} {}B {:.3f}ms tenant={} client={}", req.method, req.path, res.status,
                 res.body.size(), static_cast<double>(us) / 1000.0,
                 req.tenant.empty() ? "-" : req.tenant, req.remote_address);
  }

  void Write(Response res, bool keep_alive, bool head) {
    res_ = {};
    res_.version(11);
    res_.result(static_cast<unsigned>(res.status));
    if (!res.content_type.empty()) res_.set(bhttp::field::content_type, res.content_type);
    for (auto& [k, v] : res.headers) res_.insert(k, v);
    res_.keep_alive(keep_alive);
    size_t length = res.body.size();
    if (!head) res_.body() = std::move(res.body);
    // RFC 9110: no Content-Length on 204 (remote write's success answer) or 304.
    if (res.status != 204 && res.status != 304) res_.content_length(length);
    stream_.expires_after(std::chrono::seconds(server_.options().idle_timeout_seconds));
    bhttp::async_write(
        stream_, res_,
        beast::bind_front_handler(&Session::OnWrite, shared_from_this(), !keep_alive));
  }

  void OnWrite(bool close, beast::error_code ec, size_t) {
    if (counted_) {
      counted_ = false;
      --server_.in_flight();
    }
    if (ec || close) return Close();
    ReadHeader();
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  Server::Impl& server_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<std::string> direct_body_;  // the body, when ReadBody read it itself
  bhttp::response<bhttp::string_body> res_;
  std::string remote_;
  bool counted_ = false;  // this session holds one unit of the server's in-flight count
};

}  // namespace

absl::Status Server::Impl::Start() {
  beast::error_code ec;
  auto address = net::ip::make_address(options_.host, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        Cat("invalid listen host \"", options_.host, "\": ", ec.message()));
  }
  tcp::endpoint endpoint(address, options_.port);
  acceptor_.emplace(net::make_strand(ioc_));
  std::string where = Cat(options_.host, ":", options_.port);
  if (acceptor_->open(endpoint.protocol(), ec); ec) {
    return absl::UnavailableError(Cat("cannot open socket for ", where, ": ", ec.message()));
  }
  acceptor_->set_option(net::socket_base::reuse_address(true), ec);
  if (acceptor_->bind(endpoint, ec); ec) {
    return absl::UnavailableError(Cat("cannot listen on ", where, ": ", ec.message()));
  }
  if (acceptor_->listen(net::socket_base::max_listen_connections, ec); ec) {
    return absl::UnavailableError(Cat("cannot listen on ", where, ": ", ec.message()));
  }
  port_ = acceptor_->local_endpoint().port();
  running_ = true;
  Accept();
  for (int i = 0; i < std::max(1, options_.io_threads); ++i) {
    io_threads_.emplace_back([this] { ioc_.run(); });
  }
  return absl::OkStatus();
}

void Server::Impl::Accept() {
  acceptor_->async_accept(net::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_->is_open()) return;
    if (!ec) {
      beast::error_code opt_ec;
      socket.set_option(tcp::no_delay(true), opt_ec);
      std::make_shared<Session>(std::move(socket), *this)->Run();
    }
    Accept();
  });
}

void Server::Impl::Stop() {
  if (!running_) return;
  running_ = false;
  net::post(acceptor_->get_executor(), [this] {
    beast::error_code ec;
    acceptor_->close(ec);
  });
  // Let handlers that already run finish, so their clients get an answer.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (in_flight_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  pool_.join();
  ioc_.stop();
  for (auto& t : io_threads_) t.join();
  io_threads_.clear();
}

Server::Server(ServerOptions options, const Router& router)
    : impl_(std::make_unique<Impl>(std::move(options), router)) {}
Server::~Server() = default;
absl::Status Server::Start() { return impl_->Start(); }
uint16_t Server::port() const { return impl_->port(); }
void Server::Stop() { impl_->Stop(); }

}  // namespace xscaler::http

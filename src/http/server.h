// The HTTP/1.1 server: Boost.Beast on an io_context run by a few I/O threads; every request's
// handler runs on a bounded worker pool, so decoding, appending, fsync and query evaluation
// never block the event loop. Connections are keep-alive; requests on one connection are
// answered strictly in order (the next request is read only after the previous response is
// written), which makes pipelining safe. Bodies over `max_body_bytes` (as sent, i.e. still
// compressed) are answered 413 in the route's error format and the connection is closed.
// `Expect: 100-continue` is honoured. Responses over 1 KiB are gzip-encoded (on the worker) for
// clients sending `Accept-Encoding: gzip`. One access-log line per request goes to spdlog.
//
// Thread-safety: Start/Stop from one controlling thread. The Router must not change after
// Start. Beast is confined to server.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "http/decompress.h"
#include "http/router.h"

namespace xscaler::http {

struct ServerOptions {
  std::string host = "0.0.0.0";
  uint16_t port = 8080;  // 0 = an ephemeral port; see Server::port()
  int io_threads = 2;
  int worker_threads = 4;
  // Requests being handled or queued for the pool; beyond this → 503 with Retry-After.
  size_t max_in_flight = 1024;
  size_t max_body_bytes = kDefaultMaxBodyBytes;
  int idle_timeout_seconds = 120;  // keep-alive and slow-client limit per read
  bool access_log = true;
};

class Server {
 public:
  Server(ServerOptions options, const Router& router);
  ~Server();  // Stops if running.
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds, listens and starts the threads. Fails (Unavailable) when the address cannot be
  // bound, naming it.
  absl::Status Start();
  // The bound port (the ephemeral one when options.port was 0). REQUIRES: Start succeeded.
  uint16_t port() const;
  // Stops accepting, lets in-flight handlers finish (up to a few seconds), closes connections
  // and joins all threads. Idempotent.
  void Stop();

  class Impl;  // public only so server.cc's connection class can name it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace xscaler::http

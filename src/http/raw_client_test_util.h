// Test helper: a blocking HTTP/1.1 client over a raw POSIX socket (so tests need no Beast),
// able to send pipelined requests and read responses one by one. Not thread-safe; tests only.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <string_view>

#include "http/str.h"

namespace xscaler::http::testing {

// A blocking HTTP/1.1 client over a raw socket, so the test does not need Beast.
class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~Client() { close(fd_); }
  bool connected() const { return connected_; }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  struct Reply {
    int status = 0;
    std::string head;  // status line + headers, lower-cased
    std::string body;
    std::string Header(std::string_view name) const {
      std::string key = Cat("\r\n", http::Lower(name), ": ");
      size_t p = head.find(key);
      if (p == std::string::npos) return "";
      size_t start = p + key.size();
      return head.substr(start, head.find("\r\n", start) - start);
    }
  };

  // Reads one response; nullopt when the server closed the connection first. `head_request`
  // means no body follows despite Content-Length.
  std::optional<Reply> Read(bool head_request = false) {
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return std::nullopt;
    }
    Reply r;
    r.head = http::Lower(buf_.substr(0, end + 2));
    buf_.erase(0, end + 4);
    r.status = std::stoi(r.head.substr(9, 3));
    size_t len = 0;
    std::string cl = r.Header("content-length");
    if (!cl.empty()) len = std::stoul(cl);
    if (head_request) len = 0;
    while (buf_.size() < len) {
      if (!Fill()) return std::nullopt;
    }
    r.body = buf_.substr(0, len);
    buf_.erase(0, len);
    return r;
  }

  std::optional<Reply> RoundTrip(std::string_view request) {
    if (!Send(request)) return std::nullopt;
    return Read();
  }

  // True when the server closed the connection (read returns 0).
  bool ClosedByPeer() {
    char c;
    return recv(fd_, &c, 1, 0) <= 0;
  }

 private:
  bool Fill() {
    char tmp[65536];
    ssize_t n = recv(fd_, tmp, sizeof(tmp), 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }
  int fd_;
  bool connected_ = false;
  std::string buf_;
};

}  // namespace xscaler::http::testing

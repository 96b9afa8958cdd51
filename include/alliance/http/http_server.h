// A civetweb server started the one way every HTTP server of the process is
// (the /metrics endpoint of `run` and `demo`, the dashboard): the listen
// address checked and resolved before civetweb sees it, the same limits on
// threads and request time, and the address actually bound
// (docs/OPERATIONS.md "HTTP servers").
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "alliance/http/http_security.h"

class CivetServer;

namespace alliance::http {

/// Worker threads and request time of one server. civetweb gives every
/// accepted connection a worker until its request has arrived and been
/// answered, so a client that connects and sends nothing holds a worker
/// for `request_timeout_ms`: with `threads` workers, up to `threads` minus
/// the long-lived requests (event streams) may sit idle at once before a
/// request waits, and then it waits at most one request timeout per that
/// many more. Keep-alive is off: a worker never waits for a second request.
struct ServerLimits {
  int threads = 128;
  int request_timeout_ms = 5'000;  // the request's headers must arrive within it; also bounds each write
};

/// Where a server listens, as bound.
struct BoundAddress {
  std::string host;  // "127.0.0.1"; "0.0.0.0": every IPv4 interface; "[::]" when civetweb has IPv6
  int port = 0;      // the port picked when 0 was asked for
  bool tls = false;  // served over HTTPS

  /// "http://HOST:PORT/" (or https://) + path.
  [[nodiscard]] std::string url(std::string_view path = "") const;
  /// The URL as printed: with " (every IPv4 interface)" after it for 0.0.0.0.
  [[nodiscard]] std::string text(std::string_view path = "") const;
};

/// What `listen` asks for, checked: "PORT" (every IPv4 interface, as
/// civetweb reads it), "IPV4:PORT", "HOSTNAME:PORT" (resolved to its first
/// IPv4 address) or "[IPV6]:PORT" (only when civetweb was built with IPv6;
/// Debian 12's is not). Throws std::invalid_argument saying what is wrong
/// (a port outside 0..65535, an unresolvable host, IPv6 without support, a
/// list, an SSL or redirect port).
BoundAddress parse_listen(const std::string& listen);

/// Owns a running civetweb server. Built and destroyed on one thread
/// (destruction waits for civetweb's threads); handlers added with
/// `server().addHandler` run on civetweb's worker threads, and only for
/// requests `security` allows: the others are answered 401 before any
/// handler sees them (civetweb's begin_request callback, worker threads).
/// With TLS, civetweb's OpenSSL context gets the certificate and key in its
/// init_ssl callback (TLS 1.2 at least).
class HttpServer {
 public:
  /// Listens on `listen` (see parse_listen). Throws std::invalid_argument
  /// for an address it refuses, std::runtime_error when it cannot bind or
  /// cannot use the certificate and key (the reason from OpenSSL).
  HttpServer(const std::string& listen, ServerLimits limits, HttpSecurity security = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  [[nodiscard]] CivetServer& server() { return *server_; }
  [[nodiscard]] const BoundAddress& address() const { return address_; }
  /// Stops serving (waits for the workers); the destructor does it too.
  void close();

 private:
  struct Callbacks;
  BoundAddress address_;
  const HttpSecurity security_;
  std::mutex startup_error_mutex_;
  std::string startup_error_;  // what civetweb or OpenSSL said while starting; guarded by the mutex
  std::atomic<bool> started_{false};
  std::unique_ptr<CivetServer> server_;
};

}  // namespace alliance::http

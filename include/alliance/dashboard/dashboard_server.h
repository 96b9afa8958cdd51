// The dashboard's HTTP side (civetweb): the page and its assets, embedded in
// the binary, the JSON API under /api/ and the live updates as Server-Sent
// Events (docs/OPERATIONS.md "Dashboard").
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "alliance/dashboard/shared_dashboard.h"
#include "alliance/http/http_server.h"

namespace alliance::dashboard {

/// Owns the civetweb server and its request handler. Requests run on
/// civetweb's threads and only read the SharedDashboard; an event stream
/// holds one thread while its client is connected (at most
/// `kMaxEventStreams` at once), and `kRequestThreads` more serve the page,
/// the API and idle connections (http::ServerLimits). Constructed and
/// destroyed on one thread; the destructor ends the event streams and waits
/// for civetweb's threads.
class DashboardServer {
 public:
  static constexpr int kMaxEventStreams = 8;
  static constexpr int kRequestThreads = 120;
  /// Listens on `listen` ("127.0.0.1:8080"; port 0 picks a free one; see
  /// http::parse_listen). Throws std::runtime_error naming the address when
  /// it cannot.
  /// `security`: the token and TLS asked of its clients (SPEC §9).
  DashboardServer(const std::string& listen, const http::HttpSecurity& security, SharedDashboard& shared);
  ~DashboardServer();
  DashboardServer(const DashboardServer&) = delete;
  DashboardServer& operator=(const DashboardServer&) = delete;

  /// The address bound (the port picked for port 0).
  [[nodiscard]] const http::BoundAddress& address() const;

 private:
  class Handler;
  SharedDashboard& shared_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> streams_{0};
  std::unique_ptr<Handler> handler_;
  std::unique_ptr<http::HttpServer> server_;
};

}  // namespace alliance::dashboard

#include "alliance/dashboard/dashboard_server.h"

#include <CivetServer.h>

#include <chrono>
#include <map>
#include <stdexcept>

#include "alliance/dashboard/dashboard_assets.h"
#include "alliance/dashboard/record_filters.h"

namespace alliance::dashboard {

namespace {

bool send(mg_connection* conn, int status, std::string_view type, std::string_view body) {
  const char* reason = status == 200   ? "OK"
                       : status == 400 ? "Bad Request"
                       : status == 404 ? "Not Found"
                       : status == 405 ? "Method Not Allowed"
                                       : "Service Unavailable";
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %.*s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n"
            "X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n",
            status, reason, static_cast<int>(type.size()), type.data(), body.size());
  return mg_write(conn, body.data(), body.size()) == static_cast<int>(body.size());
}

constexpr std::string_view kJson = "application/json; charset=utf-8";

}  // namespace

/// Routes every request under "/" (civetweb calls it on its own threads).
class DashboardServer::Handler : public CivetHandler {
 public:
  explicit Handler(DashboardServer& s) : s_(s) {}

  bool handleGet(CivetServer*, mg_connection* conn) override {
    const std::string_view path = mg_get_request_info(conn)->local_uri;
    if (path == http::kOpenPath) return send(conn, 200, "text/plain; charset=utf-8", "ok\n");  // liveness, no token
    if (path == "/api/events") return events(conn);
    if (path == "/api/view") return send(conn, 200, kJson, *s_.shared_.view().second);
    if (path == "/api/status") return send(conn, 200, kJson, s_.shared_.read([](const auto& m) { return m.status_json(); }));
    if (path == "/api/partners")
      return send(conn, 200, kJson, s_.shared_.read([](const auto& m) { return m.partners_json(); }));
    if (path == "/api/dead-letters")
      return send(conn, 200, kJson, s_.shared_.read([](const auto& m) { return m.dead_letters_json(); }));
    static const std::map<std::string_view, Feed> kRecords{{"/api/metrics", Feed::kMetrics},
                                                            {"/api/statements", Feed::kStatements},
                                                            {"/api/balances", Feed::kBalances},
                                                            {"/api/settlements", Feed::kSettlements},
                                                            {"/api/dlq", Feed::kDlq},
                                                            {"/api/risk", Feed::kRisk}};
    if (const auto r = kRecords.find(path); r != kRecords.end()) {
      const char* query = mg_get_request_info(conn)->query_string;
      const auto f = parse_record_filters(r->second, query == nullptr ? "" : query);
      if (!f.error.empty()) return send(conn, 400, "text/plain; charset=utf-8", f.error + "\n");
      return send(conn, 200, kJson,
                  s_.shared_.read([&](const auto& m) { return m.records_json(r->second, f.filters); }));
    }
    if (const auto a = find_asset(path == "/" ? "/index.html" : path)) return send(conn, 200, a->content_type, a->body);
    return send(conn, 404, "text/plain; charset=utf-8", "not found; the page is /, the API is under /api/\n");
  }

 private:
  /// Server-Sent Events: the view now, then again whenever it changes (at
  /// most twice a second), a comment every 15 s to keep proxies from closing.
  bool events(mg_connection* conn) {
    if (s_.streams_.fetch_add(1) >= kMaxEventStreams) {
      s_.streams_.fetch_sub(1);
      return send(conn, 503, "text/plain; charset=utf-8", "too many event streams; poll /api/view instead\n");
    }
    mg_printf(conn,
              "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
              "X-Accel-Buffering: no\r\nConnection: close\r\n\r\nretry: 2000\n\n");
    std::uint64_t sent = 0;
    bool first = true;
    auto last_write = std::chrono::steady_clock::now();
    while (!s_.stopping_.load()) {
      const auto [version, view] = s_.shared_.view();
      bool ok = true;
      if (first || version != sent) {
        std::string frame = "event: view\nid: " + std::to_string(version) + "\ndata: ";
        frame += *view;
        frame += "\n\n";
        ok = mg_write(conn, frame.data(), frame.size()) == static_cast<int>(frame.size());
        sent = version;
        first = false;
        last_write = std::chrono::steady_clock::now();
        // Pace the stream: a busy topic gives a frame every 500 ms, not one per record.
        s_.shared_.pause(std::chrono::milliseconds(500), s_.stopping_);
      } else if (std::chrono::steady_clock::now() - last_write > std::chrono::seconds(15)) {
        ok = mg_write(conn, ": ping\n\n", 8) == 8;
        last_write = std::chrono::steady_clock::now();
      }
      if (!ok) break;  // the client went away
      s_.shared_.wait_for_change(sent, std::chrono::seconds(1), s_.stopping_);
    }
    s_.streams_.fetch_sub(1);
    return true;
  }

  DashboardServer& s_;
};

DashboardServer::DashboardServer(const std::string& listen, const http::HttpSecurity& security, SharedDashboard& shared)
    : shared_(shared), handler_(std::make_unique<Handler>(*this)) {
  try {
    // Event streams hold a worker each (at most kMaxEventStreams); the rest
    // serve requests and idle connections (http::ServerLimits).
    server_ = std::make_unique<http::HttpServer>(listen, http::ServerLimits{kMaxEventStreams + kRequestThreads}, security);
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot serve the dashboard on " + listen + ": " + e.what());
  }
  server_->server().addHandler("/", *handler_);
}

DashboardServer::~DashboardServer() {
  stopping_.store(true);
  shared_.wake_all();
  if (server_) server_->close();
}

const http::BoundAddress& DashboardServer::address() const { return server_->address(); }

}  // namespace alliance::dashboard

// `alliance dashboard` (and the dashboard inside `alliance demo`): a
// SharedDashboard fed by a DashboardConsumer and served by a
// DashboardServer.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "alliance/core/topology.h"
#include "alliance/http/http_server.h"
#include "alliance/kafka/kafka_client_config.h"

namespace alliance::dashboard {

/// How the dashboard runs; the topics it reads are the topology's
/// (dashboard_feeds.h), not options.
struct DashboardOptions {
  std::string bootstrap;
  KafkaClientConfig kafka;  // the user's client properties (-X, --kafka-config)
  std::string listen = "127.0.0.1:8080";
  http::HttpSecurity http;  // token and TLS of the page and API (--http-token-file, --tls-cert, --tls-key)
  std::int64_t retain_ms = 6 * 3'600'000;  // windowed metric records kept behind the watermark
  std::size_t series_points = 30;          // windows on the chart
};

/// A running dashboard: consumer thread and HTTP server. Construct and
/// destroy on one thread; destruction stops both.
class LiveDashboard {
 public:
  /// Throws std::runtime_error when the address cannot be listened on or
  /// librdkafka refuses the configuration.
  LiveDashboard(const Topology& topology, const DashboardOptions& options);
  ~LiveDashboard();
  LiveDashboard(const LiveDashboard&) = delete;
  LiveDashboard& operator=(const LiveDashboard&) = delete;
  /// Where the page is served, as bound.
  [[nodiscard]] const http::BoundAddress& address() const;

 private:
  struct Parts;
  std::unique_ptr<Parts> parts_;
};

/// `alliance dashboard`: runs until `stop` is set. Returns the exit code
/// (2 when it cannot start, explained on stderr).
int run_dashboard(const Topology& topology, const DashboardOptions& options, std::atomic<bool>& stop);

}  // namespace alliance::dashboard

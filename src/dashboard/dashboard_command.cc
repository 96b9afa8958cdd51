#include "alliance/dashboard/dashboard_command.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <thread>

#include "alliance/dashboard/dashboard_consumer.h"
#include "alliance/dashboard/dashboard_feeds.h"
#include "alliance/dashboard/dashboard_server.h"

namespace alliance::dashboard {

struct LiveDashboard::Parts {
  // Destroyed in reverse: the consumer stops feeding, then the server ends
  // its event streams, then the model goes.
  SharedDashboard shared;
  DashboardServer server;
  DashboardConsumer consumer;

  Parts(ModelOptions m, const DashboardOptions& o, std::vector<FeedTopic> topics)
      : shared(std::move(m)), server(o.listen, o.http, shared), consumer(o.bootstrap, o.kafka, std::move(topics), shared) {}
};

LiveDashboard::LiveDashboard(const Topology& t, const DashboardOptions& o) {
  ModelOptions m;
  m.name = t.name;
  m.default_currency = t.default_currency;
  m.series_window_ms = t.windows.empty() ? 60'000 : *std::min_element(t.windows.begin(), t.windows.end());
  m.series_points = o.series_points;
  m.retain_ms = o.retain_ms;
  parts_ = std::make_unique<Parts>(std::move(m), o, dashboard_feeds(t));
}

LiveDashboard::~LiveDashboard() = default;

const http::BoundAddress& LiveDashboard::address() const { return parts_->server.address(); }

int run_dashboard(const Topology& topology, const DashboardOptions& options, std::atomic<bool>& stop) {
  std::unique_ptr<LiveDashboard> dash;
  try {
    dash = std::make_unique<LiveDashboard>(topology, options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "alliance dashboard: %s (pick another address with --listen HOST:PORT)\n", e.what());
    return 2;
  }
  std::printf("dashboard: %s\n", dash->address().text().c_str());
  std::fflush(stdout);
  while (!stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  return 0;
}

}  // namespace alliance::dashboard

// The HTTP endpoint of a running processor (civetweb, loopback by default):
// GET /metrics (Prometheus text format of a prometheus-cpp registry),
// /healthz (200 while the process serves) and /readyz (200 when ready, 503
// with the reason otherwise: partitions not yet assigned and restored, or
// the broker unreachable). Built and destroyed on the runner's thread;
// requests are served on civetweb's threads, which only read atomics, the
// reason under a mutex, and the thread-safe registry. Threads and timeouts:
// http::ServerLimits (idle connections do not starve the probes); with a
// token every path but /healthz needs it, and TLS serves HTTPS
// (http::HttpSecurity).
#pragma once

#include <prometheus/registry.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "alliance/http/http_server.h"

namespace alliance {

class HttpEndpoint {
 public:
  /// Listens on `listen` ("127.0.0.1:9464", see http::parse_listen). Throws
  /// std::runtime_error naming the address and --metrics when it cannot.
  HttpEndpoint(const std::string& listen, std::shared_ptr<prometheus::Registry> registry,
               const http::HttpSecurity& security = {});
  ~HttpEndpoint();
  HttpEndpoint(const HttpEndpoint&) = delete;
  HttpEndpoint& operator=(const HttpEndpoint&) = delete;

  /// What /readyz answers from now on; `why` is shown when not ready.
  void set_ready(bool ready, const std::string& why);
  /// The address bound (the port picked for port 0).
  [[nodiscard]] const http::BoundAddress& address() const;

 private:
  class Handler;
  std::shared_ptr<prometheus::Registry> registry_;
  std::atomic<bool> ready_{false};
  std::mutex why_mutex_;
  std::string why_ = "starting: no partitions assigned yet";
  std::unique_ptr<Handler> metrics_, health_, ready_handler_;
  std::unique_ptr<http::HttpServer> server_;
};

}  // namespace alliance

#include "alliance/metrics/http_endpoint.h"

#include <CivetServer.h>
#include <prometheus/text_serializer.h>

#include "alliance/http/http_server.h"

#include <functional>
#include <stdexcept>

namespace alliance {

/// One path: a function from nothing to (status, content type, body).
class HttpEndpoint::Handler : public CivetHandler {
 public:
  struct Reply {
    int status;
    const char* type;
    std::string body;
  };
  explicit Handler(std::function<Reply()> fn) : fn_(std::move(fn)) {}
  bool handleGet(CivetServer*, mg_connection* conn) override {
    const Reply r = fn_();
    mg_printf(conn,
              "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
              r.status, r.status == 200 ? "OK" : "Service Unavailable", r.type, r.body.size());
    mg_write(conn, r.body.data(), r.body.size());
    return true;
  }

 private:
  std::function<Reply()> fn_;
};

HttpEndpoint::HttpEndpoint(const std::string& listen, std::shared_ptr<prometheus::Registry> registry,
                           const http::HttpSecurity& security)
    : registry_(std::move(registry)) {
  metrics_ = std::make_unique<Handler>([this] {
    return Handler::Reply{200, "text/plain; version=0.0.4; charset=utf-8",
                          prometheus::TextSerializer().Serialize(registry_->Collect())};
  });
  health_ = std::make_unique<Handler>([] { return Handler::Reply{200, "text/plain", "ok\n"}; });
  ready_handler_ = std::make_unique<Handler>([this] {
    if (ready_.load()) return Handler::Reply{200, "text/plain", "ready\n"};
    std::lock_guard<std::mutex> lock(why_mutex_);
    return Handler::Reply{503, "text/plain", "not ready: " + why_ + "\n"};
  });
  try {
    // Every request is short: all threads serve requests and idle connections.
    server_ = std::make_unique<http::HttpServer>(listen, http::ServerLimits{}, security);
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot serve /metrics on " + listen + ": " + e.what() +
                             " (pick another address with --metrics HOST:PORT)");
  }
  server_->server().addHandler("/metrics", *metrics_);
  server_->server().addHandler("/healthz", *health_);
  server_->server().addHandler("/readyz", *ready_handler_);
}

HttpEndpoint::~HttpEndpoint() {
  if (server_) server_->close();
}

const http::BoundAddress& HttpEndpoint::address() const { return server_->address(); }

void HttpEndpoint::set_ready(bool ready, const std::string& why) {
  {
    std::lock_guard<std::mutex> lock(why_mutex_);
    why_ = why;
  }
  ready_.store(ready);
}

}  // namespace alliance

#include "alliance/http/http_server.h"

#include <CivetServer.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <cctype>
#include <stdexcept>
#include <vector>

namespace alliance::http {

namespace {

constexpr unsigned kCivetIpv6 = 8;  // mg_check_feature: "IPv6" (civetweb.h)

bool all_digits(const std::string& s) {
  if (s.empty() || s.size() > 5) return false;
  for (const char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

int port_of(const std::string& port) {
  if (!all_digits(port) || std::stoi(port) > 65535)
    throw std::invalid_argument("'" + port + "' is not a port (0 to 65535; 0 picks a free one)");
  return std::stoi(port);
}

/// `host` as dotted IPv4: itself, or the first IPv4 address it resolves to.
std::string ipv4_of(const std::string& host) {
  in_addr a{};
  if (inet_pton(AF_INET, host.c_str(), &a) == 1) return host;
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &found); rc != 0 || found == nullptr)
    throw std::invalid_argument("cannot resolve '" + host + "' to an IPv4 address (" + gai_strerror(rc) + ")");
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(found->ai_addr)->sin_addr, text, sizeof text);
  freeaddrinfo(found);
  return text;
}

}  // namespace

std::string BoundAddress::url(std::string_view path) const {
  return "http://" + host + ":" + std::to_string(port) + "/" + std::string(path);
}

std::string BoundAddress::text(std::string_view path) const {
  return host == "0.0.0.0" ? url(path) + " (every IPv4 interface)" : url(path);
}

BoundAddress parse_listen(const std::string& listen) {
  static const std::string kForms = "expected PORT, HOST:PORT or [IPV6]:PORT";
  if (listen.find_first_of(", \t") != std::string::npos)
    throw std::invalid_argument("one address only, " + kForms);
  if (!listen.empty() && listen.front() == '[') {
    const auto close = listen.find("]:");
    if (close == std::string::npos) throw std::invalid_argument(kForms);
    if (!mg_check_feature(kCivetIpv6))
      throw std::invalid_argument(
          "IPv6 addresses are not supported: this build's HTTP server (civetweb " CIVETWEB_VERSION
          ") has no IPv6; listen on an IPv4 address, e.g. 0.0.0.0:" + listen.substr(close + 2) +
          " for every interface");
    in6_addr a{};
    if (inet_pton(AF_INET6, listen.substr(1, close - 1).c_str(), &a) != 1)
      throw std::invalid_argument("'" + listen.substr(1, close - 1) + "' is not an IPv6 address");
    return {listen.substr(0, close + 1), port_of(listen.substr(close + 2))};
  }
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) {
    if (!all_digits(listen)) throw std::invalid_argument(kForms);
    return {"0.0.0.0", port_of(listen)};  // civetweb binds INADDR_ANY for a bare port
  }
  const std::string host = listen.substr(0, colon);
  if (host.empty() || host.find(':') != std::string::npos)
    throw std::invalid_argument(host.empty() ? kForms : "an IPv6 address goes in brackets: [" + host + "]:PORT");
  const int port = port_of(listen.substr(colon + 1));
  return {ipv4_of(host), port};
}

HttpServer::HttpServer(const std::string& listen, ServerLimits limits) : address_(parse_listen(listen)) {
  const std::string ports = address_.host + ":" + std::to_string(address_.port);
  try {
    // No linger_timeout_ms: with it civetweb's close() blocks a worker until
    // the client has read everything; without it the kernel finishes sending.
    server_ = std::make_unique<CivetServer>(std::vector<std::string>{
        "listening_ports", ports, "num_threads", std::to_string(limits.threads), "request_timeout_ms",
        std::to_string(limits.request_timeout_ms), "enable_keep_alive", "no"});
  } catch (const CivetException&) {
    throw std::runtime_error("cannot bind " + ports + "; is the port taken?");
  }
  const auto bound = server_->getListeningPorts();
  if (!bound.empty()) address_.port = bound.front();
}

HttpServer::~HttpServer() { close(); }

void HttpServer::close() {
  if (server_) server_->close();
}

}  // namespace alliance::http

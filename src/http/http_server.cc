#include "alliance/http/http_server.h"

#include <CivetServer.h>
#include <arpa/inet.h>
#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <netdb.h>
#include <sys/socket.h>

#include <cctype>
#include <filesystem>
#include <mutex>
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

/// Loads the OpenSSL shims civetweb needs for HTTPS (civetweb_openssl_shim.cc)
/// from beside the binary (the build tree) or <prefix>/lib/alliance (an
/// install); once per process. Returns "" or what is missing.
std::string prepare_civetweb_tls() {
  static std::once_flag once;
  static std::string missing;
  std::call_once(once, [] {
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    const auto dir = exe.parent_path();
    for (const char* name : {"liballiance-civetweb-crypto.so", "liballiance-civetweb-ssl.so"}) {
      bool loaded = false;
      for (const auto& d : {dir, dir.parent_path() / "lib" / "alliance"}) {
        if (!std::filesystem::exists(d / name, ec)) continue;
        // Kept loaded for the life of the process (civetweb's dlopen finds it by soname).
        if (dlopen((d / name).c_str(), RTLD_NOW | RTLD_LOCAL) != nullptr) {
          loaded = true;
          break;
        }
      }
      if (!loaded) {
        missing = std::string(name) + " is neither beside " + exe.string() + " nor in " +
                  (dir.parent_path() / "lib" / "alliance").string() +
                  " (it is built and installed with alliance; civetweb needs it for HTTPS)";
        return;
      }
    }
  });
  return missing;
}

}  // namespace

std::string BoundAddress::url(std::string_view path) const {
  return (tls ? "https://" : "http://") + host + ":" + std::to_string(port) + "/" + std::string(path);
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

/// civetweb's callbacks; the user context of the CivetServer is the HttpServer.
struct HttpServer::Callbacks {
  static HttpServer& of(const mg_connection* conn) {
    auto* cs = static_cast<CivetServer*>(mg_get_user_data(mg_get_context(conn)));
    return *static_cast<HttpServer*>(const_cast<void*>(cs->getUserContext()));
  }

  /// Every request, before any handler: 401 without the token.
  static int begin_request(mg_connection* conn) {
    const mg_request_info* ri = mg_get_request_info(conn);
    const HttpServer& self = of(conn);
    if (self.security_.allows(ri->local_uri != nullptr ? ri->local_uri : "", mg_get_header(conn, "Authorization")))
      return 0;  // civetweb goes on to the handler
    static constexpr std::string_view kBody =
        "unauthorized: send the header `Authorization: Bearer <token>` with the token of --http-token-file\n";
    mg_printf(conn,
              "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"alliance\"\r\n"
              "Content-Type: text/plain; charset=utf-8\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n"
              "Connection: close\r\n\r\n",
              kBody.size());
    mg_write(conn, kBody.data(), kBody.size());
    return 401;  // handled (civetweb logs the status)
  }

  /// While civetweb starts: the certificate and key into its TLS context.
  static int init_ssl(void* ssl_ctx, void* user_data) {
    auto* cs = static_cast<CivetServer*>(user_data);
    HttpServer& self = *static_cast<HttpServer*>(const_cast<void*>(cs->getUserContext()));
    auto* ctx = static_cast<SSL_CTX*>(ssl_ctx);
    auto fail = [&](const std::string& what) {
      char buf[256] = {};
      ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
      ERR_clear_error();
      std::lock_guard lock(self.startup_error_mutex_);
      self.startup_error_ = what + " (" + buf + ")";
      return -1;
    };
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) return fail("cannot require TLS 1.2");
    if (SSL_CTX_use_certificate_chain_file(ctx, self.security_.tls_cert.c_str()) != 1)
      return fail("--tls-cert " + self.security_.tls_cert + ": not a PEM certificate OpenSSL can use");
    if (SSL_CTX_use_PrivateKey_file(ctx, self.security_.tls_key.c_str(), SSL_FILETYPE_PEM) != 1)
      return fail("--tls-key " + self.security_.tls_key + ": not a PEM private key OpenSSL can use (without a passphrase)");
    if (SSL_CTX_check_private_key(ctx) != 1)
      return fail("--tls-key " + self.security_.tls_key + " is not the key of --tls-cert " + self.security_.tls_cert);
    return 1;  // done: civetweb loads no certificate itself
  }

  /// civetweb's own error messages: kept while starting (to explain a
  /// failure), dropped afterwards (a client's failed TLS handshake).
  static int log_message(const mg_connection* conn, const char* message) {
    HttpServer& self = of(conn);
    std::lock_guard lock(self.startup_error_mutex_);
    if (!self.started_.load() && self.startup_error_.empty()) self.startup_error_ = message;
    return 1;
  }
};

HttpServer::HttpServer(const std::string& listen, ServerLimits limits, HttpSecurity security)
    : address_(parse_listen(listen)), security_(std::move(security)) {
  address_.tls = security_.tls();
  if (security_.tls())
    if (const std::string missing = prepare_civetweb_tls(); !missing.empty())
      throw std::runtime_error("cannot serve HTTPS: " + missing);
  const std::string ports = address_.host + ":" + std::to_string(address_.port) + (security_.tls() ? "s" : "");
  CivetCallbacks callbacks;
  callbacks.begin_request = &Callbacks::begin_request;
  callbacks.log_message = &Callbacks::log_message;
  if (security_.tls()) callbacks.init_ssl = &Callbacks::init_ssl;
  try {
    // No linger_timeout_ms: with it civetweb's close() blocks a worker until
    // the client has read everything; without it the kernel finishes sending.
    server_ = std::make_unique<CivetServer>(
        std::vector<std::string>{"listening_ports", ports, "num_threads", std::to_string(limits.threads),
                                 "request_timeout_ms", std::to_string(limits.request_timeout_ms), "enable_keep_alive",
                                 "no"},
        &callbacks, this);
  } catch (const CivetException&) {
    std::lock_guard lock(startup_error_mutex_);
    if (security_.tls() && !startup_error_.empty()) {
      std::string why = startup_error_;
      if (why.find("cannot load") != std::string::npos)
        why += "; civetweb loads OpenSSL as libssl.so and libcrypto.so, the names Debian's libssl-dev installs "
               "(apt-get install libssl-dev)";
      throw std::runtime_error("cannot serve HTTPS on " + address_.host + ":" + std::to_string(address_.port) + ": " +
                               why);
    }
    throw std::runtime_error("cannot bind " + address_.host + ":" + std::to_string(address_.port) +
                             "; is the port taken?");
  }
  started_.store(true);
  const auto bound = server_->getListeningPorts();
  if (!bound.empty()) address_.port = bound.front();
}

HttpServer::~HttpServer() { close(); }

void HttpServer::close() {
  if (server_) server_->close();
}

}  // namespace alliance::http

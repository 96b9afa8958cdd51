// What the HTTP servers of a process ask of their clients (SPEC §9): a
// bearer token on every request but /healthz (`--http-token-file`), and
// HTTPS (`--tls-cert`, `--tls-key`). Loaded once at start, then read-only:
// civetweb's worker threads read it concurrently (docs/OPERATIONS.md
// "Securing the HTTP servers").
#pragma once

#include <string>
#include <string_view>

namespace alliance::http {

/// The path every client may ask for without a token (liveness probes).
inline constexpr std::string_view kOpenPath = "/healthz";

struct HttpSecurity {
  std::string token;     // empty: no token asked
  std::string tls_cert;  // PEM certificate (chain); with tls_key: HTTPS
  std::string tls_key;   // PEM private key

  [[nodiscard]] bool tls() const { return !tls_cert.empty(); }

  /// Reads the token from `token_file` (the file's text without its
  /// trailing line break and spaces: at least 16 characters, no space or
  /// control character inside) and checks that `cert` and `key` are given
  /// together and readable. Empty names: nothing asked. Throws
  /// std::invalid_argument naming the flag, the file and the fix (never the
  /// token).
  static HttpSecurity load(const std::string& token_file, const std::string& cert, const std::string& key);

  /// Whether a request for `path` with this `Authorization` header value
  /// (nullptr: none) may be answered: always without a token, else for
  /// /healthz, else when it is `Bearer <token>` (scheme in any case),
  /// compared in time that does not depend on where the two differ.
  [[nodiscard]] bool allows(std::string_view path, const char* authorization) const;
};

/// a == b without an early exit: compares the SHA-256 digests of both with
/// CRYPTO_memcmp, so neither the position of a difference nor the length
/// of the expected value shows in the time taken.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace alliance::http

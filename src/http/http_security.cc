#include "alliance/http/http_security.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cctype>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace alliance::http {

namespace {

constexpr std::size_t kMinTokenBytes = 16;

bool readable(const std::string& path) { return static_cast<bool>(std::ifstream(path)); }

}  // namespace

bool constant_time_equal(std::string_view a, std::string_view b) {
  unsigned char da[SHA256_DIGEST_LENGTH], db[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(a.data()), a.size(), da);
  SHA256(reinterpret_cast<const unsigned char*>(b.data()), b.size(), db);
  return CRYPTO_memcmp(da, db, sizeof da) == 0;
}

HttpSecurity HttpSecurity::load(const std::string& token_file, const std::string& cert, const std::string& key) {
  HttpSecurity s;
  if (!token_file.empty()) {
    std::ifstream in(token_file, std::ios::binary);
    if (!in) throw std::invalid_argument("--http-token-file " + token_file + ": cannot read it (give a readable file)");
    std::stringstream text;
    text << in.rdbuf();
    std::string t = text.str();
    while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
    std::size_t lead = 0;
    while (lead < t.size() && std::isspace(static_cast<unsigned char>(t[lead]))) ++lead;
    t.erase(0, lead);
    if (t.size() < kMinTokenBytes)
      throw std::invalid_argument("--http-token-file " + token_file + ": the token must be at least " +
                                  std::to_string(kMinTokenBytes) +
                                  " characters (e.g. `openssl rand -hex 32 > " + token_file + "`)");
    for (const char c : t)
      if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c)))
        throw std::invalid_argument("--http-token-file " + token_file +
                                    ": the token is one line without spaces or control characters");
    s.token = std::move(t);
  }
  if (cert.empty() != key.empty())
    throw std::invalid_argument(cert.empty() ? "--tls-key needs --tls-cert (the certificate it belongs to)"
                                             : "--tls-cert needs --tls-key (the certificate's private key)");
  if (!cert.empty()) {
    if (!readable(cert)) throw std::invalid_argument("--tls-cert " + cert + ": cannot read it (a PEM certificate file)");
    if (!readable(key)) throw std::invalid_argument("--tls-key " + key + ": cannot read it (a PEM private key file)");
    s.tls_cert = cert;
    s.tls_key = key;
  }
  return s;
}

bool HttpSecurity::allows(std::string_view path, const char* authorization) const {
  if (token.empty() || path == kOpenPath) return true;
  if (authorization == nullptr) return false;
  std::string_view h(authorization);
  constexpr std::string_view kScheme = "bearer";
  if (h.size() <= kScheme.size()) return false;
  for (std::size_t i = 0; i < kScheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(h[i])) != kScheme[i]) return false;
  h.remove_prefix(kScheme.size());
  if (h.front() != ' ') return false;
  while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
  while (!h.empty() && (h.back() == ' ' || h.back() == '\t')) h.remove_suffix(1);
  return constant_time_equal(h, token);
}

}  // namespace alliance::http

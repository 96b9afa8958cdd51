// SHA-256 digests (statement digests, topology fingerprints, the inputs a
// replay's state consumed). Pure; any thread (a Sha256 object: one thread at
// a time).
#pragma once

#include <string>
#include <string_view>

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX

namespace alliance {

/// Lower-case hex SHA-256 of `bytes`.
std::string sha256_hex(std::string_view bytes);

/// SHA-256 over bytes given in pieces: the digest of everything update()
/// was given so far, at any point, without re-reading it (a replay hashes
/// its inputs as it reads them). Owns its OpenSSL context; copyable (the
/// copy goes on from the same point).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256& other);
  Sha256& operator=(const Sha256& other);
  Sha256(Sha256&& other) noexcept;
  Sha256& operator=(Sha256&& other) noexcept;

  void update(std::string_view bytes);
  /// Lower-case hex digest of the bytes so far; the hash can go on.
  [[nodiscard]] std::string hex() const;

 private:
  evp_md_ctx_st* ctx_;
};

}  // namespace alliance

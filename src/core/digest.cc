#include "alliance/core/digest.h"

#include <openssl/evp.h>

#include <array>

namespace alliance {

std::string sha256_hex(std::string_view bytes) {
  std::array<unsigned char, 32> md{};
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md.data(), &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned i = 0; i < len; ++i) {
    hex.push_back(kHex[md[i] >> 4]);
    hex.push_back(kHex[md[i] & 15]);
  }
  return hex;
}

}  // namespace alliance

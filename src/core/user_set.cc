#include "alliance/core/user_set.h"

#include <cstring>

#include "alliance/core/key_hash.h"

namespace alliance {

namespace {

constexpr std::uint64_t kMul1 = 0x9E3779B97F4A7C15ULL;
constexpr std::uint64_t kMul2 = 0xC2B2AE3D27D4EB4FULL;

std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xFF51AFD7ED558CCDULL;
  x ^= x >> 33;
  x *= 0xC4CEB9FE1A85EC53ULL;
  x ^= x >> 33;
  return x;
}

}  // namespace

UserFingerprint fingerprint_of(std::string_view id) {
  // Two independently seeded lanes over 8-byte words (murmur3's finaliser
  // per step), then the length: a 128-bit fingerprint.
  std::uint64_t a = 0x243F6A8885A308D3ULL ^ id.size();
  std::uint64_t b = 0x13198A2E03707344ULL ^ (id.size() * kMul2);
  std::size_t i = 0;
  for (; i + 8 <= id.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, id.data() + i, 8);
    a = mix(a ^ (w * kMul1));
    b = mix(b + (w ^ kMul2)) * kMul1;
  }
  const std::uint64_t tail = load_tail_bytes(id.data() + i, id.size() - i);
  a = mix(a ^ (tail * kMul1) ^ 0xA5);
  b = mix((b + (tail ^ kMul2)) * kMul1 ^ 0x5A);
  if (a == 0 && b == 0) a = 1;
  return {a, b};
}

bool UserSet::insert(const UserFingerprint& f) {
  if ((size_ + 1) * 4 > slots_.size() * 3) grow();  // load factor <= 3/4
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = static_cast<std::size_t>(f.lo) & mask;; i = (i + 1) & mask) {
    UserFingerprint& s = slots_[i];
    if (s == f) return false;
    if (s.hi == 0 && s.lo == 0) {
      s = f;
      ++size_;
      return true;
    }
  }
}

bool UserSet::contains(const UserFingerprint& f) const {
  if (slots_.empty()) return false;
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = static_cast<std::size_t>(f.lo) & mask;; i = (i + 1) & mask) {
    if (slots_[i] == f) return true;
    if (slots_[i].hi == 0 && slots_[i].lo == 0) return false;
  }
}

void UserSet::grow() {
  std::vector<UserFingerprint> old;
  old.swap(slots_);
  slots_.assign(old.empty() ? 8 : old.size() * 2, UserFingerprint{});
  size_ = 0;
  for (const auto& s : old)
    if (s.hi != 0 || s.lo != 0) insert(s);
}

}  // namespace alliance

// The hash of the core's string keys in its flat tables (CachedTable's
// index, DirtyKeys): 8 bytes a step, a multiply-xorshift per word and a
// final avalanche, so Boost's flat tables use it without mixing it again.
// A hash only places a key: equality is always by the bytes, so two ids
// that collide never share an entry. Pure; any thread.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace alliance {

/// The n < 8 bytes at `p` as a little-endian word (the value a memcpy of n
/// bytes into a zeroed uint64 gives on this little-endian machine), read
/// with fixed-size loads: a memcpy of a variable length is a libc call.
inline std::uint64_t load_tail_bytes(const char* p, std::size_t n) noexcept {
  if (n >= 4) {
    std::uint32_t lo, hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + n - 4, 4);  // overlaps lo by 8 - n bytes: the same bytes
    return lo | (static_cast<std::uint64_t>(hi) << ((n - 4) * 8));
  }
  if (n == 0) return 0;
  const auto b = [p](std::size_t i) { return static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])); };
  return b(0) | (b(n / 2) << (n / 2 * 8)) | (b(n - 1) << ((n - 1) * 8));
}

struct KeyHash {
  using is_transparent = void;  // look-ups by string_view copy nothing
  using is_avalanching = void;  // Boost.Unordered: the bits are already mixed

  std::size_t operator()(std::string_view k) const noexcept {
    constexpr std::uint64_t kMul = 0x9E3779B97F4A7C15ULL;
    std::uint64_t h = 0x243F6A8885A308D3ULL ^ (k.size() * kMul);
    std::size_t i = 0;
    for (; i + 8 <= k.size(); i += 8) {
      std::uint64_t w;
      std::memcpy(&w, k.data() + i, 8);
      h = (h ^ w) * kMul;
      h ^= h >> 29;
    }
    if (i < k.size()) {
      const std::uint64_t w = load_tail_bytes(k.data() + i, k.size() - i);
      h = (h ^ w) * kMul;
      h ^= h >> 29;
    }
    // murmur3's finaliser: every input bit reaches every output bit.
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDULL;
    h ^= h >> 33;
    h *= 0xC4CEB9FE1A85EC53ULL;
    h ^= h >> 33;
    return static_cast<std::size_t>(h);
  }
};

}  // namespace alliance

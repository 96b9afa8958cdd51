// A small unsigned 256-bit integer for exact money splits: products of an
// amount (< 2^63) and a pool weight P·G (< 2^127) and sums of many such
// weights do not fit in 128 bits. Only what the splits need: add, multiply
// by 64 bits, compare, subtract, divide. Pure value type; any thread.
#pragma once

#include <array>
#include <compare>
#include <cstdint>

namespace alliance {

class U256 {
 public:
  constexpr U256() = default;
  constexpr explicit U256(unsigned __int128 v)
      : limb_{static_cast<std::uint64_t>(v), static_cast<std::uint64_t>(v >> 64), 0, 0} {}

  /// this + o; the caller keeps sums below 2^256 (at most 2^129 weights of 2^127).
  [[nodiscard]] constexpr U256 operator+(const U256& o) const {
    U256 r;
    unsigned __int128 carry = 0;
    for (int i = 0; i < 4; ++i) {
      const unsigned __int128 s = static_cast<unsigned __int128>(limb_[i]) + o.limb_[i] + carry;
      r.limb_[i] = static_cast<std::uint64_t>(s);
      carry = s >> 64;
    }
    return r;
  }

  /// this - o; requires o <= this.
  [[nodiscard]] constexpr U256 operator-(const U256& o) const {
    U256 r;
    std::uint64_t borrow = 0;
    for (int i = 0; i < 4; ++i) {
      const std::uint64_t a = limb_[i];
      const std::uint64_t d = a - o.limb_[i] - borrow;
      borrow = (a < o.limb_[i] || (a == o.limb_[i] && borrow != 0)) ? 1 : 0;
      r.limb_[i] = d;
    }
    return r;
  }

  /// this · m; the caller keeps the product below 2^256.
  [[nodiscard]] constexpr U256 times(std::uint64_t m) const {
    U256 r;
    unsigned __int128 carry = 0;
    for (int i = 0; i < 4; ++i) {
      const unsigned __int128 p = static_cast<unsigned __int128>(limb_[i]) * m + carry;
      r.limb_[i] = static_cast<std::uint64_t>(p);
      carry = p >> 64;
    }
    return r;
  }

  constexpr std::strong_ordering operator<=>(const U256& o) const {
    for (int i = 3; i >= 0; --i)
      if (limb_[i] != o.limb_[i]) return limb_[i] <=> o.limb_[i];
    return std::strong_ordering::equal;
  }
  constexpr bool operator==(const U256& o) const = default;

  [[nodiscard]] constexpr bool is_zero() const { return (limb_[0] | limb_[1] | limb_[2] | limb_[3]) == 0; }

  struct DivMod;
  /// Quotient and remainder of this / d (d > 0) by binary long division:
  /// 256 shift-subtract steps, exact for every operand.
  [[nodiscard]] constexpr DivMod divmod(const U256& d) const;

  /// The low 64 bits (callers use it when the value is known to fit).
  [[nodiscard]] constexpr std::uint64_t low64() const { return limb_[0]; }
  [[nodiscard]] constexpr bool fits_u64() const { return (limb_[1] | limb_[2] | limb_[3]) == 0; }

 private:
  [[nodiscard]] constexpr bool bit(int i) const { return ((limb_[i / 64] >> (i % 64)) & 1U) != 0; }
  constexpr void set_bit(int i) { limb_[i / 64] |= std::uint64_t{1} << (i % 64); }
  /// Shifts left by one; returns the bit shifted out.
  constexpr bool shl1() {
    const bool out = (limb_[3] >> 63) != 0;
    for (int i = 3; i > 0; --i) limb_[i] = (limb_[i] << 1) | (limb_[i - 1] >> 63);
    limb_[0] <<= 1;
    return out;
  }

  std::array<std::uint64_t, 4> limb_{};  // little-endian 64-bit limbs
};

struct U256::DivMod {
  U256 quotient;
  U256 remainder;
};

constexpr U256::DivMod U256::divmod(const U256& d) const {
  DivMod r;
  for (int i = 255; i >= 0; --i) {
    // remainder = 2·remainder + bit i; it stays < 2d, so one subtraction
    // suffices; a bit shifted out of 256 means it is certainly >= d.
    const bool overflow = r.remainder.shl1();
    if (bit(i)) r.remainder.limb_[0] |= 1;
    if (overflow || r.remainder >= d) {
      r.remainder = r.remainder - d;  // wraps back into range when overflow
      r.quotient.set_bit(i);
    }
  }
  return r;
}

}  // namespace alliance

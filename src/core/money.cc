#include "alliance/core/money.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "alliance/core/wide_uint.h"

namespace alliance {

std::int64_t floor_div128(__int128 num, __int128 den) {
  __int128 q = num / den;
  if (num % den != 0 && (num < 0) != (den < 0)) --q;
  return static_cast<std::int64_t>(q);
}

std::int64_t round_half_even_div(__int128 num, __int128 den) {
  const __int128 q = floor_div128(num, den);
  const __int128 r = num - q * den;  // 0 <= r < den
  const __int128 twice = 2 * r;
  if (twice > den || (twice == den && (q % 2 != 0))) return static_cast<std::int64_t>(q + 1);
  return static_cast<std::int64_t>(q);
}

namespace {

using U128 = unsigned __int128;

/// |amount| without overflow for INT64_MIN.
std::uint64_t magnitude(MinorUnits amount) {
  return amount < 0 ? 0 - static_cast<std::uint64_t>(amount) : static_cast<std::uint64_t>(amount);
}

/// Shares of |amount| back to signed shares of `amount` (each share <= |amount|).
std::vector<MinorUnits> with_sign(const std::vector<std::uint64_t>& shares, bool negative) {
  std::vector<MinorUnits> out(shares.size());
  for (std::size_t i = 0; i < shares.size(); ++i)
    out[i] = negative ? static_cast<MinorUnits>(0 - shares[i]) : static_cast<MinorUnits>(shares[i]);
  return out;
}

/// Indices 0..n-1 ordered by `larger_fraction` (a strict weak order "a's
/// fractional part is larger than b's"), ties to the earlier index.
template <class Greater>
std::vector<std::size_t> by_fraction(std::size_t n, Greater larger_fraction) {
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), larger_fraction);
  return order;
}

// Brings Σ shares from `assigned` to `amount` in O(n): a positive leftover
// goes one unit each to the largest fractions first (whole rounds of n to
// everyone if it is n or more, which exact weights never need); an excess
// (only from double rounding in time-decay weights) is taken back one unit
// each from the smallest fractions holding one, then as much as needed in the
// same order. Shares stay >= 0 and sum to `amount` exactly.
void settle_leftover(std::vector<std::uint64_t>& shares, std::uint64_t amount, U128 assigned,
                     const std::vector<std::size_t>& order) {
  const std::size_t n = order.size();
  if (n == 0) return;
  if (assigned < amount) {
    const auto leftover = static_cast<std::uint64_t>(amount - assigned);
    const std::uint64_t rounds = leftover / n;
    const std::uint64_t extra = leftover % n;
    for (std::size_t k = 0; k < n; ++k) shares[order[k]] += rounds + (k < extra ? 1 : 0);
    return;
  }
  U128 excess = assigned - amount;
  for (std::size_t k = n; excess > 0 && k-- > 0;) {
    if (shares[order[k]] > 0) {
      --shares[order[k]];
      --excess;
    }
  }
  for (std::size_t k = n; excess > 0 && k-- > 0;) {
    const std::uint64_t take = excess < shares[order[k]] ? static_cast<std::uint64_t>(excess) : shares[order[k]];
    shares[order[k]] -= take;
    excess -= take;
  }
}

/// Largest-remainder split of `amount` in proportion to non-negative integer
/// weights below 2^127. Exact: 128-bit arithmetic when the total fits in 64
/// bits, 256-bit otherwise. O(n log n) for the sort, never O(amount).
std::vector<std::uint64_t> split_magnitude(std::uint64_t amount, const std::vector<U128>& weight) {
  const std::size_t n = weight.size();
  std::vector<std::uint64_t> shares(n, 0);
  U256 total;
  for (U128 w : weight) total = total + U256(w);
  if (total.is_zero()) return shares;
  U128 assigned = 0;
  std::vector<std::size_t> order;
  if (total.fits_u64()) {
    // a·w_i < 2^64 · 2^64: native 128-bit division is exact.
    const U128 t = total.low64();
    std::vector<std::uint64_t> rem(n);
    for (std::size_t i = 0; i < n; ++i) {
      const U128 p = static_cast<U128>(amount) * weight[i];
      shares[i] = static_cast<std::uint64_t>(p / t);  // <= amount, since w_i <= total
      rem[i] = static_cast<std::uint64_t>(p % t);
      assigned += shares[i];
    }
    order = by_fraction(n, [&](std::size_t a, std::size_t b) { return rem[a] > rem[b]; });
  } else {
    std::vector<U256> rem(n);
    for (std::size_t i = 0; i < n; ++i) {
      const U256::DivMod d = U256(weight[i]).times(amount).divmod(total);
      shares[i] = d.quotient.low64();  // <= amount, since w_i <= total
      rem[i] = d.remainder;
      assigned += shares[i];
    }
    order = by_fraction(n, [&](std::size_t a, std::size_t b) { return rem[a] > rem[b]; });
  }
  // Σ rem_i / total = amount - assigned and each rem_i < total: fewer than
  // n units are left, so this hands out at most one unit each.
  settle_leftover(shares, amount, assigned, order);
  return shares;
}

}  // namespace

std::vector<MinorUnits> split_largest_remainder(MinorUnits amount, const Weights& w) {
  const std::size_t n = w.size();
  if (n == 0) return {};
  if (w.exact()) {
    // Attribution weights num[i]/den sum to 1, so splitting by num[i] over
    // Σ num gives the same floors and the same fractional order.
    std::vector<__int128> num(w.num.begin(), w.num.end());
    return split_by_integers(amount, num);
  }
  const std::uint64_t a = magnitude(amount);
  const double da = static_cast<double>(a);
  std::vector<std::uint64_t> shares(n, 0);
  std::vector<double> frac(n, 0.0);
  U128 assigned = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double x = da * w.real[i];
    if (!(x > 0)) continue;  // zero, negative or NaN weight: no share
    if (!std::isfinite(x)) {
      shares[i] = a;
      assigned += a;
      continue;
    }
    const double f = std::floor(x);
    // Clamp before converting: a double at or above `a` (or infinite) gets `a`.
    shares[i] = f >= da ? a : static_cast<std::uint64_t>(f);
    frac[i] = x - f;
    assigned += shares[i];
  }
  const auto order = by_fraction(n, [&](std::size_t p, std::size_t q) { return frac[p] > frac[q]; });
  settle_leftover(shares, a, assigned, order);
  return with_sign(shares, amount < 0);
}

std::vector<MinorUnits> split_by_integers(MinorUnits amount, const std::vector<__int128>& weight) {
  std::vector<U128> w(weight.size());
  for (std::size_t i = 0; i < weight.size(); ++i) w[i] = weight[i] > 0 ? static_cast<U128>(weight[i]) : 0;
  return with_sign(split_magnitude(magnitude(amount), w), amount < 0);
}

std::int64_t weight_micros(const Weights& w, const std::vector<std::size_t>& indices) {
  if (w.exact()) {
    __int128 num = 0;
    for (std::size_t i : indices) num += w.num[i];
    return round_half_even_div(num * 1'000'000, w.den);
  }
  double sum = 0;
  for (std::size_t i : indices) sum += w.real[i];
  // glibc's printf rounds the exact binary value correctly, ties to even.
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6f", sum);
  const double v = std::strtod(buf, nullptr);
  return static_cast<std::int64_t>(std::llround(v * 1e6));
}

std::string format_micros(std::int64_t micros) {
  const bool neg = micros < 0;
  const std::uint64_t a = neg ? 0 - static_cast<std::uint64_t>(micros) : static_cast<std::uint64_t>(micros);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s%llu.%06llu", neg ? "-" : "",
                static_cast<unsigned long long>(a / 1'000'000),
                static_cast<unsigned long long>(a % 1'000'000));
  return buf;
}

std::string format_ratio(__int128 num, __int128 den) {
  return format_micros(round_half_even_div(num * 1'000'000, den));
}

}  // namespace alliance

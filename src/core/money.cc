#include "alliance/core/money.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

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

// Hands `leftover` units (may be negative after double rounding) to the
// indices in `order` (largest fraction first), one each, cycling if needed.
void distribute(std::vector<MinorUnits>& shares, MinorUnits leftover,
                const std::vector<std::size_t>& order) {
  if (order.empty()) return;
  std::size_t i = 0;
  while (leftover > 0) {
    ++shares[order[i++ % order.size()]];
    --leftover;
  }
  // Only reachable through double rounding in time-decay weights: take the
  // excess back from the smallest fractions that still hold a unit.
  for (std::size_t j = order.size(); leftover < 0 && j-- > 0;) {
    if (shares[order[j]] > 0) {
      --shares[order[j]];
      ++leftover;
    }
    if (j == 0 && leftover < 0) j = order.size();
  }
}

}  // namespace

std::vector<MinorUnits> split_largest_remainder(MinorUnits amount, const Weights& w) {
  const std::size_t n = w.size();
  std::vector<MinorUnits> shares(n, 0);
  if (n == 0) return shares;
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  MinorUnits assigned = 0;
  if (w.exact()) {
    std::vector<__int128> rem(n);
    for (std::size_t i = 0; i < n; ++i) {
      const __int128 p = static_cast<__int128>(amount) * w.num[i];
      shares[i] = floor_div128(p, w.den);
      rem[i] = p - static_cast<__int128>(shares[i]) * w.den;
      assigned += shares[i];
    }
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return rem[a] > rem[b]; });
  } else {
    std::vector<double> frac(n);
    for (std::size_t i = 0; i < n; ++i) {
      const double x = static_cast<double>(amount) * w.real[i];
      const double f = std::floor(x);
      shares[i] = std::clamp(static_cast<MinorUnits>(f), MinorUnits{0}, amount);
      frac[i] = x - f;
      assigned += shares[i];
    }
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return frac[a] > frac[b]; });
  }
  distribute(shares, amount - assigned, order);
  return shares;
}

std::vector<MinorUnits> split_by_integers(MinorUnits amount, const std::vector<__int128>& weight) {
  const std::size_t n = weight.size();
  std::vector<MinorUnits> shares(n, 0);
  const __int128 total = std::accumulate(weight.begin(), weight.end(), __int128{0});
  if (total <= 0) return shares;
  std::vector<__int128> rem(n);
  MinorUnits assigned = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const __int128 p = static_cast<__int128>(amount) * weight[i];
    shares[i] = floor_div128(p, total);
    rem[i] = p - static_cast<__int128>(shares[i]) * total;
    assigned += shares[i];
  }
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return rem[a] > rem[b]; });
  distribute(shares, amount - assigned, order);
  return shares;
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

// Exact money arithmetic: integer minor units, round-half-even division,
// largest-remainder splitting and 6-place decimal strings. Pure functions,
// callable from any thread. No floating point touches an amount except the
// time-decay weights, which SPEC §3.3 defines as IEEE doubles.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace alliance {

/// An amount in integer minor units of some currency (9900 = 99.00).
using MinorUnits = std::int64_t;

/// Largest accepted amount: 2^53 - 1, so every amount is exact as a double
/// and A·w products for time-decay weights stay well inside double range.
inline constexpr MinorUnits kMaxAmountMinor = 9'007'199'254'740'991;

/// round(num / den) with ties to the even neighbour; den > 0.
std::int64_t round_half_even_div(__int128 num, __int128 den);
/// floor(num / den); den > 0.
std::int64_t floor_div128(__int128 num, __int128 den);

/// Attribution weights of n touchpoints in chronological order. Either exact
/// rationals `num[i] / den` (last/first touch, linear, position-based,
/// referral precedence) or IEEE doubles `real[i]` (time decay).
struct Weights {
  std::vector<std::int64_t> num;
  std::int64_t den = 0;  // 0 means the weights are in `real`
  std::vector<double> real;

  [[nodiscard]] bool exact() const { return den != 0; }
  [[nodiscard]] std::size_t size() const { return exact() ? num.size() : real.size(); }
};

/// Splits `amount` over the weights by the largest-remainder method
/// (SPEC §3.4): floor shares, then the leftover units one each to the largest
/// fractional parts, ties to the earlier index. Σ result == amount always,
/// every share has the sign of `amount` (>= 0 for amounts >= 0), and the
/// cost is O(n log n) whatever the amount. Exact weights are split exactly
/// (by num[i] over Σ num, which is den for attribution weights); double
/// weights may round so that the floors over- or undershoot: the difference
/// is settled in one pass over the fractions (docs/SEMANTICS.md).
std::vector<MinorUnits> split_largest_remainder(MinorUnits amount, const Weights& w);

/// Same rule over integer weights (pool members): shares ∝ weight[i]. Exact
/// for every weight in [0, 2^127) (negative weights count as 0) and every
/// amount, with 256-bit intermediates when the products need them; O(n log n).
/// A zero total gives all-zero shares (the amount stays with nobody; callers
/// must not call it with amount > 0 and zero total).
std::vector<MinorUnits> split_by_integers(MinorUnits amount, const std::vector<__int128>& weight);

/// The sum of weights at `indices`, in millionths, rounded half to even.
std::int64_t weight_micros(const Weights& w, const std::vector<std::size_t>& indices);

/// `123456` -> "0.123456", `-1500000` -> "-1.500000".
std::string format_micros(std::int64_t micros);
/// num/den as a 6-place decimal string, half to even; den > 0.
std::string format_ratio(__int128 num, __int128 den);

}  // namespace alliance

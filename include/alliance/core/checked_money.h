// Overflow-checked sums of money (SPEC §2: money never wraps). Callers
// pre-check with add_overflows / checked_add and dead-letter the event
// (`amount_overflow`) before anything changes; add_exact is for sums a
// pre-check already proved to fit and throws instead of wrapping if that
// proof was wrong. Pure functions; any thread.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>

#include "alliance/core/money.h"

namespace alliance {

/// Thrown by add_exact: a sum that a pre-check should have refused. A bug,
/// never a consequence of input alone.
struct MoneyOverflow : std::logic_error {
  using std::logic_error::logic_error;
};

/// Thrown where an input is refused because a total it would change would
/// leave int64, before anything changed (stage 2 of a split run: the
/// Processor dead-letters the forwarded record with `amount_overflow`).
struct AmountOverflow : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// True when a + b is outside the signed 64-bit range.
[[nodiscard]] constexpr bool add_overflows(MinorUnits a, MinorUnits b) {
  MinorUnits r = 0;
  return __builtin_add_overflow(a, b, &r);
}

/// a + b, or nothing when it would leave the signed 64-bit range.
[[nodiscard]] constexpr std::optional<MinorUnits> checked_add(MinorUnits a, MinorUnits b) {
  MinorUnits r = 0;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

/// a + b, for sums already checked: throws MoneyOverflow rather than wrap.
[[nodiscard]] inline MinorUnits add_exact(MinorUnits a, MinorUnits b) {
  MinorUnits r = 0;
  if (__builtin_add_overflow(a, b, &r))
    throw MoneyOverflow("money sum " + std::to_string(a) + " + " + std::to_string(b) +
                        " leaves int64 after its pre-check");
  return r;
}

/// `total += delta` when it fits; returns false (total unchanged) otherwise.
[[nodiscard]] constexpr bool try_add(MinorUnits& total, MinorUnits delta) {
  MinorUnits r = 0;
  if (__builtin_add_overflow(total, delta, &r)) return false;
  total = r;
  return true;
}

}  // namespace alliance

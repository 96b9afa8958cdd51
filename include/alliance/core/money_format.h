// Shows an amount of integer minor units as a decimal in its currency's
// ISO 4217 minor-unit digits (SPEC §2): JPY 1234 -> "1234", CNY 1234 ->
// "12.34", KWD 1234 -> "1.234". Pure function; any thread.
#pragma once

#include <string>
#include <string_view>

#include "alliance/core/money.h"

namespace alliance {

/// `minor` as a decimal with the minor-unit digits of `currency`, exact for
/// every int64 (no floating point): "-0.05", "-92233720368547758.08". A code
/// that is not ISO 4217 has no known digits: the plain minor units are shown.
std::string format_money(MinorUnits minor, std::string_view currency);

}  // namespace alliance

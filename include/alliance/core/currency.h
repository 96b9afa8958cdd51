// ISO 4217 currency codes and their minor-unit digits (SPEC §2): which codes
// are valid money, and how many decimals a minor unit has when money is
// shown (JPY 0, CNY 2, KWD 3). Pure lookups; any thread.
#pragma once

#include <optional>
#include <string_view>

namespace alliance {

/// The minor-unit digits of an active ISO 4217 code, or nullopt when `code`
/// is not one (`XXQ`, `usd`, `CN`, the withdrawn `HRK`). Codes without minor
/// units ("N.A." in ISO 4217: precious metals XAU/XAG/XPT/XPD, XDR, XSU,
/// XUA, the bond market units, the testing code XTS, XXX "no currency")
/// cannot carry an amount in minor units: nullopt. No allocation; cheap
/// enough for the decode path (a binary search over ~170 codes).
std::optional<int> currency_minor_digits(std::string_view code);

/// True when `code` is an active ISO 4217 code with minor units: the
/// currencies money may be in (SPEC §2, docs/SEMANTICS.md).
inline bool is_iso4217(std::string_view code) { return currency_minor_digits(code).has_value(); }

}  // namespace alliance

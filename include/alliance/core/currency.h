// ISO 4217 currency codes and their minor-unit digits (SPEC §2): which codes
// are valid money, and how many decimals a minor unit has when money is
// shown (JPY 0, CNY 2, KWD 3). Pure lookups; any thread.
#pragma once

#include <optional>
#include <string_view>

namespace alliance {

/// The minor-unit digits of an active ISO 4217 code, or nullopt when `code`
/// is not one (`XXQ`, `usd`, `CN`). Funds, precious metals and the testing
/// codes (XXX, XTS) are not money a partner is paid in: nullopt.
std::optional<int> currency_minor_digits(std::string_view code);

/// True when `code` is an active ISO 4217 currency code.
inline bool is_iso4217(std::string_view code) { return currency_minor_digits(code).has_value(); }

}  // namespace alliance

#include "alliance/core/money_format.h"

#include <cstdint>

#include "alliance/core/currency.h"

namespace alliance {

std::string format_money(MinorUnits minor, std::string_view currency) {
  const int digits = currency_minor_digits(currency).value_or(0);
  // The magnitude as unsigned, so INT64_MIN has one too.
  std::uint64_t magnitude =
      minor < 0 ? std::uint64_t{0} - static_cast<std::uint64_t>(minor) : static_cast<std::uint64_t>(minor);
  std::string reversed;  // digits, least significant first
  do {
    reversed.push_back(static_cast<char>('0' + magnitude % 10));
    magnitude /= 10;
  } while (magnitude != 0);
  // At least one integer digit before the fraction: 5 in CNY is "0.05".
  while (reversed.size() < static_cast<std::size_t>(digits) + 1) reversed.push_back('0');
  std::string out = minor < 0 ? "-" : "";
  for (std::size_t i = reversed.size(); i-- > 0;) {
    out.push_back(reversed[i]);
    if (digits > 0 && i == static_cast<std::size_t>(digits)) out.push_back('.');
  }
  return out;
}

}  // namespace alliance

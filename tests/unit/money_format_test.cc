// format_money (issue 16 item 14): money shown in its currency's ISO 4217
// minor-unit digits, exactly, for every int64.
#include "alliance/core/money_format.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

namespace alliance {
namespace {

TEST(FormatMoney, UsesTheIso4217MinorUnitDigits) {
  EXPECT_EQ(format_money(123456, "JPY"), "123456");  // 0 digits
  EXPECT_EQ(format_money(123456, "CNY"), "1234.56");  // 2 digits
  EXPECT_EQ(format_money(123456, "KWD"), "123.456");  // 3 digits
  EXPECT_EQ(format_money(9900, "USD"), "99.00");
}

TEST(FormatMoney, SmallAmountsKeepALeadingZero) {
  EXPECT_EQ(format_money(0, "CNY"), "0.00");
  EXPECT_EQ(format_money(0, "JPY"), "0");
  EXPECT_EQ(format_money(5, "CNY"), "0.05");
  EXPECT_EQ(format_money(5, "KWD"), "0.005");
  EXPECT_EQ(format_money(100, "CNY"), "1.00");
}

TEST(FormatMoney, Negatives) {
  EXPECT_EQ(format_money(-5, "CNY"), "-0.05");
  EXPECT_EQ(format_money(-1234, "JPY"), "-1234");
  EXPECT_EQ(format_money(-1234, "KWD"), "-1.234");
}

TEST(FormatMoney, Int64Extremes) {
  EXPECT_EQ(format_money(std::numeric_limits<std::int64_t>::min(), "CNY"), "-92233720368547758.08");
  EXPECT_EQ(format_money(std::numeric_limits<std::int64_t>::max(), "CNY"), "92233720368547758.07");
  EXPECT_EQ(format_money(std::numeric_limits<std::int64_t>::min(), "JPY"), "-9223372036854775808");
  EXPECT_EQ(format_money(std::numeric_limits<std::int64_t>::min(), "KWD"), "-9223372036854775.808");
}

TEST(FormatMoney, UnknownCodeShowsPlainMinorUnits) {
  EXPECT_EQ(format_money(1234, "XXQ"), "1234");
  EXPECT_EQ(format_money(-1234, ""), "-1234");
}

}  // namespace
}  // namespace alliance

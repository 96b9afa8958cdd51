#include "alliance/core/money.h"

#include <gtest/gtest.h>

#include <numeric>
#include <random>

#include "alliance/core/attribution.h"

namespace alliance {
namespace {

TEST(RoundHalfEven, TiesGoToEven) {
  EXPECT_EQ(round_half_even_div(5, 2), 2);    // 2.5 -> 2
  EXPECT_EQ(round_half_even_div(7, 2), 4);    // 3.5 -> 4
  EXPECT_EQ(round_half_even_div(-5, 2), -2);  // -2.5 -> -2
  EXPECT_EQ(round_half_even_div(-7, 2), -4);
  EXPECT_EQ(round_half_even_div(26, 10), 3);
  EXPECT_EQ(round_half_even_div(24, 10), 2);
  // 9999 * 1000bp / 10000 = 999.9 -> 1000; 12345 * 1000 / 10000 = 1234.5 -> 1234
  EXPECT_EQ(round_half_even_div(9999LL * 1000, 10000), 1000);
  EXPECT_EQ(round_half_even_div(12345LL * 1000, 10000), 1234);
  EXPECT_EQ(round_half_even_div(12355LL * 1000, 10000), 1236);
}

TEST(LargestRemainder, LinearThreeWays) {
  Weights w;
  w.num = {1, 1, 1};
  w.den = 3;
  // 100 = 33 + 33 + 33 + 1 leftover; equal fractions: the earliest gets it.
  EXPECT_EQ(split_largest_remainder(100, w), (std::vector<MinorUnits>{34, 33, 33}));
  EXPECT_EQ(split_largest_remainder(101, w), (std::vector<MinorUnits>{34, 34, 33}));
  EXPECT_EQ(split_largest_remainder(0, w), (std::vector<MinorUnits>{0, 0, 0}));
}

TEST(LargestRemainder, PositionBasedFive) {
  // n=5: 2/5, 1/15, 1/15, 1/15, 2/5 of 9900 = 3960, 660, 660, 660, 3960.
  Weights w = attribution_weights(AttributionModel::kPositionBased, {1, 2, 3, 4, 5}, 5, 1);
  EXPECT_EQ(split_largest_remainder(9900, w), (std::vector<MinorUnits>{3960, 660, 660, 660, 3960}));
  // 1001: 400.4, 66.733, 66.733, 66.733, 400.4 -> floors 400,66,66,66,400 = 998;
  // 3 leftovers by largest fraction: the three middle ones (0.733 > 0.4).
  EXPECT_EQ(split_largest_remainder(1001, w), (std::vector<MinorUnits>{400, 67, 67, 67, 400}));
}

TEST(LargestRemainder, TimeDecayDoublesStillSumExactly) {
  Weights w = attribution_weights(AttributionModel::kTimeDecay, {0, 3'600'000, 7'200'000}, 7'200'000, 3'600'000);
  // raw 1/4, 1/2, 1 -> 1/7, 2/7, 4/7 of 700 = 100, 200, 400.
  EXPECT_EQ(split_largest_remainder(700, w), (std::vector<MinorUnits>{100, 200, 400}));
  EXPECT_EQ(weight_micros(w, {2}), 571429);  // 4/7 = 0.5714285...
}

// Property: over many random amounts and weight vectors, shares sum to the
// amount and each lies in [0, amount]. Fixed seed: deterministic.
TEST(LargestRemainder, PropertySumIsExact) {
  std::mt19937_64 rng(301);
  for (int iter = 0; iter < 20000; ++iter) {
    const std::size_t n = 1 + rng() % 12;
    const MinorUnits amount = static_cast<MinorUnits>(rng() % (iter % 2 ? 1'000'000'000'000ULL : 1000ULL));
    Weights w;
    if (iter % 3 == 0) {
      std::vector<TimestampMs> ts;
      for (std::size_t i = 0; i < n; ++i) ts.push_back(static_cast<TimestampMs>(rng() % 2'000'000'000));
      std::sort(ts.begin(), ts.end());
      w = attribution_weights(AttributionModel::kTimeDecay, ts, ts.back() + static_cast<TimestampMs>(rng() % 1000),
                              1 + static_cast<DurationMs>(rng() % 700'000'000));
    } else {
      w.num.resize(n);
      for (auto& x : w.num) x = static_cast<std::int64_t>(rng() % 100);
      w.num[0] += 1;
      w.den = std::accumulate(w.num.begin(), w.num.end(), std::int64_t{0});
    }
    const auto shares = split_largest_remainder(amount, w);
    ASSERT_EQ(shares.size(), n);
    MinorUnits sum = 0;
    for (auto s : shares) {
      ASSERT_GE(s, 0);
      ASSERT_LE(s, amount);
      sum += s;
    }
    ASSERT_EQ(sum, amount) << "iteration " << iter;
  }
}

TEST(LargestRemainder, MaxAmountDoesNotOverflow) {
  Weights w;
  w.num = {1, 1, 1};
  w.den = 3;
  const auto s = split_largest_remainder(kMaxAmountMinor, w);
  EXPECT_EQ(s[0] + s[1] + s[2], kMaxAmountMinor);
}

TEST(PoolSplit, SeedWorkedExampleUsesTheFormulaNotThePrintedRatios) {
  // Weights 40/30/30, G = 500000/300000/200000: R = 200000/350000, 90000/350000,
  // 60000/350000 of a pool of 20000 -> 11428.57, 5142.86, 3428.57.
  const std::vector<__int128> pg{40 * 500000LL, 30 * 300000LL, 30 * 200000LL};
  const auto s = split_by_integers(20000, pg);
  EXPECT_EQ(s, (std::vector<MinorUnits>{11429, 5143, 3428}));
  EXPECT_NE(s, (std::vector<MinorUnits>{10000, 6000, 4000}));  // the article's 0.5/0.3/0.2
}

TEST(PoolSplit, ZeroVolumeMemberGetsNothing) {
  const auto s = split_by_integers(1000, {40 * 100LL, 30 * 0LL, 30 * 100LL});
  EXPECT_EQ(s, (std::vector<MinorUnits>{571, 0, 429}));
}

TEST(Decimal, SixPlaces) {
  EXPECT_EQ(format_micros(333333), "0.333333");
  EXPECT_EQ(format_micros(1000000), "1.000000");
  EXPECT_EQ(format_micros(-1500000), "-1.500000");
  EXPECT_EQ(format_ratio(1, 3), "0.333333");
  EXPECT_EQ(format_ratio(2, 3), "0.666667");
  EXPECT_EQ(format_ratio(1, 8000000), "0.000000");  // 0.000000125 -> 0.000000
  EXPECT_EQ(format_ratio(3, 2000000), "0.000002");  // 0.0000015 -> even 0.000002
  EXPECT_EQ(format_ratio(5, 2000000), "0.000002");  // 0.0000025 -> even 0.000002
}

TEST(Weights, ModelsByHand) {
  auto last = attribution_weights(AttributionModel::kLastTouch, {1, 2, 3}, 3, 1);
  EXPECT_EQ(last.num, (std::vector<std::int64_t>{0, 0, 1}));
  auto first = attribution_weights(AttributionModel::kFirstTouch, {1, 2, 3}, 3, 1);
  EXPECT_EQ(first.num, (std::vector<std::int64_t>{1, 0, 0}));
  auto pb2 = attribution_weights(AttributionModel::kPositionBased, {1, 2}, 3, 1);
  EXPECT_EQ(split_largest_remainder(101, pb2), (std::vector<MinorUnits>{51, 50}));
  auto pb3 = attribution_weights(AttributionModel::kPositionBased, {1, 2, 3}, 3, 1);
  EXPECT_EQ(split_largest_remainder(1000, pb3), (std::vector<MinorUnits>{400, 200, 400}));
  EXPECT_EQ(weight_micros(pb3, {0, 2}), 800000);
}

}  // namespace
}  // namespace alliance

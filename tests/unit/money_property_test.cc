// Properties of money splits, checked sums and composite keys over random
// inputs (issue 16, items 1, 2 and 6): Σ shares = amount, every share >= 0,
// no sum outside int64, no key collision whatever the id bytes, bounded
// time. Seeded RNGs: deterministic.
#include <gtest/gtest.h>

#include <chrono>
#include <limits>
#include <numeric>
#include <random>
#include <set>

#include "alliance/core/attribution.h"
#include "alliance/core/byte_codec.h"
#include "alliance/core/checked_money.h"
#include "alliance/core/metric_windows.h"
#include "alliance/core/money.h"
#include "alliance/core/settlement_ledger.h"
#include "alliance/core/wide_uint.h"

namespace alliance {
namespace {

constexpr MinorUnits kI64Max = std::numeric_limits<MinorUnits>::max();
constexpr MinorUnits kI64Min = std::numeric_limits<MinorUnits>::min();

/// Σ shares in 128 bits (a wrapped int64 sum could hide an error).
__int128 sum_of(const std::vector<MinorUnits>& v) {
  return std::accumulate(v.begin(), v.end(), __int128{0});
}

/// An amount up to 2^53 - 1, biased towards the edges.
MinorUnits random_amount(std::mt19937_64& rng) {
  switch (rng() % 4) {
    case 0: return kMaxAmountMinor - static_cast<MinorUnits>(rng() % 3);
    case 1: return static_cast<MinorUnits>(rng() % 1000);
    default: return static_cast<MinorUnits>(rng() % (static_cast<std::uint64_t>(kMaxAmountMinor) + 1));
  }
}

/// A pool weight P·G as the ledger builds it: P up to INT64_MAX, G up to INT64_MAX.
__int128 random_weight(std::mt19937_64& rng) {
  auto factor = [&]() -> __int128 {
    switch (rng() % 5) {
      case 0: return 0;
      case 1: return kI64Max - static_cast<MinorUnits>(rng() % 3);
      case 2: return static_cast<MinorUnits>(rng() % 100);
      default: return static_cast<MinorUnits>(rng() >> 1);
    }
  };
  return factor() * factor();
}

// --- U256 -----------------------------------------------------------------

TEST(WideUint, DivModAgreesWithNative128BitArithmetic) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 3000; ++i) {
    const unsigned __int128 a = (static_cast<unsigned __int128>(rng()) << 64 | rng()) >> (rng() % 128);
    unsigned __int128 d = (static_cast<unsigned __int128>(rng()) << 64 | rng()) >> (rng() % 128);
    if (d == 0) d = 1;
    const auto r = U256(a).divmod(U256(d));
    ASSERT_EQ(r.quotient, U256(a / d));
    ASSERT_EQ(r.remainder, U256(a % d));
  }
}

TEST(WideUint, ProductsBeyond128BitsDivideBackExactly) {
  std::mt19937_64 rng(8);
  for (int i = 0; i < 3000; ++i) {
    const unsigned __int128 w = (static_cast<unsigned __int128>(rng() >> 1) << 64 | rng());  // < 2^127
    const std::uint64_t m = rng() | 1;
    const U256 p = U256(w).times(m);
    // (w·m) / m == w and (w·m) / w == m, remainder 0: the product is exact.
    const auto by_m = p.divmod(U256(m));
    ASSERT_EQ(by_m.quotient, U256(w));
    ASSERT_TRUE(by_m.remainder.is_zero());
    if (w != 0) {
      const auto by_w = p.divmod(U256(w));
      ASSERT_EQ(by_w.quotient, U256(m));
      ASSERT_TRUE(by_w.remainder.is_zero());
      // and one more unit leaves remainder 1
      ASSERT_EQ((p + U256(1)).divmod(U256(w)).remainder, U256(w == 1 ? 0 : 1));
    }
  }
}

// --- Item 1: splits ---------------------------------------------------------

// The issue's reproduction: a pool of 4 maximum orders with member weights
// 1000000 and 1 on equal volume G. P·G overflowed 128 bits against the amount
// and the leftover loop ran ~10^18 times. Scaling all weights by G changes
// nothing, so the answer is the split by {1000000, 1}.
TEST(PoolSplit, IssueReproHugeWeightsEndAndAreExact) {
  const MinorUnits amount = 4 * kMaxAmountMinor;
  const __int128 g = 2 * static_cast<__int128>(kMaxAmountMinor);
  const auto s = split_by_integers(amount, {1'000'000 * g, 1 * g});
  EXPECT_EQ(s, split_by_integers(amount, {1'000'000, 1}));
  EXPECT_EQ(sum_of(s), amount);
  // By hand: floors of A·10^6/T and A/T (T = 10^6 + 1); the one unit left
  // goes to the larger remainder (ties: the first member).
  const __int128 a = amount, t = 1'000'001;
  const __int128 f0 = a * 1'000'000 / t, r0 = a * 1'000'000 % t, f1 = a / t, r1 = a % t;
  ASSERT_EQ(a - f0 - f1, 1);
  EXPECT_EQ(s[0], static_cast<MinorUnits>(f0 + (r0 >= r1 ? 1 : 0)));
  EXPECT_EQ(s[1], static_cast<MinorUnits>(f1 + (r0 >= r1 ? 0 : 1)));
}

TEST(PoolSplit, ExtremeWeightsAndAmounts) {
  const __int128 w = static_cast<__int128>(kI64Max) * kI64Max;  // P and G both INT64_MAX
  EXPECT_EQ(split_by_integers(kI64Max, {w, w}), (std::vector<MinorUnits>{kI64Max / 2 + 1, kI64Max / 2}));
  EXPECT_EQ(split_by_integers(kI64Max, {w, 0, w, w}), split_by_integers(kI64Max, {1, 0, 1, 1}));
  EXPECT_EQ(split_by_integers(kI64Max, {w, 1}), (std::vector<MinorUnits>{kI64Max, 0}));
  EXPECT_EQ(split_by_integers(kI64Min, {1, 1}), (std::vector<MinorUnits>{kI64Min / 2, kI64Min / 2}));
  EXPECT_EQ(split_by_integers(0, {w, w}), (std::vector<MinorUnits>{0, 0}));
  EXPECT_EQ(split_by_integers(5, {0, 0}), (std::vector<MinorUnits>{0, 0}));  // nobody has volume
}

// Property: Σ shares = amount, 0 <= share <= amount, and weights scaled by any factor
// (which pushes the 128-bit path into the 256-bit one) give the same split.
TEST(PoolSplit, PropertyExactForRandomHugeWeights) {
  std::mt19937_64 rng(1601);
  const auto start = std::chrono::steady_clock::now();
  for (int iter = 0; iter < 4000; ++iter) {
    const std::size_t n = 1 + rng() % 8;
    MinorUnits amount = random_amount(rng);
    if (iter % 7 == 0) amount = static_cast<MinorUnits>(rng() >> 1);  // totals up to INT64_MAX
    std::vector<__int128> weight(n);
    for (auto& w : weight) w = random_weight(rng);
    const auto s = split_by_integers(amount, weight);
    ASSERT_EQ(s.size(), n);
    const bool any = std::any_of(weight.begin(), weight.end(), [](__int128 w) { return w > 0; });
    ASSERT_EQ(sum_of(s), any ? amount : 0) << "iteration " << iter;
    for (MinorUnits x : s) {
      ASSERT_GE(x, 0);
      ASSERT_LE(x, amount);
    }
    // Scale-invariance on small weights: the 128-bit path against the 256-bit one.
    std::vector<__int128> small(n), scaled(n);
    const __int128 k = static_cast<__int128>(rng() >> 1) * static_cast<__int128>((rng() >> 1) | 1);
    for (std::size_t i = 0; i < n; ++i) {
      small[i] = static_cast<__int128>(rng() % 1000);
      scaled[i] = small[i] * (k / 1024 + 1);
    }
    ASSERT_EQ(split_by_integers(amount, small), split_by_integers(amount, scaled)) << "iteration " << iter;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

// Time-decay weights are doubles. Weights that sum to less than 1 (here 0)
// used to hand out the leftover one unit per loop iteration: 2^53 of them.
TEST(LargestRemainder, DoubleWeightsSettleAnyLeftoverInOnePass) {
  Weights zero;
  zero.real = {0.0, 0.0, 0.0};
  const auto a = split_largest_remainder(kMaxAmountMinor, zero);
  EXPECT_EQ(sum_of(a), kMaxAmountMinor);
  EXPECT_EQ(a, (std::vector<MinorUnits>{3002399751580331, 3002399751580330, 3002399751580330}));

  Weights over;  // sums to 1.2: the floors overshoot and must be taken back
  over.real = {0.6, 0.6};
  const auto b = split_largest_remainder(kMaxAmountMinor, over);
  EXPECT_EQ(sum_of(b), kMaxAmountMinor);
  EXPECT_GE(b[0], 0);
  EXPECT_GE(b[1], 0);

  Weights huge;  // each weight alone exceeds the amount
  huge.real = {1e300, 1e300, std::numeric_limits<double>::infinity(), std::nan("")};
  const auto c = split_largest_remainder(kMaxAmountMinor, huge);
  EXPECT_EQ(sum_of(c), kMaxAmountMinor);
  for (MinorUnits x : c) EXPECT_GE(x, 0);
}

// Property over the time-decay model (IEEE doubles) and exact models with
// amounts up to 2^53 - 1: Σ = amount, shares in [0, amount], bounded time.
TEST(LargestRemainder, PropertyMaxAmountsAllModels) {
  std::mt19937_64 rng(1602);
  const auto start = std::chrono::steady_clock::now();
  const AttributionModel models[] = {AttributionModel::kLastTouch, AttributionModel::kFirstTouch,
                                     AttributionModel::kLinear, AttributionModel::kPositionBased,
                                     AttributionModel::kTimeDecay};
  for (int iter = 0; iter < 5000; ++iter) {
    const std::size_t n = 1 + rng() % 60;
    std::vector<TimestampMs> ts(n);
    for (auto& t : ts) t = static_cast<TimestampMs>(rng() % 2'592'000'000);  // 30 days
    std::sort(ts.begin(), ts.end());
    const AttributionModel m = models[rng() % 5];
    const Weights w = attribution_weights(m, ts, ts.back(), 1 + static_cast<DurationMs>(rng() % 604'800'000));
    const MinorUnits amount = random_amount(rng);
    const auto s = split_largest_remainder(amount, w);
    ASSERT_EQ(s.size(), n);
    ASSERT_EQ(sum_of(s), amount) << "iteration " << iter;
    for (MinorUnits x : s) {
      ASSERT_GE(x, 0);
      ASSERT_LE(x, amount);
    }
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

// --- Item 2: checked sums ---------------------------------------------------

TEST(CheckedMoney, RefusesExactlyTheSumsOutsideInt64) {
  EXPECT_FALSE(add_overflows(kI64Max, 0));
  EXPECT_TRUE(add_overflows(kI64Max, 1));
  EXPECT_FALSE(add_overflows(kI64Min, 0));
  EXPECT_TRUE(add_overflows(kI64Min, -1));
  EXPECT_FALSE(add_overflows(kI64Max, kI64Min));
  EXPECT_EQ(checked_add(kI64Max - 1, 1), kI64Max);
  EXPECT_EQ(checked_add(kI64Max, 1), std::nullopt);
  MinorUnits total = kI64Max - 5;
  EXPECT_FALSE(try_add(total, 6));
  EXPECT_EQ(total, kI64Max - 5) << "a refused add leaves the total alone";
  EXPECT_TRUE(try_add(total, 5));
  EXPECT_EQ(total, kI64Max);
  EXPECT_THROW((void)add_exact(kI64Max, 1), MoneyOverflow);
}

// Property: a running total of random amounts (up to 2^53 - 1, some
// negative like reversals) fed through try_add never leaves int64 and
// equals the exact 128-bit sum of the accepted amounts.
TEST(CheckedMoney, PropertyRunningTotalsNeverWrap) {
  std::mt19937_64 rng(1603);
  for (int run = 0; run < 200; ++run) {
    MinorUnits total = 0;
    __int128 exact = 0;
    int refused = 0;
    for (int i = 0; i < 3000; ++i) {
      MinorUnits d = random_amount(rng);
      if (rng() % 5 == 0) d = -d;
      if (rng() % 50 == 0) d = (rng() % 2) ? kI64Max : kI64Min;
      const bool fits = exact + d <= kI64Max && exact + d >= kI64Min;
      ASSERT_EQ(try_add(total, d), fits);
      if (fits) exact += d;
      else ++refused;
      ASSERT_EQ(static_cast<__int128>(total), exact);
    }
    EXPECT_GT(refused, 0) << "run " << run << " never reached the edge";
  }
}

// --- Item 6: keys -----------------------------------------------------------

std::string random_id(std::mt19937_64& rng) {
  static const char kAlphabet[] = {'\0', '|', 'a', 'b', '\x01', ':', '\xff'};
  std::string s(rng() % 5, ' ');
  for (char& c : s) c = kAlphabet[rng() % sizeof kAlphabet];
  return s;
}

// The issue's spoof: partner "pA\0EVIL" in USD and partner "pA" in
// "EVIL\0USD" were the same statement.
TEST(CompositeKeys, NulInAnIdCannotSpoofAnotherStatement) {
  EXPECT_NE(statement_key("2026-11-20", std::string("pA\0EVIL", 7), "USD"),
            statement_key("2026-11-20", "pA", std::string("EVIL\0USD", 8)));
  EXPECT_NE(campaign_user_key(std::string("c\0u", 3), "v"), campaign_user_key("c", std::string("u\0v", 3)));
  EXPECT_NE(volume_key("p", "a|b", "c"), volume_key("p", "a", "b|c"));
}

// Property: distinct (period, partner, currency) triples of random bytes
// (NUL, '|', 0xff, …) give distinct keys, every key splits back into its
// triple, and a key starts with its period's prefix and no other period's.
TEST(CompositeKeys, PropertyUnambiguousWhateverTheBytes) {
  std::mt19937_64 rng(1604);
  std::map<std::string, std::tuple<std::string, std::string, std::string>> seen;
  for (int i = 0; i < 5000; ++i) {
    const std::string period = random_id(rng), partner = random_id(rng), currency = random_id(rng);
    const std::string key = statement_key(period, partner, currency);
    const auto [it, fresh] = seen.try_emplace(key, period, partner, currency);
    ASSERT_EQ(it->second, std::make_tuple(period, partner, currency)) << "collision";
    const StatementKey k = split_statement_key(key);
    ASSERT_EQ(std::tie(k.period, k.partner, k.currency), std::tie(period, partner, currency));
    ASSERT_EQ(key.compare(0, composite_key(period).size(), composite_key(period)), 0);
    const std::string other = random_id(rng);
    if (other != period) {
      const std::string p = composite_key(other);
      ASSERT_FALSE(key.size() >= p.size() && key.compare(0, p.size(), p) == 0);
    }
    // The pair keys likewise.
    const std::string cu = campaign_user_key(partner, currency);
    KeyPartReader r(cu);
    ASSERT_EQ(r.next(), partner);
    ASSERT_EQ(r.next(), currency);
    ASSERT_TRUE(r.done());
  }
  EXPECT_GT(seen.size(), 1000u);
  EXPECT_THROW(split_statement_key(std::string("\x80\0\0\0\0\0\0\x09" "abc", 11)), CorruptState);
}

}  // namespace
}  // namespace alliance

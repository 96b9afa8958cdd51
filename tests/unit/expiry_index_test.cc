// ExpiryIndex: the hourly sweep finds exactly the keys a full table scan
// would, including keys whose timestamp moved and a horizon inside an hour.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "alliance/core/expiry_index.h"

namespace alliance {
namespace {

constexpr DurationMs kHour = 3'600'000;

TEST(ExpiryIndexTest, ErasesExactlyWhatAFullScanWould) {
  std::mt19937_64 rng(3);
  std::map<std::string, TimestampMs> table;
  ExpiryIndex index;
  // 2 000 keys over 48 hours; a third of them move later once or twice.
  for (int i = 0; i < 2000; ++i) {
    const std::string key = "k" + std::to_string(i);
    TimestampMs ts = static_cast<TimestampMs>(rng() % (48 * kHour));
    table[key] = ts;
    index.add(ts, key);
    for (int moves = static_cast<int>(rng() % 3); moves > 0 && i % 3 == 0; --moves) {
      ts += static_cast<TimestampMs>(rng() % (10 * kHour));
      table[key] = ts;
      index.add(ts, key);
    }
  }
  table.erase("k5");  // removed by someone else: the index must cope
  for (TimestampMs horizon : {5 * kHour + 1234, 5 * kHour + 1234, 20 * kHour, 20 * kHour + kHour / 2, 100 * kHour}) {
    std::map<std::string, TimestampMs> want = table;
    for (auto it = want.begin(); it != want.end();) it = it->second < horizon ? want.erase(it) : std::next(it);
    index.sweep(
        horizon,
        [&](const std::string& k) -> std::optional<TimestampMs> {
          auto it = table.find(k);
          return it == table.end() ? std::nullopt : std::optional<TimestampMs>(it->second);
        },
        [&](const std::string& k) { table.erase(k); });
    ASSERT_EQ(table, want) << "horizon " << horizon;
  }
  EXPECT_TRUE(table.empty());
}

}  // namespace
}  // namespace alliance

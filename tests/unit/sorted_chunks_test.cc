// SortedChunks against std::map: inserts in and out of order, look-ups,
// erasures of single entries, of the first and by predicate, and visits
// from any key, across enough entries to split and merge chunks.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "alliance/core/sorted_chunks.h"

namespace alliance {
namespace {

struct Item {
  std::int64_t key;
  std::int64_t value;
};
struct ByKey {
  bool operator()(const Item& a, const Item& b) const { return a.key < b.key; }
};

std::vector<std::pair<std::int64_t, std::int64_t>> from(const SortedChunks<Item, ByKey>& s, std::int64_t k) {
  std::vector<std::pair<std::int64_t, std::int64_t>> out;
  s.for_each_from(Item{k, 0}, [&](const Item& i) {
    out.emplace_back(i.key, i.value);
    return true;
  });
  return out;
}

std::vector<std::pair<std::int64_t, std::int64_t>> from(const std::map<std::int64_t, std::int64_t>& m,
                                                        std::int64_t k) {
  return {m.lower_bound(k), m.end()};
}

TEST(SortedChunksTest, AgreesWithAMap) {
  std::mt19937_64 rng(5);
  SortedChunks<Item, ByKey> s;
  std::map<std::int64_t, std::int64_t> m;
  std::int64_t newest = 0;
  for (int step = 0; step < 40'000; ++step) {
    const unsigned op = static_cast<unsigned>(rng() % 12);
    if (op < 6) {
      // Mostly new newest keys, some anywhere below.
      const std::int64_t k = op < 4 ? ++newest : static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(newest + 1));
      const auto [item, inserted] = s.insert(Item{k, step});
      ASSERT_EQ(inserted, m.count(k) == 0) << step;
      if (inserted) m[k] = step;
      ASSERT_EQ(item->key, k);
      ASSERT_EQ(item->value, m[k]);
      item->value += 1;  // a value changed through the pointer stays changed
      m[k] += 1;
    } else if (op < 10) {
      const std::int64_t k = static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(newest + 1));
      ASSERT_EQ(s.erase(Item{k, 0}), m.erase(k) == 1) << step;
    } else if (op == 10 && !m.empty()) {
      ASSERT_EQ(s.first()->key, m.begin()->first);
      s.erase_first();
      m.erase(m.begin());
    } else if (step % 50 == 0) {
      const std::int64_t mod = 7 + static_cast<std::int64_t>(rng() % 5);
      const std::size_t n = s.erase_if([&](const Item& i) { return i.key % mod == 0; });
      const std::size_t before = m.size();
      std::erase_if(m, [&](const auto& kv) { return kv.first % mod == 0; });
      ASSERT_EQ(n, before - m.size());
    }
    ASSERT_EQ(s.size(), m.size());
    if (step % 101 == 0) {
      const std::int64_t k = static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(newest + 2));
      ASSERT_EQ(from(s, k), from(m, k)) << step;
      const Item* found = s.find(Item{k, 0});
      ASSERT_EQ(found != nullptr, m.count(k) == 1);
      if (found != nullptr) ASSERT_EQ(found->value, m[k]);
    }
  }
  EXPECT_GT(m.size(), 4 * kSortedChunkMax);
  EXPECT_EQ(from(s, INT64_MIN), from(m, INT64_MIN));
  SortedChunks<Item, ByKey> copy = s;  // a plain value
  EXPECT_EQ(from(copy, INT64_MIN), from(m, INT64_MIN));
}

TEST(SortedChunksTest, EmptiedAndRefilled) {
  SortedChunks<Item, ByKey> s;
  EXPECT_EQ(s.first(), nullptr);
  s.erase_first();
  EXPECT_FALSE(s.erase(Item{1, 0}));
  for (std::int64_t k = 1000; k > 0; --k) s.insert(Item{k, k});  // newest first: every insert at the front
  for (std::int64_t k = 1; k <= 1000; ++k) {
    ASSERT_EQ(s.first()->key, k);
    s.erase_first();
  }
  EXPECT_TRUE(s.empty());
  s.insert(Item{3, 3});
  EXPECT_EQ(from(s, 0), (std::vector<std::pair<std::int64_t, std::int64_t>>{{3, 3}}));
}

}  // namespace
}  // namespace alliance

// CachedTable: the write-back cache the core's large tables live in when a
// state store backs them (docs/STATE.md).
#include <gtest/gtest.h>

#include <map>

#include "alliance/core/cached_table.h"

namespace alliance {
namespace {

TimestampMs expiry_of(const TimestampMs& ts) { return ts; }

/// A table backed by `store` (a map standing in for RocksDB), counting reads.
struct Backed {
  std::map<std::string, TimestampMs> store;
  int reads = 0;
  CachedTable<TimestampMs> table{&expiry_of};
  Backed() {
    table.set_loader([this](const std::string& k) -> std::optional<TimestampMs> {
      ++reads;
      auto it = store.find(k);
      return it == store.end() ? std::nullopt : std::optional<TimestampMs>(it->second);
    });
  }
  /// What a commit does: write the changes, then trim the cache.
  void commit(std::size_t budget) {
    table.drain_changes([&](const std::string& k, const TimestampMs* v) {
      if (v != nullptr) store[k] = *v;
      else store.erase(k);
    });
    table.evict_to(budget);
    table.next_cycle();
  }
};

TEST(CachedTable, MissesReadTheStoreOnceAndAbsentKeysAreRemembered) {
  Backed b;
  b.store["a"] = 5;
  ASSERT_NE(b.table.find("a"), nullptr);
  EXPECT_EQ(*b.table.find("a"), 5);
  EXPECT_EQ(b.table.find("x"), nullptr);
  EXPECT_EQ(b.table.find("x"), nullptr);
  EXPECT_EQ(b.reads, 2);  // "a" once, "x" once: the absent marker answers the second read
}

TEST(CachedTable, FindOrCreateCreatesOnlyWhatIsAbsentOrExpiredAndMarksOnlyThat) {
  Backed b;
  b.store["old"] = 5;
  b.store["live"] = 50;
  b.table.set_horizon(10);  // "old" (5) has expired
  auto [live, created_live] = b.table.find_or_create("live");
  EXPECT_FALSE(created_live);
  EXPECT_EQ(*live, 50);
  auto [old, created_old] = b.table.find_or_create("old");
  EXPECT_TRUE(created_old);
  EXPECT_EQ(*old, 0) << "an expired value is replaced by a new one";
  *old = 20;
  auto [fresh, created_fresh] = b.table.find_or_create("new");
  EXPECT_TRUE(created_fresh);
  *fresh = 30;
  EXPECT_FALSE(b.table.find_or_create("new").second);
  EXPECT_EQ(b.reads, 3);  // each key read once
  std::map<std::string, TimestampMs> changed;
  b.table.drain_changes([&](const std::string& k, const TimestampMs* v) { changed[k] = v ? *v : -1; });
  EXPECT_EQ(changed, (std::map<std::string, TimestampMs>{{"new", 30}, {"old", 20}})) << "a found value is not marked";
}

TEST(CachedTable, EvictionNeverDropsAChangeBeforeItIsWritten) {
  Backed b;
  b.table.upsert("a") = 1;  // reads the store once (the key may exist there)
  b.table.evict_to(0);      // over budget, but "a" is not in the store yet
  ASSERT_NE(b.table.find("a"), nullptr);
  EXPECT_EQ(b.reads, 1);
  b.commit(SIZE_MAX);
  EXPECT_EQ(b.store.at("a"), 1);
  b.commit(0);  // "a" was used in the previous cycle only: it goes
  EXPECT_EQ(b.table.slots(), 0u);
  EXPECT_EQ(b.table.bytes(), 0u);
  ASSERT_NE(b.table.find("a"), nullptr);  // read back from the store
  EXPECT_EQ(*b.table.find("a"), 1);
  EXPECT_EQ(b.reads, 2);
}

TEST(CachedTable, KeysUsedInTheCurrentCycleStay) {
  Backed b;
  for (int i = 0; i < 10; ++i) b.table.upsert("k" + std::to_string(i)) = i;
  b.commit(SIZE_MAX);
  (void)b.table.find("k3");  // used in the new cycle
  b.table.evict_to(0);
  EXPECT_EQ(b.table.slots(), 1u);
  EXPECT_TRUE(b.table.cached("k3"));
}

// Evictions go round the cache: a key just read back is not the next to go
// while keys that have waited longer are still there.
TEST(CachedTable, EvictionTakesTurnsAndSparesTheKeysLoadedLast) {
  Backed b;
  for (int i = 0; i < 8; ++i) b.store["k" + std::to_string(i)] = 100 + i;
  for (int i = 0; i < 8; ++i) (void)b.table.find("k" + std::to_string(i));
  b.commit(SIZE_MAX);
  const std::size_t per_key = b.table.bytes() / 8;
  b.table.evict_to(per_key * 6);  // two keys go: k0 and k1
  EXPECT_FALSE(b.table.cached("k0"));
  EXPECT_FALSE(b.table.cached("k1"));
  b.table.next_cycle();
  (void)b.table.find("k0");  // read back: it takes a freed slot
  b.table.next_cycle();
  b.table.evict_to(per_key * 6);  // one key goes: the next in turn, not k0
  EXPECT_TRUE(b.table.cached("k0"));
  EXPECT_FALSE(b.table.cached("k2"));
  EXPECT_EQ(b.table.slots(), 6u);
}

TEST(CachedTable, AnEraseReachesTheStoreEvenIfTheCacheNeverHeldTheKey) {
  Backed b;
  b.store["gone"] = 3;
  b.table.erase("gone");
  b.commit(SIZE_MAX);
  EXPECT_EQ(b.store.count("gone"), 0u);
  EXPECT_EQ(b.reads, 0);
}

TEST(CachedTable, ExpiryIsLogicalAndTheSameFromCacheOrStore) {
  Backed b;
  b.store["old"] = 10;
  b.table.upsert("cached-old") = 10;
  b.table.upsert("new") = 100;
  b.table.set_horizon(50);
  EXPECT_EQ(b.table.find("old"), nullptr);         // read from the store, expired
  EXPECT_EQ(b.table.find("cached-old"), nullptr);  // in the cache, expired
  ASSERT_NE(b.table.find("new"), nullptr);
  // An upsert of an expired key starts from a fresh value.
  EXPECT_EQ(b.table.upsert("old"), TimestampMs{});
  ASSERT_NE(b.table.peek("cached-old"), nullptr);  // the sweep in memory mode still sees it
}

TEST(CachedTable, APreloadNeverOverwritesWhatTheCacheHolds) {
  Backed b;
  b.table.upsert("a") = 7;  // newer than the store
  b.table.preload("a", std::optional<TimestampMs>(1));
  b.table.preload("b", std::nullopt);
  EXPECT_EQ(*b.table.find("a"), 7);
  EXPECT_EQ(b.table.find("b"), nullptr);
  EXPECT_EQ(b.reads, 1);  // the upsert's; "b" was answered by the preload
}

TEST(CachedTable, WithoutAStoreTheTableIsTheStateAndNeverEvicts) {
  CachedTable<TimestampMs> t(&expiry_of);
  t.track_changes(false);
  for (int i = 0; i < 100; ++i) t.upsert("k" + std::to_string(i)) = i;
  EXPECT_EQ(t.find("missing"), nullptr);
  EXPECT_EQ(t.slots(), 100u);  // a miss leaves no marker behind
  t.next_cycle();
  t.evict_to(0);
  EXPECT_EQ(t.size(), 100u);
  t.erase("k1");
  EXPECT_EQ(t.slots(), 99u);
}

}  // namespace
}  // namespace alliance

// ChurnIndex against the representation it replaced: a std::map from the
// stored key (be64(time) · all_record_key) to buyers. Random adds, removals
// and restores, many of them at one time and with keys that are prefixes of
// each other; every visit, count, look-up and drained change must agree.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "alliance/core/byte_codec.h"
#include "alliance/core/churn_index.h"

namespace alliance {
namespace {

std::string stored(TimestampMs ts, const std::string& key) {
  std::string k;
  put_be64(k, ts);
  return k + key;
}

using Model = std::map<std::string, std::int64_t>;

std::vector<std::tuple<TimestampMs, std::string, std::int64_t>> visit(const ChurnIndex& index, TimestampMs from,
                                                                      TimestampMs to) {
  std::vector<std::tuple<TimestampMs, std::string, std::int64_t>> out;
  index.for_each_between(from, to, [&](TimestampMs ts, std::string_view key, std::int64_t n) {
    out.emplace_back(ts, std::string(key), n);
  });
  return out;
}

std::vector<std::tuple<TimestampMs, std::string, std::int64_t>> visit(const Model& model, TimestampMs from,
                                                                      TimestampMs to) {
  std::vector<std::tuple<TimestampMs, std::string, std::int64_t>> out;
  for (auto it = model.lower_bound(stored(from, "")); it != model.end() && get_be64(it->first) < to; ++it)
    out.emplace_back(get_be64(it->first), it->first.substr(8), it->second);
  return out;
}

const std::vector<std::string> kKeys = {"cmp", "cmp-a", "cmp-ab", "\x01" "ads", "\x01" "ad", "", "z"};

TEST(ChurnIndexTest, AgreesWithAMapOfStoredKeys) {
  std::mt19937_64 rng(11);
  ChurnIndex index;
  Model model;
  std::set<std::string> changed;
  TimestampMs now = -5'000;  // negative times too: the stored key flips the sign bit
  for (int step = 0; step < 60'000; ++step) {
    const std::string& key = kKeys[rng() % kKeys.size()];
    const unsigned op = static_cast<unsigned>(rng() % 10);
    if (op < 5) {
      // Mostly the newest time (a live run), sometimes an older one (a late order).
      now += static_cast<TimestampMs>(rng() % 3);
      const TimestampMs ts = op < 4 ? now : now - static_cast<TimestampMs>(rng() % 20'000);
      index.add(ts, key);
      model[stored(ts, key)] += 1;
      changed.insert(stored(ts, key));
    } else if (!model.empty()) {
      // Remove a present entry (or, one time in five, one that may be absent).
      auto it = model.lower_bound(stored(now - static_cast<TimestampMs>(rng() % 20'000), ""));
      if (it == model.end()) it = model.begin();
      TimestampMs ts = get_be64(it->first);
      std::string k = it->first.substr(8);
      if (op == 9) ts += 1;
      index.remove_one(ts, k);
      if (auto m = model.find(stored(ts, k)); m != model.end()) {
        if (--m->second == 0) model.erase(m);
        changed.insert(stored(ts, k));
      }
    }
    if (step % 997 == 0) {
      ASSERT_EQ(index.size(), model.size()) << "step " << step;
      const TimestampMs from = now - static_cast<TimestampMs>(rng() % 30'000);
      const TimestampMs to = from + static_cast<TimestampMs>(rng() % 30'000);
      ASSERT_EQ(visit(index, from, to), visit(model, from, to)) << "step " << step;
      auto first = model.lower_bound(stored(from, ""));
      ASSERT_EQ(index.first_at_or_after(from), first == model.end() ? INT64_MAX : get_be64(first->first));
      // From the time of an entry: entries of one time may span two chunks.
      for (int i = 0; i < 50 && !model.empty(); ++i) {
        auto e = model.lower_bound(stored(now - static_cast<TimestampMs>(rng() % 20'000), ""));
        if (e == model.end()) continue;
        const TimestampMs at = get_be64(e->first);
        ASSERT_EQ(visit(index, at, at + 50), visit(model, at, at + 50)) << "step " << step;
        ASSERT_EQ(index.first_at_or_after(at), at);
      }
      const std::string probe = kKeys[rng() % kKeys.size()];
      const auto at = model.find(stored(from, probe));
      ASSERT_EQ(index.buyers_at(from, probe), at == model.end() ? 0 : at->second);
    }
    if (step % 5003 == 0) {
      std::vector<std::pair<std::string, std::int64_t>> drained;
      index.drain_changes([&](const std::string& k, const std::int64_t* n) { drained.emplace_back(k, n ? *n : 0); });
      std::vector<std::pair<std::string, std::int64_t>> expected;
      for (const std::string& k : changed) {
        auto m = model.find(k);
        expected.emplace_back(k, m == model.end() ? 0 : m->second);
      }
      ASSERT_EQ(drained, expected) << "step " << step;
      changed.clear();
    }
  }
  EXPECT_GT(model.size(), 3 * kSortedChunkMax);  // the chunks split and merged
  EXPECT_EQ(visit(index, INT64_MIN, INT64_MAX), visit(model, INT64_MIN, INT64_MAX));

  // Restored in any order, the entries read back the same and nothing is changed.
  std::vector<std::pair<std::string, std::int64_t>> entries(model.begin(), model.end());
  std::shuffle(entries.begin(), entries.end(), rng);
  ChurnIndex restored;
  for (const auto& [k, n] : entries) restored.restore(k, n);
  EXPECT_EQ(restored.size(), model.size());
  EXPECT_EQ(visit(restored, INT64_MIN, INT64_MAX), visit(model, INT64_MIN, INT64_MAX));
  int drained = 0;
  restored.drain_changes([&](const std::string&, const std::int64_t*) { ++drained; });
  EXPECT_EQ(drained, 0);
}

TEST(ChurnIndexTest, NothingChangedWhenNotTracking) {
  ChurnIndex index;
  index.track_changes(false);
  index.add(5, "cmp");
  int drained = 0;
  index.drain_changes([&](const std::string&, const std::int64_t*) { ++drained; });
  EXPECT_EQ(drained, 0);
  EXPECT_EQ(index.buyers_at(5, "cmp"), 1);
}

TEST(ChurnIndexTest, RejectsCorruptStoredEntries) {
  ChurnIndex index;
  EXPECT_THROW(index.restore("short", 1), CorruptState);
  EXPECT_THROW(index.restore(stored(1, "cmp"), 0), CorruptState);
  EXPECT_THROW(index.restore(stored(1, "cmp"), -3), CorruptState);
  EXPECT_THROW(index.restore(stored(1, "cmp"), std::int64_t{1} << 32), CorruptState);
  EXPECT_EQ(index.size(), 0U);
}

}  // namespace
}  // namespace alliance

// The users table's appends (docs/STATE.md "Users: appends"): whatever the
// order of adds and observes and wherever the writes fall, the list RocksDB's
// merge rebuilds from a whole list and the appends after it is the list the
// core holds; and the same through a RocksDB store with compactions.
#include <gtest/gtest.h>

#include <deque>
#include <filesystem>
#include <random>

#include "alliance/core/byte_codec.h"
#include "alliance/state/state_store.h"
#include "alliance/state/user_codec.h"

namespace alliance {
namespace {

struct Bounds {
  std::size_t max_touchpoints;
  DurationMs lookback;
};

// Random touchpoints for one user: mostly in order, some late (older than
// the newest), a few at equal times; observes (orders) in between.
class RandomUser {
 public:
  RandomUser(std::uint32_t seed, Bounds b) : rng_(seed), b_(b) {}
  void step(UserTouchpoints& u) {
    const int kind = static_cast<int>(rng_() % 10);
    now_ += static_cast<TimestampMs>(rng_() % 4000);
    if (kind < 7) {
      TimestampMs ts = now_;
      if (kind == 6) ts -= static_cast<TimestampMs>(rng_() % 20000);  // late
      if (ts < 0) ts = 0;
      Touchpoint tp{ts, CompactId("e" + std::to_string(seq_++)),
                    labels_.intern(rng_() % 3 ? EventKind::kClick : EventKind::kReferral, rng_() % 2 ? "cmp" : "",
                                   rng_() % 2 ? "social" : "email", rng_() % 3 ? "p1" : "")};
      u.add(std::move(tp), b_.max_touchpoints, b_.lookback);
    } else {
      u.observe(now_ - static_cast<TimestampMs>(rng_() % 3000), b_.max_touchpoints, b_.lookback);
    }
  }
  bool drain_now() { return rng_() % 5 == 0; }
  bool whole_now() { return rng_() % 9 == 0; }

 private:
  std::mt19937 rng_;
  Bounds b_;
  TouchLabelPool labels_;
  TimestampMs now_ = 1'700'000'000'000;
  int seq_ = 0;
};

void expect_same(const UserTouchpoints& want, std::string_view stored, const std::string& where) {
  TouchLabelPool pool;
  const UserTouchpoints got = decode_user(stored, pool);
  EXPECT_EQ(got.newest_ts(), want.newest_ts()) << where;
  EXPECT_EQ(got.newest_first(), want.newest_first()) << where;
}

TEST(UserAppends, MergedListEqualsTheCoresWhateverTheOrderAndTheWrites) {
  // A cap below the lookback's reach, one at 64 marks and one beyond them.
  for (const Bounds b : {Bounds{5, 30'000}, Bounds{64, 600'000}, Bounds{80, 3'600'000}, Bounds{50, 8'000}}) {
    for (std::uint32_t seed = 1; seed <= 40; ++seed) {
      RandomUser gen(seed, b);
      UserTouchpoints u;
      std::optional<std::string> stored;
      int appends = 0, wholes = 0;
      for (int i = 0; i < 400; ++i) {
        gen.step(u);
        if (!gen.drain_now()) continue;
        if (!stored || u.anchor() == UserTouchpoints::kNoAnchor || gen.whole_now()) {
          u.shipped_whole();
          stored = encode_user(u);
          ++wholes;
        } else {
          const std::string append = encode_user_append(u, b.max_touchpoints, b.lookback);
          const std::string_view base = *stored, op = append;
          stored = merge_user(&base, &op, 1);
          u.shipped_append();
          ++appends;
        }
        expect_same(u, *stored, "cap " + std::to_string(b.max_touchpoints) + " seed " + std::to_string(seed) +
                                    " step " + std::to_string(i));
        if (::testing::Test::HasFailure()) return;
      }
      EXPECT_GT(appends, 10);
      EXPECT_GT(wholes, 0);
    }
  }
}

TEST(UserAppends, SeveralAppendsMergeAtOnceAsOneByOne) {
  RandomUser gen(7, Bounds{20, 60'000});
  UserTouchpoints u;
  for (int i = 0; i < 30; ++i) gen.step(u);
  u.shipped_whole();
  const std::string base = encode_user(u);
  std::vector<std::string> ops;
  for (int k = 0; k < 6; ++k) {
    for (int i = 0; i < 7; ++i) gen.step(u);
    ops.push_back(encode_user_append(u, 20, 60'000));
    u.shipped_append();
  }
  std::vector<std::string_view> views(ops.begin(), ops.end());
  const std::string_view b = base;
  expect_same(u, merge_user(&b, views.data(), views.size()), "all at once");
  std::string one_by_one = base;
  for (const auto& op : views) {
    const std::string_view cur = one_by_one;
    one_by_one = merge_user(&cur, &op, 1);
  }
  EXPECT_EQ(one_by_one, merge_user(&b, views.data(), views.size()));
  // The anchor is the base's: the core still knows when it last wrote whole.
  TouchLabelPool pool;
  EXPECT_EQ(decode_user(one_by_one, pool).anchor(), decode_user(base, pool).anchor());
  // Without a base (the filter dropped it) the anchor is unknown.
  EXPECT_EQ(decode_user(merge_user(nullptr, views.data(), views.size()), pool).anchor(), UserTouchpoints::kNoAnchor);
}

TEST(UserAppends, CorruptAppendsAreRefused) {
  RandomUser gen(3, Bounds{10, 60'000});
  UserTouchpoints u;
  for (int i = 0; i < 12; ++i) gen.step(u);
  const std::string op = encode_user_append(u, 10, 60'000);
  for (std::size_t n = 0; n < op.size(); ++n) {
    const std::string_view cut = std::string_view(op).substr(0, n);
    EXPECT_THROW(merge_user(nullptr, &cut, 1), CorruptState) << n;
  }
  u.shipped_whole();
  const std::string whole = encode_user(u);
  const std::string_view as_append = whole;  // a whole list is not an append
  EXPECT_THROW(merge_user(nullptr, &as_append, 1), CorruptState);
}

// Through RocksDB: whole lists and appends in batches, a compaction now and
// then (merges run in it, and the expiry filter with a horizon), reads equal.
TEST(UserAppends, RocksDbMergesAppendsOnReadAndInCompaction) {
  const auto dir = std::filesystem::temp_directory_path() / ("alliance-appends-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  {
    auto store = open_rocks_store(dir.string(), "t:1");
    const Bounds b{30, 120'000};
    std::deque<RandomUser> gens;  // the users' labels live in their pools: declared first
    std::vector<UserTouchpoints> users(20);
    for (std::uint32_t i = 0; i < users.size(); ++i) gens.emplace_back(100 + i, b);
    for (int round = 0; round < 60; ++round) {
      StateChanges batch;
      for (std::size_t i = 0; i < users.size(); ++i) {
        for (int k = 0; k < 3; ++k) gens[i].step(users[i]);
        const std::string key = "u" + std::to_string(i);
        if (users[i].anchor() == UserTouchpoints::kNoAnchor || round % 17 == static_cast<int>(i % 17)) {
          users[i].shipped_whole();
          batch.push_back(StateChange{Cf::kUsers, key, encode_user(users[i])});
        } else {
          batch.push_back(StateChange{Cf::kUsers, key, encode_user_append(users[i], b.max_touchpoints, b.lookback), true});
          users[i].shipped_append();
        }
      }
      store->write(batch);
      // A horizon before every user's newest time: the filter keeps them all.
      store->set_expiry_horizon(Cf::kUsers, 1'600'000'000'000);
      if (round % 10 == 9) store->compact();
      for (std::size_t i = 0; i < users.size(); ++i) {
        const auto v = store->get(Cf::kUsers, "u" + std::to_string(i));
        ASSERT_TRUE(v.has_value());
        expect_same(users[i], *v, "round " + std::to_string(round) + " user " + std::to_string(i));
      }
    }
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace alliance

// The changelog topic against librdkafka's mock cluster over TCP: a store is
// rebuilt exactly from it even after the broker's retention (~5 MB per
// partition) dropped the oldest batches, thanks to the passes of store
// slices; what a commit costs follows what changed, not the state's size.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "alliance/kafka/changelog.h"
#include "alliance/kafka/embedded_broker.h"

namespace alliance {
namespace {

std::map<std::pair<int, std::string>, std::string> contents(StateStore& s) {
  std::map<std::pair<int, std::string>, std::string> all;
  for (std::size_t i = 0; i < kCfCount; ++i)
    s.scan(static_cast<Cf>(i), [&](const std::string& k, std::string_view v) {
      if (!(static_cast<Cf>(i) == Cf::kMeta && k == "changelog_offset")) all[{static_cast<int>(i), k}] = std::string(v);
    });
  return all;
}

/// Ships `batches` batches of ~`bytes` each to partition 0, writing them to
/// `source` after each ship, as StateSession does. Keys are reused, values
/// overwritten and some deleted, so the live state stays small.
void run_history(Changelog& log, StateStore& source, int batches, std::size_t bytes) {
  std::mt19937_64 rng(7);
  for (int b = 0; b < batches; ++b) {
    StateChanges batch;
    for (std::size_t n = 0; n < bytes / 1000; ++n) {
      const std::string key = "user-" + std::to_string(rng() % 400);
      if (rng() % 10 == 0) {
        batch.push_back(StateChange{Cf::kUsers, key, std::nullopt});
      } else {
        std::string value(1000, '\0');
        for (auto& c : value) c = static_cast<char>('a' + rng() % 26);  // incompressible enough
        batch.push_back(StateChange{Cf::kUsers, key, value});
      }
    }
    batch.push_back(StateChange{Cf::kMeta, "input:click", std::to_string(b)});
    log.ship(0, batch, source);
    source.write(batch);
  }
}

TEST(ChangelogTest, RebuildsAStoreAfterRetentionDroppedTheFirstBatches) {
  EmbeddedBroker broker(1);
  broker.create_topic("t.changelog", 1);
  Changelog log(broker.bootstraps(), "t.changelog");
  MemoryStateStore source;
  run_history(log, source, 120, 100'000);  // ~12 MB shipped: more than the mock keeps

  MemoryStateStore rebuilt;
  const std::size_t applied = log.catch_up(0, rebuilt);
  EXPECT_GT(applied, 0u);
  EXPECT_LT(applied, 120u) << "all 120 batches cannot still be there: retention did not drop anything";
  const auto want = contents(source);
  ASSERT_GT(want.size(), 300u);
  EXPECT_EQ(contents(rebuilt), want);

  // A store that is already current applies nothing.
  EXPECT_EQ(log.catch_up(0, rebuilt), 0u);
}

TEST(ChangelogTest, AStoreBehindCatchesUpWithTheBatchesAfterIt) {
  EmbeddedBroker broker(1);
  broker.create_topic("t.changelog", 1);
  Changelog log(broker.bootstraps(), "t.changelog");
  MemoryStateStore source;
  run_history(log, source, 5, 50'000);
  MemoryStateStore follower;
  EXPECT_EQ(log.catch_up(0, follower), 5u);
  run_history(log, source, 3, 50'000);
  EXPECT_EQ(log.catch_up(0, follower), 3u);
  EXPECT_EQ(contents(follower), contents(source));
}

// 1 MB of live state, then commits that change 4 keys each: every commit
// sends its batch and one slice of at most max(16 KiB, batch), never a copy
// of the store; a new store rebuilt from the topic equals the source.
TEST(ChangelogTest, ACommitCostsWhatChangedNotTheStateSize) {
  EmbeddedBroker broker(1);
  broker.create_topic("t.changelog", 1);
  Changelog log(broker.bootstraps(), "t.changelog");
  MemoryStateStore source;
  StateChanges initial;
  for (int i = 0; i < 2000; ++i) initial.push_back(StateChange{Cf::kUsers, "user-" + std::to_string(i), std::string(500, 'v')});
  log.ship(0, initial, source);
  source.write(initial);
  const std::int64_t slices_before = log.slice_bytes_sent(), batches_before = log.batch_bytes_sent();
  const int commits = 100;
  for (int b = 0; b < commits; ++b) {
    StateChanges batch;
    for (int k = 0; k < 4; ++k)
      batch.push_back(StateChange{Cf::kOrders, "order-" + std::to_string(b * 4 + k), std::string(100, 'o')});
    batch.push_back(StateChange{Cf::kUsers, "user-" + std::to_string(b), std::nullopt});  // a tombstone
    log.ship(0, batch, source);
    source.write(batch);
  }
  const double batch_per_commit = static_cast<double>(log.batch_bytes_sent() - batches_before) / commits;
  const double slice_per_commit = static_cast<double>(log.slice_bytes_sent() - slices_before) / commits;
  EXPECT_LT(batch_per_commit, 1000);                // 4 changed keys and a tombstone
  EXPECT_LT(slice_per_commit, 17 * 1024 + 200);     // one minimum slice, framing included
  EXPECT_LT(batch_per_commit + slice_per_commit, 1'000'000 / 50.0);  // far below the 1 MB of state
  // 100 slices of 16 KiB passed over the whole store: a fresh store can be rebuilt.
  MemoryStateStore rebuilt;
  log.catch_up(0, rebuilt);
  EXPECT_EQ(contents(rebuilt), contents(source));
  EXPECT_GT(log.keys_restored(), 1900);
}

}  // namespace
}  // namespace alliance

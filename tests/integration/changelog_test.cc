// The changelog topic against librdkafka's mock cluster over TCP: a store is
// rebuilt exactly from it even after the broker's retention (~5 MB per
// partition) dropped the oldest batches, thanks to the snapshots.
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

}  // namespace
}  // namespace alliance

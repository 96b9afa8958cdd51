// PartitionGroup, the event-time merge of a task's inputs, without a
// broker: which head goes next, when the merge waits for an empty input
// (KIP-695) and when it goes on.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "alliance/runtime/partition_group.h"

namespace alliance {
namespace {

constexpr InputStream kC = InputStream::kClicks;
constexpr InputStream kR = InputStream::kReferrals;
constexpr InputStream kO = InputStream::kOrders;
constexpr InputStream kP = InputStream::kPayouts;

/// A buffered event of `stream` at event time `ts`, arrived at `arrival_ms`.
PartitionGroup::Item event(InputStream stream, TimestampMs ts, std::int64_t arrival_ms = 0) {
  Event e;
  e.event_id = std::string(to_string(stream)) + "@" + std::to_string(ts);
  e.ts = ts;
  e.user_id = "u1";
  switch (stream) {
    case InputStream::kReferrals: e.body = Referral{}; break;
    case InputStream::kOrders: e.body = Order{}; break;
    case InputStream::kPayouts: e.body = Payout{}; break;
    default: e.body = Click{}; break;
  }
  PartitionGroup::Item item;
  item.arrival_ms = arrival_ms;
  item.event = std::move(e);
  return item;
}

/// A buffered reject (no event time) of `stream`.
PartitionGroup::Item reject(InputStream /*stream*/, std::int64_t arrival_ms = 0) {
  PartitionGroup::Item item;
  item.arrival_ms = arrival_ms;
  item.reason = "malformed_json";
  return item;
}

bool all_at_end(InputStream) { return true; }
bool none_at_end(InputStream) { return false; }

/// What the merge takes, in order, until it stops; "click@5", "order!" (a reject).
std::vector<std::string> drain(PartitionGroup& g, std::int64_t now_ms, std::int64_t idle_wait_ms,
                               const std::function<bool(InputStream)>& at_end) {
  std::vector<std::string> taken;
  while (const std::optional<InputStream> s = g.next(now_ms, idle_wait_ms, at_end)) {
    const PartitionGroup::Item& head = g.head(*s);
    taken.push_back(head.event ? head.event->event_id : std::string(to_string(*s)) + "!");
    g.pop(*s);
  }
  return taken;
}

TEST(PartitionGroup, TakesTheSmallestHeadTimeFirst) {
  PartitionGroup g;
  g.push(kC, event(kC, 30));
  g.push(kC, event(kC, 50));
  g.push(kR, event(kR, 10));
  g.push(kO, event(kO, 20));
  g.push(kO, event(kO, 60));
  EXPECT_EQ(drain(g, 0, 0, all_at_end),
            (std::vector<std::string>{"referral@10", "order@20", "click@30", "click@50", "order@60"}));
  EXPECT_EQ(g.buffered(), 0U);
}

TEST(PartitionGroup, EqualTimesGoClickThenReferralThenOrder) {
  PartitionGroup g;
  g.push(kO, event(kO, 10));
  g.push(kR, event(kR, 10));
  g.push(kC, event(kC, 10));
  EXPECT_EQ(drain(g, 0, 0, all_at_end), (std::vector<std::string>{"click@10", "referral@10", "order@10"}));
}

TEST(PartitionGroup, ARejectAtAHeadGoesFirst) {
  PartitionGroup g;
  g.push(kC, event(kC, 10));
  g.push(kO, reject(kO));
  g.push(kO, event(kO, 5));
  g.push(kP, reject(kP));
  EXPECT_EQ(drain(g, 0, 0, all_at_end), (std::vector<std::string>{"order!", "payout!", "order@5", "click@10"}));
}

TEST(PartitionGroup, ARejectDoesNotWaitForAnEmptyInput) {
  PartitionGroup g;
  g.push(kC, reject(kC));
  g.push(kC, event(kC, 10));
  // Referrals and orders are behind on the broker: the reject goes, the event waits.
  EXPECT_EQ(drain(g, 0, 0, none_at_end), (std::vector<std::string>{"click!"}));
  EXPECT_EQ(g.buffered(kC), 1U);
}

TEST(PartitionGroup, PayoutsGoAfterUserEventsOfTheSameTime) {
  PartitionGroup g;
  g.push(kP, event(kP, 10));
  g.push(kP, event(kP, 19));
  g.push(kC, event(kC, 10));
  g.push(kR, event(kR, 20));
  g.push(kO, event(kO, 10));
  EXPECT_EQ(drain(g, 0, 0, all_at_end),
            (std::vector<std::string>{"click@10", "order@10", "payout@10", "payout@19", "referral@20"}));
}

TEST(PartitionGroup, AnEmptyPayoutsInputNeverHoldsTheMergeBack) {
  PartitionGroup g;
  g.push(kC, event(kC, 10));
  g.push(kR, event(kR, 11));
  g.push(kO, event(kO, 12));
  // Payouts empty and behind on the broker (none_at_end): the merge goes on
  // while every event input has a head.
  ASSERT_EQ(g.next(0, 1'000, none_at_end), kC);
}

TEST(PartitionGroup, AnEmptyInputBehindOnTheBrokerHoldsTheOthersBack) {
  PartitionGroup g;
  g.push(kC, event(kC, 10));
  g.push(kR, event(kR, 11));
  auto orders_behind = [](InputStream s) { return s != kO; };
  // However long it takes (KIP-695): no idle wait, a late now.
  EXPECT_EQ(g.next(1'000'000, 0, orders_behind), std::nullopt);
  g.push(kO, event(kO, 5));
  EXPECT_EQ(drain(g, 0, 0, orders_behind), (std::vector<std::string>{"order@5"}));
  EXPECT_EQ(g.buffered(), 2U);  // orders empty and behind again
}

TEST(PartitionGroup, AnEmptyInputAtItsEndHoldsBackForTheIdleWait) {
  PartitionGroup g;
  g.push(kC, event(kC, 10, /*arrival_ms=*/1'000));
  g.push(kR, event(kR, 11, /*arrival_ms=*/1'200));
  // Orders empty and at their end: wait idle_wait_ms from the oldest arrival.
  EXPECT_EQ(g.next(1'000, 500, all_at_end), std::nullopt);
  EXPECT_EQ(g.next(1'499, 500, all_at_end), std::nullopt);
  EXPECT_EQ(g.next(1'500, 500, all_at_end), kC);
  // A payout's arrival counts too.
  PartitionGroup h;
  h.push(kC, event(kC, 10, 2'000));
  h.push(kP, event(kP, 20, 1'000));
  EXPECT_EQ(h.next(1'499, 500, all_at_end), std::nullopt);
  EXPECT_EQ(h.next(1'500, 500, all_at_end), kC);
}

TEST(PartitionGroup, NothingBufferedGivesNothing) {
  PartitionGroup g;
  EXPECT_EQ(g.next(0, 0, all_at_end), std::nullopt);
  g.push(InputStream::kFile, event(kC, 10));  // file order: not merged in event time
  EXPECT_EQ(g.next(0, 0, all_at_end), std::nullopt);
  EXPECT_EQ(g.buffered(), 1U);
  EXPECT_EQ(g.buffered(InputStream::kFile), 1U);
}

}  // namespace
}  // namespace alliance

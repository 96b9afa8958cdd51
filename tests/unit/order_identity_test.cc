// An order belongs to the user of its first event and remembers the
// lifecycle events it applied (SPEC §3.6; issue 16 items 7 and 8).
#include "processor_fixture.h"

#include "alliance/core/partitioned_core.h"

namespace alliance::testing {
namespace {

constexpr const char* kTopology = R"(
name: t
attribution: {model: last_touch}
dedupe_retention: 1d
order_retention: 30d
partners:
  - {id: pA, contract: {id: cA, type: percent, rate_bp: 1000}}
)";

class OrderIdentityTest : public ProcessorTest {
 protected:
  void SetUp() override { use(kTopology); }
  std::vector<std::string> reasons() const {
    std::vector<std::string> r;
    for (const auto& d : dead_letters()) r.push_back(d.reason);
    return r;
  }
};

TEST_F(OrderIdentityTest, AnEventUnderAnotherUserIsDeadLetteredAndChangesNothing) {
  feed({click("c1", kT0, "u4", "cmp", "social", "pA"),
        order("o1", kT0 + kMin, "u4", "O1", OrderStatus::kCompleted, 1000)});
  feed({order("r1", kT0 + 2 * kMin, "u99", "O1", OrderStatus::kRefunded, 1000, "CNY", 400),
        order("x1", kT0 + 3 * kMin, "u99", "O1", OrderStatus::kCancelled, 1000),
        order("x2", kT0 + 4 * kMin, "u99", "O1", OrderStatus::kCompleted, 1000)});
  EXPECT_EQ(reasons(), (std::vector<std::string>{"order_user_mismatch", "order_user_mismatch", "order_user_mismatch"}));
  EXPECT_EQ(amounts(), (std::map<std::string, MinorUnits>{{"O1:accrual:0:pA", 1000}}));
  const OrderState* st = processor_->orders().find("O1");
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->user_id, "u4");
  EXPECT_EQ(st->refunded_minor, 0);
  EXPECT_EQ(st->phase, OrderPhase::kCompleted);
  // Not in the dedupe set: sent again it is dead-lettered again, not a duplicate.
  feed({order("r1", kT0 + 5 * kMin, "u99", "O1", OrderStatus::kRefunded, 1000, "CNY", 400)});
  EXPECT_EQ(processor_->stats().duplicates, 0);
  EXPECT_EQ(reasons().size(), 4u);
  // The order's own user still refunds it, as the first reversal.
  feed({order("r2", kT0 + 6 * kMin, "u4", "O1", OrderStatus::kRefunded, 1000, "CNY", 400)});
  EXPECT_EQ(amounts().at("O1:reversal:1:pA"), -400);
  EXPECT_EQ(reasons().size(), 4u);
}

TEST_F(OrderIdentityTest, AnOrderOpenedPendingKeepsItsFirstUser) {
  feed({order("p1", kT0, "u1", "O2", OrderStatus::kPending, 500),
        order("p2", kT0 + 1, "u2", "O2", OrderStatus::kCompleted, 500),   // another user completes it
        order("p3", kT0 + 2, "u1", "O2", OrderStatus::kCompleted, 500)});
  EXPECT_EQ(reasons(), std::vector<std::string>{"order_user_mismatch"});
  EXPECT_EQ(processor_->orders().find("O2")->phase, OrderPhase::kCompleted);
  EXPECT_EQ(processor_->stats().events_by_kind.at("order"), 2);
}

TEST_F(OrderIdentityTest, ARefundResentAfterDedupeRetentionIsADuplicate) {
  feed({click("c1", kT0, "u", "cmp", "social", "pA"),
        order("o1", kT0 + kMin, "u", "O1", OrderStatus::kCompleted, 1000),
        order("r1", kT0 + 2 * kMin, "u", "O1", OrderStatus::kRefunded, 1000, "CNY", 300)});
  ASSERT_EQ(amounts().at("O1:reversal:1:pA"), -300);
  // Two days later the dedupe set has forgotten r1 and o1; the order has not.
  feed({click("c2", kT0 + 2 * kDay, "v", "cmp", "social")});
  ASSERT_EQ(processor_->dedupe().find("r1"), nullptr);
  ASSERT_NE(processor_->orders().find("O1"), nullptr);
  const std::size_t records = settlements().size();
  feed({order("r1", kT0 + 2 * kDay + 1, "u", "O1", OrderStatus::kRefunded, 1000, "CNY", 300),
        order("o1", kT0 + 2 * kDay + 2, "u", "O1", OrderStatus::kCompleted, 1000)});
  EXPECT_EQ(processor_->stats().duplicates, 2);
  EXPECT_EQ(processor_->stats().duplicate_transitions, 0);
  EXPECT_EQ(settlements().size(), records);
  EXPECT_EQ(amounts().count("O1:reversal:2:pA"), 0u);
  EXPECT_EQ(processor_->orders().find("O1")->refunded_minor, 300);
  EXPECT_TRUE(dead_letters().empty());
  // A new refund (new event id) is still applied, as the second reversal.
  feed({order("r2", kT0 + 2 * kDay + 3, "u", "O1", OrderStatus::kRefunded, 1000, "CNY", 100)});
  EXPECT_EQ(amounts().at("O1:reversal:2:pA"), -100);
  // And a cancel resent after retention is a duplicate too.
  feed({order("x1", kT0 + 2 * kDay + 4, "u", "O1", OrderStatus::kCancelled, 1000),
        click("c3", kT0 + 4 * kDay + 5, "v", "cmp", "social")});
  ASSERT_EQ(processor_->dedupe().find("x1"), nullptr);
  const std::size_t after_cancel = settlements().size();
  feed({order("x1", kT0 + 4 * kDay + 6, "u", "O1", OrderStatus::kCancelled, 1000)});
  EXPECT_EQ(settlements().size(), after_cancel);
  EXPECT_EQ(processor_->stats().duplicates, 3);
  EXPECT_TRUE(dead_letters().empty()) << "a resent cancel is a duplicate, not order_already_closed";
}

TEST_F(OrderIdentityTest, AnOrderRemembersItsUserAndAppliedEvents) {
  feed({order("p1", kT0, "u1", "O3", OrderStatus::kPending, 500),
        order("p2", kT0 + 1, "u1", "O3", OrderStatus::kCompleted, 500),
        order("p3", kT0 + 2, "u1", "O3", OrderStatus::kCompleted, 500),  // duplicate transition: not applied
        order("p4", kT0 + 3, "u1", "O3", OrderStatus::kRefunded, 500, "CNY", 600)});  // dead-lettered
  const OrderState* st = processor_->orders().find("O3");
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->user_id, "u1");
  EXPECT_EQ(st->event_ids, (std::vector<std::string>{"p1", "p2"}));
}

/// Users u-same-a and u-same-b share a partition of 3; so do the order's
/// first user and the one who sends the foreign event in the test below.
std::pair<std::string, std::string> two_users_in_one_partition(std::int32_t partitions) {
  for (int i = 1;; ++i) {
    const std::string b = "u" + std::to_string(i);
    if (route("u4", partitions) == route(b, partitions)) return {"u4", b};
  }
}

TEST(OrderIdentitySplitTest, TheTwoStageCoreDeadLettersAnEventUnderAnotherUser) {
  const Topology t = parse_topology(kTopology, "test.yaml");
  const auto [owner, other] = two_users_in_one_partition(3);
  PartitionedCore core(t, 3);
  std::int64_t offset = 0;
  auto send = [&](const Event& e) { core.process(e, {"in", 0, offset++}, "raw"); };
  send(click("c1", kT0, owner, "cmp", "social", "pA"));
  send(order("o1", kT0 + kMin, owner, "O1", OrderStatus::kCompleted, 1000));
  send(order("r1", kT0 + 2 * kMin, other, "O1", OrderStatus::kRefunded, 1000, "CNY", 400));
  core.finish();
  std::vector<std::string> reasons;
  std::vector<std::string> records;
  for (const auto& r : core.take_outputs()) {
    if (const auto* d = std::get_if<DeadLetter>(&r.body)) reasons.push_back(d->reason);
    if (const auto* s = std::get_if<SettlementRecord>(&r.body)) records.push_back(s->record_id);
  }
  EXPECT_EQ(reasons, std::vector<std::string>{"order_user_mismatch"});
  EXPECT_EQ(records, std::vector<std::string>{"O1:accrual:0:pA"});
}

// Across partitions the foreign event lands where the order is unknown
// (docs/SEMANTICS.md): it must at least never touch the owner's order.
TEST(OrderIdentitySplitTest, AnEventUnderAUserOfAnotherPartitionNeverReversesTheOrder) {
  const Topology t = parse_topology(kTopology, "test.yaml");
  std::string other;
  for (int i = 1; other.empty(); ++i)
    if (route("u" + std::to_string(i), 3) != route("u4", 3)) other = "u" + std::to_string(i);
  PartitionedCore core(t, 3);
  std::int64_t offset = 0;
  auto send = [&](const Event& e) { core.process(e, {"in", 0, offset++}, "raw"); };
  send(click("c1", kT0, "u4", "cmp", "social", "pA"));
  send(order("o1", kT0 + kMin, "u4", "O1", OrderStatus::kCompleted, 1000));
  send(order("r1", kT0 + 2 * kMin, other, "O1", OrderStatus::kRefunded, 1000, "CNY", 400));
  core.finish();
  std::vector<std::string> records;
  for (const auto& r : core.take_outputs())
    if (const auto* s = std::get_if<SettlementRecord>(&r.body)) records.push_back(s->record_id);
  EXPECT_EQ(records, std::vector<std::string>{"O1:accrual:0:pA"});
}

}  // namespace
}  // namespace alliance::testing

// Order lifecycle, reversals, contracts, statements, tiers, pools, periods.
#include "processor_fixture.h"

#include "alliance/core/settlement_ledger.h"

namespace alliance::testing {
namespace {

constexpr const char* kTopology = R"(
name: t
attribution: {model: linear}
settlement_tz: "+08:00"
partners:
  - {id: p-books, referral_codes: [BOOK10], contract: {id: c-books, type: percent, rate_bp: 1000}}
  - {id: p-travel, contract: {id: c-travel, type: flat, per_conversion_minor: 500}}
  - {id: p-bank, contract: {id: c-bank, type: tiered, tiers: [{up_to_minor: 1000000, rate_bp: 500}, {rate_bp: 800}]}}
)";

class SettlementTest : public ProcessorTest {
 protected:
  void SetUp() override { use(kTopology); }
  /// Clicks by p-books then p-travel, and a completed order of `amount`.
  void two_partner_order(MinorUnits amount) {
    feed({click("c1", kT0, "u", "cmp", "social", "p-books"), click("c2", kT0 + 1, "u", "cmp", "affiliate", "p-travel"),
          order("o1", kT0 + kMin, "u", "ord", OrderStatus::kCompleted, amount)});
  }
};

TEST_F(SettlementTest, PartialRefundsWithOddUnitsThenCancelNetToZero) {
  two_partner_order(1001);  // linear: p-books 501, p-travel 500
  feed({order("o2", kT0 + 2 * kMin, "u", "ord", OrderStatus::kRefunded, 1001, "CNY", 333),
        order("o3", kT0 + 3 * kMin, "u", "ord", OrderStatus::kRefunded, 1001, "CNY", 334),
        order("o4", kT0 + 4 * kMin, "u", "ord", OrderStatus::kCancelled, 1001)});
  const auto a = amounts();
  EXPECT_EQ(a.at("ord:accrual:0:p-books"), 501);
  EXPECT_EQ(a.at("ord:accrual:0:p-travel"), 500);
  // Cumulative floor(b·r/A): r=333 -> 166 / 166; r=667 -> 333 / 333; r=1001 -> 501 / 500.
  EXPECT_EQ(a.at("ord:reversal:1:p-books"), -166);
  EXPECT_EQ(a.at("ord:reversal:1:p-travel"), -166);
  EXPECT_EQ(a.at("ord:reversal:2:p-books"), -167);
  EXPECT_EQ(a.at("ord:reversal:2:p-travel"), -167);
  EXPECT_EQ(a.at("ord:reversal:3:p-books"), -168);
  EXPECT_EQ(a.at("ord:reversal:3:p-travel"), -167);
  MinorUnits net = 0;
  MinorUnits commission = 0;
  for (const auto& s : settlements()) {
    net += s.attributed_minor;
    commission += s.commission_minor.value_or(0);
  }
  EXPECT_EQ(net, 0);
  EXPECT_EQ(commission, 0);  // 50 - 16 - 17 - 17 for books, 500 - 166 - 167 - 167 for travel
  for (const auto& s : settlements())
    if (s.record_id == "ord:reversal:1:p-books") {
      EXPECT_EQ(s.commission_minor, -16);  // floor(50·166/501)
    }
}

TEST_F(SettlementTest, RefundAboveAmountIsDeadLettered) {
  two_partner_order(1000);
  feed({order("o2", kT0 + 2 * kMin, "u", "ord", OrderStatus::kRefunded, 1000, "CNY", 600),
        order("o3", kT0 + 3 * kMin, "u", "ord", OrderStatus::kRefunded, 1000, "CNY", 401),
        order("o4", kT0 + 4 * kMin, "u", "ord", OrderStatus::kRefunded, 1000, "CNY", 400)});
  ASSERT_EQ(dead_letters().size(), 1u);
  EXPECT_EQ(dead_letters()[0].reason, "refund_exceeds_amount");
  EXPECT_EQ(dead_letters()[0].position.offset, 4);
  // The rejected refund is not counted: the next one is reversal 2 and the order nets to zero.
  EXPECT_EQ(amounts().count("ord:reversal:2:p-books"), 1u);
  MinorUnits net = 0;
  for (const auto& s : settlements()) net += s.attributed_minor;
  EXPECT_EQ(net, 0);
}

TEST_F(SettlementTest, LifecycleEdges) {
  feed({click("c1", kT0, "u", "cmp", "social", "p-books"),
        order("a1", kT0 + 1, "u", "A", OrderStatus::kPending, 100),
        order("a2", kT0 + 2, "u", "A", OrderStatus::kCompleted, 100),
        order("a3", kT0 + 3, "u", "A", OrderStatus::kCompleted, 100),   // duplicate transition
        order("b1", kT0 + 4, "u", "B", OrderStatus::kCancelled, 100),   // cancelled before completion
        order("b2", kT0 + 5, "u", "B", OrderStatus::kCompleted, 100),   // -> order_already_closed
        order("c1o", kT0 + 6, "u", "C", OrderStatus::kRefunded, 100, "CNY", 10),  // refunded before completion
        order("c2o", kT0 + 7, "u", "C", OrderStatus::kCompleted, 100),  // -> order_already_closed
        order("a4", kT0 + 8, "u", "A", OrderStatus::kCancelled, 100),
        order("a5", kT0 + 9, "u", "A", OrderStatus::kRefunded, 100, "CNY", 1)});  // after cancel
  EXPECT_EQ(processor_->stats().duplicate_transitions, 1);
  std::vector<std::string> reasons;
  for (const auto& d : dead_letters()) reasons.push_back(d.reason);
  EXPECT_EQ(reasons, (std::vector<std::string>{"order_already_closed", "order_already_closed", "order_already_closed"}));
  EXPECT_EQ(amounts(), (std::map<std::string, MinorUnits>{{"A:accrual:0:p-books", 100}, {"A:reversal:1:p-books", -100}}));
  // A dead-lettered event does not enter the dedupe set: replaying it is not a "duplicate".
  feed({order("b2", kT0 + 10, "u", "B", OrderStatus::kCompleted, 100)});
  EXPECT_EQ(processor_->stats().duplicates, 0);
  EXPECT_EQ(dead_letters().size(), 4u);
}

TEST_F(SettlementTest, DuplicateEventIdsAreDroppedNotDeadLettered) {
  two_partner_order(1000);
  feed({order("o1", kT0 + kMin, "u", "ord", OrderStatus::kCompleted, 1000),
        click("c1", kT0, "u", "cmp", "social", "p-books")});
  EXPECT_EQ(processor_->stats().duplicates, 2);
  EXPECT_TRUE(dead_letters().empty());
  EXPECT_EQ(settlements().size(), 2u);
}

TEST_F(SettlementTest, StatementsPerPartnerPeriodAndCurrency) {
  feed({click("c1", kT0, "u", "cmp", "social", "p-books"),
        order("o1", kT0 + 1, "u", "o-cny", OrderStatus::kCompleted, 10000, "CNY"),
        order("o2", kT0 + 2, "u", "o-usd", OrderStatus::kCompleted, 2000, "USD")});
  finish();
  const auto st = final_statements();
  ASSERT_EQ(st.size(), 2u);
  const auto& cny = st.at("p-books|2026-11-20|CNY");
  EXPECT_EQ(cny.accrued_minor, 10000);
  EXPECT_EQ(cny.commission_minor, 1000);
  EXPECT_EQ(cny.records, 1);
  EXPECT_EQ(cny.digest, record_digest({"o-cny:accrual:0:p-books"}));
  const auto& usd = st.at("p-books|2026-11-20|USD");
  EXPECT_EQ(usd.accrued_minor, 2000);
  EXPECT_EQ(usd.commission_minor, 200);
}

TEST_F(SettlementTest, PeriodsSplitAtMidnightInTheSettlementZone) {
  // 15:59:59.999Z is 23:59:59.999 in +08:00; 16:00:00Z is the next day.
  const TimestampMs midnight = 1'795'190'400'000;  // 2026-11-20T16:00:00Z
  feed({click("c1", midnight - kHour, "u", "cmp", "social", "p-books"),
        order("o1", midnight - 1, "u", "before", OrderStatus::kCompleted, 100),
        order("o2", midnight, "u", "after", OrderStatus::kCompleted, 100)});
  auto s = settlements();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].period, "2026-11-20");
  EXPECT_EQ(s[1].period, "2026-11-21");
}

TEST_F(SettlementTest, PeriodClosesWithTheWatermarkAndLateRecordsMakeRevisions) {
  const TimestampMs midnight = 1'795'190'400'000;
  feed({click("c1", kT0, "u", "cmp", "social", "p-books"),
        order("o1", kT0 + 1, "u", "o1", OrderStatus::kCompleted, 1000),
        click("later", midnight + 10'000, "v", "cmp", "social")});  // watermark passes midnight
  auto finals = final_statements();
  ASSERT_EQ(finals.size(), 1u);
  EXPECT_EQ(finals.begin()->second.revision, 1);
  // A late completion for the closed day: settled anyway, revision 2.
  feed({order("o2", kT0 + 2, "u", "o2", OrderStatus::kCompleted, 500),
        click("tick", midnight + 20'000, "v", "cmp", "social")});
  finals = final_statements();
  const auto& rev = finals.at("p-books|2026-11-20|CNY");
  EXPECT_EQ(rev.revision, 2);
  EXPECT_EQ(rev.accrued_minor, 1500);
  EXPECT_EQ(rev.records, 2);
  EXPECT_EQ(rev.commission_minor, 150);
}

TEST_F(SettlementTest, TieredRateAtTheBoundary) {
  Contract c;
  c.type = ContractType::kTiered;
  c.tiers = {{1'000'000, 500}, {std::nullopt, 800}};
  EXPECT_EQ(SettlementLedger::tiered_commission(c, 1'000'000), 50'000);  // exactly at up_to: tier 1
  EXPECT_EQ(SettlementLedger::tiered_commission(c, 1'000'001), 80'000);  // 80000.08 -> 80000
  EXPECT_EQ(SettlementLedger::tiered_commission(c, 999'999), 50'000);    // 49999.95 -> 50000
  EXPECT_EQ(SettlementLedger::tiered_commission(c, 0), 0);

  feed({click("c1", kT0, "u", "cmp", "s", "p-bank"),
        order("o1", kT0 + 1, "u", "o1", OrderStatus::kCompleted, 600'000),
        order("o2", kT0 + 2, "u", "o2", OrderStatus::kCompleted, 400'000)});
  finish();
  for (const auto& s : settlements()) EXPECT_FALSE(s.commission_minor.has_value());
  EXPECT_EQ(final_statements().at("p-bank|2026-11-20|CNY").commission_minor, 50'000);
}

TEST_F(ProcessorTest, PoolFollowsTheSeedFormulaAndSkipsZeroVolumeMembers) {
  use(R"(
name: t
campaigns: [{id: cmp, cost_minor: 0}]
partners: [{id: a}, {id: b}, {id: c}, {id: z}]
pools:
  - {id: pool, campaign_id: cmp, pool_bp: 200,
     members: [{partner_id: a, weight: 40}, {partner_id: b, weight: 30}, {partner_id: c, weight: 30}, {partner_id: z, weight: 10}]}
)");
  feed({click("ca", kT0, "ua", "cmp", "s", "a"), order("oa", kT0 + 1, "ua", "oa", OrderStatus::kCompleted, 500'000),
        click("cb", kT0, "ub", "cmp", "s", "b"), order("ob", kT0 + 1, "ub", "ob", OrderStatus::kCompleted, 300'000),
        click("cc", kT0, "uc", "cmp", "s", "c"), order("oc", kT0 + 1, "uc", "oc", OrderStatus::kCompleted, 200'000)});
  finish();
  // Pool = 2% of 1,000,000 = 20000; R = 200000/350000, 90000/350000, 60000/350000.
  const auto st = final_statements();
  EXPECT_EQ(st.at("a|2026-11-20|CNY").pool_share_minor, 11429);
  EXPECT_EQ(st.at("b|2026-11-20|CNY").pool_share_minor, 5143);
  EXPECT_EQ(st.at("c|2026-11-20|CNY").pool_share_minor, 3428);
  EXPECT_EQ(st.at("a|2026-11-20|CNY").commission_minor, 11429);  // no contract: pool share only
  EXPECT_EQ(st.count("z|2026-11-20|CNY"), 0u);  // zero volume: no records, no statement
}

}  // namespace
}  // namespace alliance::testing

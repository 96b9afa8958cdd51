// Hand-worked attribution cases: every model with 1, 2, 3 and 5 touchpoints,
// lookback edges, referral-code precedence, unattributed orders.
#include "processor_fixture.h"

namespace alliance::testing {
namespace {

std::string topology(const std::string& model) {
  return "name: t\nattribution: {model: " + model + ", lookback: 1d, half_life: 1h}\n"
         "partners: [{id: p1}, {id: p2}, {id: p3}, {id: p4}, {id: p5}]\n";
}

class ModelTest : public ProcessorTest {
 protected:
  /// n clicks one minute apart by partners p1..pn, then an order of `amount`.
  std::map<std::string, MinorUnits> attribute(const std::string& model, int n, MinorUnits amount) {
    use(topology(model));
    std::vector<Event> ev;
    for (int i = 1; i <= n; ++i)
      ev.push_back(click("c" + std::to_string(i), kT0 + i * kMin, "u", "cmp", "s" + std::to_string(i),
                         "p" + std::to_string(i)));
    ev.push_back(order("o", kT0 + 10 * kMin, "u", "ord", OrderStatus::kCompleted, amount));
    feed(ev);
    std::map<std::string, MinorUnits> by_partner;
    for (const auto& s : settlements()) by_partner[s.partner_id] = s.attributed_minor;
    return by_partner;
  }
  using M = std::map<std::string, MinorUnits>;
};

TEST_F(ModelTest, LastTouch) {
  EXPECT_EQ(attribute("last_touch", 1, 9900), (M{{"p1", 9900}}));
  EXPECT_EQ(attribute("last_touch", 2, 9900), (M{{"p2", 9900}}));
  EXPECT_EQ(attribute("last_touch", 3, 9900), (M{{"p3", 9900}}));
  EXPECT_EQ(attribute("last_touch", 5, 9900), (M{{"p5", 9900}}));
}

TEST_F(ModelTest, FirstTouch) {
  EXPECT_EQ(attribute("first_touch", 1, 9900), (M{{"p1", 9900}}));
  EXPECT_EQ(attribute("first_touch", 2, 9900), (M{{"p1", 9900}}));
  EXPECT_EQ(attribute("first_touch", 3, 9900), (M{{"p1", 9900}}));
  EXPECT_EQ(attribute("first_touch", 5, 9900), (M{{"p1", 9900}}));
}

TEST_F(ModelTest, Linear) {
  EXPECT_EQ(attribute("linear", 1, 9999), (M{{"p1", 9999}}));
  EXPECT_EQ(attribute("linear", 2, 9999), (M{{"p1", 5000}, {"p2", 4999}}));  // tie: earlier first
  EXPECT_EQ(attribute("linear", 3, 10000), (M{{"p1", 3334}, {"p2", 3333}, {"p3", 3333}}));
  EXPECT_EQ(attribute("linear", 5, 10003),
            (M{{"p1", 2001}, {"p2", 2001}, {"p3", 2001}, {"p4", 2000}, {"p5", 2000}}));
}

TEST_F(ModelTest, PositionBased) {
  EXPECT_EQ(attribute("position_based", 1, 9999), (M{{"p1", 9999}}));
  EXPECT_EQ(attribute("position_based", 2, 9999), (M{{"p1", 5000}, {"p2", 4999}}));
  EXPECT_EQ(attribute("position_based", 3, 10000), (M{{"p1", 4000}, {"p2", 2000}, {"p3", 4000}}));
  // 9999·2/5 = 3999.6, 9999/15 = 666.6: floors sum 9996; 3 leftovers, equal
  // fractions, so the three earliest touchpoints get one each.
  EXPECT_EQ(attribute("position_based", 5, 9999),
            (M{{"p1", 4000}, {"p2", 667}, {"p3", 667}, {"p4", 666}, {"p5", 3999}}));
  const auto s = settlements();
  EXPECT_EQ(s.front().weight_micros, 400000);
  EXPECT_EQ(s[1].weight_micros, 66667);  // 1/15 = 0.0666666… -> 0.066667
}

TEST_F(ModelTest, TimeDecay) {
  EXPECT_EQ(attribute("time_decay", 1, 9999), (M{{"p1", 9999}}));
  // Touchpoints at +1m and +2m, order at +10m, half-life 1h: the 1-minute gap
  // gives weights 1 : 2^(1/60) (= 1.011619), normalised 0.497112 : 0.502888.
  EXPECT_EQ(attribute("time_decay", 2, 1'000'000), (M{{"p1", 497112}, {"p2", 502888}}));
  auto three = attribute("time_decay", 3, 10000);
  EXPECT_EQ(three["p1"] + three["p2"] + three["p3"], 10000);
  EXPECT_LT(three["p1"], three["p2"]);
  EXPECT_LT(three["p2"], three["p3"]);
  auto five = attribute("time_decay", 5, 10001);
  MinorUnits sum = 0;
  for (auto& [p, v] : five) sum += v;
  EXPECT_EQ(sum, 10001);
}

TEST_F(ProcessorTest, LookbackIsInclusiveAtTheEdge) {
  use("name: t\nattribution: {model: first_touch, lookback: 1d}\npartners: [{id: p-old}, {id: p-edge}, {id: p-new}]\n");
  const TimestampMs t = kT0 + 2 * kDay;
  feed({click("c0", t - kDay - 1, "u", "cmp", "s", "p-old"),   // 1 ms too old
        click("c1", t - kDay, "u", "cmp", "s", "p-edge"),      // exactly T - lookback
        click("c2", t - kHour, "u", "cmp", "s", "p-new"),
        order("o", t, "u", "ord", OrderStatus::kCompleted, 1000)});
  ASSERT_EQ(settlements().size(), 1u);
  EXPECT_EQ(settlements()[0].partner_id, "p-edge");
}

TEST_F(ProcessorTest, TouchpointsAfterTheOrderAreNotEligible) {
  use("name: t\npartners: [{id: p1}, {id: p2}]\n");
  feed({click("c1", kT0, "u", "cmp", "s", "p1"), click("c2", kT0 + 2 * kMin, "u", "cmp", "s", "p2"),
        order("o", kT0 + kMin, "u", "ord", OrderStatus::kCompleted, 1000)});
  ASSERT_EQ(settlements().size(), 1u);
  EXPECT_EQ(settlements()[0].partner_id, "p1");
}

TEST_F(ProcessorTest, ChronologicalTiesBreakByEventId) {
  use("name: t\nattribution: {model: last_touch}\npartners: [{id: pa}, {id: pb}]\n");
  feed({click("e-b", kT0, "u", "cmp", "s", "pb"), click("e-a", kT0, "u", "cmp", "s", "pa"),
        order("o", kT0 + kMin, "u", "ord", OrderStatus::kCompleted, 1000)});
  ASSERT_EQ(settlements().size(), 1u);
  EXPECT_EQ(settlements()[0].partner_id, "pb");  // e-b sorts after e-a: it is the last touch
}

TEST_F(ProcessorTest, ReferralCodeFromTopologyTakesPrecedence) {
  use("name: t\npartners: [{id: p-books, referral_codes: [BOOK10]}, {id: p-travel}]\n");
  feed({click("c1", kT0, "u", "cmp", "s", "p-travel"),
        order("o", kT0 + kMin, "u", "ord", OrderStatus::kCompleted, 5000, "CNY", std::nullopt, "BOOK10")});
  ASSERT_EQ(settlements().size(), 1u);
  EXPECT_EQ(settlements()[0].partner_id, "p-books");
  EXPECT_EQ(settlements()[0].model, "referral_code");
  EXPECT_EQ(settlements()[0].attributed_minor, 5000);
}

TEST_F(ProcessorTest, ReferralCodeLearnedFromAnotherUsersReferral) {
  use("name: t\npartners: [{id: p-fit}, {id: p-travel}]\n");
  feed({referral("r1", kT0, "other-user", "p-fit", "FIT5"),
        click("c1", kT0 + 1, "u", "cmp", "s", "p-travel"),
        order("o", kT0 + kMin, "u", "ord", OrderStatus::kCompleted, 5000, "CNY", std::nullopt, "FIT5"),
        order("o2", kT0 + kMin, "u", "ord2", OrderStatus::kCompleted, 100, "CNY", std::nullopt, "UNKNOWN")});
  ASSERT_EQ(settlements().size(), 2u);
  EXPECT_EQ(settlements()[0].partner_id, "p-fit");
  EXPECT_EQ(settlements()[1].partner_id, "p-travel");  // unknown code: the model applies
}

TEST_F(ProcessorTest, NoTouchpointIsUnattributedDirect) {
  use("name: t\nwindows: [1h]\n");
  feed({order("o", kT0, "u", "ord", OrderStatus::kCompleted, 700)});
  finish();
  EXPECT_TRUE(settlements().empty());
  EXPECT_EQ(processor_->stats().unattributed_orders, 1);
  bool direct = false;
  for (const auto& m : all<MetricRecord>())
    if (m.final && m.dim == "source" && m.key == "direct" && m.currency == "CNY") {
      direct = true;
      EXPECT_EQ(m.revenue_minor, 700);
      EXPECT_EQ(m.orders, 1);
    }
  EXPECT_TRUE(direct);
}

TEST_F(ProcessorTest, UnpartneredTouchpointsKeepTheirShareOutOfSettlement) {
  use("name: t\nattribution: {model: linear}\npartners: [{id: p1, contract: {id: c1, type: percent, rate_bp: 1000}}]\n");
  feed({click("c1", kT0, "u", "cmp", "organic"), click("c2", kT0 + 1, "u", "cmp", "social", "p1"),
        click("c3", kT0 + 2, "u", "cmp", "p-unknown-src", "p-new"),
        order("o", kT0 + kMin, "u", "ord", OrderStatus::kCompleted, 1000)});
  auto s = settlements();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].partner_id, "p-new");  // sorted by partner id
  EXPECT_EQ(s[0].attributed_minor, 333);
  EXPECT_FALSE(s[0].contract_id.has_value());
  EXPECT_FALSE(s[0].commission_minor.has_value());
  EXPECT_EQ(s[1].partner_id, "p1");
  EXPECT_EQ(s[1].attributed_minor, 333);  // organic 334 + 333 + 333 = 1000
  EXPECT_EQ(s[1].commission_minor, 33);   // 33.3 -> 33
  EXPECT_EQ(processor_->stats().unknown_partner_records, 1);
}

}  // namespace
}  // namespace alliance::testing

namespace alliance::testing {
namespace {

// SPEC §5.1: a settlement record names the event that caused it and the
// partner's credited touchpoints; a reversal keeps the accrual's touchpoints.
TEST_F(ProcessorTest, SettlementRecordsNameTheirEventAndCreditedTouchpoints) {
  use(R"(
name: t
attribution: {model: linear}
partners: [{id: pA, referral_codes: [CODE]}, {id: pB}]
)");
  feed({click("c1", kT0, "u", "cmp", "s", "pA"), click("c2", kT0 + 1, "u", "cmp", "s", "pB"),
        click("c3", kT0 + 2, "u", "cmp", "s", "pA"), click("c4", kT0 + 3, "u", "cmp", "s"),
        order("done", kT0 + 4, "u", "o1", OrderStatus::kCompleted, 1000),
        order("back", kT0 + 5, "u", "o1", OrderStatus::kRefunded, 1000, "CNY", 400)});
  std::map<std::string, SettlementRecord> by_id;
  for (const auto& r : settlements()) by_id[r.record_id] = r;
  ASSERT_EQ(by_id.count("o1:accrual:0:pA"), 1u);
  EXPECT_EQ(by_id["o1:accrual:0:pA"].event_id, "done");
  EXPECT_EQ(by_id["o1:accrual:0:pA"].touchpoint_ids, (std::vector<std::string>{"c1", "c3"}));
  EXPECT_EQ(by_id["o1:accrual:0:pB"].touchpoint_ids, (std::vector<std::string>{"c2"}));
  ASSERT_EQ(by_id.count("o1:reversal:1:pA"), 1u);
  EXPECT_EQ(by_id["o1:reversal:1:pA"].event_id, "back");
  EXPECT_EQ(by_id["o1:reversal:1:pA"].touchpoint_ids, (std::vector<std::string>{"c1", "c3"}));
}

TEST_F(ProcessorTest, ACodeCreditsTheOwnersReferralTouchpointOrNone) {
  use(R"(
name: t
partners: [{id: pA, referral_codes: [CODE]}]
)");
  feed({referral("r1", kT0, "u", "pA"), click("c1", kT0 + 1, "u", "cmp", "s", "pA"),
        order("o1done", kT0 + 2, "u", "o1", OrderStatus::kCompleted, 1000, "CNY", std::nullopt, "CODE"),
        order("o2done", kT0 + 3, "v", "o2", OrderStatus::kCompleted, 1000, "CNY", std::nullopt, "CODE")});
  std::map<std::string, SettlementRecord> by_id;
  for (const auto& r : settlements()) by_id[r.record_id] = r;
  EXPECT_EQ(by_id["o1:accrual:0:pA"].model, "referral_code");
  EXPECT_EQ(by_id["o1:accrual:0:pA"].touchpoint_ids, (std::vector<std::string>{"r1"}));
  EXPECT_TRUE(by_id["o2:accrual:0:pA"].touchpoint_ids.empty());
}

}  // namespace
}  // namespace alliance::testing

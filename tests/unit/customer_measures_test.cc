// The seed articles' customer measures on the "all" records (SPEC §5.2,
// docs/SEMANTICS.md "Customer measures"): ltv, clv, churn, repeat, loyalty,
// and the running "all" record of a source.
#include "processor_fixture.h"

#include "alliance/codec/record_encoder.h"
#include "alliance/core/metric_windows.h"

namespace alliance::testing {
namespace {

MetricRecord all_record(MinorUnits revenue, MinorUnits refunds, std::int64_t buyers) {
  MetricRecord r;
  r.dim = "source";
  r.key = "s";
  r.revenue_minor = revenue;
  r.refunds_minor = refunds;
  r.buyers = buyers;
  return r;
}

TEST(ClvFactorTest, TenPercentOverThreePeriodsIsAnExactFraction) {
  ClvConfig c;
  c.discount_ppm = 100'000;
  c.periods = 3;
  const ClvFactor f = clv_factor(c);
  // 1/1.1 + 1/1.21 + 1/1.331 = (100·11 + 10·121 + 1000) / 1331... in lowest terms p/q = 11/10:
  // Σ q^t p^(3-t) = 10·121 + 100·11 + 1000 = 3310, den = 11^3 = 1331.
  EXPECT_TRUE(f.exact);
  EXPECT_EQ(static_cast<std::int64_t>(f.num), 3310);
  EXPECT_EQ(static_cast<std::int64_t>(f.den), 1331);
}

TEST(ClvFactorTest, AThousandAPeriodBuyerAtTenPercentOverThreePeriods) {
  ClvConfig c;  // defaults: 0.10, 3 periods
  MetricRecord r = all_record(100'000, 0, 1);
  set_customer_measures(r, clv_factor(c));
  EXPECT_EQ(r.ltv_minor, 100'000);
  // 909.09 + 826.45 + 751.31 = 2 486.85; exactly 248 685.199… -> 248 685.
  EXPECT_EQ(r.clv_minor, 248'685);
}

TEST(ClvFactorTest, RoundsTheExactValueHalfToEvenOnce) {
  const ClvFactor f = clv_factor(ClvConfig{});
  // clv = net · 3310 / (buyers · 1331); with 6 620 buyers that is net / 2 662.
  MetricRecord half = all_record(1331, 0, 6620);  // exactly 0.5 -> 0
  set_customer_measures(half, f);
  EXPECT_EQ(half.clv_minor, 0);
  EXPECT_EQ(half.ltv_minor, 0);  // 1331 / 6620 = 0.2
  MetricRecord three_halves = all_record(3993, 0, 6620);  // exactly 1.5 -> 2
  set_customer_measures(three_halves, f);
  EXPECT_EQ(three_halves.clv_minor, 2);
  MetricRecord net_of_refunds = all_record(5, 2, 2);  // ltv 3/2 = 1.5 -> 2
  set_customer_measures(net_of_refunds, f);
  EXPECT_EQ(net_of_refunds.ltv_minor, 2);
  // clv from the exact 3/2, not from the rounded ltv: 1.5 · 3310/1331 = 3.730… -> 4
  EXPECT_EQ(net_of_refunds.clv_minor, 4);
}

TEST(ClvFactorTest, NoBuyersNoLtvAndAZeroRateSumsThePeriods) {
  MetricRecord none = all_record(500, 0, 0);
  set_customer_measures(none, clv_factor(ClvConfig{}));
  EXPECT_FALSE(none.ltv_minor.has_value());
  EXPECT_FALSE(none.clv_minor.has_value());
  ClvConfig flat;
  flat.discount_ppm = 0;
  flat.periods = 5;
  MetricRecord r = all_record(700, 0, 7);
  set_customer_measures(r, clv_factor(flat));
  EXPECT_EQ(r.clv_minor, 500);
}

TEST(ClvFactorTest, ALongHorizonThatDoesNotFitUsesFifteenPlaces) {
  ClvConfig c;
  c.discount_ppm = 123'457;
  c.periods = 1000;
  const ClvFactor f = clv_factor(c);
  EXPECT_FALSE(f.exact);
  MetricRecord r = all_record(1'000'000, 0, 1);
  set_customer_measures(r, f);
  // Σ_{t=1..1000} 1e6 / 1.123457^t = 8 099 986.230… (Python fractions).
  EXPECT_EQ(r.clv_minor, 8'099'986);
}

TEST(ClvFactorTest, TheTopologyRateBecomesPartsPerMillion) {
  const Topology t = parse_topology("name: t\nclv: {discount_rate: 0.07, periods: 4}\n", "t.yaml");
  EXPECT_EQ(t.clv.discount_ppm, 70'000);
  MetricRecord r = all_record(12'345, 0, 1);
  set_customer_measures(r, clv_factor(t.clv));
  // 12 345 · 443 994 300 / 131 079 601 = 41 815.12… (Python fractions)
  EXPECT_EQ(r.clv_minor, 41'815);
}

class CustomerMeasuresTest : public ProcessorTest {
 protected:
  /// The latest "all" record of dim|key in CNY.
  MetricRecord latest(const std::string& dim, const std::string& key) const {
    std::optional<MetricRecord> found;
    for (const auto& m : all<MetricRecord>())
      if (m.window_size == 0 && m.dim == dim && m.key == key && m.currency == "CNY") found = m;
    EXPECT_TRUE(found.has_value()) << dim << "|" << key;
    return found.value_or(MetricRecord{});
  }
  std::size_t count_all(const std::string& dim, const std::string& key) const {
    std::size_t n = 0;
    for (const auto& m : all<MetricRecord>())
      n += m.window_size == 0 && m.dim == dim && m.key == key && m.currency == "CNY" ? 1 : 0;
    return n;
  }
};

constexpr const char* kChurnTopology = R"(
name: t
windows: [1h]
grace: 1ms
churn_after: 1h
campaigns: [{id: cmp, cost_minor: 1000, currency: CNY}]
)";

TEST_F(CustomerMeasuresTest, ChurnCountsABuyerOnlyOnceTheLastOrderIsOlderThanChurnAfter) {
  use(kChurnTopology);
  feed({click("c1", kT0 - 10, "u1", "cmp", "ads"), order("o1", kT0, "u1", "order-1", OrderStatus::kCompleted, 1000)});
  EXPECT_EQ(latest("source", "ads").churned_buyers, 0);
  // Watermark kT0 + 1h (grace 1 ms): the order is exactly churn_after old, not older.
  feed({click("c2", kT0 + kHour + 1, "u2", "other", "social")});
  EXPECT_EQ(latest("source", "ads").churned_buyers, 0);
  EXPECT_EQ(latest("campaign", "cmp").churned_buyers, 0);
  const std::size_t before = count_all("source", "ads");
  // One millisecond later it is: the record is published again although
  // no event touched "ads" or "cmp".
  feed({click("c3", kT0 + kHour + 2, "u2", "other", "social")});
  EXPECT_EQ(count_all("source", "ads"), before + 1);
  EXPECT_EQ(latest("source", "ads").churned_buyers, 1);
  EXPECT_EQ(latest("source", "ads").watermark, kT0 + kHour + 1);
  EXPECT_EQ(latest("campaign", "cmp").churned_buyers, 1);
  const std::string json = encode_record({"k", latest("source", "ads")});
  EXPECT_NE(json.find(R"("churn_rate":"1.000000")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("loyalty":"-1.000000")"), std::string::npos) << json;  // R 0, T 1
  // A new order brings the buyer back (and makes them a repeat buyer).
  feed({order("o2", kT0 + kHour + 3, "u1", "order-2", OrderStatus::kCompleted, 500)});
  EXPECT_EQ(latest("source", "ads").churned_buyers, 0);
  EXPECT_EQ(latest("source", "ads").repeat_buyers, 1);
  // Not repeated here: no unchanged key is published again.
  const std::size_t after = count_all("campaign", "cmp");
  feed({click("c4", kT0 + kHour + 4, "u2", "other", "social")});
  EXPECT_EQ(count_all("campaign", "cmp"), after);
}

TEST_F(CustomerMeasuresTest, LoyaltyIsNullWithoutRepeatOrChurnAndZeroWhenTheyBalance) {
  use(kChurnTopology);
  feed({click("c1", kT0, "u1", "cmp", "ads"), order("o1", kT0 + 1, "u1", "order-1", OrderStatus::kCompleted, 1000)});
  std::string json = encode_record({"k", latest("campaign", "cmp")});
  EXPECT_NE(json.find(R"("repeat_rate":"0.000000")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("churn_rate":"0.000000")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("loyalty":null)"), std::string::npos) << json;
  // u2 buys twice (R = 1/2); two hours later u1 has churned (T = 1/2): loyalty 0.
  feed({click("c2", kT0 + 2, "u2", "cmp", "ads"), order("o2", kT0 + 3, "u2", "order-2", OrderStatus::kCompleted, 100),
        order("o3", kT0 + 2 * kHour, "u2", "order-3", OrderStatus::kCompleted, 100)});
  const MetricRecord m = latest("campaign", "cmp");
  EXPECT_EQ(m.buyers, 2);
  EXPECT_EQ(m.repeat_buyers, 1);
  EXPECT_EQ(m.churned_buyers, 1);
  json = encode_record({"k", m});
  EXPECT_NE(json.find(R"("churn_rate":"0.500000")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("loyalty":"0.000000")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("ltv_minor":600)"), std::string::npos) << json;  // 1200 / 2
  // 600 · 3310/1331 = 1 492.11… -> 1 492
  EXPECT_NE(json.find(R"("clv_minor":1492)"), std::string::npos) << json;
}

TEST_F(CustomerMeasuresTest, EverySourceHasARunningAllRecordWithoutCostFields) {
  use(R"(
name: t
windows: [1h]
campaigns: [{id: cmp, cost_minor: 1000, currency: CNY}]
)");
  feed({click("c1", kT0, "u1", "cmp", "ads"), click("c2", kT0 + 1, "u2", "cmp", "ads"),
        click("c3", kT0 + 2, "u1", "cmp", "ads"),
        order("o1", kT0 + 10, "u1", "order-1", OrderStatus::kCompleted, 3000),
        order("o2", kT0 + 11, "u1", "order-2", OrderStatus::kCompleted, 1000),
        order("o3", kT0 + 12, "u2", "order-3", OrderStatus::kCompleted, 2000),
        order("r1", kT0 + 13, "u1", "order-1", OrderStatus::kRefunded, 3000, "CNY", 600)});
  finish();
  std::optional<OutputRecord> fin;
  for (const auto& r : outputs_)
    if (const auto* m = std::get_if<MetricRecord>(&r.body); m && m->final && m->window_size == 0 && m->dim == "source" &&
                                                         m->currency == "CNY")
      fin = r;
  ASSERT_TRUE(fin.has_value());
  EXPECT_EQ(fin->key, "source|ads|0|all|CNY");
  const auto& m = std::get<MetricRecord>(fin->body);
  EXPECT_EQ(m.key, "ads");
  EXPECT_EQ(m.clicks, 3);
  EXPECT_EQ(m.unique_users, 2);
  EXPECT_EQ(m.orders, 3);
  EXPECT_EQ(m.conversions_micros, 3'000'000);
  EXPECT_EQ(m.revenue_minor, 6000);
  EXPECT_EQ(m.refunds_minor, 600);
  EXPECT_EQ(m.buyers, 2);
  EXPECT_EQ(m.repeat_buyers, 1);
  EXPECT_EQ(m.ltv_minor, 2700);  // (6000 - 600) / 2
  EXPECT_EQ(m.clv_minor, 6715);  // 2700 · 3310 / 1331 = 6 714.5004 -> 6 715
  const std::string json = encode_record(*fin);
  EXPECT_NE(json.find(R"("window_size":"all")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("repeat_rate":"0.500000")"), std::string::npos) << json;
  EXPECT_EQ(json.find("cost_minor"), std::string::npos) << json;
  EXPECT_EQ(json.find("benefit_cost_ratio"), std::string::npos) << json;
  // The campaign's record still has its cost.
  EXPECT_NE(encode_record({"k", latest("campaign", "cmp")}).find(R"("cost_minor":1000)"), std::string::npos);
}

}  // namespace
}  // namespace alliance::testing

// Partner risk (SPEC §3.9, §5.6, issue 23): each signal, each threshold at
// and across its boundary, the minimum counts, the records' emission rules,
// holds and releases through the finance lifecycle (the invariant in every
// balance record), the risk_release decoder and the `risk:` block.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "alliance/codec/event_decoder.h"
#include "alliance/codec/record_encoder.h"
#include "alliance/core/partner_risk.h"
#include "processor_fixture.h"

namespace alliance::testing {
namespace {

using ::testing::HasSubstr;

TimestampMs utc(int y, unsigned m, unsigned d, int hour = 0) { return days_from_civil(y, m, d) * kDay + hour * kHour; }

Event release(std::string id, TimestampMs ts, std::string partner, std::string period) {
  return Event{id, ts, "", RiskRelease{id, std::move(partner), std::move(period), {}}};
}

Event payout(std::string id, TimestampMs ts, std::string partner, MinorUnits amount) {
  return Event{id, ts, "", Payout{id, std::move(partner), amount, "CNY", {}, {}}};
}

// ---- Thresholds: exact rationals, strictly above, with minimum counts ----

RiskCounts counts(std::int64_t credited, std::int64_t fast, std::int64_t clicks, std::int64_t users,
                  std::int64_t reversed) {
  return RiskCounts{credited, fast, clicks, users, reversed};
}

TEST(RiskFlags, ClickInjectionIsAShareStrictlyAboveTheThresholdWithEnoughOrders) {
  const RiskConfig cfg;  // 0.3, min_orders 20
  EXPECT_EQ(risk_flags(counts(20, 6, 0, 0, 0), cfg), 0);  // 6/20 = 0.3: at the threshold
  EXPECT_EQ(risk_flags(counts(20, 7, 0, 0, 0), cfg), kClickInjection);
  EXPECT_EQ(risk_flags(counts(19, 19, 0, 0, 0), cfg), 0);  // below min_orders
  EXPECT_EQ(risk_flags(counts(1'000'000, 300'000, 0, 0, 0), cfg), 0);
  EXPECT_EQ(risk_flags(counts(1'000'000, 300'001, 0, 0, 0), cfg), kClickInjection);
}

TEST(RiskFlags, ClickSpamIsClicksPerUserStrictlyAboveTheThresholdWithEnoughUsers) {
  const RiskConfig cfg;  // 20, min_click_users 20
  EXPECT_EQ(risk_flags(counts(0, 0, 400, 20, 0), cfg), 0);  // 20 per user: at the threshold
  EXPECT_EQ(risk_flags(counts(0, 0, 401, 20, 0), cfg), kClickSpam);
  EXPECT_EQ(risk_flags(counts(0, 0, 1'000'000, 19, 0), cfg), 0);  // below min_click_users
}

TEST(RiskFlags, RefundAbuseIsAReversalRateStrictlyAboveTheThresholdWithEnoughOrders) {
  const RiskConfig cfg;  // 0.5, min_orders 20
  EXPECT_EQ(risk_flags(counts(20, 0, 0, 0, 10), cfg), 0);
  EXPECT_EQ(risk_flags(counts(20, 0, 0, 0, 11), cfg), kRefundAbuse);
  EXPECT_EQ(risk_flags(counts(19, 0, 0, 0, 19), cfg), 0);
  EXPECT_EQ(risk_flags(counts(20, 7, 401, 20, 11), cfg), kClickInjection | kClickSpam | kRefundAbuse);
  EXPECT_EQ(risk_flag_names(kClickInjection | kClickSpam | kRefundAbuse),
            (std::vector<std::string>{"click_injection", "click_spam", "refund_abuse"}));
}

TEST(RiskFlags, ComparisonsAreExactWhereADoubleWouldRound) {
  RiskConfig cfg;
  cfg.min_orders = 1;
  cfg.max_fast_share_ppm = 333'333;  // 0.333333 < 1/3
  EXPECT_EQ(risk_flags(counts(3, 1, 0, 0, 0), cfg), kClickInjection);
  cfg.max_fast_share_ppm = 333'334;
  EXPECT_EQ(risk_flags(counts(3, 1, 0, 0, 0), cfg), 0);
  // Counts near int64 do not overflow the cross-multiplication.
  cfg.max_reversal_rate_ppm = 999'999;
  EXPECT_EQ(risk_flags(counts(INT64_MAX, 0, 0, 0, INT64_MAX), cfg), kRefundAbuse);
  EXPECT_EQ(risk_flags(counts(INT64_MAX, 0, 0, 0, INT64_MAX / 2), cfg), 0);
}

TEST(RiskRecordText, RatiosHaveSixPlacesAndZeroOverZeroIsZero) {
  RiskRecord r;
  EXPECT_EQ(risk_fast_share(r), "0.000000");
  EXPECT_EQ(risk_clicks_per_user(r), "0.000000");
  r.credited_orders = 3;
  r.fast_orders = 2;
  r.reversed_orders = 1;
  r.clicks = 7;
  r.click_users = 3;
  EXPECT_EQ(risk_fast_share(r), "0.666667");
  EXPECT_EQ(risk_reversal_rate(r), "0.333333");
  EXPECT_EQ(risk_clicks_per_user(r), "2.333333");
}

TEST(PeriodLabels, ParseBackToTheirPeriodsOnly) {
  const DurationMs plus8 = 8 * kHour;
  EXPECT_EQ(period_label_start("2027-01-05", 0, PeriodUnit::kDay), utc(2027, 1, 5));
  EXPECT_EQ(period_label_start("2027-01-05", plus8, PeriodUnit::kDay), utc(2027, 1, 5) - plus8);
  EXPECT_EQ(period_label_start("2026-11", plus8, PeriodUnit::kMonth), utc(2026, 11, 1) - plus8);
  EXPECT_EQ(period_label_start("2027-W01", 0, PeriodUnit::kWeek), utc(2027, 1, 4));  // Monday
  EXPECT_EQ(period_label_start("2026-W53", 0, PeriodUnit::kWeek), utc(2026, 12, 28));
  for (const char* bad : {"2027-02-30", "2027-13", "2027-W54", "2027-1-05", "x", "", "2027-01-05 "})
    for (auto unit : {PeriodUnit::kDay, PeriodUnit::kWeek, PeriodUnit::kMonth})
      EXPECT_FALSE(period_label_start(bad, 0, unit).has_value()) << bad;
  EXPECT_FALSE(period_label_start("2027-01", 0, PeriodUnit::kDay).has_value());  // a month is not a day
  EXPECT_FALSE(period_label_start("2025-W53", 0, PeriodUnit::kWeek).has_value());  // 2025 has 52 ISO weeks
}

// ---- Signals through the Processor ----

constexpr const char* kSignals = R"(name: r
attribution: {model: linear}
partners:
  - {id: p-a, referral_codes: [CODE-A], contract: {id: c-a, type: percent, rate_bp: 1000}}
  - {id: p-b, contract: {id: c-b, type: flat, per_conversion_minor: 100}}
)";

class RiskSignals : public ProcessorTest {
 protected:
  void SetUp() override { use(kSignals); }
  /// The latest record per partner|period.
  std::map<std::string, RiskRecord> latest() const {
    std::map<std::string, RiskRecord> m;
    for (const auto& r : all<RiskRecord>()) m[r.partner_id + "|" + r.period] = r;
    return m;
  }
};

TEST_F(RiskSignals, AFastOrderIsOneWhoseLatestCreditedTouchpointCameLessThanMinCtitBefore) {
  const TimestampMs t = utc(2027, 1, 1, 10);
  feed({
      // linear: both of u1's touchpoints are credited; the latest (9.999 s) decides.
      click("c1", t - kHour, "u1", "cmp", "affiliate", "p-a"),
      click("c2", t - 9'999, "u1", "cmp", "affiliate", "p-a"),
      order("o1", t, "u1", "O1", OrderStatus::kCompleted, 10000),
      // exactly min_ctit (10 s) before: not fast.
      click("c3", t - 10'000, "u2", "cmp", "affiliate", "p-a"),
      order("o2", t, "u2", "O2", OrderStatus::kCompleted, 10000),
      // a referral code without a referral touchpoint: credited, no time, not fast.
      order("o3", t, "u3", "O3", OrderStatus::kCompleted, 10000, "CNY", std::nullopt, "CODE-A"),
      // p-b shares u4's order with p-a: each partner's own latest touchpoint counts.
      click("c4", t - 2'000, "u4", "cmp", "affiliate", "p-b"),
      click("c5", t - kHour, "u4", "cmp", "affiliate", "p-a"),
      order("o4", t, "u4", "O4", OrderStatus::kCompleted, 10000),
  });
  const auto m = latest();
  const RiskRecord& a = m.at("p-a|2027-01-01");
  EXPECT_EQ(a.credited_orders, 4);
  EXPECT_EQ(a.fast_orders, 1);
  EXPECT_EQ(a.clicks, 4);
  EXPECT_EQ(a.click_users, 3);
  const RiskRecord& b = m.at("p-b|2027-01-01");
  EXPECT_EQ(b.credited_orders, 1);
  EXPECT_EQ(b.fast_orders, 1);
  EXPECT_EQ(b.period_start, utc(2027, 1, 1));
  EXPECT_EQ(b.period_end, utc(2027, 1, 2));
}

TEST_F(RiskSignals, ClickUsersAreDistinctPerPartnerAndPeriodOfTheClick) {
  const TimestampMs t = utc(2027, 1, 1, 23);
  feed({click("c1", t, "u1", "cmp", "affiliate", "p-a"), click("c2", t + 1, "u1", "cmp", "affiliate", "p-a"),
        click("c3", t + 2, "u1", "cmp", "affiliate", "p-b"), click("c4", t + 3, "u2", "cmp", "affiliate", "p-a"),
        click("c5", t + 2 * kHour, "u1", "cmp", "affiliate", "p-a"),  // the next day
        click("c6", t + 4, "u3", "cmp", "organic"),                   // no partner: not counted
        // u5's referral of p-a is a touchpoint of p-a but not a click: the
        // click after it still makes u5 a new click user (the touchpoint
        // short-cut of Processor::counted_for takes clicks only).
        referral("r1", t + 5, "u5", "p-a"), click("c7", t + 6, "u5", "cmp", "affiliate", "p-a")});
  const auto m = latest();
  EXPECT_EQ(m.at("p-a|2027-01-01").clicks, 4);
  EXPECT_EQ(m.at("p-a|2027-01-01").click_users, 3);
  EXPECT_EQ(m.at("p-b|2027-01-01").click_users, 1);
  EXPECT_EQ(m.at("p-a|2027-01-02").clicks, 1);
  EXPECT_EQ(m.at("p-a|2027-01-02").click_users, 1);
  EXPECT_EQ(risk_clicks_per_user(m.at("p-a|2027-01-02")), "1.000000");
}

TEST_F(RiskSignals, AReversedOrderCountsOnceInTheAccrualsPeriodWhateverRefundsFollow) {
  const TimestampMs t = utc(2027, 1, 1, 10);
  feed({click("c1", t - kHour, "u1", "cmp", "affiliate", "p-a"),
        order("o1", t, "u1", "O1", OrderStatus::kCompleted, 10000),
        order("o2", t, "u2", "O2", OrderStatus::kCompleted, 10000, "CNY", std::nullopt, "CODE-A"),
        // a partial refund, a second one and a cancel of O1 on later days: one reversed order of 01-01.
        order("r1", t + kDay, "u1", "O1", OrderStatus::kRefunded, 10000, "CNY", 100),
        order("r2", t + 2 * kDay, "u1", "O1", OrderStatus::kRefunded, 10000, "CNY", 100),
        order("x1", t + 3 * kDay, "u1", "O1", OrderStatus::kCancelled, 10000)});
  finish();
  const auto m = latest();
  EXPECT_EQ(m.at("p-a|2027-01-01").credited_orders, 2);
  EXPECT_EQ(m.at("p-a|2027-01-01").reversed_orders, 1);
  EXPECT_EQ(m.count("p-a|2027-01-02"), 0u);
  EXPECT_EQ(risk_reversal_rate(m.at("p-a|2027-01-01")), "0.500000");
}

TEST_F(RiskSignals, RunningOncePerCycleFinalAtCloseThenRevisions) {
  const TimestampMs t = utc(2027, 1, 1, 10);
  feed({click("c1", t, "u1", "cmp", "affiliate", "p-a"), click("c2", t + 1, "u1", "cmp", "affiliate", "p-a")});
  feed({click("c3", t + 2, "u2", "cmp", "affiliate", "p-b")});  // p-a unchanged: no record
  auto rs = all<RiskRecord>();
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[0].partner_id, "p-a");
  EXPECT_EQ(rs[0].clicks, 2);
  EXPECT_FALSE(rs[0].final);
  EXPECT_EQ(rs[1].partner_id, "p-b");
  // The watermark passes the day's end: finals, once each.
  feed({click("c4", utc(2027, 1, 2, 1), "u3", "cmp", "organic")});
  rs = all<RiskRecord>();
  ASSERT_EQ(rs.size(), 4u);
  EXPECT_TRUE(rs[2].final && rs[3].final);
  EXPECT_EQ(rs[2].revision, 1);
  // A late click of the closed day: revision 2, final.
  feed({click("c5", t + 3, "u4", "cmp", "affiliate", "p-a")});
  rs = all<RiskRecord>();
  ASSERT_EQ(rs.size(), 5u);
  EXPECT_TRUE(rs[4].final);
  EXPECT_EQ(rs[4].revision, 2);
  EXPECT_EQ(rs[4].clicks, 3);
  EXPECT_EQ(rs[4].click_users, 2);
}

TEST_F(RiskSignals, AFlagClearsAsHonestOrdersAccumulateInAnOpenPeriod) {
  use(R"(name: r
risk: {min_orders: 2, max_fast_share: 0.5}
partners: [{id: p-a, contract: {id: c-a, type: percent, rate_bp: 1000}}]
)");
  const TimestampMs t = utc(2027, 1, 1, 10);
  feed({click("c1", t - 1000, "u1", "cmp", "affiliate", "p-a"), order("o1", t, "u1", "O1", OrderStatus::kCompleted, 100),
        click("c2", t - 1000, "u2", "cmp", "affiliate", "p-a"), order("o2", t, "u2", "O2", OrderStatus::kCompleted, 100)});
  EXPECT_EQ(all<RiskRecord>().back().flags, std::vector<std::string>{"click_injection"});
  feed({click("c3", t - kHour, "u3", "cmp", "affiliate", "p-a"), order("o3", t, "u3", "O3", OrderStatus::kCompleted, 100),
        click("c4", t - kHour, "u4", "cmp", "affiliate", "p-a"), order("o4", t, "u4", "O4", OrderStatus::kCompleted, 100)});
  EXPECT_TRUE(all<RiskRecord>().back().flags.empty());  // 2/4 = 0.5: at the threshold
}

// ---- Holds and releases through the finance lifecycle ----

constexpr const char* kHold = R"(name: h
holding_period: 1d
risk: {action: hold, min_orders: 2, max_fast_share: 0.5}
partners:
  - {id: p-inj, contract: {id: c-inj, type: percent, rate_bp: 1000}}
  - {id: p-ok, contract: {id: c-ok, type: percent, rate_bp: 1000}}
)";

class RiskHolds : public ProcessorTest {
 protected:
  void SetUp() override { use(kHold); }
  std::map<std::string, BalanceRecord> balances() const {
    std::map<std::string, BalanceRecord> m;
    for (const auto& r : outputs_)
      if (const auto* b = std::get_if<BalanceRecord>(&r.body)) m[r.key] = *b;
    return m;
  }
  void expect_invariant_everywhere() const {
    for (const auto& b : all<BalanceRecord>()) {
      EXPECT_EQ(b.accrued_minor + b.reversed_minor, b.pending_minor + b.payable_minor + b.paid_minor)
          << encode_record(OutputRecord{"", b});
      EXPECT_GE(b.held_minor, 0);
      EXPECT_LE(b.held_minor, std::max<MinorUnits>(b.pending_minor, 0));
    }
  }
  std::vector<std::string> reasons() const {
    std::vector<std::string> v;
    for (const auto& d : dead_letters()) v.push_back(d.reason);
    return v;
  }
};

TEST_F(RiskHolds, AFlaggedPeriodStaysPendingUntilReleasedThenMaturesByItsNormalRule) {
  const TimestampMs t = utc(2027, 1, 1, 10);
  // Day 1: p-inj wins two orders with clicks a second before them (fast 2/2 > 0.5);
  // p-ok one order with an hour-old click (below min_orders).
  feed({click("c1", t - 1000, "u1", "cmp", "affiliate", "p-inj"), order("o1", t, "u1", "O1", OrderStatus::kCompleted, 10000),
        click("c2", t - 1000, "u2", "cmp", "affiliate", "p-inj"), order("o2", t, "u2", "O2", OrderStatus::kCompleted, 20000),
        click("c3", t - kHour, "u3", "cmp", "affiliate", "p-ok"), order("o3", t, "u3", "O3", OrderStatus::kCompleted, 10000)});
  EXPECT_EQ(balances().at("p-inj|CNY").held_minor, 3000);
  EXPECT_EQ(balances().at("p-inj|CNY").pending_minor, 3000);
  EXPECT_EQ(balances().at("p-ok|CNY").held_minor, 0);
  // Day 3: past the holding period. p-ok's commission matures, p-inj's stays held.
  feed({click("c4", utc(2027, 1, 3, 12), "u9", "cmp", "organic")});
  auto b = balances();
  EXPECT_EQ(b.at("p-ok|CNY").payable_minor, 1000);
  EXPECT_EQ(b.at("p-inj|CNY").payable_minor, 0);
  EXPECT_EQ(b.at("p-inj|CNY").pending_minor, 3000);
  EXPECT_EQ(b.at("p-inj|CNY").held_minor, 3000);
  const RiskRecord final1 = all<RiskRecord>().back().partner_id == "p-inj" ? all<RiskRecord>().back()
                                                                            : all<RiskRecord>()[all<RiskRecord>().size() - 2];
  EXPECT_TRUE(final1.final);
  EXPECT_TRUE(final1.held);
  EXPECT_EQ(final1.flags, std::vector<std::string>{"click_injection"});
  // Held money is not payable: a payout of it is refused.
  feed({payout("po-1", utc(2027, 1, 3, 13), "p-inj", 1)});
  EXPECT_EQ(reasons(), std::vector<std::string>{"payout_exceeds_payable"});
  // Finance reviews and releases the period: it matures at once (its due time has passed).
  feed({release("rel-1", utc(2027, 1, 3, 14), "p-inj", "2027-01-01")});
  b = balances();
  EXPECT_EQ(b.at("p-inj|CNY").held_minor, 0);
  EXPECT_EQ(b.at("p-inj|CNY").pending_minor, 0);
  EXPECT_EQ(b.at("p-inj|CNY").payable_minor, 3000);
  const RiskRecord rev = all<RiskRecord>().back();
  EXPECT_EQ(rev.partner_id, "p-inj");
  EXPECT_TRUE(rev.released);
  EXPECT_FALSE(rev.held);
  EXPECT_EQ(rev.revision, 2);
  EXPECT_EQ(rev.flags, std::vector<std::string>{"click_injection"});  // still flagged, no longer held
  feed({payout("po-2", utc(2027, 1, 3, 15), "p-inj", 3000)});
  EXPECT_EQ(balances().at("p-inj|CNY").paid_minor, 3000);
  // A released period is not held again: a late fast order of 01-01 is payable at once.
  feed({click("c5", t - 500, "u5", "cmp", "affiliate", "p-inj"), order("o5", t, "u5", "O5", OrderStatus::kCompleted, 10000)});
  b = balances();
  EXPECT_EQ(b.at("p-inj|CNY").held_minor, 0);
  EXPECT_EQ(b.at("p-inj|CNY").payable_minor, 1000);
  // Refused releases: the same id again, a partner the topology lacks, a label that is no day.
  feed({release("rel-1", utc(2027, 1, 3, 16), "p-inj", "2027-01-01"), release("rel-2", utc(2027, 1, 3, 16), "p-nobody", "2027-01-01"),
        release("rel-3", utc(2027, 1, 3, 16), "p-inj", "2027-01")});
  EXPECT_EQ(reasons(), (std::vector<std::string>{"payout_exceeds_payable", "duplicate_release", "unknown_partner",
                                                 "bad_value:period"}));
  expect_invariant_everywhere();
}

TEST_F(RiskHolds, AHoldStartingAfterBookingMovesThePendingCommissionAndAReversalNetsInIt) {
  const TimestampMs t = utc(2027, 1, 1, 10);
  feed({click("c1", t - 1000, "u1", "cmp", "affiliate", "p-inj"), order("o1", t, "u1", "O1", OrderStatus::kCompleted, 10000)});
  EXPECT_EQ(balances().at("p-inj|CNY").held_minor, 0);  // one order: below min_orders
  feed({click("c2", t + 1000, "u2", "cmp", "affiliate", "p-inj"),
        order("o2", t + 2000, "u2", "O2", OrderStatus::kCompleted, 10000),
        order("r1", t + 3000, "u1", "O1", OrderStatus::kRefunded, 10000, "CNY", 5000)});
  const auto b = balances().at("p-inj|CNY");
  EXPECT_EQ(b.held_minor, 1500);  // 1000 + 1000 - 500
  EXPECT_EQ(b.pending_minor, 1500);
  expect_invariant_everywhere();
}

TEST_F(RiskHolds, WithActionFlagNothingIsHeld) {
  use(R"(name: h
holding_period: 1d
risk: {min_orders: 2, max_fast_share: 0.5}
partners: [{id: p-inj, contract: {id: c-inj, type: percent, rate_bp: 1000}}]
)");
  const TimestampMs t = utc(2027, 1, 1, 10);
  feed({click("c1", t - 1000, "u1", "cmp", "affiliate", "p-inj"), order("o1", t, "u1", "O1", OrderStatus::kCompleted, 10000),
        click("c2", t - 1000, "u2", "cmp", "affiliate", "p-inj"), order("o2", t, "u2", "O2", OrderStatus::kCompleted, 10000),
        click("c3", utc(2027, 1, 3), "u9", "cmp", "organic")});
  EXPECT_EQ(all<RiskRecord>().back().flags, std::vector<std::string>{"click_injection"});
  EXPECT_FALSE(all<RiskRecord>().back().held);
  EXPECT_EQ(balances().at("p-inj|CNY").payable_minor, 2000);
  EXPECT_EQ(balances().at("p-inj|CNY").held_minor, 0);
}

// ---- The risk_release decoder ----

TEST(RiskReleaseDecoder, DecodesOnThePayoutsTopicAndInFilesAndDeadLettersBadOnes) {
  EventDecoder d;
  auto ok = d.decode(R"({"type":"risk_release","release_id":"rel-1","ts":1,"partner_id":"p","period":"2027-01"})",
                     EventKind::kPayout);
  ASSERT_TRUE(ok.ok()) << ok.reason << " " << ok.detail;
  EXPECT_EQ(ok.event->kind(), EventKind::kRiskRelease);
  EXPECT_EQ(ok.event->event_id, "rel-1");
  EXPECT_EQ(std::get<RiskRelease>(ok.event->body).period, "2027-01");
  EXPECT_TRUE(d.decode(R"({"type":"risk_release","release_id":"r","ts":1,"partner_id":"p","period":"2027-01","reference":"x"})",
                       std::nullopt)
                  .ok());
  auto reason = [&](std::string_view json, std::optional<EventKind> topic = std::nullopt) {
    return d.decode(json, topic).reason;
  };
  EXPECT_EQ(reason(R"({"type":"risk_release","ts":1,"partner_id":"p","period":"2027-01"})"), "missing_field:release_id");
  EXPECT_EQ(reason(R"({"type":"risk_release","release_id":"r","ts":1,"period":"2027-01"})"), "missing_field:partner_id");
  EXPECT_EQ(reason(R"({"type":"risk_release","release_id":"r","ts":1,"partner_id":"p"})"), "missing_field:period");
  EXPECT_EQ(reason(R"({"type":"risk_release","release_id":"r","ts":1,"partner_id":"p","period":202701})"),
            "wrong_type:period");
  EXPECT_EQ(reason(R"({"type":"risk_release","release_id":"r","event_id":"s","ts":1,"partner_id":"p","period":"2027-01"})"),
            "bad_value:event_id");
  EXPECT_EQ(reason(R"({"type":"risk_release","release_id":"r","ts":"soon","partner_id":"p","period":"2027-01"})"),
            "bad_timestamp");
  // A release belongs on the payouts topic, not on a user input's.
  EXPECT_EQ(reason(R"({"type":"risk_release","release_id":"r","ts":1,"partner_id":"p","period":"2027-01"})",
                   EventKind::kClick),
            "type_mismatch");
}

// ---- The risk: block ----

std::string error_of(const std::string& yaml) {
  try {
    parse_topology(yaml, "topologies/x.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(RiskTopology, DefaultsFollowTheSpecAndValuesAreExact) {
  const Topology d = parse_topology("name: t\n", "t.yaml");
  EXPECT_EQ(d.risk.action, RiskAction::kFlag);
  EXPECT_EQ(d.risk.min_ctit, 10'000);
  EXPECT_EQ(d.risk.max_fast_share_ppm, 300'000);
  EXPECT_EQ(d.risk.max_clicks_per_user_ppm, 20'000'000);
  EXPECT_EQ(d.risk.max_reversal_rate_ppm, 500'000);
  EXPECT_EQ(d.risk.min_orders, 20);
  EXPECT_EQ(d.risk.min_click_users, 20);
  EXPECT_EQ(d.outputs.risk, "t.partner-risk");
  const Topology t = parse_topology(R"(name: t
outputs: {risk: fraud.signals}
risk: {action: hold, min_ctit: 0s, max_fast_share: 0.123456, max_clicks_per_user: 7.5, max_reversal_rate: 1,
       min_orders: 1, min_click_users: 3}
)",
                                    "t.yaml");
  EXPECT_EQ(t.outputs.risk, "fraud.signals");
  EXPECT_EQ(t.risk.action, RiskAction::kHold);
  EXPECT_EQ(t.risk.min_ctit, 0);
  EXPECT_EQ(t.risk.max_fast_share_ppm, 123'456);
  EXPECT_EQ(t.risk.max_clicks_per_user_ppm, 7'500'000);
  EXPECT_EQ(t.risk.max_reversal_rate_ppm, 1'000'000);
  EXPECT_EQ(t.risk.min_click_users, 3);
}

TEST(RiskTopology, ErrorsNameTheFileTheKeyAndTheFix) {
  EXPECT_THAT(error_of("name: t\nrisk: {action: block}\n"),
              ::testing::AllOf(HasSubstr("topologies/x.yaml"), HasSubstr("risk.action"), HasSubstr("flag, hold")));
  EXPECT_THAT(error_of("name: t\nrisk: {max_fast_share: 0.1234567}\n"),
              ::testing::AllOf(HasSubstr("risk.max_fast_share"), HasSubstr("more than 6 decimal places")));
  EXPECT_THAT(error_of("name: t\nrisk: {max_fast_share: 1.5}\n"),
              ::testing::AllOf(HasSubstr("risk.max_fast_share"), HasSubstr("above the largest valid value 1")));
  EXPECT_THAT(error_of("name: t\nrisk: {max_reversal_rate: -0.1}\n"),
              ::testing::AllOf(HasSubstr("risk.max_reversal_rate"), HasSubstr("not a non-negative decimal")));
  EXPECT_THAT(error_of("name: t\nrisk: {max_clicks_per_user: 1e3}\n"), HasSubstr("risk.max_clicks_per_user"));
  EXPECT_THAT(error_of("name: t\nrisk: {min_orders: 0}\n"), HasSubstr("risk.min_orders: must be between 1"));
  EXPECT_THAT(error_of("name: t\nrisk: {min_ctit: 10}\n"), HasSubstr("risk.min_ctit: bad duration"));
  EXPECT_THAT(error_of("name: t\nrisk: {min_user: 3}\n"),
              ::testing::AllOf(HasSubstr("risk.min_user"), HasSubstr("min_click_users")));
  EXPECT_THAT(error_of("name: t\nrisk: [flag]\n"), HasSubstr("risk: must be a map"));
  EXPECT_THAT(error_of("name: t\noutputs: {risk: t.partner-balances}\n"),
              ::testing::AllOf(HasSubstr("outputs.risk"), HasSubstr("is also outputs.balances")));
}

}  // namespace
}  // namespace alliance::testing

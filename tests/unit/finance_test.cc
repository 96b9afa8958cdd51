// The finance lifecycle of SPEC §3.8 / §5.5 (issue 14): pending -> payable
// -> paid, clawbacks, refused payouts, reversals at the rates that were
// paid, and a property test over seeded random streams: the invariant
// accrued + reversed = pending + payable + paid in every balance record,
// balances reconciling with the statements, and fully cancelled orders
// leaving no commission behind.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "alliance/codec/event_decoder.h"
#include "alliance/codec/record_encoder.h"
#include "alliance/core/partitioned_core.h"
#include "processor_fixture.h"

namespace alliance::testing {
namespace {

Event payout(std::string id, TimestampMs ts, std::string partner, MinorUnits amount, std::string currency = "CNY") {
  return Event{id, ts, "", Payout{id, std::move(partner), amount, std::move(currency), {}, {}}};
}

TimestampMs utc(int y, unsigned m, unsigned d, int hour = 0) {
  return days_from_civil(y, m, d) * kDay + hour * kHour;
}

/// The last balance record per partner|currency.
std::map<std::string, BalanceRecord> latest_balances(const std::vector<OutputRecord>& out) {
  std::map<std::string, BalanceRecord> m;
  for (const auto& r : out)
    if (const auto* b = std::get_if<BalanceRecord>(&r.body)) m[r.key] = *b;
  return m;
}

/// Σ commission of the latest final statement of every period, per partner|currency.
std::map<std::string, MinorUnits> statement_commission(const std::vector<OutputRecord>& out) {
  std::map<std::string, StatementRecord> latest;
  for (const auto& r : out)
    if (const auto* s = std::get_if<StatementRecord>(&r.body); s != nullptr && s->final) latest[r.key] = *s;
  std::map<std::string, MinorUnits> sum;
  for (const auto& [k, s] : latest) sum[s.partner_id + "|" + s.currency] += s.commission_minor.value_or(0);
  return sum;
}

void expect_invariant(const BalanceRecord& b) {
  EXPECT_EQ(b.accrued_minor + b.reversed_minor, b.pending_minor + b.payable_minor + b.paid_minor)
      << encode_record(OutputRecord{"", b});
  EXPECT_LE(b.reversed_minor, 0);
  EXPECT_GE(b.accrued_minor, 0);
  EXPECT_GE(b.paid_minor, 0);
}

constexpr const char* kFinanceTopology = R"(name: f
holding_period: 30d
campaigns: [{id: cmp-spring}, {id: cmp-other}]
partners:
  - {id: p-books, contract: {id: c-books, type: percent, rate_bp: 1000}}
  - {id: p-travel, contract: {id: c-travel, type: flat, per_conversion_minor: 500, holding_period: 0s}}
  - {id: p-bank, contract: {id: c-bank, type: tiered,
               tiers: [{up_to_minor: 1000000, rate_bp: 500}, {rate_bp: 800}]}}
pools:
  - {id: pool-spring, campaign_id: cmp-spring, pool_bp: 200,
     members: [{partner_id: p-books, weight: 40}, {partner_id: p-travel, weight: 30},
               {partner_id: p-bank, weight: 30}]}
)";

class FinanceTest : public ProcessorTest {
 protected:
  void SetUp() override { use(kFinanceTopology); }
  BalanceRecord balance(const std::string& key) {
    auto m = latest_balances(outputs_);
    EXPECT_EQ(m.count(key), 1u) << key;
    return m[key];
  }
};

TEST_F(FinanceTest, CommissionIsPendingThenPayableThenPaidAndClawedBackAfterARefund) {
  const TimestampMs t = utc(2027, 1, 1, 10);
  feed({click("c1", t, "u1", "cmp-other", "affiliate", "p-books"),
        order("o1", t + kMin, "u1", "o1", OrderStatus::kCompleted, 100'000)});
  BalanceRecord b = balance("p-books|CNY");
  EXPECT_EQ(b.accrued_minor, 10'000);
  EXPECT_EQ(b.pending_minor, 10'000);  // inside the 30-day holding period
  EXPECT_EQ(b.payable_minor, 0);
  // A payout may not take what is still pending.
  feed({payout("po-early", t + kHour, "p-books", 1)});
  ASSERT_EQ(dead_letters().size(), 1u);
  EXPECT_EQ(dead_letters()[0].reason, "payout_exceeds_payable");
  // The watermark passes completion + 30 d: payable.
  feed({click("c2", t + 31 * kDay, "u2", "cmp-other", "organic")});
  b = balance("p-books|CNY");
  EXPECT_EQ(b.pending_minor, 0);
  EXPECT_EQ(b.payable_minor, 10'000);
  feed({payout("po-1", t + 31 * kDay, "p-books", 6'000)});
  b = balance("p-books|CNY");
  EXPECT_EQ(b.payable_minor, 4'000);
  EXPECT_EQ(b.paid_minor, 6'000);
  EXPECT_EQ(b.last_payout_id, "po-1");
  // A refund of half after the payout: -5000 of commission from payable,
  // which goes negative: a clawback netted against the next payout.
  feed({order("o1-r", t + 32 * kDay, "u1", "o1", OrderStatus::kRefunded, 100'000, "CNY", 50'000)});
  b = balance("p-books|CNY");
  EXPECT_EQ(b.reversed_minor, -5'000);
  EXPECT_EQ(b.payable_minor, -1'000);
  EXPECT_EQ(b.paid_minor, 6'000);
  expect_invariant(b);
  // Refused payouts: too much, the same id again, a partner nobody knows.
  feed({payout("po-2", t + 33 * kDay, "p-books", 1), payout("po-1", t + 33 * kDay, "p-books", 0),
        payout("po-3", t + 33 * kDay, "p-nobody", 0)});
  const auto dl = dead_letters();
  ASSERT_EQ(dl.size(), 4u);
  EXPECT_EQ(dl[1].reason, "payout_exceeds_payable");
  EXPECT_EQ(dl[2].reason, "duplicate_payout");
  EXPECT_EQ(dl[3].reason, "unknown_partner");
  EXPECT_EQ(balance("p-books|CNY").paid_minor, 6'000);
}

TEST_F(FinanceTest, AZeroHoldingPeriodMakesCommissionPayableAtOnce) {
  const TimestampMs t = utc(2027, 1, 1, 10);
  feed({click("c1", t, "u1", "cmp-other", "affiliate", "p-travel"),
        order("o1", t + kMin, "u1", "o1", OrderStatus::kCompleted, 100'000)});
  const BalanceRecord b = balance("p-travel|CNY");
  EXPECT_EQ(b.accrued_minor, 500);
  EXPECT_EQ(b.payable_minor, 500);
  EXPECT_EQ(b.pending_minor, 0);
}

TEST_F(FinanceTest, APayoutMayTakeWhatTheWatermarkMaturedByItsTime) {
  const TimestampMs t = utc(2027, 1, 1, 10);
  feed({click("c1", t, "u1", "cmp-other", "affiliate", "p-books"),
        order("o1", t + kMin, "u1", "o1", OrderStatus::kCompleted, 100'000),
        // the stream passes the holding period: the commission matured
        click("c2", t + 31 * kDay, "u2", "cmp-other", "organic"),
        payout("po-1", t + 31 * kDay, "p-books", 10'000)});
  EXPECT_TRUE(dead_letters().empty());
  const BalanceRecord b = balance("p-books|CNY");
  EXPECT_EQ(b.paid_minor, 10'000);
  EXPECT_EQ(b.payable_minor, 0);
  EXPECT_EQ(b.pending_minor, 0);
}

// Issue 20 item 10: a payout's own time matures nothing beyond the
// watermark; a payout dated 9999-12-30 used to pay commission the stream
// had not matured.
TEST_F(FinanceTest, APayoutDatedInTheFutureMaturesNothingBeyondTheWatermark) {
  const TimestampMs t = utc(2027, 1, 1, 10);
  feed({click("c1", t, "u1", "cmp-other", "affiliate", "p-books"),
        order("o1", t + kMin, "u1", "o1", OrderStatus::kCompleted, 100'000),
        payout("po-far", utc(9999, 12, 30), "p-books", 10'000),
        payout("po-31d", t + 31 * kDay, "p-books", 10'000)});
  ASSERT_EQ(dead_letters().size(), 2u);
  for (const DeadLetter& dl : dead_letters()) EXPECT_EQ(dl.reason, "payout_exceeds_payable") << dl.detail;
  const BalanceRecord b = balance("p-books|CNY");
  EXPECT_EQ(b.pending_minor, 10'000);
  EXPECT_EQ(b.paid_minor, 0);
  EXPECT_EQ(b.watermark, t + kMin - 5000);
}

// Issue 20 item 1: the end-of-input flush closes windows and periods but
// matures nothing (SPEC §3.8): it used to move the watermark to +infinity,
// so a payout batch from a replay paid commission still in its holding
// period.
TEST_F(FinanceTest, TheEndOfInputFlushMaturesNothing) {
  const TimestampMs t = utc(2027, 1, 1, 10);
  feed({click("c1", t, "u1", "cmp-other", "affiliate", "p-books"),
        order("o1", t + kMin, "u1", "o1", OrderStatus::kCompleted, 100'000)});
  finish();
  const BalanceRecord b = balance("p-books|CNY");
  EXPECT_EQ(b.accrued_minor, 10'000);
  EXPECT_EQ(b.pending_minor, 10'000);
  EXPECT_EQ(b.payable_minor, 0);
  EXPECT_EQ(b.watermark, t + kMin - 5000);  // the events' watermark, not INT64_MAX
  // ... while the flush did close the period.
  EXPECT_EQ(final_statements().at("p-books|2027-01-01|CNY").commission_minor, 10'000);
  // A payout dated after the holding period still cannot take it: the
  // stream never got there.
  const Event po = payout("po-1", t + 40 * kDay, "p-books", 1);
  const auto refusal = processor_->ledger().balances().pay(std::get<Payout>(po.body), po.ts);
  ASSERT_TRUE(refusal.has_value());
  EXPECT_EQ(refusal->reason, "payout_exceeds_payable");
}

// Issue 20 item 15: no sentinel in a record: before any event the
// watermark of a balance is 0, not INT64_MIN.
TEST_F(FinanceTest, ABalanceRecordBeforeAnyEventCarriesARealWatermark) {
  feed({payout("po-0", utc(2027, 1, 1), "p-books", 0)});
  EXPECT_TRUE(dead_letters().empty());
  const BalanceRecord b = balance("p-books|CNY");
  EXPECT_EQ(b.watermark, 0);
  EXPECT_EQ(b.paid_minor, 0);
  const std::string json = encode_record(OutputRecord{"p-books|CNY", b});
  EXPECT_EQ(json.find("-9223372036854775808"), std::string::npos) << json;
}

// The audit case of issue 14: a tiered p-bank order of 1 200 000 completed on
// 01-01 and cancelled on 01-02 used to leave 60 000 of commission (upper
// tier plus pool share accrued, first tier and no pool share reversed).
TEST_F(FinanceTest, ATieredOrderCancelledTheNextDayLeavesNoCommissionPoolSharesIncluded) {
  const TimestampMs t = utc(2027, 1, 1, 10);
  feed({click("c1", t, "u1", "cmp-spring", "affiliate", "p-bank"),
        order("o1", t + kMin, "u1", "o1", OrderStatus::kCompleted, 1'200'000),
        // traffic after midnight closes 01-01: its commission enters the balance
        click("c9", utc(2027, 1, 2, 1), "u9", "cmp-other", "organic")});
  EXPECT_EQ(balance("p-bank|CNY").pending_minor, 120'000);
  feed({order("o1-x", utc(2027, 1, 2, 10), "u1", "o1", OrderStatus::kCancelled, 1'200'000)});
  finish();
  const auto finals = final_statements();
  const StatementRecord& jan1 = finals.at("p-bank|2027-01-01|CNY");
  EXPECT_EQ(jan1.rate_bp, 800);  // the tier it was paid at
  EXPECT_EQ(jan1.commission_minor, 0);
  EXPECT_EQ(jan1.contract_id, "c-bank");
  EXPECT_EQ(jan1.period_start, utc(2027, 1, 1));
  EXPECT_EQ(jan1.period_end, utc(2027, 1, 2));
  EXPECT_EQ(finals.at("p-bank|2027-01-02|CNY").commission_minor, 0);
  EXPECT_EQ(statement_commission(outputs_).at("p-bank|CNY"), 0);
  // Before the cancel the 01-01 statement carried 96 000 + 24 000 of pool.
  bool saw_paid = false;
  for (const auto& s : all<StatementRecord>())
    if (s.period == "2027-01-01" && s.final && s.revision == 1) saw_paid = s.commission_minor == 120'000;
  EXPECT_TRUE(saw_paid);
  const BalanceRecord b = balance("p-bank|CNY");
  EXPECT_EQ(b.accrued_minor + b.reversed_minor, 0);
  EXPECT_EQ(b.accrued_minor, 120'000);
  EXPECT_EQ(b.pending_minor + b.payable_minor, 0);
  expect_invariant(b);
}

TEST_F(FinanceTest, AReversalOfAnEarlierPeriodIsChargedAtThatPeriodsTierNotAtTheNewOne) {
  const TimestampMs t = utc(2027, 1, 1, 10);
  feed({click("c1", t, "u1", "cmp-other", "affiliate", "p-bank"),
        order("o1", t + kMin, "u1", "o1", OrderStatus::kCompleted, 1'200'000),
        click("c2", t + 2 * kMin, "u2", "cmp-other", "affiliate", "p-bank"),
        order("o2", t + 3 * kMin, "u2", "o2", OrderStatus::kCompleted, 300'000)});
  feed({order("o1-x", utc(2027, 1, 2, 10), "u1", "o1", OrderStatus::kCancelled, 1'200'000)});
  finish();
  const auto finals = final_statements();
  // 01-01 reached the 800 bp tier with 1 500 000; o1 is taken out at 800 bp
  // and o2 keeps its 800 bp: 300 000 * 8 % = 24 000.
  EXPECT_EQ(finals.at("p-bank|2027-01-01|CNY").rate_bp, 800);
  EXPECT_EQ(finals.at("p-bank|2027-01-01|CNY").commission_minor, 24'000);
  EXPECT_EQ(finals.at("p-bank|2027-01-02|CNY").commission_minor, 0);
  EXPECT_EQ(finals.at("p-bank|2027-01-02|CNY").reversed_minor, -1'200'000);
  EXPECT_EQ(balance("p-bank|CNY").accrued_minor + balance("p-bank|CNY").reversed_minor, 24'000);
}

TEST(FinancePeriods, WeekAndMonthLabelsAndBounds) {
  const DurationMs plus8 = 8 * kHour;
  // 2027-01-01 is a Friday: ISO week 2026-W53 (its Thursday is 2026-12-31).
  const TimestampMs fri = utc(2027, 1, 1, 10);
  EXPECT_EQ(period_of(fri, 0, PeriodUnit::kWeek), "2026-W53");
  EXPECT_EQ(period_start(fri, 0, PeriodUnit::kWeek), utc(2026, 12, 28));
  EXPECT_EQ(period_end(fri, 0, PeriodUnit::kWeek), utc(2027, 1, 4));
  EXPECT_EQ(period_of(utc(2027, 1, 4, 1), 0, PeriodUnit::kWeek), "2027-W01");
  EXPECT_EQ(period_of(utc(2026, 11, 20, 10), 0, PeriodUnit::kWeek), "2026-W47");
  EXPECT_EQ(period_of(fri, 0, PeriodUnit::kMonth), "2027-01");
  EXPECT_EQ(period_start(fri, 0, PeriodUnit::kMonth), utc(2027, 1, 1));
  EXPECT_EQ(period_end(utc(2027, 12, 31, 10), 0, PeriodUnit::kMonth), utc(2028, 1, 1));
  // In +08:00, 2027-01-31T16:00Z is already February.
  EXPECT_EQ(period_of(utc(2027, 1, 31, 16), plus8, PeriodUnit::kMonth), "2027-02");
  EXPECT_EQ(period_end(utc(2027, 1, 31, 15), plus8, PeriodUnit::kMonth), utc(2027, 1, 31, 16));
  EXPECT_EQ(period_of(utc(2028, 2, 29, 10), 0, PeriodUnit::kMonth), "2028-02");
  EXPECT_EQ(period_end(utc(2028, 2, 29, 10), 0, PeriodUnit::kMonth), utc(2028, 3, 1));
}

TEST_F(FinanceTest, MonthlyStatementsUseMonthLabels) {
  use(std::string(kFinanceTopology) + "settlement_period: month\n");
  const TimestampMs t = utc(2027, 1, 10, 10);
  feed({click("c1", t, "u1", "cmp-other", "affiliate", "p-books"),
        order("o1", t + kMin, "u1", "o1", OrderStatus::kCompleted, 100'000),
        order("o1-r", utc(2027, 2, 3), "u1", "o1", OrderStatus::kRefunded, 100'000, "CNY", 100'000)});
  finish();
  const auto s = settlements();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].period, "2027-01");
  EXPECT_EQ(s[1].period, "2027-02");
  const auto finals = final_statements();
  EXPECT_EQ(finals.at("p-books|2027-01|CNY").period_end, utc(2027, 2, 1));
}

// --- property test over random streams -------------------------------------

struct StreamShape {
  std::uint64_t seed;
  bool cancel_everything;  // every completed order is fully cancelled at the end
};

/// A seeded random stream over the finance topology: clicks of partnered and
/// unpartnered traffic, completions, partial refunds and cancels spanning
/// periods, and payouts (valid, too large, repeated, unknown partner).
std::vector<Event> random_stream(std::mt19937_64& rng, bool cancel_everything) {
  const std::vector<std::string> partners{"p-books", "p-travel", "p-bank", "p-unknown", ""};
  const std::vector<std::string> currencies{"CNY", "CNY", "USD"};
  std::vector<Event> out;
  struct Open {
    std::string user, currency;
    MinorUnits amount, refunded;
  };
  std::map<std::string, Open> completed;
  TimestampMs t = utc(2027, 1, 1) + static_cast<TimestampMs>(rng() % kDay);
  int n = 0;
  auto id = [&](const char* p) { return std::string(p) + std::to_string(n++); };
  for (int i = 0; i < 400; ++i) {
    t += static_cast<TimestampMs>(rng() % (8 * kHour));
    const std::string user = "u" + std::to_string(rng() % 25);
    switch (rng() % 7) {
      case 0:
      case 1: {
        const std::string& p = partners[rng() % partners.size()];
        out.push_back(click(id("c"), t, user, rng() % 2 ? "cmp-spring" : "cmp-other", "affiliate",
                            p.empty() ? std::nullopt : std::optional<std::string>(p)));
        break;
      }
      case 2:
      case 3: {
        const std::string oid = id("o");
        const std::string& cur = currencies[rng() % currencies.size()];
        const MinorUnits amount = 1 + static_cast<MinorUnits>(rng() % 2'000'000);
        out.push_back(order(id("e"), t, user, oid, OrderStatus::kCompleted, amount, cur));
        completed[oid] = {user, cur, amount, 0};
        break;
      }
      case 4: {
        if (completed.empty()) break;
        auto it = std::next(completed.begin(), static_cast<long>(rng() % completed.size()));
        Open& o = it->second;
        const MinorUnits left = o.amount - o.refunded;
        if (left <= 0) break;
        if (rng() % 3 == 0) {
          out.push_back(order(id("e"), t, o.user, it->first, OrderStatus::kCancelled, o.amount, o.currency));
          completed.erase(it);
        } else {
          const MinorUnits r = 1 + static_cast<MinorUnits>(rng() % static_cast<std::uint64_t>(left));
          out.push_back(order(id("e"), t, o.user, it->first, OrderStatus::kRefunded, o.amount, o.currency, r));
          o.refunded += r;
        }
        break;
      }
      case 5: {
        const std::string& p = partners[rng() % 4];
        const MinorUnits amount = static_cast<MinorUnits>(rng() % 40'000);
        std::string pid = rng() % 10 == 0 && n > 0 ? "po" + std::to_string(rng() % n) : id("po");
        out.push_back(payout(pid, t, p, amount, currencies[rng() % currencies.size()]));
        break;
      }
      default: break;
    }
  }
  if (cancel_everything) {
    for (const auto& [oid, o] : completed) {
      t += static_cast<TimestampMs>(rng() % (3 * kDay));
      out.push_back(order(id("e"), t, o.user, oid, OrderStatus::kCancelled, o.amount, o.currency));
    }
  }
  return out;
}

class FinanceProperty : public ::testing::TestWithParam<StreamShape> {};

TEST_P(FinanceProperty, InvariantInEveryRecordAndBalancesReconcileWithStatements) {
  std::mt19937_64 rng(GetParam().seed);
  const std::vector<std::string> holdings{"0s", "1d", "30d"};
  const std::vector<std::string> periods{"day", "week", "month"};
  const std::string yaml = std::string(kFinanceTopology) + "holding_period: " + holdings[rng() % 3] +
                           "\nsettlement_period: " + periods[rng() % 3] + "\n";
  std::string with_default_holding = yaml;
  // the fixture topology already names holding_period: keep the random one only
  with_default_holding.replace(with_default_holding.find("holding_period: 30d\n"), 20, "");
  const Topology topology = parse_topology(with_default_holding, "property.yaml");
  const std::vector<Event> events = random_stream(rng, GetParam().cancel_everything);

  for (const std::int32_t partitions : {1, 3}) {
    SCOPED_TRACE("partitions " + std::to_string(partitions));
    std::vector<OutputRecord> out;
    if (partitions == 1) {
      Processor p(topology);
      p.track_changes(false);
      std::int64_t offset = 0;
      for (const Event& e : events) {
        p.process(e, {"in", 0, offset++}, "raw");
        if (rng() % 13 == 0) p.end_cycle(true);
        for (auto& r : p.take_outputs()) out.push_back(std::move(r));
      }
      p.finish();
      for (auto& r : p.take_outputs()) out.push_back(std::move(r));
    } else {
      PartitionedCore core(topology, partitions);
      std::int64_t offset = 0;
      for (const Event& e : events) {
        core.process(e, {"in", 0, offset++}, "raw");
        if (rng() % 13 == 0) core.flush();
      }
      core.finish();
      out = core.take_outputs();
    }
    std::int64_t balance_records = 0;
    for (const auto& r : out) {
      if (const auto* b = std::get_if<BalanceRecord>(&r.body)) {
        expect_invariant(*b);
        ++balance_records;
      }
    }
    EXPECT_GT(balance_records, 0);
    // At the end every period is closed (the flush), but only what the
    // events' watermark matured is payable (SPEC §3.8); each balance is
    // what its statements say.
    const auto balances = latest_balances(out);
    const auto statements = statement_commission(out);
    for (const auto& [key, b] : balances) {
      const auto it = statements.find(key);
      EXPECT_EQ(b.accrued_minor + b.reversed_minor, it == statements.end() ? 0 : it->second) << key;
    }
    for (const auto& [key, commission] : statements) {
      if (key.rfind("p-unknown", 0) == 0) continue;  // no contract: null commission
      EXPECT_EQ(balances.count(key) != 0 || commission == 0, true) << key;
    }
    if (GetParam().cancel_everything) {
      // A fully cancelled order leaves no commission behind, whatever
      // periods it spans (SPEC §3.6), tiers and pool shares included.
      for (const auto& [key, commission] : statements) EXPECT_EQ(commission, 0) << key;
      for (const auto& [key, b] : balances) EXPECT_EQ(b.accrued_minor + b.reversed_minor, 0) << key;
    }
  }
}

std::vector<StreamShape> shapes() {
  std::vector<StreamShape> v;
  for (std::uint64_t seed = 1; seed <= 24; ++seed) v.push_back({seed, seed % 2 == 0});
  return v;
}

INSTANTIATE_TEST_SUITE_P(Seeds, FinanceProperty, ::testing::ValuesIn(shapes()),
                         [](const auto& info) {
                           return "seed" + std::to_string(info.param.seed) +
                                  (info.param.cancel_everything ? "_cancelled" : "");
                         });

}  // namespace
}  // namespace alliance::testing

namespace alliance::testing {
namespace {

TEST(PayoutDecoding, APayoutNeedsNoUserAndItsEventIdIsItsPayoutId) {
  EventDecoder d;
  const DecodeResult ok = d.decode(
      R"({"type":"payout","payout_id":"po-1","ts":"2027-01-05T10:00:00+08:00","partner_id":"p-books",)"
      R"("amount_minor":300,"currency":"CNY","reference":"p-books:CNY:paid-to:300"})",
      std::nullopt);
  ASSERT_TRUE(ok.ok()) << ok.reason;
  EXPECT_EQ(ok.event->event_id, "po-1");
  EXPECT_EQ(ok.event->kind(), EventKind::kPayout);
  const auto& p = std::get<Payout>(ok.event->body);
  EXPECT_EQ(p.partner_id, "p-books");
  EXPECT_EQ(p.amount_minor, 300);
  EXPECT_EQ(p.reference, "p-books:CNY:paid-to:300");
  // On the payouts topic `type` may be left out.
  EXPECT_TRUE(d.decode(R"({"payout_id":"po-2","ts":1,"partner_id":"p","amount_minor":0,"currency":"USD"})",
                       EventKind::kPayout)
                  .ok());
}

TEST(PayoutDecoding, BadPayoutsGetTheirReasons) {
  EventDecoder d;
  auto reason = [&](std::string_view json) { return d.decode(json, std::nullopt).reason; };
  EXPECT_EQ(reason(R"({"type":"payout","ts":1,"partner_id":"p","amount_minor":1,"currency":"CNY"})"),
            "missing_field:payout_id");
  EXPECT_EQ(reason(R"({"type":"payout","payout_id":"a","ts":1,"partner_id":"p","currency":"CNY"})"),
            "missing_field:amount_minor");
  EXPECT_EQ(reason(R"({"type":"payout","payout_id":"a","ts":1,"partner_id":"p","amount_minor":-1,"currency":"CNY"})"),
            "bad_amount");
  EXPECT_EQ(reason(R"({"type":"payout","payout_id":"a","event_id":"b","ts":1,"partner_id":"p","amount_minor":1,"currency":"CNY"})"),
            "bad_value:event_id");
  EXPECT_EQ(reason(R"({"type":"payout","payout_id":"a","ts":1,"partner_id":"p","amount_minor":1,"currency":"cny"})"),
            "bad_value:currency");
  EXPECT_EQ(d.decode(R"({"type":"payout","payout_id":"a","ts":1,"partner_id":"p","amount_minor":1,"currency":"CNY"})",
                     EventKind::kOrder)
                .reason,
            "type_mismatch");
}

}  // namespace
}  // namespace alliance::testing

namespace alliance::testing {
namespace {

TEST(FinanceTopology, AContractsHoldingPeriodWinsOverTheTopologys) {
  const Topology t = parse_topology(
      "name: t\nholding_period: 14d\npartners:\n"
      "  - {id: a, contract: {id: ca, type: percent, rate_bp: 100, holding_period: 0s}}\n"
      "  - {id: b, contract: {id: cb, type: percent, rate_bp: 100, holding_period: 7d}}\n"
      "  - {id: c, contract: {id: cc, type: percent, rate_bp: 100}}\n",
      "t.yaml");
  EXPECT_EQ(t.holding_of("a"), 0);
  EXPECT_EQ(t.holding_of("b"), 7 * kDay);
  EXPECT_EQ(t.holding_of("c"), 14 * kDay);
  EXPECT_EQ(t.holding_of("nobody"), 14 * kDay);
  EXPECT_THROW(parse_topology("name: t\npartners: [{id: a, contract: {id: ca, type: flat, per_conversion_minor: 1, "
                              "holding_period: soon}}]\n",
                              "t.yaml"),
               ConfigError);
}

TEST(FinanceTopology, TheSampleTopologySettlesMonthly) {
  const Topology t = load_topology_file(std::string(ALLIANCE_SOURCE_DIR) + "/topologies/spring-alliance.yaml");
  EXPECT_EQ(t.settlement_period, SettlementPeriod::kMonth);
  EXPECT_EQ(t.holding_period, 30 * kDay);
  EXPECT_EQ(t.inputs.payouts, "alliance.payouts");
  EXPECT_EQ(t.outputs.balances, "alliance.partner-balances");
}

}  // namespace
}  // namespace alliance::testing

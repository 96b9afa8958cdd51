// The two-stage computation of a partitioned run (forwarded partials, stage 2
// sums, one ledger) against the single Processor: final records must match.
#include <random>
#include <set>

#include "processor_fixture.h"

#include "alliance/core/forward_record.h"
#include "alliance/core/metric_windows.h"
#include "alliance/core/partitioned_core.h"

namespace alliance::testing {
namespace {

constexpr const char* kTopology = R"(
name: t
attribution: {model: time_decay, half_life: 1h}
windows: [1m, 1h]
grace: 30s
settlement_tz: "+08:00"
campaigns: [{id: cmp-a, cost_minor: 100000, currency: CNY}, {id: cmp-b}]
churn_after: 30m  # buyers churn and come back within the traffic's hours
clv: {discount_rate: 0.07, periods: 4}
# Low thresholds, so the traffic raises every flag somewhere (partner risk).
risk: {action: hold, min_ctit: 5m, max_fast_share: 0.1, max_clicks_per_user: 2.5, max_reversal_rate: 0.1,
       min_orders: 3, min_click_users: 3}
partners:
  - {id: p-books, referral_codes: [BOOK10], contract: {id: c-books, type: percent, rate_bp: 1000}}
  - {id: p-travel, contract: {id: c-travel, type: flat, per_conversion_minor: 500}}
  - {id: p-bank, contract: {id: c-bank, type: tiered, tiers: [{up_to_minor: 100000, rate_bp: 500}, {rate_bp: 800}]}}
pools:
  - {id: pool, campaign_id: cmp-a, pool_bp: 300,
     members: [{partner_id: p-books, weight: 2}, {partner_id: p-travel, weight: 1}]}
)";

/// Deterministic mixed traffic: 40 users, clicks and referrals from three
/// partners, orders that complete, get refunded in parts or cancelled, in
/// two currencies, over several hours and settlement days; in time order.
std::vector<Event> traffic(std::size_t n) {
  std::mt19937_64 rng(42);
  const std::vector<std::string> partners{"p-books", "p-travel", "p-bank"};
  const std::vector<std::string> campaigns{"cmp-a", "cmp-b"};
  std::vector<Event> events;
  std::map<std::string, std::string> open_orders;  // order -> user
  std::vector<std::pair<std::string, std::string>> completed;
  TimestampMs ts = kT0;
  for (std::size_t i = 0; i < n; ++i) {
    ts += static_cast<TimestampMs>(rng() % 20'000);
    const std::string id = "e" + std::to_string(i);
    const std::string user = "u" + std::to_string(rng() % 40);
    const std::string& partner = partners[rng() % partners.size()];
    const std::string& campaign = campaigns[rng() % campaigns.size()];
    const auto r = rng() % 10;
    if (r < 4) {
      events.push_back(click(id, ts, user, campaign, r == 0 ? "social" : "affiliate", partner));
    } else if (r == 4) {
      events.push_back(referral(id, ts, user, partner, std::nullopt, campaign));
    } else if (r < 7) {
      const std::string oid = "o" + std::to_string(i);
      auto code = rng() % 5 == 0 ? std::optional<std::string>("BOOK10") : std::nullopt;
      events.push_back(order(id, ts, user, oid, OrderStatus::kCompleted, 1000 + static_cast<MinorUnits>(rng() % 50'000),
                             rng() % 4 == 0 ? "USD" : "CNY", std::nullopt, code));
      completed.emplace_back(oid, user);
      events.back().body = [&] {
        Order o = std::get<Order>(events.back().body);
        if (rng() % 2 == 0) o.campaign_id = campaign;
        return o;
      }();
    } else if (r == 7 && !completed.empty()) {
      const auto& [oid, u] = completed[rng() % completed.size()];
      const Event* placed = nullptr;
      for (const auto& e : events)
        if (const Order* o = std::get_if<Order>(&e.body); o != nullptr && o->order_id == oid) placed = &e;
      const Order& o = std::get<Order>(placed->body);
      events.push_back(order(id, ts, u, oid, OrderStatus::kRefunded, o.amount_minor, o.currency, o.amount_minor / 3));
    } else if (r == 8) {
      const std::string oid = "p" + std::to_string(i);
      events.push_back(order(id, ts, user, oid, OrderStatus::kPending, 5000));
      open_orders[oid] = user;
    } else if (!open_orders.empty()) {
      auto it = open_orders.begin();
      events.push_back(order(id, ts, it->second, it->first, rng() % 2 ? OrderStatus::kCompleted : OrderStatus::kCancelled, 5000));
      open_orders.erase(it);
    }
  }
  return events;
}

struct Finals {
  std::map<std::string, SettlementRecord> settlements;
  std::map<std::string, MetricRecord> metrics;        // final only, by output key (it has the currency)
  std::map<std::string, StatementRecord> statements;  // latest, revision cleared
  std::map<std::string, RiskRecord> risk;             // latest, revision and watermark cleared
  std::map<std::string, BalanceRecord> balances;      // latest, watermark cleared
};

void collect(std::vector<OutputRecord> out, Finals& f) {
  for (auto& r : out) {
    if (auto* s = std::get_if<SettlementRecord>(&r.body)) f.settlements[s->record_id] = *s;
    if (auto* m = std::get_if<MetricRecord>(&r.body); m != nullptr && m->final) {
      // The output key carries the currency (SPEC §5.2): one final record per key.
      ASSERT_TRUE(m->currency.has_value());
      ASSERT_TRUE(r.key.ends_with("|" + *m->currency)) << r.key;
      ASSERT_EQ(f.metrics.count(r.key), 0u) << "two final records under " << r.key;
      f.metrics[r.key] = *m;
    }
    if (auto* st = std::get_if<StatementRecord>(&r.body)) {
      StatementRecord copy = *st;
      copy.revision = 0;  // how often a statement was revised depends on when watermarks arrive
      f.statements[r.key] = copy;
    }
    if (auto* k = std::get_if<RiskRecord>(&r.body)) {
      RiskRecord copy = *k;
      copy.revision = 0;
      copy.watermark = 0;
      f.risk[r.key] = copy;
    }
    if (auto* b = std::get_if<BalanceRecord>(&r.body)) {
      BalanceRecord copy = *b;
      copy.watermark = 0;
      f.balances[r.key] = copy;
    }
    ASSERT_FALSE(std::holds_alternative<ForwardedRecord>(r.body)) << "a forward escaped to the outputs";
  }
}

bool same(const MetricRecord& a, const MetricRecord& b) {
  return a.clicks == b.clicks && a.unique_users == b.unique_users && a.referrals == b.referrals &&
         a.orders == b.orders && a.conversions_micros == b.conversions_micros && a.revenue_minor == b.revenue_minor &&
         a.refunds_minor == b.refunds_minor && a.late_events == b.late_events && a.buyers == b.buyers &&
         a.repeat_buyers == b.repeat_buyers && a.cost_minor == b.cost_minor && a.window_end == b.window_end &&
         a.churned_buyers == b.churned_buyers && a.ltv_minor == b.ltv_minor && a.clv_minor == b.clv_minor &&
         a.active_last_orders.empty() && b.active_last_orders.empty();
}

bool same(const StatementRecord& a, const StatementRecord& b) {
  return a.accrued_minor == b.accrued_minor && a.reversed_minor == b.reversed_minor && a.net_minor == b.net_minor &&
         a.commission_minor == b.commission_minor && a.pool_share_minor == b.pool_share_minor &&
         a.records == b.records && a.digest == b.digest && a.final == b.final;
}

class PartitionedCoreTest : public ::testing::TestWithParam<int> {};

TEST_P(PartitionedCoreTest, NPartitionsGiveTheFinalRecordsOfOne) {
  const Topology t = parse_topology(kTopology, "test.yaml");
  const auto events = traffic(3000);
  Finals one;
  {
    Processor p(t);
    for (std::size_t i = 0; i < events.size(); ++i) p.process(events[i], {"in", 0, static_cast<std::int64_t>(i)}, "raw");
    p.finish();
    collect(p.take_outputs(), one);
  }
  Finals split;
  PartitionedCore core(t, GetParam());
  for (std::size_t i = 0; i < events.size(); ++i) {
    core.process(events[i], {"in", 0, static_cast<std::int64_t>(i)}, "raw");
    if (i % 97 == 0) core.flush();  // a commit cycle: marks and deliveries
  }
  core.finish();
  collect(core.take_outputs(), split);

  ASSERT_GT(one.settlements.size(), 500u);
  ASSERT_GT(one.metrics.size(), 1000u);
  ASSERT_GT(one.statements.size(), 5u);
  EXPECT_EQ(core.stats().late_events, 0);  // in-order traffic: lateness cannot differ
  ASSERT_EQ(split.settlements.size(), one.settlements.size());
  for (const auto& [id, s] : one.settlements) {
    ASSERT_TRUE(split.settlements.count(id)) << id;
    EXPECT_EQ(split.settlements.at(id).attributed_minor, s.attributed_minor) << id;
    EXPECT_EQ(split.settlements.at(id).commission_minor, s.commission_minor) << id;
  }
  // The customer measures are exercised: sources' all records, churn, clv.
  std::int64_t churned = 0, source_alls = 0;
  for (const auto& [k, m] : one.metrics) {
    if (m.window_size != 0) continue;
    churned += m.churned_buyers;
    source_alls += m.dim == "source" ? 1 : 0;
    if (m.buyers > 0) {
      EXPECT_TRUE(m.clv_minor.has_value()) << k;
    }
  }
  EXPECT_GT(churned, 0);
  EXPECT_GT(source_alls, 2);
  ASSERT_EQ(split.metrics.size(), one.metrics.size());
  for (const auto& [k, m] : one.metrics) {
    ASSERT_TRUE(split.metrics.count(k)) << k;
    EXPECT_TRUE(same(split.metrics.at(k), m)) << k << ": users " << split.metrics.at(k).unique_users << " vs "
                                              << m.unique_users << ", clicks " << split.metrics.at(k).clicks
                                              << " vs " << m.clicks << ", churned " << split.metrics.at(k).churned_buyers
                                              << " vs " << m.churned_buyers;
  }
  ASSERT_EQ(split.statements.size(), one.statements.size());
  for (const auto& [k, s] : one.statements) {
    ASSERT_TRUE(split.statements.count(k)) << k;
    EXPECT_TRUE(same(split.statements.at(k), s)) << k << ": net " << split.statements.at(k).net_minor << " vs "
                                                 << s.net_minor << ", pool " << split.statements.at(k).pool_share_minor
                                                 << " vs " << s.pool_share_minor;
  }
}

bool same(const RiskRecord& a, const RiskRecord& b) {
  return a.credited_orders == b.credited_orders && a.fast_orders == b.fast_orders && a.clicks == b.clicks &&
         a.click_users == b.click_users && a.reversed_orders == b.reversed_orders && a.flags == b.flags &&
         a.held == b.held && a.released == b.released && a.final == b.final && a.period_start == b.period_start &&
         a.period_end == b.period_end;
}

// Partner risk (SPEC §3.9): flags are a function of the input, so N
// partitions give the risk records of one (distinct click users add up in
// stage 2 because users are partitioned), and the same held money.
TEST_P(PartitionedCoreTest, NPartitionsGiveThePartnerRiskOfOne) {
  const Topology t = parse_topology(kTopology, "test.yaml");
  const auto events = traffic(3000);
  Finals one;
  {
    Processor p(t);
    for (std::size_t i = 0; i < events.size(); ++i) {
      p.process(events[i], {"in", 0, static_cast<std::int64_t>(i)}, "raw");
      if (i % 97 == 0) p.end_cycle(true);
    }
    p.finish();
    collect(p.take_outputs(), one);
  }
  Finals split;
  PartitionedCore core(t, GetParam());
  for (std::size_t i = 0; i < events.size(); ++i) {
    core.process(events[i], {"in", 0, static_cast<std::int64_t>(i)}, "raw");
    if (i % 97 == 0) core.flush();
  }
  core.finish();
  collect(core.take_outputs(), split);

  ASSERT_GE(one.risk.size(), 3u);  // three partners, one settlement day
  std::set<std::string> flags;
  std::int64_t users = 0;
  for (const auto& [k, r] : one.risk) {
    EXPECT_TRUE(r.final) << k;
    for (const auto& f : r.flags) flags.insert(f);
    users += r.click_users;
  }
  EXPECT_EQ(flags, (std::set<std::string>{"click_injection", "click_spam", "refund_abuse"}));
  EXPECT_GT(users, 0);
  ASSERT_EQ(split.risk.size(), one.risk.size());
  for (const auto& [k, r] : one.risk) {
    ASSERT_TRUE(split.risk.count(k)) << k;
    EXPECT_TRUE(same(split.risk.at(k), r)) << k << ": users " << split.risk.at(k).click_users << " vs "
                                           << r.click_users << ", clicks " << split.risk.at(k).clicks << " vs "
                                           << r.clicks << ", held " << split.risk.at(k).held << " vs " << r.held;
  }
  MinorUnits held = 0;
  ASSERT_EQ(split.balances.size(), one.balances.size());
  for (const auto& [k, b] : one.balances) {
    ASSERT_TRUE(split.balances.count(k)) << k;
    EXPECT_EQ(split.balances.at(k).held_minor, b.held_minor) << k;
    EXPECT_EQ(split.balances.at(k).pending_minor, b.pending_minor) << k;
    EXPECT_EQ(split.balances.at(k).payable_minor, b.payable_minor) << k;
    held += b.held_minor;
  }
  EXPECT_GT(held, 0);  // the holds are exercised
}

INSTANTIATE_TEST_SUITE_P(Partitions, PartitionedCoreTest, ::testing::Values(1, 2, 3, 7));

std::string settlement_forward(std::int32_t source, const std::string& id, MinorUnits amount) {
  Forward f;
  f.source = source;
  SettlementRecord r;
  r.record_id = id;
  r.order_id = id;
  r.partner_id = "p-books";
  r.attributed_minor = amount;
  r.commission_minor = amount / 10;
  r.currency = "CNY";
  r.event_ts = kT0;
  r.period = "2026-11-20";
  r.campaign_id = "cmp-a";
  f.body = r;
  return encode_forward(f);
}

std::string mark(std::int32_t source, TimestampMs wm, bool finished = false) {
  Forward f;
  f.source = source;
  f.body = WatermarkMark{wm, wm, finished};
  return encode_forward(f);
}

TEST(AggregateStageTest, AResentRecordIsAppliedOnce) {
  const Topology t = parse_topology(kTopology, "test.yaml");
  AggregateStage stage(t, 2);
  std::vector<OutputRecord> out;
  EXPECT_TRUE(stage.accept(0, settlement_forward(0, "o1:accrual:0:p-books", 700), out));
  EXPECT_TRUE(stage.accept(1, settlement_forward(0, "o2:accrual:0:p-books", 300), out));
  // After a crash the source's outbox sends both again with the same sequence numbers.
  EXPECT_FALSE(stage.accept(0, settlement_forward(0, "o1:accrual:0:p-books", 700), out));
  EXPECT_FALSE(stage.accept(1, settlement_forward(0, "o2:accrual:0:p-books", 300), out));
  // Sequence numbers are per source: source 1's 0 is new.
  EXPECT_TRUE(stage.accept(0, settlement_forward(1, "o3:accrual:0:p-books", 5), out));
  const StatementState* s = stage.ledger().statements().find(statement_key("2026-11-20", "p-books", "CNY"));
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->accrued_minor, 1005);
  EXPECT_EQ(s->record_ids.size(), 3u);
}

TEST(AggregateStageTest, NothingIsFinalUntilEverySourceMarkedPastIt) {
  const Topology t = parse_topology(kTopology, "test.yaml");
  AggregateStage stage(t, 2);
  std::vector<OutputRecord> out;
  stage.accept(0, settlement_forward(0, "o1:accrual:0:p-books", 700), out);
  stage.accept(1, mark(0, kEndOfTime - 1), out);
  EXPECT_EQ(stage.watermark(), INT64_MIN) << "source 1 was never heard from";
  for (const auto& r : out)
    if (const auto* st = std::get_if<StatementRecord>(&r.body)) {
      EXPECT_FALSE(st->final);
    }
  out.clear();
  stage.accept(0, mark(1, kT0 + 86'400'000 * 3), out);
  EXPECT_EQ(stage.watermark(), kT0 + 86'400'000 * 3);
  bool final_statement = false;
  for (const auto& r : out)
    if (const auto* st = std::get_if<StatementRecord>(&r.body)) final_statement = final_statement || st->final;
  EXPECT_TRUE(final_statement);
}

TEST(AggregateStageTest, PartialsSumCountsOncePerSourceAndMoneyPerCurrency) {
  const Topology t = parse_topology(kTopology, "test.yaml");
  AggregateStage stage(t, 2);
  auto partial = [](std::int32_t source, const char* currency, MinorUnits revenue) {
    MetricRecord m;
    m.dim = "source";
    m.key = "social";
    m.window_start = kT0;
    m.window_end = kT0 + 60'000;
    m.window_size = 60'000;
    m.clicks = 2 + source;
    m.unique_users = 1 + source;
    m.orders = 1;
    m.currency = currency;
    m.revenue_minor = revenue;
    Forward f;
    f.source = source;
    f.body = m;
    return encode_forward(f);
  };
  std::vector<OutputRecord> out;
  stage.accept(0, partial(0, "CNY", 100), out);
  stage.accept(1, partial(0, "USD", 7), out);
  stage.accept(0, partial(1, "CNY", 50), out);
  stage.accept(2, mark(0, kT0 + 60'000), out);
  out.clear();
  stage.accept(1, mark(1, kT0 + 60'000), out);
  std::map<std::string, MetricRecord> finals;
  for (const auto& r : out)
    if (const auto* m = std::get_if<MetricRecord>(&r.body); m != nullptr && m->final) finals[*m->currency] = *m;
  ASSERT_EQ(finals.size(), 2u);
  EXPECT_EQ(finals["CNY"].clicks, 5);  // 2 from source 0 (once, not per currency) + 3
  EXPECT_EQ(finals["CNY"].unique_users, 3);
  EXPECT_EQ(finals["CNY"].revenue_minor, 150);
  EXPECT_EQ(finals["USD"].revenue_minor, 7);
  EXPECT_EQ(finals["USD"].clicks, 5);
  EXPECT_TRUE(stage.partials().map().empty()) << "final windows leave the state";
}

TEST(AggregateStageTest, CorruptForwardedBytesAreDeadLetteredAndProcessingGoesOn) {
  const Topology t = parse_topology(kTopology, "test.yaml");
  Processor p(t, Partitioning{0, 2});
  p.accept_forward(0, "\x07garbage", {"t.repartition", 0, 12});
  p.accept_forward(1, settlement_forward(1, "o1:accrual:0:p-books", 10), {"t.repartition", 0, 13});
  p.accept_forward(2, settlement_forward(5, "o2:accrual:0:p-books", 10), {"t.repartition", 0, 14});
  std::vector<std::string> reasons;
  for (const auto& r : p.take_outputs())
    if (const auto* d = std::get_if<DeadLetter>(&r.body)) reasons.push_back(d->reason + "@" + std::to_string(d->position.offset));
  EXPECT_EQ(reasons, (std::vector<std::string>{"bad_forwarded_record@12", "bad_forwarded_record@14"}));
  EXPECT_EQ(p.ledger().statements().size(), 1u);
}

TEST(ForwardRecordTest, RoundTripsEveryField) {
  SettlementRecord s;
  s.record_id = "o:reversal:2:p";
  s.reversal = true;
  s.order_id = "o";
  s.user_id = "u";
  s.partner_id = "p";
  s.campaign_id = "c";
  s.model = "linear";
  s.weight_micros = 333'333;
  s.attributed_minor = -17;
  s.commission_minor = -2;
  s.currency = "JPY";
  s.event_ts = kT0;
  s.period = "2026-11-20";
  s.contract_id = "k";
  Forward f{3, s};
  const Forward back = decode_forward(encode_forward(f));
  EXPECT_EQ(back.source, 3);
  const auto& b = std::get<SettlementRecord>(back.body);
  EXPECT_EQ(b.record_id, s.record_id);
  EXPECT_TRUE(b.reversal);
  EXPECT_EQ(b.campaign_id, s.campaign_id);
  EXPECT_EQ(b.attributed_minor, -17);
  EXPECT_EQ(b.commission_minor, -2);
  EXPECT_EQ(b.contract_id, s.contract_id);
  EXPECT_EQ(b.period, s.period);
  EXPECT_THROW(decode_forward(encode_forward(f).substr(0, 20)), CorruptState);
  EXPECT_EQ(route("ledger", 1), 0);
  EXPECT_EQ(route("x", 5), route("x", 5));
}

}  // namespace
}  // namespace alliance::testing

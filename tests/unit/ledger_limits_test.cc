// The ledger at its limits (issue 16, items 1, 2, 5, 6, 10): pools of
// maximum amounts, totals that would leave int64, statements past
// statement_retention, ids with NUL bytes, partners the topology does not know.
#include <random>

#include "processor_fixture.h"

#include "alliance/core/checked_money.h"
#include "alliance/core/digest.h"
#include "alliance/core/forward_record.h"
#include "alliance/core/settlement_ledger.h"

namespace alliance::testing {
namespace {

constexpr MinorUnits kI64Max = std::numeric_limits<MinorUnits>::max();

std::vector<DeadLetter> with_reason(const std::vector<DeadLetter>& all, const std::string& reason) {
  std::vector<DeadLetter> v;
  for (const auto& d : all)
    if (d.reason == reason) v.push_back(d);
  return v;
}

// --- Item 1 -----------------------------------------------------------------

// The issue's reproduction: 2 clicks and 4 orders of 2^53 - 1, pool_bp 10000,
// member weights 1000000 and 1. It used to never end.
TEST_F(ProcessorTest, PoolOfMaximumOrdersWithHugeWeightsEndsAndIsExact) {
  use(R"(
name: t
campaigns: [{id: cmp}]
partners: [{id: a}, {id: b}]
pools:
  - {id: pool, campaign_id: cmp, pool_bp: 10000, members: [{partner_id: a, weight: 1000000}, {partner_id: b, weight: 1}]}
)");
  feed({click("ca", kT0, "ua", "cmp", "s", "a"), click("cb", kT0, "ub", "cmp", "s", "b"),
        order("o1", kT0 + 1, "ua", "o1", OrderStatus::kCompleted, kMaxAmountMinor),
        order("o2", kT0 + 2, "ua", "o2", OrderStatus::kCompleted, kMaxAmountMinor),
        order("o3", kT0 + 3, "ub", "o3", OrderStatus::kCompleted, kMaxAmountMinor),
        order("o4", kT0 + 4, "ub", "o4", OrderStatus::kCompleted, kMaxAmountMinor)});
  finish();
  const auto st = final_statements();
  const MinorUnits pool = 4 * kMaxAmountMinor;  // 100 % of the campaign's revenue
  const MinorUnits a = st.at("a|2026-11-20|CNY").pool_share_minor;
  const MinorUnits b = st.at("b|2026-11-20|CNY").pool_share_minor;
  EXPECT_EQ(a + b, pool);
  // Equal G: R = 10^6/(10^6+1) and 1/(10^6+1) of the pool.
  EXPECT_EQ(b, split_by_integers(pool, {1'000'000, 1})[1]);
  EXPECT_EQ(b, 36'028'760'990);
}

// --- Item 2 -----------------------------------------------------------------

constexpr const char* kOnePartner = R"(
name: t
windows: [1h]
partners: [{id: p, contract: {id: c, type: percent, rate_bp: 1000}}]
)";

// 1 030 orders of 2^53 - 1 for one partner on one day: 1 024 fit in int64,
// the rest would wrap the statement and the metrics. They are dead-lettered
// (amount_overflow), change nothing and do not enter the dedupe set.
TEST_F(ProcessorTest, AnOrderThatWouldWrapATotalIsDeadLetteredAndChangesNothing) {
  use(kOnePartner);
  std::vector<Event> events{click("c", kT0, "u", "cmp", "s", "p")};
  for (int i = 0; i < 1030; ++i)
    events.push_back(order("e" + std::to_string(i), kT0 + 1 + i, "u", "o" + std::to_string(i),
                           OrderStatus::kCompleted, kMaxAmountMinor));
  feed(events);
  const auto overflow = with_reason(dead_letters(), "amount_overflow");
  ASSERT_EQ(overflow.size(), 6u);
  EXPECT_EQ(overflow.front().position.offset, 1025);  // the 1 025th order
  EXPECT_EQ(settlements().size(), 1024u);
  EXPECT_EQ(processor_->orders().find("o1024"), nullptr) << "a refused completion leaves no order state";
  EXPECT_EQ(processor_->dedupe().find("e1024"), nullptr) << "dead letters do not enter the dedupe set";
  EXPECT_EQ(processor_->stats().dead_letters_by_reason.at("amount_overflow"), 6);
  // The same event again is dead-lettered again, not dropped as a duplicate.
  feed({order("e1024", kT0 + 2000, "u", "o1024", OrderStatus::kCompleted, kMaxAmountMinor)});
  EXPECT_EQ(with_reason(dead_letters(), "amount_overflow").size(), 7u);
  EXPECT_EQ(processor_->stats().duplicates, 0);
  finish();
  const auto st = final_statements().at("p|2026-11-20|CNY");
  EXPECT_EQ(st.accrued_minor, 1024 * kMaxAmountMinor);
  EXPECT_EQ(st.records, 1024);
  for (const auto& m : all<MetricRecord>()) {
    EXPECT_GE(m.revenue_minor, 0) << m.dim << " " << m.key;
    EXPECT_LE(m.revenue_minor, 1024 * kMaxAmountMinor);
  }
}

// A flat fee of 2^53 - 1 on orders of 1: the amounts are tiny but the
// statement's commission sum would wrap.
TEST_F(ProcessorTest, CommissionSumsAreCheckedToo) {
  use(R"(
name: t
partners: [{id: p, contract: {id: c, type: flat, per_conversion_minor: 9007199254740991}}]
)");
  std::vector<Event> events{click("c", kT0, "u", "cmp", "s", "p")};
  for (int i = 0; i < 1026; ++i)
    events.push_back(order("e" + std::to_string(i), kT0 + 1 + i, "u", "o" + std::to_string(i),
                           OrderStatus::kCompleted, 1));
  feed(events);
  EXPECT_EQ(with_reason(dead_letters(), "amount_overflow").size(), 2u);
  finish();
  EXPECT_EQ(final_statements().at("p|2026-11-20|CNY").commission_minor, 1024 * kMaxAmountMinor);
}

// Refunds of orders completed on two days all land in the third day's
// statement and window: the refund that would wrap them is refused, and the
// order can still be refunded later in another period.
TEST_F(ProcessorTest, ARefundThatWouldWrapTheReversedSumIsRefusedWhole) {
  use(kOnePartner);
  // Two campaigns and two sources, so that the campaigns' and the sources'
  // all-time records hold 513 orders each.
  std::vector<Event> events{click("c", kT0, "u", "cmp-a", "s", "p"), click("c2", kT0 + kDay, "u", "cmp-b", "s2", "p")};
  for (int i = 0; i < 1026; ++i)
    events.push_back(order("e" + std::to_string(i), kT0 + (i < 513 ? 0 : kDay) + 1 + i, "u",
                           "o" + std::to_string(i), OrderStatus::kCompleted, kMaxAmountMinor));
  for (int i = 0; i < 1026; ++i)
    events.push_back(order("r" + std::to_string(i), kT0 + 2 * kDay + i, "u", "o" + std::to_string(i),
                           OrderStatus::kRefunded, kMaxAmountMinor, "CNY", kMaxAmountMinor));
  feed(events);
  const auto overflow = with_reason(dead_letters(), "amount_overflow");
  ASSERT_EQ(overflow.size(), 2u);
  EXPECT_EQ(overflow[0].position.offset, 2 + 1026 + 1024);  // the 1 025th refund
  const OrderState* refused = processor_->orders().find("o1024");
  ASSERT_NE(refused, nullptr);
  EXPECT_EQ(refused->refunded_minor, 0);
  EXPECT_EQ(refused->applied_reversals, 0);
  EXPECT_EQ(refused->partners.at(0).reversed_minor, 0);
  // A day later the same order's cancel fits and reverses it completely.
  feed({order("x", kT0 + 3 * kDay, "u", "o1024", OrderStatus::kCancelled, kMaxAmountMinor)});
  finish();
  MinorUnits net = 0;
  for (const auto& s : settlements())
    if (s.order_id == "o1024") net += s.attributed_minor;
  EXPECT_EQ(net, 0);
  EXPECT_EQ(final_statements().at("p|2026-11-22|CNY").reversed_minor, -1024 * kMaxAmountMinor);
}

// A partner in two pools (of two campaigns, 100 % each) would be paid more
// than int64 holds, though every statement's own sums fit: the order that
// would do it is refused.
TEST_F(ProcessorTest, PoolSharesThatWouldWrapACommissionAreRefused) {
  use(R"(
name: t
windows: [1h]
campaigns: [{id: ca}, {id: cb}]
partners: [{id: x}, {id: y}, {id: z}]
pools:
  - {id: pa, campaign_id: ca, pool_bp: 10000, members: [{partner_id: x, weight: 1}]}
  - {id: pb, campaign_id: cb, pool_bp: 10000, members: [{partner_id: x, weight: 1}]}
)");
  std::vector<Event> events{click("xa", kT0, "ux", "ca", "s", "x"),
                            order("oxa", kT0 + 1, "ux", "oxa", OrderStatus::kCompleted, 1),
                            click("xb", kT0 + 2, "ux", "cb", "s", "x"),
                            order("oxb", kT0 + 3, "ux", "oxb", OrderStatus::kCompleted, 1),
                            click("cy", kT0 + 4, "uy", "ca", "s", "y"),
                            click("cz", kT0 + 4, "uz", "cb", "s", "z")};
  for (int i = 0; i < 600; ++i) {
    events.push_back(order("y" + std::to_string(i), kT0 + 5 + i, "uy", "oy" + std::to_string(i),
                           OrderStatus::kCompleted, kMaxAmountMinor));
    events.push_back(order("z" + std::to_string(i), kT0 + 5 + i, "uz", "oz" + std::to_string(i),
                           OrderStatus::kCompleted, kMaxAmountMinor));
  }
  feed(events);
  const auto refused = with_reason(dead_letters(), "amount_overflow");
  ASSERT_FALSE(refused.empty());
  finish();
  const auto st = final_statements();
  const StatementRecord& x = st.at("x|2026-11-20|CNY");
  const __int128 pool = static_cast<__int128>(st.at("y|2026-11-20|CNY").accrued_minor) +
                        st.at("z|2026-11-20|CNY").accrued_minor + 2;
  EXPECT_EQ(x.pool_share_minor, pool);  // every unit of both pools
  EXPECT_GT(x.pool_share_minor, kI64Max - kMaxAmountMinor) << "only the orders that would wrap were refused";
  EXPECT_EQ(x.commission_minor, x.pool_share_minor);
}

// Split mode: stage 2 alone sees the statements. A forwarded settlement
// record that would wrap one is dead-lettered there (amount_overflow),
// counted, and the statement keeps its totals.
TEST(AggregateStageLimits, ARecordThatWouldWrapAStatementIsDeadLetteredInStage2) {
  const Topology t = parse_topology("name: t\npartners: [{id: p}]\n", "test.yaml");
  Processor stage2(t, Partitioning{0, 1});
  auto forward = [](const std::string& id, MinorUnits amount) {
    SettlementRecord r;
    r.record_id = id;
    r.order_id = id;
    r.partner_id = "p";
    r.attributed_minor = amount;
    r.currency = "CNY";
    r.event_ts = kT0;
    r.period = "2026-11-20";
    r.campaign_id = "cmp";
    return encode_forward(Forward{0, r});
  };
  stage2.accept_forward(0, forward("o1", kI64Max - 10), {"repartition", 0, 0});
  stage2.accept_forward(1, forward("o2", 11), {"repartition", 0, 1});
  stage2.accept_forward(2, forward("o3", 10), {"repartition", 0, 2});
  const auto out = stage2.take_outputs();
  std::vector<DeadLetter> dl;
  for (const auto& o : out)
    if (const auto* d = std::get_if<DeadLetter>(&o.body)) dl.push_back(*d);
  ASSERT_EQ(dl.size(), 1u);
  EXPECT_EQ(dl[0].reason, "amount_overflow");
  EXPECT_EQ(dl[0].position.offset, 1);
  EXPECT_EQ(stage2.stats().dead_letters_by_reason.at("amount_overflow"), 1);
  const StatementState* s = stage2.ledger().statements().find(statement_key("2026-11-20", "p", "CNY"));
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->accrued_minor, kI64Max);
  EXPECT_EQ(s->record_count, 2);
}

// Stage 2 sums cumulative partial metrics of its sources: a partial whose sum
// with the other sources' would wrap is refused and the source's previous
// partial stays.
TEST(AggregateStageLimits, APartialThatWouldWrapTheSumIsRefused) {
  const Topology t = parse_topology("name: t\nwindows: [1h]\n", "test.yaml");
  AggregateStage stage(t, 2);
  auto partial = [](std::int32_t source, MinorUnits revenue) {
    MetricRecord m;
    m.dim = "campaign";
    m.key = "cmp";
    m.window_start = kT0 - kT0 % kHour;
    m.window_end = m.window_start + kHour;
    m.window_size = kHour;
    m.currency = "CNY";
    m.revenue_minor = revenue;
    return encode_forward(Forward{source, m});
  };
  std::vector<OutputRecord> out;
  EXPECT_TRUE(stage.accept(0, partial(0, kI64Max - 100), out));
  EXPECT_TRUE(stage.accept(0, partial(1, 100), out));
  EXPECT_THROW(stage.accept(1, partial(1, 101), out), AmountOverflow);
  EXPECT_FALSE(stage.accept(1, partial(1, 101), out)) << "the refused record's sequence number is consumed";
  EXPECT_TRUE(stage.accept(2, partial(1, 50), out));
  stage.emit_running(out);
  MinorUnits last = -1;
  for (const auto& o : out)
    if (const auto* m = std::get_if<MetricRecord>(&o.body)) last = m->revenue_minor;
  EXPECT_EQ(last, kI64Max - 50);
}

// --- Item 5 -----------------------------------------------------------------

// statement_retention 1d: a very late order for a compacted statement makes
// revision 3 (not 1) with the full period's totals and a digest chained on
// the compacted one.
TEST_F(ProcessorTest, RevisionsKeepGrowingAndStayFullAfterRetention) {
  use(R"(
name: t
statement_retention: 1d
partners: [{id: p, referral_codes: [P10], contract: {id: c, type: percent, rate_bp: 1000}}]
)");
  const TimestampMs midnight = 1'795'219'200'000;  // 2026-11-21T00:00Z
  auto coded = [](std::string id, TimestampMs ts, std::string ord, MinorUnits amount) {
    return order(std::move(id), ts, "u", std::move(ord), OrderStatus::kCompleted, amount, "CNY", std::nullopt, "P10");
  };
  feed({coded("o1", kT0, "o1", 1000), click("t1", midnight + 10'000, "v", "cmp", "s")});
  feed({coded("o2", kT0 + 1, "o2", 500), click("t2", midnight + 20'000, "v", "cmp", "s")});
  ASSERT_EQ(final_statements().at("p|2026-11-20|CNY").revision, 2);
  // Two days later the closed statement is past retention; then o3 arrives for its day.
  feed({click("t3", midnight + 2 * kDay + 2 * kHour, "v", "cmp", "s")});
  EXPECT_TRUE(processor_->ledger().statements().find(statement_key("2026-11-20", "p", "CNY"))->record_ids.empty());
  feed({coded("o3", kT0 + 2, "o3", 250), click("t4", midnight + 2 * kDay + 3 * kHour, "v", "cmp", "s")});
  const StatementRecord rev = final_statements().at("p|2026-11-20|CNY");
  EXPECT_EQ(rev.revision, 3);
  EXPECT_EQ(rev.accrued_minor, 1750);
  EXPECT_EQ(rev.commission_minor, 175);
  EXPECT_EQ(rev.records, 3);
  const std::string base = record_digest({"o1:accrual:0:p", "o2:accrual:0:p"});
  EXPECT_EQ(rev.digest, sha256_hex(base + "\no3:accrual:0:p\n"));
}

// --- Items 6 and 10 ---------------------------------------------------------

constexpr const char* kPoolTopology = R"(
name: t
campaigns: [{id: cmp}]
partners: [{id: pA}, {id: pB}]
pools:
  - {id: pool, campaign_id: cmp, pool_bp: 1000, members: [{partner_id: pA, weight: 1}, {partner_id: pB, weight: 1}]}
)";

// The issue's spoof: "pA\0EVIL" in USD was booked as pA in "EVIL\0USD" and
// raised pA's pool share. Now it is its own (unknown) partner.
TEST_F(ProcessorTest, ANulInAPartnerIdCannotReachAnotherPartnersStatement) {
  use(kPoolTopology);
  const std::string evil("pA\0EVIL", 7);
  feed({click("a", kT0, "ua", "cmp", "s", "pA"), order("oa", kT0 + 1, "ua", "oa", OrderStatus::kCompleted, 100),
        click("e", kT0, "ue", "cmp", "s", evil),
        order("oe", kT0 + 1, "ue", "oe", OrderStatus::kCompleted, 100'000, "USD")});
  finish();
  std::map<std::string, StatementRecord> by_partner;
  for (const auto& s : all<StatementRecord>())
    if (s.final) by_partner[s.partner_id + "/" + s.currency] = s;
  ASSERT_EQ(by_partner.count(evil + "/USD"), 1u);
  EXPECT_EQ(by_partner.at(evil + "/USD").accrued_minor, 100'000);
  EXPECT_EQ(by_partner.at("pA/CNY").accrued_minor, 100);
  EXPECT_EQ(by_partner.at("pA/CNY").pool_share_minor, 10);
  for (const auto& [k, s] : by_partner) EXPECT_TRUE(s.currency == "CNY" || s.currency == "USD") << k;
}

// Item 10: a click with an invented partner id on the pool's campaign must
// not change what the members are paid.
TEST_F(ProcessorTest, UnknownPartnersDoNotCountInThePoolBase) {
  use(kPoolTopology);
  feed({click("a", kT0, "ua", "cmp", "s", "pA"), order("oa", kT0 + 1, "ua", "oa", OrderStatus::kCompleted, 1000),
        click("b", kT0, "ub", "cmp", "s", "pB"), order("ob", kT0 + 1, "ub", "ob", OrderStatus::kCompleted, 3000),
        click("x", kT0, "ux", "cmp", "s", "invented"),
        order("ox", kT0 + 1, "ux", "ox", OrderStatus::kCompleted, 1'000'000)});
  finish();
  const auto st = final_statements();
  // Pool = 10 % of 4000 (pA and pB only), split 1000 : 3000.
  EXPECT_EQ(st.at("pA|2026-11-20|CNY").pool_share_minor, 100);
  EXPECT_EQ(st.at("pB|2026-11-20|CNY").pool_share_minor, 300);
  EXPECT_EQ(st.at("invented|2026-11-20|CNY").accrued_minor, 1'000'000) << "its accrual is still booked";
  EXPECT_FALSE(st.at("invented|2026-11-20|CNY").commission_minor.has_value());
}

// Property (item 6): random partner ids with NUL, '|' and other bytes; every
// statement belongs to exactly one id and its totals are that id's records.
TEST_F(ProcessorTest, PropertyStatementsFollowPartnerIdsWhateverTheBytes) {
  use("name: t\nwindows: [1h]\n");
  std::mt19937_64 rng(1606);
  static const char kBytes[] = {'\0', '|', 'p', 'A', '\x1f', ':'};
  std::vector<Event> events;
  for (int i = 0; i < 2000; ++i) {
    std::string partner(1 + rng() % 4, ' ');
    for (char& c : partner) c = kBytes[rng() % sizeof kBytes];
    std::string currency = (rng() % 2) ? "CNY" : std::string("C\0Y", 3);
    const std::string u = "u" + std::to_string(i);
    events.push_back(click("c" + std::to_string(i), kT0 + i, u, "cmp", "s", partner));
    events.push_back(order("o" + std::to_string(i), kT0 + i, u, "o" + std::to_string(i), OrderStatus::kCompleted,
                           static_cast<MinorUnits>(rng() % 1'000'000'000), currency));
  }
  feed(events);
  finish();
  std::map<std::pair<std::string, std::string>, MinorUnits> expected;
  for (const auto& s : settlements()) expected[{s.partner_id, s.currency}] += s.attributed_minor;
  std::map<std::pair<std::string, std::string>, MinorUnits> got;
  for (const auto& s : all<StatementRecord>())
    if (s.final) got[{s.partner_id, s.currency}] = s.accrued_minor;
  EXPECT_EQ(got, expected);
  EXPECT_GT(expected.size(), 50u);
}

}  // namespace
}  // namespace alliance::testing

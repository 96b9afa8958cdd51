// The same typed suite against the memory and the RocksDB store; then the
// Processor's state through a StateSession: restore equality, changelog
// rebuild, outbox resend, and refused state directories.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "../unit/processor_fixture.h"
#include "alliance/core/byte_codec.h"
#include "alliance/core/forward_record.h"
#include "alliance/codec/record_encoder.h"
#include "alliance/state/state_codec.h"
#include "alliance/state/state_session.h"
#include "alliance/state/state_tables.h"

namespace alliance {
namespace {

namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("alliance-test-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(p);
  return p;
}

template <class T>
class StateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if constexpr (std::is_same_v<T, MemoryStateStore>) {  // else RocksTag
      store_ = std::make_unique<MemoryStateStore>();
    } else {
      dir_ = fresh_dir("typed");
      store_ = open_rocks_store(dir_.string(), "t:1");
    }
  }
  void TearDown() override {
    store_.reset();
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  std::map<std::string, std::string> dump(Cf cf) {
    std::map<std::string, std::string> m;
    store_->scan(cf, [&](const std::string& k, std::string_view v) { m[k] = std::string(v); });
    return m;
  }
  std::unique_ptr<StateStore> store_;
  fs::path dir_;
};

struct RocksTag {};
using StoreTypes = ::testing::Types<MemoryStateStore, RocksTag>;
TYPED_TEST_SUITE(StateStoreTest, StoreTypes);

TYPED_TEST(StateStoreTest, BatchPutDeleteGetScanInKeyOrder) {
  auto& s = *this->store_;
  s.write({{Cf::kUsers, "b", "2"}, {Cf::kUsers, "a", "1"}, {Cf::kOrders, "a", "x"}});
  EXPECT_EQ(s.get(Cf::kUsers, "a"), "1");
  EXPECT_EQ(s.get(Cf::kOrders, "a"), "x");
  EXPECT_EQ(s.get(Cf::kDedupe, "a"), std::nullopt);
  s.write({{Cf::kUsers, "a", std::nullopt}, {Cf::kUsers, "c", "3"}});
  EXPECT_EQ(this->dump(Cf::kUsers), (std::map<std::string, std::string>{{"b", "2"}, {"c", "3"}}));
  std::vector<std::string> keys;
  s.scan(Cf::kUsers, [&](const std::string& k, std::string_view) { keys.push_back(k); });
  EXPECT_EQ(keys, (std::vector<std::string>{"b", "c"}));
}

TYPED_TEST(StateStoreTest, BinaryKeysSortBigEndian) {
  std::string k1, k2, k3;
  put_be64(k1, -5);
  put_be64(k2, 7);
  put_be64(k3, 256);
  this->store_->write({{Cf::kWindows, k3, "c"}, {Cf::kWindows, k1, "a"}, {Cf::kWindows, k2, "b"}});
  std::string order;
  this->store_->scan(Cf::kWindows, [&](const std::string&, std::string_view v) { order += v; });
  EXPECT_EQ(order, "abc");
}

TYPED_TEST(StateStoreTest, ProcessorStateSurvivesARestore) {
  using namespace alliance::testing;
  Topology t = parse_topology("name: t\nattribution: {model: linear}\ncampaigns: [{id: cmp}]\npartners: [{id: p1}, {id: p2}]\n"
                              "pools: [{id: q, campaign_id: cmp, pool_bp: 100, members: [{partner_id: p1, weight: 1}]}]\n", "t");
  auto events = std::vector<Event>{
      click("c1", kT0, "u", "cmp", "social", "p1"), referral("r1", kT0 + 1, "u", "p2", "CODE"),
      order("o1", kT0 + 2, "u", "ord", OrderStatus::kCompleted, 1001),
      order("o2", kT0 + 3, "u", "ord", OrderStatus::kRefunded, 1001, "CNY", 100)};
  auto tail = std::vector<Event>{order("o3", kT0 + kMin, "u", "ord", OrderStatus::kRefunded, 1001, "CNY", 1),
                                 click("c2", kT0 + kHour, "v", "cmp", "email"),
                                 order("o4", kT0 + kHour + 1, "v", "ord2", OrderStatus::kCompleted, 5, "CNY", std::nullopt, "CODE")};
  // Reference: one Processor sees everything.
  Processor ref(t);
  for (const auto& e : events) ref.process(e, {"t", 0, 0}, "");
  auto ref_first = ref.take_outputs();
  for (const auto& e : tail) ref.process(e, {"t", 0, 0}, "");
  ref.finish();
  auto ref_out = ref.take_outputs();

  // Same events with a restore in between.
  {
    Processor p(t);
    StateSession session(*this->store_, p);
    for (const auto& e : events) p.process(e, {"t", 0, 0}, "");
    session.commit(p.take_outputs(), {});
  }
  Processor q(t);
  StateSession session(*this->store_, q);
  for (const auto& e : tail) q.process(e, {"t", 0, 0}, "");
  q.finish();
  auto got = q.take_outputs();
  ASSERT_EQ(got.size(), ref_out.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(encode_record(got[i]), encode_record(ref_out[i]));
  EXPECT_EQ(session.pending().size(), ref_first.size());  // never acknowledged: all still in the outbox
}

// Partner balances, their pending buckets, payout ids and the statements
// finance fields survive a restore (SPEC §3.8, §4): the restored run ends
// with the records of an uninterrupted one, and a payout id applied before
// the restart is still a duplicate after it.
TYPED_TEST(StateStoreTest, PartnerBalancesAndPayoutsSurviveARestore) {
  using namespace alliance::testing;
  Topology t = parse_topology(
      "name: t\nholding_period: 2d\ncampaigns: [{id: cmp}]\n"
      "partners: [{id: p1, contract: {id: c1, type: percent, rate_bp: 1000}},\n"
      "           {id: p2, contract: {id: c2, type: tiered, tiers: [{up_to_minor: 1000, rate_bp: 500}, {rate_bp: 800}]}}]\n"
      "pools: [{id: q, campaign_id: cmp, pool_bp: 100, members: [{partner_id: p1, weight: 1}, {partner_id: p2, weight: 1}]}]\n",
      "t");
  auto pay = [](std::string id, TimestampMs ts, std::string partner, MinorUnits amount) {
    return Event{id, ts, "", Payout{id, std::move(partner), amount, "CNY", {}, {}}};
  };
  auto events = std::vector<Event>{
      click("c1", kT0, "u", "cmp", "social", "p1"), order("o1", kT0 + 1, "u", "ord", OrderStatus::kCompleted, 10'000),
      click("c2", kT0 + 2, "v", "cmp", "social", "p2"), order("o2", kT0 + 3, "v", "ord2", OrderStatus::kCompleted, 2'000),
      click("c3", kT0 + 3 * kDay, "w", "cmp", "email"), pay("po1", kT0 + 3 * kDay, "p1", 600),
      // Still in its holding period at the restart: a pending bucket.
      click("c4", kT0 + 3 * kDay + 5, "z", "cmp", "social", "p1"),
      order("o4", kT0 + 3 * kDay + 6, "z", "ord4", OrderStatus::kCompleted, 5'000)};
  auto tail = std::vector<Event>{pay("po1", kT0 + 3 * kDay, "p1", 1),
                                 order("x2", kT0 + 3 * kDay + 1, "v", "ord2", OrderStatus::kCancelled, 2'000),
                                 order("r1", kT0 + 3 * kDay + 2, "u", "ord", OrderStatus::kRefunded, 10'000, "CNY", 10'000)};
  Processor ref(t);
  for (const auto& e : events) ref.process(e, {"t", 0, 0}, "");
  ref.end_cycle(true);
  (void)ref.take_outputs();
  for (const auto& e : tail) ref.process(e, {"t", 0, 0}, "");
  ref.finish();
  auto ref_out = ref.take_outputs();
  PendingBuckets pending_before;
  {
    Processor p(t);
    StateSession session(*this->store_, p);
    for (const auto& e : events) p.process(e, {"t", 0, 0}, "");
    p.end_cycle(true);
    session.commit(p.take_outputs(), {});
    const BalanceState* b = p.ledger().balances().balances().find(balance_key("p1", "CNY"));
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->paid_minor, 600);
    pending_before = b->by_maturity;
    ASSERT_FALSE(pending_before.empty());
  }
  // The pending buckets are one key each (maturities) and come back whole.
  std::size_t bucket_keys = 0;
  this->store_->scan(Cf::kMaturities, [&](const std::string&, std::string_view) { ++bucket_keys; });
  EXPECT_EQ(bucket_keys, pending_before.size());
  Processor q(t);
  StateSession session(*this->store_, q);
  const BalanceState* b = q.ledger().balances().balances().find(balance_key("p1", "CNY"));
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->by_maturity, pending_before);
  EXPECT_EQ(b->paid_minor, 600);
  EXPECT_EQ(b->last_payout_id, "po1");
  EXPECT_NE(q.ledger().balances().payouts().find("po1"), nullptr);
  for (const auto& e : tail) q.process(e, {"t", 0, 0}, "");
  q.finish();
  auto got = q.take_outputs();
  ASSERT_EQ(got.size(), ref_out.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(encode_record(got[i]), encode_record(ref_out[i]));
  std::vector<std::string> reasons;
  for (const auto& r : got)
    if (const auto* d = std::get_if<DeadLetter>(&r.body)) reasons.push_back(d->reason);
  EXPECT_EQ(reasons, std::vector<std::string>{"duplicate_payout"});
  bool clawback = false;
  for (const auto& r : got)
    if (const auto* bal = std::get_if<BalanceRecord>(&r.body); bal != nullptr && bal->partner_id == "p1")
      clawback = clawback || bal->payable_minor < 0;
  EXPECT_TRUE(clawback);  // refunded in full after 600 was paid
}

// Partner risk survives a restore (issue 23): distinct click users (a user
// seen before the restart is not counted again), counts, the hold of a
// flagged period with its held bucket, release ids; the records after the
// restart are byte for byte those of a run without one.
TYPED_TEST(StateStoreTest, PartnerRiskSurvivesARestore) {
  using namespace alliance::testing;
  Topology t = parse_topology(R"(name: t
holding_period: 1d
risk: {action: hold, min_orders: 2, max_fast_share: 0.5, min_click_users: 2, max_clicks_per_user: 1.5}
partners: [{id: p1, contract: {id: c1, type: percent, rate_bp: 1000}}]
)",
                              "t");
  auto rel = [](std::string id, TimestampMs ts) { return Event{id, ts, "", RiskRelease{id, "p1", "2026-11-20", {}}}; };
  auto events = std::vector<Event>{
      click("c1", kT0, "u", "cmp", "social", "p1"), order("o1", kT0 + 1000, "u", "ord1", OrderStatus::kCompleted, 10'000),
      click("c2", kT0 + 2000, "v", "cmp", "social", "p1"),
      order("o2", kT0 + 3000, "v", "ord2", OrderStatus::kCompleted, 10'000), click("c3", kT0 + 4000, "v", "cmp", "social", "p1")};
  auto tail = std::vector<Event>{click("c4", kT0 + 5000, "v", "cmp", "social", "p1"),  // not a new user
                                 click("c5", kT0 + 6000, "w", "cmp", "social", "p1"),
                                 click("c6", kT0 + 3 * kDay, "z", "cmp", "organic"),  // past the holding period
                                 rel("rel-1", kT0 + 3 * kDay), rel("rel-1", kT0 + 3 * kDay + 1)};
  Processor ref(t);
  for (const auto& e : events) ref.process(e, {"t", 0, 0}, "");
  ref.end_cycle(true);
  (void)ref.take_outputs();
  for (const auto& e : tail) ref.process(e, {"t", 0, 0}, "");
  ref.finish();
  auto ref_out = ref.take_outputs();
  {
    Processor p(t);
    StateSession session(*this->store_, p);
    for (const auto& e : events) p.process(e, {"t", 0, 0}, "");
    p.end_cycle(true);
    session.commit(p.take_outputs(), {});
    const BalanceState* b = p.ledger().balances().balances().find(balance_key("p1", "CNY"));
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->held_minor, 2000);
  }
  Processor q(t);
  StateSession session(*this->store_, q);
  const BalanceState* b = q.ledger().balances().balances().find(balance_key("p1", "CNY"));
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->held_minor, 2000);
  EXPECT_EQ(b->held.size(), 2u);
  EXPECT_TRUE(q.ledger().risk().held("p1", "2026-11-20"));
  for (const auto& e : tail) q.process(e, {"t", 0, 0}, "");
  q.finish();
  auto got = q.take_outputs();
  ASSERT_EQ(got.size(), ref_out.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(encode_record(got[i]), encode_record(ref_out[i]));
  RiskRecord last;
  std::vector<std::string> reasons;
  for (const auto& r : got) {
    if (const auto* k = std::get_if<RiskRecord>(&r.body)) last = *k;
    if (const auto* d = std::get_if<DeadLetter>(&r.body)) reasons.push_back(d->reason);
  }
  EXPECT_EQ(last.click_users, 3);
  EXPECT_EQ(last.clicks, 5);
  EXPECT_TRUE(last.released);
  EXPECT_EQ(reasons, std::vector<std::string>{"duplicate_release"});
}

// Stage 1 of a split run keeps the clicks it has not forwarded yet with its
// state: a commit between two emit cycles loses none of them.
TYPED_TEST(StateStoreTest, UnforwardedRiskClicksSurviveARestore) {
  using namespace alliance::testing;
  Topology t = parse_topology("name: t\npartners: [{id: p1}]\n", "t");
  {
    Processor p(t, Partitioning{0, 2});
    StateSession session(*this->store_, p);
    for (const auto& e : {click("c1", kT0, "u", "cmp", "social", "p1"), click("c2", kT0 + 1, "u", "cmp", "social", "p1")})
      p.process(e, {"t", 0, 0}, "");
    session.commit(p.take_outputs(), {});  // a commit, no emit cycle
  }
  Processor q(t, Partitioning{0, 2});
  StateSession session(*this->store_, q);
  q.end_cycle(true);
  std::int64_t clicks = 0, users = 0;
  for (const auto& r : q.take_outputs())
    if (const auto* f = std::get_if<ForwardedRecord>(&r.body)) {
      const Forward fw = decode_forward(f->payload);
      if (const auto* c = std::get_if<RiskClicks>(&fw.body)) {
        clicks += c->clicks;
        users += c->new_users;
      }
    }
  EXPECT_EQ(clicks, 2);
  EXPECT_EQ(users, 1);
}

// An order's user and applied lifecycle events survive a restore (SPEC §3.6):
// after it, a resent refund is still a duplicate and another user's event
// is still order_user_mismatch.
TYPED_TEST(StateStoreTest, OrderUserAndAppliedEventsSurviveARestore) {
  using namespace alliance::testing;
  Topology t = parse_topology("name: t\ndedupe_retention: 1d\npartners: [{id: p1}]\n", "t");
  {
    Processor p(t);
    StateSession session(*this->store_, p);
    for (const auto& e : {click("c1", kT0, "u", "cmp", "social", "p1"),
                          order("o1", kT0 + 1, "u", "ord", OrderStatus::kCompleted, 1000),
                          order("r1", kT0 + 2, "u", "ord", OrderStatus::kRefunded, 1000, "CNY", 100),
                          click("c2", kT0 + 2 * kDay, "v", "cmp", "social")})  // r1 leaves the dedupe set
      p.process(e, {"t", 0, 0}, "");
    ASSERT_EQ(p.dedupe().find("r1"), nullptr);
    session.commit(p.take_outputs(), {});
  }
  Processor q(t);
  StateSession session(*this->store_, q);
  const OrderState* st = q.orders().find("ord");
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->user_id, "u");
  EXPECT_EQ(st->event_ids, (std::vector<std::string>{"o1", "r1"}));
  q.process(order("r1", kT0 + 2 * kDay + 1, "u", "ord", OrderStatus::kRefunded, 1000, "CNY", 100), {"t", 0, 0}, "");
  q.process(order("x1", kT0 + 2 * kDay + 2, "w", "ord", OrderStatus::kCancelled, 1000), {"t", 0, 0}, "");
  EXPECT_EQ(q.stats().duplicates, 1);
  std::vector<std::string> reasons;
  for (const auto& r : q.take_outputs()) {
    EXPECT_FALSE(std::holds_alternative<SettlementRecord>(r.body)) << encode_record(r);
    if (const auto* d = std::get_if<DeadLetter>(&r.body)) reasons.push_back(d->reason);
  }
  EXPECT_EQ(reasons, std::vector<std::string>{"order_user_mismatch"});
}

/// A stream with many users, orders with refunds and cancels, referral
/// codes, duplicates resent before and after dedupe retention and users
/// coming back after lookback: what the cached tables must get right.
std::vector<Event> varied_stream(int n) {
  using namespace alliance::testing;
  std::vector<Event> out;
  std::uint64_t x = 88172645463325252ull;
  auto next = [&] { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return x; };
  for (int i = 0; i < n; ++i) {
    const TimestampMs ts = kT0 + i * 7 * kMin;
    const std::string u = "u" + std::to_string(next() % 97);
    const std::string id = "e" + std::to_string(i);
    const std::string ord = "o" + std::to_string(next() % 60);
    switch (next() % 9) {
      case 0: case 1: case 2: out.push_back(click(id, ts, u, next() % 2 ? "cmp" : "cmp2", "social", next() % 2 ? "p1" : "p2")); break;
      case 3: out.push_back(referral(id, ts, u, "p2", "CODE")); break;
      case 4: out.push_back(order(id, ts, u, ord, OrderStatus::kPending, 1000 + static_cast<MinorUnits>(next() % 500))); break;
      case 5: case 6: out.push_back(order(id, ts, u, ord, OrderStatus::kCompleted, 1000 + static_cast<MinorUnits>(next() % 500))); break;
      case 7: out.push_back(order(id, ts, u, ord, OrderStatus::kRefunded, 1500, "CNY", static_cast<MinorUnits>(next() % 300))); break;
      default:
        if (!out.empty()) {  // a resend of an earlier event, at its own time
          Event again = out[next() % out.size()];
          out.push_back(again);
        } else {
          out.push_back(order(id, ts, u, ord, OrderStatus::kCancelled, 1200));
        }
    }
  }
  return out;
}

// The cached tables are the store: with a cache too small to keep anything
// between commits every read goes to the store, and the records are those
// of the whole state held in memory, expiry included.
TYPED_TEST(StateStoreTest, ATinyCacheGivesTheRecordsOfTheWholeStateInMemory) {
  using namespace alliance::testing;
  Topology t = parse_topology("name: t\nattribution: {model: linear, lookback: 1d}\ndedupe_retention: 2d\n"
                              "order_retention: 3d\nstatement_retention: 4d\ncampaigns: [{id: cmp}, {id: cmp2}]\n"
                              "partners: [{id: p1}, {id: p2}]\nwindows: [1h, 1d]\n", "t");
  const std::vector<Event> events = varied_stream(3000);  // about 14 days
  Processor ref(t);
  ref.track_changes(false);
  for (std::size_t i = 0; i < events.size(); ++i) {
    ref.process(events[i], {"t", 0, 0}, "");
    if (i % 7 == 6) ref.end_cycle(false);
  }
  ref.finish();
  ref.end_cycle(false);
  std::vector<std::string> want;
  for (const auto& r : ref.take_outputs()) want.push_back(r.key + " " + encode_record(r));

  Processor p(t);
  StateSession session(*this->store_, p, /*cache_bytes=*/1);
  std::vector<std::string> got;
  std::size_t most_users_cached = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    p.process(events[i], {"t", 0, 0}, "");
    if (i % 7 == 6) {
      p.end_cycle(false);
      for (const auto& e : session.commit(p.take_outputs(), {})) got.push_back(e.key + " " + e.body);
      most_users_cached = std::max(most_users_cached, p.users().slots());
      // Now and then a whole compaction: the filter drops what expired and
      // merges users' appends into their lists (docs/STATE.md "Users: appends").
      if (i % 350 == 349) this->store_->compact();
    }
  }
  p.finish();
  p.end_cycle(false);
  for (const auto& e : session.commit(p.take_outputs(), {})) got.push_back(e.key + " " + e.body);
  EXPECT_EQ(got, want);
  // Statement record ids live in the store, one key each, and leave it when
  // their statement is compacted (statement_retention 4d of 14 days).
  std::size_t stored_ids = 0, settlements = 0;
  this->store_->scan(Cf::kStatementIds, [&](const std::string&, std::string_view) { ++stored_ids; });
  for (const auto& w : want) settlements += w.find("\"kind\":\"accrual\"") != std::string::npos ||
                                            w.find("\"kind\":\"reversal\"") != std::string::npos;
  EXPECT_GT(stored_ids, 0u);
  EXPECT_LT(stored_ids, settlements);
  for (const auto& [k, st] : p.ledger().statements().map()) EXPECT_TRUE(st.record_ids.empty()) << "ids kept in memory";
  // Eviction happened: no commit left more than a cycle's users in the cache.
  EXPECT_LE(most_users_cached, 7u);
  EXPECT_GT(ref.stats().duplicates, 0);
  EXPECT_GT(ref.stats().dead_letters_by_reason.size(), 0u);
}

TYPED_TEST(StateStoreTest, DedupeIdsLeaveTheCacheFirst) {
  // Over budget, the clean dedupe ids go before anything else: one is read
  // again only for a duplicate, and a miss costs the store a filter probe,
  // while a user's list is read at each of their events.
  using namespace alliance::testing;
  Topology t = parse_topology("name: t\nattribution: {model: last_touch, lookback: 1d}\ncampaigns: [{id: cmp}]\n", "t");
  Processor p(t);
  StateSession session(*this->store_, p, /*cache_bytes=*/std::size_t{1} << 30);
  for (int i = 0; i < 200; ++i)
    p.process(click("e" + std::to_string(i), 1000 + i, "u" + std::to_string(i % 20), "cmp", "search"), {"t", 0, i}, "");
  p.end_cycle(false);
  session.commit(p.take_outputs(), {});
  ASSERT_EQ(p.dedupe().size(), 200u);
  ASSERT_EQ(p.users().size(), 20u);
  EXPECT_TRUE(p.trim_caches(p.cache_bytes() - 1));
  EXPECT_EQ(p.dedupe().size(), 0u);
  EXPECT_EQ(p.users().size(), 20u) << "users evicted while dedupe ids could go";
  // An evicted id is still known: its duplicate is read from the store.
  p.process(click("e7", 5000, "u7", "cmp", "search"), {"t", 0, 200}, "");
  EXPECT_EQ(p.stats().duplicates, 1);
}

TYPED_TEST(StateStoreTest, ChangelogRebuildsAnEqualStore) {
  using namespace alliance::testing;
  Topology t = parse_topology("name: t\npartners: [{id: p1}]\n", "t");
  std::vector<std::string> changelog;
  {
    Processor p(t);
    StateSession session(*this->store_, p);
    session.set_changelog([&](StateChanges& c) { changelog.push_back(encode_changelog(c)); });
    for (int i = 0; i < 50; ++i) {
      p.process(click("c" + std::to_string(i), kT0 + i * kMin, "u" + std::to_string(i % 7), "cmp", "s", "p1"), {"t", 0, 0}, "");
      if (i % 5 == 4) p.process(order("o" + std::to_string(i), kT0 + i * kMin + 1, "u" + std::to_string(i % 7),
                                      "ord" + std::to_string(i), OrderStatus::kCompleted, 100 + i), {"t", 0, 0}, "");
      if (i % 10 == 9) session.commit(p.take_outputs(), {});
    }
  }
  MemoryStateStore rebuilt;
  for (const auto& c : changelog) rebuilt.write(decode_changelog(c));
  for (std::size_t i = 0; i < kCfCount; ++i) {
    const Cf cf = static_cast<Cf>(i);
    if (cf == Cf::kMeta) continue;  // the fingerprint is written at open, outside any batch
    std::map<std::string, std::string> b;
    rebuilt.scan(cf, [&](const std::string& k, std::string_view v) { b[k] = std::string(v); });
    EXPECT_EQ(this->dump(cf), b) << cf_name(cf);
    if (cf == Cf::kUsers || cf == Cf::kRiskUsers) {
      EXPECT_EQ(b.size(), 7u) << cf_name(cf);  // partner risk: 7 distinct click users of p1
    }
    if (cf == Cf::kRisk) {
      EXPECT_EQ(b.size(), 1u);
    }
  }
}

// The figures /metrics and bench/soak.sh read: keys looked up in RocksDB
// (Get and MultiGet keys each count), sizes, and no write stall when idle.
TEST(RocksStats, CountsKeysReadAndReportsNoStallWhenIdle) {
  const fs::path dir = fresh_dir("stats");
  {
    auto s = open_rocks_store(dir.string(), "t:1");
    const RocksStats before = rocks_stats(*s);
    s->write({{Cf::kUsers, "a", "1"}, {Cf::kUsers, "b", "2"}});
    (void)s->get(Cf::kUsers, "a");
    (void)s->get(Cf::kUsers, "missing");
    (void)s->multi_get(Cf::kUsers, {"a", "b", "c"});
    const RocksStats after = rocks_stats(*s);
    EXPECT_EQ(after.keys_read - before.keys_read, 5u);
    (void)s->get(Cf::kDedupe, "e1");
    const RocksStats later = rocks_stats(*s);
    EXPECT_EQ(later.keys_read_by_table[static_cast<std::size_t>(Cf::kUsers)], 5u);
    EXPECT_EQ(later.keys_read_by_table[static_cast<std::size_t>(Cf::kDedupe)], 1u);
    EXPECT_EQ(later.keys_read_by_table[static_cast<std::size_t>(Cf::kOrders)], 0u);
    EXPECT_GT(after.memtable_bytes, 0u);
    EXPECT_EQ(after.delayed_write_rate, 0u);
    EXPECT_FALSE(after.write_stopped);
    MemoryStateStore memory;
    EXPECT_EQ(rocks_stats(memory).keys_read, 0u);  // not RocksDB: no figures
  }
  fs::remove_all(dir);
}

TEST(RocksStateDir, RefusesForeignCorruptAndOtherTopologyState) {
  using ::testing::HasSubstr;
  const fs::path foreign = fresh_dir("foreign");
  fs::create_directories(foreign);
  std::ofstream(foreign / "notes.txt") << "hello";
  try {
    open_rocks_store(foreign.string(), "t:1");
    FAIL();
  } catch (const StateError& e) {
    EXPECT_THAT(e.what(), HasSubstr("not an alliance state directory"));
  }

  const fs::path dir = fresh_dir("fp");
  open_rocks_store(dir.string(), "spring:abc");
  try {
    open_rocks_store(dir.string(), "autumn:def");
    FAIL();
  } catch (const StateError& e) {
    EXPECT_THAT(e.what(), HasSubstr("spring:abc"));
    EXPECT_THAT(e.what(), HasSubstr("new --state directory"));
  }

  // Corrupt every table file and the manifest: opening must fail cleanly.
  for (const auto& f : fs::directory_iterator(dir))
    if (f.path().filename().string().rfind("MANIFEST", 0) == 0) std::ofstream(f.path(), std::ios::trunc) << "garbage";
  EXPECT_THROW(open_rocks_store(dir.string(), "spring:abc"), StateError);

  // A value the codec cannot decode is reported with its column family.
  const fs::path bad = fresh_dir("badvalue");
  {
    auto s = open_rocks_store(bad.string(), "t:1");
    s->write({{Cf::kOrders, "o", "\x01"}});
  }
  auto s = open_rocks_store(bad.string(), "t:1");
  Topology t = parse_topology("name: t\n", "t");
  {
    // Orders are read on demand (a cached table): the bad value is found
    // when the core first reads the order.
    Processor p(t);
    StateSession session(*s, p);
    try {
      (void)p.orders().find("o");
      FAIL() << "a truncated order value was decoded";
    } catch (const StateError& e) {
      EXPECT_THAT(e.what(), HasSubstr("\"orders\""));
    }
  }
  // A value of a format this version does not read names the table and the fix.
  s->write({{Cf::kCodes, "code", std::string("\x07p1")}});
  try {
    Processor p(t);
    StateSession session(*s, p);
    FAIL() << "a value of format 7 was restored";
  } catch (const StateError& e) {
    EXPECT_THAT(e.what(), HasSubstr("\"codes\" holds a value of format 7"));
    EXPECT_THAT(e.what(), HasSubstr("Move the state directory away"));
  }
  s.reset();
  // A directory of another state format (an older alliance) is refused at open.
  {
    auto old = open_rocks_store(bad.string(), "t:1");
    old->write({{Cf::kMeta, "state_format", std::string("1")}});
  }
  try {
    (void)open_rocks_store(bad.string(), "t:1");
    FAIL() << "a state directory of format 1 was opened";
  } catch (const StateError& e) {
    EXPECT_THAT(e.what(), HasSubstr("state format 1"));
    EXPECT_THAT(e.what(), HasSubstr(bad.string()));
  }
  fs::remove_all(foreign);
  fs::remove_all(dir);
  fs::remove_all(bad);
}

}  // namespace
}  // namespace alliance

namespace alliance {
namespace {

// The dirty_* meta entries were a std::set<std::string> written as count +
// keys in set order; DirtyKeys (a flat hash set sorted when written) must
// give the same bytes, or stored state would change.
std::string encode_std_set_the_old_way(const std::set<std::string>& s) {
  ByteWriter w;
  w.i64(static_cast<std::int64_t>(s.size()));
  for (const auto& k : s) w.str(k);
  return w.take();
}

TEST(DirtyKeysCodec, SameBytesAsTheStdSetItReplaced) {
  std::mt19937_64 rng(21);
  for (int round = 0; round < 200; ++round) {
    std::set<std::string> old_set;
    DirtyKeys keys;
    const int n = static_cast<int>(rng() % 60);
    for (int i = 0; i < n; ++i) {
      std::string k;
      // Short keys over a small alphabet (duplicates, prefixes) with control
      // and high bytes (signed vs unsigned ordering), and window-like keys.
      const std::size_t len = rng() % 24;
      static constexpr char kBytes[] = {'\0', '\x01', 'a', 'b', '|', '\x7f', '\x80', '\xff'};
      for (std::size_t j = 0; j < len; ++j) k.push_back(kBytes[rng() % sizeof kBytes]);
      old_set.insert(k);
      keys.insert(std::string_view(k));
      if (rng() % 5 == 0) keys.insert(std::string_view(k));  // repeated: still once
      if (rng() % 7 == 0) {
        old_set.erase(k);
        keys.erase(k);
      }
    }
    const std::string bytes = encode_key_set(keys);
    ASSERT_EQ(bytes, encode_std_set_the_old_way(old_set)) << "round " << round;
    DirtyKeys back;
    back.insert(std::string_view("stale"));
    decode_key_set(bytes, back);
    ASSERT_EQ(encode_key_set(back), bytes);
    std::vector<std::string> visited;
    keys.for_each_sorted([&](const std::string& k) { visited.push_back(k); });
    ASSERT_EQ(visited, std::vector<std::string>(old_set.begin(), old_set.end()));
  }
}

}  // namespace
}  // namespace alliance

namespace alliance {
namespace {

// A user's touchpoints (users format 3): labels once per list, each
// touchpoint a few varints. The restored list equals the one encoded, and
// every truncation or out-of-range field is refused as corrupt, never a crash.
TEST(UserTouchpointsCodec, CompactRoundTripAndCorruptValuesRefused) {
  using namespace alliance::testing;
  Topology t = parse_topology("name: t\ncampaigns: [{id: cmp}]\npartners: [{id: p1}, {id: p2}]\n", "t");
  Processor p(t);
  std::vector<Event> events;
  const std::string long_id(128, 'x');
  for (int i = 0; i < 40; ++i) {
    const std::string id = i == 7 ? long_id : "e" + std::to_string(i);
    if (i % 5 == 4) events.push_back(referral(id, kT0 + i * 1000, "u", i % 2 ? "p1" : "p2", std::nullopt, "cmp"));
    else events.push_back(click(id, kT0 + i * 1000, "u", i % 3 ? "cmp" : std::string("c\x01\0m", 4),
                                i % 2 ? "social" : "email", i % 4 ? std::optional<std::string>("p1") : std::nullopt));
  }
  events.push_back(click("same-ts-b", kT0 + 50000, "u", "cmp", "social"));
  events.push_back(click("same-ts-a", kT0 + 50000, "u", "cmp", "social"));
  for (const auto& e : events) p.process(e, {"t", 0, 0}, "");
  StateChanges changes;
  collect_changes(p, changes);
  const StateChange* user = nullptr;
  for (const auto& c : changes)
    if (c.cf == Cf::kUsers && c.key == "u") user = &c;
  ASSERT_NE(user, nullptr);
  ASSERT_TRUE(user->value.has_value());
  const std::string& v = *user->value;
  const auto& want = p.users().peek("u")->newest_first();
  ASSERT_EQ(want.size(), 42u);
  // ~12 bytes a touchpoint here (format 1 took ~70), plus the labels once.
  EXPECT_LT(v.size(), 42u * 12 + 128 + 200) << v.size();

  Processor q(t);
  restore_entry(q, Cf::kUsers, "u", v);
  const UserTouchpoints* got = q.users().peek("u");
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(got->newest_ts(), p.users().peek("u")->newest_ts());
  EXPECT_EQ(got->newest_first(), want);
  EXPECT_EQ(q.touch_labels().size(), p.touch_labels().size());

  // Every truncation is corrupt (the full value is not).
  for (std::size_t n = 0; n + 1 < v.size(); ++n) {
    Processor r(t);
    EXPECT_THROW(restore_entry(r, Cf::kUsers, "u", std::string_view(v).substr(0, n)), CorruptState) << n;
  }
  // Hand-made values: a label index beyond the list's, an age before the
  // epoch, an unknown kind, a count beyond the value.
  auto value = [&](auto&& body) {
    ByteWriter w;
    w.u8(table_spec(Cf::kUsers).format).i64(kT0).varint(0);  // no anchor
    body(w);
    return w.take();
  };
  const std::string bad_index = value([](ByteWriter& w) {
    w.varint(1).u8(0).vstr("c").vstr("s").vstr("").varint(1).varint(0).varint(1).vstr("e");
  });
  const std::string bad_age = value([](ByteWriter& w) {
    w.varint(1).u8(0).vstr("c").vstr("s").vstr("").varint(1).varint(static_cast<std::uint64_t>(kT0) + 1).varint(0).vstr("e");
  });
  const std::string bad_kind = value([](ByteWriter& w) { w.varint(1).u8(2).vstr("c").vstr("s").vstr("").varint(0); });
  const std::string huge_count = value([](ByteWriter& w) { w.varint(0).varint(1ULL << 60); });
  const std::string ok = value([](ByteWriter& w) {
    w.varint(1).u8(1).vstr("c").vstr("referral").vstr("p").varint(1).varint(5).varint(0).vstr("e");
  });
  for (const std::string* bad : {&bad_index, &bad_age, &bad_kind, &huge_count}) {
    Processor r(t);
    EXPECT_THROW(restore_entry(r, Cf::kUsers, "u", *bad), CorruptState);
  }
  Processor r(t);
  restore_entry(r, Cf::kUsers, "u", ok);
  const Touchpoint& tp = r.users().peek("u")->newest_first().at(0);
  EXPECT_EQ(tp.ts, kT0 - 5);
  EXPECT_EQ(tp.kind(), EventKind::kReferral);
  EXPECT_EQ(tp.partner_id(), "p");
}

}  // namespace
}  // namespace alliance

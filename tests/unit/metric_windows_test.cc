// Event-time windows, watermarks, late events and the running campaign record.
#include "processor_fixture.h"

#include <random>
#include <set>
#include <tuple>

#include "alliance/codec/record_encoder.h"
#include "alliance/core/metric_windows.h"

namespace alliance::testing {
namespace {

constexpr const char* kTopology = R"(
name: t
windows: [1m, 1h]
grace: 5s
emit_interval: 1s
campaigns: [{id: cmp, cost_minor: 1000, currency: CNY}]
partners: [{id: p1}]
)";

class WindowTest : public ProcessorTest {
 protected:
  void SetUp() override { use(kTopology); }
  /// Final records by dim|key|window_start|size|currency.
  std::map<std::string, MetricRecord> finals() const {
    std::map<std::string, MetricRecord> m;
    for (const auto& r : all<MetricRecord>()) {
      if (!r.final) continue;
      const std::string k = r.dim + "|" + r.key + "|" + std::to_string(r.window_start) + "|" +
                            (r.window_size ? format_duration(r.window_size) : "all") + "|" + r.currency.value();
      EXPECT_EQ(m.count(k), 0u) << "two final records for " << k;
      m[k] = r;
    }
    return m;
  }
  static std::string k(std::string dim, std::string key, TimestampMs start, std::string size, std::string cur = "USD") {
    return dim + "|" + key + "|" + std::to_string(start) + "|" + size + "|" + cur;
  }
};

TEST_F(WindowTest, EventsAtExactBoundariesOpenTheNextWindow) {
  feed({click("a", kT0 + kMin - 1, "u1", "cmp", "social"), click("b", kT0 + kMin, "u2", "cmp", "social")});
  finish();
  const auto f = finals();
  EXPECT_EQ(f.at(k("source", "social", kT0, "1m")).clicks, 1);
  EXPECT_EQ(f.at(k("source", "social", kT0 + kMin, "1m")).clicks, 1);
  EXPECT_EQ(f.at(k("source", "social", kT0, "1h")).clicks, 2);
  EXPECT_EQ(f.at(k("source", "social", kT0, "1h")).window_end, kT0 + kHour);
}

TEST_F(WindowTest, OutOfOrderWithinGraceCountsLateBeyondGraceDoesNot) {
  feed({click("a", kT0 + 30'000, "u1", "cmp", "social"),
        click("b", kT0 + kMin + 4'000, "u2", "cmp", "social"),   // watermark = kT0+59s: window 1 still open
        click("c", kT0 + 59'000, "u3", "cmp", "social"),          // in grace: counted in window 1
        click("d", kT0 + kMin + 6'000, "u4", "cmp", "social"),   // watermark = kT0+61s: window 1 final
        click("e", kT0 + 10'000, "u5", "cmp", "social")});        // late for 1m, fine for 1h
  finish();
  const auto f = finals();
  const auto& w1 = f.at(k("source", "social", kT0, "1m"));
  EXPECT_EQ(w1.clicks, 2);
  EXPECT_EQ(w1.unique_users, 2);
  EXPECT_EQ(w1.late_events, 0);
  // The late click is counted in the window open when it arrived (the one holding stream time).
  EXPECT_EQ(f.at(k("source", "social", kT0 + kMin, "1m")).late_events, 1);
  EXPECT_EQ(f.at(k("source", "social", kT0, "1h")).clicks, 5);
  EXPECT_EQ(processor_->stats().late_events, 1);
}

TEST_F(WindowTest, LateOrdersStillSettle) {
  feed({click("a", kT0, "u1", "cmp", "social", "p1"), click("far", kT0 + 2 * kHour, "u2", "cmp", "social"),
        Event{order("o", kT0 + kMin, "u1", "ord", OrderStatus::kCompleted, 900)}});
  ASSERT_EQ(settlements().size(), 1u);
  EXPECT_EQ(settlements()[0].attributed_minor, 900);
  EXPECT_EQ(processor_->stats().late_events, 1);
}

TEST_F(WindowTest, CurrenciesAreNeverSummed) {
  feed({click("a", kT0, "u1", "cmp", "social"), order("o1", kT0 + 1, "u1", "o1", OrderStatus::kCompleted, 100, "CNY"),
        order("o2", kT0 + 2, "u1", "o2", OrderStatus::kCompleted, 7, "USD")});
  finish();
  const auto f = finals();
  const auto& cny = f.at(k("source", "social", kT0, "1m", "CNY"));
  const auto& usd = f.at(k("source", "social", kT0, "1m", "USD"));
  EXPECT_EQ(cny.revenue_minor, 100);
  EXPECT_EQ(usd.revenue_minor, 7);
  EXPECT_EQ(cny.orders, 2);  // counts belong to the window, repeated on each currency record
  std::size_t per_window = 0;
  for (const auto& [key, r] : f) per_window += r.dim == "source" && r.window_start == kT0 && r.window_size == kMin;
  EXPECT_EQ(per_window, 2u);  // one record per currency, no extra currency-less one
}

TEST_F(WindowTest, UniqueUsersAreExactPerWindow) {
  feed({click("a", kT0, "u1", "cmp", "social"), click("b", kT0 + 1, "u1", "cmp", "social"),
        click("c", kT0 + 2, "u2", "cmp", "social"), click("d", kT0 + kMin, "u1", "cmp", "social")});
  finish();
  const auto f = finals();
  EXPECT_EQ(f.at(k("source", "social", kT0, "1m")).unique_users, 2);
  EXPECT_EQ(f.at(k("source", "social", kT0 + kMin, "1m")).unique_users, 1);
  EXPECT_EQ(f.at(k("source", "social", kT0, "1h")).unique_users, 2);
  EXPECT_EQ(f.at(k("campaign", "cmp", 0, "all", "CNY")).unique_users, 2);
}

TEST_F(WindowTest, ConversionsAreWeightsAndFinalEqualsTheSumOfWhatTheWindowSaw) {
  use(std::string(kTopology) + "attribution: {model: linear}\n");
  feed({click("a", kT0, "u1", "cmp", "social"), click("b", kT0 + 1, "u1", "cmp", "email"),
        click("c", kT0 + 2, "u1", "cmp", "email"),
        order("o", kT0 + 3, "u1", "ord", OrderStatus::kCompleted, 1000),
        order("r", kT0 + 4, "u1", "ord", OrderStatus::kRefunded, 1000, "CNY", 100)});
  finish();
  const auto f = finals();
  const auto& social = f.at(k("source", "social", kT0, "1m", "CNY"));
  const auto& email = f.at(k("source", "email", kT0, "1m", "CNY"));
  EXPECT_EQ(social.conversions_micros, 333334);  // largest remainder over 1.000000
  EXPECT_EQ(email.conversions_micros, 666666);
  EXPECT_EQ(social.revenue_minor + email.revenue_minor, 1000);
  EXPECT_EQ(social.revenue_minor, 334);
  EXPECT_EQ(social.refunds_minor, 33);   // floor(334·100/1000)
  EXPECT_EQ(email.refunds_minor, 66);    // floor(666·100/1000)
  EXPECT_EQ(email.orders, 1);
  EXPECT_EQ(email.clicks, 2);
  // Running records before the final never exceed it, and the last running one matches it.
  MetricRecord last_running;
  for (const auto& r : all<MetricRecord>())
    if (!r.final && r.dim == "source" && r.key == "email" && r.window_size == kMin) last_running = r;
  EXPECT_LE(last_running.clicks, email.clicks);
}

TEST_F(WindowTest, RunningCampaignRecordHasBuyersAndCostBenefit) {
  feed({click("a", kT0, "u1", "cmp", "social"), order("o1", kT0 + 1, "u1", "o1", OrderStatus::kCompleted, 800),
        order("o2", kT0 + 2, "u1", "o2", OrderStatus::kCompleted, 700),
        click("b", kT0 + 3, "u2", "cmp", "social"), order("o3", kT0 + 4, "u2", "o3", OrderStatus::kCompleted, 500)});
  finish();
  const auto f = finals();
  const auto& all_rec = f.at(k("campaign", "cmp", 0, "all", "CNY"));
  EXPECT_EQ(all_rec.buyers, 2);
  EXPECT_EQ(all_rec.repeat_buyers, 1);
  EXPECT_EQ(all_rec.revenue_minor, 2000);
  EXPECT_EQ(all_rec.cost_minor, 1000);
  EXPECT_EQ(all_rec.orders, 3);
}

TEST_F(WindowTest, EmissionIsThrottledToTheEmitInterval) {
  std::vector<Event> ev;
  for (int i = 0; i < 100; ++i) ev.push_back(click("c" + std::to_string(i), kT0 + i, "u", "cmp", "social"));
  feed(ev);  // 100 events inside one emit interval of event time
  std::size_t running = 0;
  for (const auto& r : all<MetricRecord>())
    if (!r.final && r.dim == "source" && r.window_size == kMin) ++running;
  EXPECT_LE(running, 1u);
  finish();
  EXPECT_EQ(finals().at(k("source", "social", kT0, "1m")).clicks, 100);
}

// SPEC §5.2: the key is dim|key|window_start|window_size|currency, so a
// compacted topic keeps every currency record of a window (issue 16 item 4:
// 2 351 keys for 2 614 (key, currency) pairs).
TEST_F(WindowTest, OutputKeysAreDistinctPerKeyAndCurrency) {
  std::mt19937_64 rng(4);
  const std::vector<std::string> currencies{"CNY", "USD", "JPY", "KWD"};
  std::vector<Event> ev;
  TimestampMs ts = kT0;
  for (int i = 0; i < 3000; ++i) {
    ts += static_cast<TimestampMs>(rng() % 3000);
    const std::string user = "u" + std::to_string(rng() % 30);
    const std::string id = "e" + std::to_string(i);
    if (rng() % 2 == 0)
      ev.push_back(click(id, ts, user, "cmp" + std::to_string(rng() % 3), "src" + std::to_string(rng() % 4), "p1"));
    else
      ev.push_back(order(id, ts, user, "o" + std::to_string(i), OrderStatus::kCompleted,
                         1 + static_cast<MinorUnits>(rng() % 10000), currencies[rng() % currencies.size()]));
  }
  feed(ev);
  finish();
  std::set<std::string> keys;
  std::set<std::tuple<std::string, std::string, TimestampMs, DurationMs, std::string>> pairs;
  std::set<std::string> final_keys;
  std::size_t finals_seen = 0;
  for (const auto& r : outputs_) {
    const auto* m = std::get_if<MetricRecord>(&r.body);
    if (m == nullptr) continue;
    ASSERT_TRUE(m->currency.has_value());
    EXPECT_EQ(r.key, m->dim + "|" + m->key + "|" + std::to_string(m->window_start) + "|" +
                         (m->window_size ? format_duration(m->window_size) : "all") + "|" + *m->currency);
    keys.insert(r.key);
    pairs.emplace(m->dim, m->key, m->window_start, m->window_size, *m->currency);
    if (m->final) {
      ++finals_seen;
      final_keys.insert(r.key);
    }
  }
  EXPECT_GT(pairs.size(), 1000u);
  EXPECT_EQ(keys.size(), pairs.size());
  EXPECT_EQ(final_keys.size(), finals_seen) << "one final record per key";
  // Example of the format.
  MetricRecord r;
  r.dim = "source";
  r.key = "social";
  r.window_start = 60'000;
  r.window_size = 60'000;
  r.currency = "JPY";
  EXPECT_EQ(metric_output_key(r), "source|social|60000|1m|JPY");
  EXPECT_EQ(metric_group_key(r), "source|social|60000|1m");
}

TEST_F(WindowTest, SameInputSameRecords) {
  auto run = [this] {
    use(kTopology);
    feed({click("a", kT0, "u1", "cmp", "social", "p1"), click("b", kT0 + 5000, "u2", "cmp", "email"),
          order("o", kT0 + 7000, "u1", "ord", OrderStatus::kCompleted, 999),
          order("r", kT0 + kHour, "u1", "ord", OrderStatus::kRefunded, 999, "CNY", 99)});
    finish();
    return outputs_.size();
  };
  const std::size_t n = run();
  auto first = outputs_;
  EXPECT_EQ(run(), n);
  ASSERT_EQ(first.size(), outputs_.size());
  for (std::size_t i = 0; i < n; ++i) {
    EXPECT_EQ(first[i].key, outputs_[i].key);
    EXPECT_EQ(encode_record(first[i]), encode_record(outputs_[i]));
  }
}

// would_overflow sums per window when a key appears twice or out of order,
// and looks each record up once when the credits are sorted and distinct:
// both answer the same.
TEST(MetricWindowsOverflow, SortedDistinctAndRepeatedCreditsAgree) {
  const Topology t = parse_topology(kTopology, "test.yaml");
  MetricWindows w(t);
  MetricDelta big;
  big.orders = 1;
  big.revenue_minor = INT64_MAX - 10;
  big.currency = "USD";
  w.apply(Dim::kSource, "social", "u1", kT0, big, INT64_MIN, kT0);
  w.apply_all(Dim::kSource, "social", "u1", kT0, big, true);
  auto credit = [](Dim d, std::string key, MinorUnits amount) {
    MetricDelta m;
    m.orders = 1;
    m.revenue_minor = amount;
    m.currency = "USD";
    return MetricCredit{d, std::move(key), m};
  };
  // Sorted and distinct: 10 more fits, 11 does not.
  EXPECT_FALSE(w.would_overflow({credit(Dim::kSource, "social", 10), credit(Dim::kCampaign, "cmp", INT64_MAX)},
                                kT0 + 1, INT64_MIN));
  EXPECT_TRUE(w.would_overflow({credit(Dim::kSource, "social", 11), credit(Dim::kCampaign, "cmp", 1)}, kT0 + 1,
                               INT64_MIN));
  // The same key twice (6 + 5 = 11): only the summed check sees it.
  EXPECT_TRUE(w.would_overflow({credit(Dim::kSource, "social", 6), credit(Dim::kSource, "social", 5)}, kT0 + 1,
                               INT64_MIN));
  EXPECT_FALSE(w.would_overflow({credit(Dim::kSource, "social", 5), credit(Dim::kSource, "social", 5)}, kT0 + 1,
                                INT64_MIN));
  // Out of order, distinct: the same answers as sorted.
  EXPECT_TRUE(w.would_overflow({credit(Dim::kCampaign, "cmp", 1), credit(Dim::kSource, "social", 11)}, kT0 + 1,
                               INT64_MIN));
  EXPECT_FALSE(w.would_overflow({credit(Dim::kCampaign, "cmp", 1), credit(Dim::kSource, "social", 10)}, kT0 + 1,
                                INT64_MIN));
  // A late window takes no money: only the "all" record counts (it holds INT64_MAX - 10 too).
  EXPECT_TRUE(w.would_overflow({credit(Dim::kSource, "social", 11)}, kT0 + 1, kT0 + kHour));
  EXPECT_FALSE(w.would_overflow({credit(Dim::kPartner, "p1", INT64_MAX)}, kT0 + 1, kT0 + kHour));
}

// apply() reaches a key's open window through its per-key cache: after the
// changes were drained (a commit) or the dirty keys emitted, the next event
// of the same window must mark it changed and dirty again, and a dropped
// window must not be reached through a stale pointer.
TEST(MetricWindowsCache, ChangedAndDirtyMarksSurviveDrainsAndEmits) {
  const Topology t = parse_topology(kTopology, "test.yaml");
  MetricWindows w(t);
  MetricDelta click;
  click.clicks = 1;
  auto changed = [&] {
    std::set<std::string> keys;
    w.windows().drain_changes([&](const std::string& k, const WindowAggregate*) { keys.insert(k); });
    return keys.size();
  };
  w.apply(Dim::kSource, "social", "u1", kT0, click, INT64_MIN, kT0);
  EXPECT_EQ(changed(), 2u);  // the 1m and the 1h window
  EXPECT_EQ(w.dirty_windows().size(), 2u);
  w.apply(Dim::kSource, "social", "u2", kT0 + 1, click, INT64_MIN, kT0 + 1);
  EXPECT_EQ(changed(), 2u) << "drained: the same windows are changed again";
  std::vector<OutputRecord> out;
  w.emit_running(out);
  EXPECT_EQ(out.size(), 2u);
  EXPECT_TRUE(w.dirty_windows().empty());
  w.apply(Dim::kSource, "social", "u3", kT0 + 2, click, INT64_MIN, kT0 + 2);
  EXPECT_EQ(w.dirty_windows().size(), 2u) << "emitted: dirty again";
  out.clear();
  w.emit_running(out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(std::get<MetricRecord>(out[0].body).clicks, 3);
  // The minute closes and is dropped; the next click of the key opens a new one.
  out.clear();
  w.finalize(kT0 + kMin, out);
  w.apply(Dim::kSource, "social", "u4", kT0 + kMin + 1, click, kT0 + kMin, kT0 + kMin + 1);
  w.finalize(kEndOfTime, out);
  std::map<std::pair<TimestampMs, DurationMs>, std::int64_t> clicks;
  for (const auto& r : out) {
    const auto& m = std::get<MetricRecord>(r.body);
    if (m.final) clicks[{m.window_start, m.window_size}] = m.clicks;
  }
  EXPECT_EQ(clicks.at({kT0, kMin}), 3);
  EXPECT_EQ(clicks.at({kT0 + kMin, kMin}), 1);
  EXPECT_EQ(clicks.at({kT0, kHour}), 4);
}

}  // namespace
}  // namespace alliance::testing

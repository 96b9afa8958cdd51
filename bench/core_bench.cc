// Micro-benchmarks of the pure core's per-event steps (Google Benchmark):
// decoding an input line, a Processor's whole path for clicks and for
// orders, a window credit, a cached-table upsert. The inputs are the
// generator's peak-hour shape (40 000 users, several campaigns, sources
// and partners). Run: build/bench/core_bench (docs/BENCHMARKS.md).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>
#include <vector>

#include "alliance/codec/event_decoder.h"
#include "alliance/config/topology_loader.h"
#include "alliance/core/cached_table.h"
#include "alliance/core/processor.h"

namespace alliance {
namespace {

const Topology& sample_topology() {
  static const Topology t = load_topology_file(std::string(ALLIANCE_SOURCE_DIR) + "/topologies/spring-alliance.yaml");
  return t;
}

constexpr const char* kCampaigns[] = {"cmp-spring", "cmp-organic", "cmp-summer"};
constexpr const char* kSources[] = {"social", "affiliate", "search", "email"};
constexpr const char* kPartners[] = {"p-travel", "p-books", "p-bank"};

/// `n` click lines, 4 ms apart, users drawn from 40 000.
std::vector<std::string> click_lines(std::size_t n) {
  std::vector<std::string> out;
  out.reserve(n);
  char buf[256];
  std::uint64_t x = 88172645463325252ULL;
  for (std::size_t i = 0; i < n; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    std::snprintf(buf, sizeof buf,
                  R"({"type":"click","event_id":"e%zu","ts":%lld,"user_id":"u%07llu","campaign_id":"%s","source":"%s","partner_id":"%s"})",
                  i, static_cast<long long>(1795140000000LL + 4 * static_cast<long long>(i)),
                  static_cast<unsigned long long>(x % 40000), kCampaigns[x % 3], kSources[(x >> 8) % 4],
                  kPartners[(x >> 16) % 3]);
    out.emplace_back(buf);
  }
  return out;
}

/// A click then a completed order by the same user, `n` pairs.
std::vector<std::string> order_lines(std::size_t n) {
  std::vector<std::string> out;
  char buf[256];
  for (std::size_t i = 0; i < n; ++i) {
    const long long ts = 1795140000000LL + 8 * static_cast<long long>(i);
    std::snprintf(buf, sizeof buf,
                  R"({"type":"click","event_id":"c%zu","ts":%lld,"user_id":"u%07zu","campaign_id":"cmp-spring","source":"affiliate","partner_id":"p-books"})",
                  i, ts, i % 40000);
    out.emplace_back(buf);
    std::snprintf(buf, sizeof buf,
                  R"({"type":"order","event_id":"o%zu","ts":%lld,"user_id":"u%07zu","order_id":"A%zu","status":"completed","amount_minor":9900,"currency":"CNY"})",
                  i, ts + 4, i % 40000, i);
    out.emplace_back(buf);
  }
  return out;
}

void BM_DecodeClick(benchmark::State& state) {
  const auto lines = click_lines(4096);
  EventDecoder decoder;
  std::size_t i = 0;
  for (auto _ : state) {
    DecodeResult r = decoder.decode(lines[i++ & 4095], std::nullopt);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeClick);

/// Decode + Processor::process + one emit cycle per 10 000 events (replay's path without files).
void process_lines(benchmark::State& state, const std::vector<std::string>& lines) {
  EventDecoder decoder;
  std::vector<Event> events;
  for (const auto& l : lines) events.push_back(*decoder.decode(l, std::nullopt).event);
  for (auto _ : state) {
    state.PauseTiming();
    auto p = std::make_unique<Processor>(sample_topology());
    p->track_changes(false);
    state.ResumeTiming();
    std::int64_t offset = 0;
    for (const Event& e : events) {
      p->process(e, {"bench", 0, offset++}, "");
      if (offset % 10'000 == 0) {
        p->end_cycle(true);
        benchmark::DoNotOptimize(p->take_outputs());
      }
    }
    p->end_cycle(true);
    benchmark::DoNotOptimize(p->take_outputs());
    state.PauseTiming();
    p.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(events.size()));
}

void BM_ProcessClicks(benchmark::State& state) { process_lines(state, click_lines(100'000)); }
BENCHMARK(BM_ProcessClicks)->Unit(benchmark::kMillisecond);

void BM_ProcessClickAndOrder(benchmark::State& state) { process_lines(state, order_lines(50'000)); }
BENCHMARK(BM_ProcessClickAndOrder)->Unit(benchmark::kMillisecond);

void BM_WindowCredit(benchmark::State& state) {
  MetricWindows windows(sample_topology());
  windows.track_changes(false);
  MetricDelta d;
  d.clicks = 1;
  std::vector<std::string> users;
  for (int u = 0; u < 40'000; ++u) users.push_back("u" + std::to_string(u));
  std::int64_t i = 0;
  for (auto _ : state) {
    const TimestampMs ts = 1795140000000LL + 4 * i;
    benchmark::DoNotOptimize(windows.apply(Dim::kCampaign, kCampaigns[i % 3], users[static_cast<std::size_t>(i % 40'000)],
                                           ts, d, ts - 5'000, ts));
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_WindowCredit);

void BM_CachedTableUpsert(benchmark::State& state) {
  CachedTable<TimestampMs> table;
  table.track_changes(false);
  std::vector<std::string> keys;
  for (int k = 0; k < 1 << 16; ++k) keys.push_back("event-id-" + std::to_string(k * 7919));
  std::size_t i = 0;
  for (auto _ : state) {
    table.upsert(keys[i & 0xFFFF]) = static_cast<TimestampMs>(i);
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CachedTableUpsert);

}  // namespace
}  // namespace alliance

BENCHMARK_MAIN();

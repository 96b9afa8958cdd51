// The soak's latency probe (bench/soak.sh; docs/SOAK.md), outside the
// processor: reads the settlements topic live with its own consumer (every
// partition from the beginning, no group, no commits) and takes, for every
// settlement, its broker timestamp minus its `event_ts` — the `ts` of the
// order event (completion, cancel or refund) that caused it, which the soak's
// producer set to the wall clock when it sent that event — and, as a bound
// from above, the moment the probe received it minus the same `event_ts`.
// Owns the per-10 s and per-minute percentiles of both, bucketed by the
// settlement's broker timestamp counted from --t0-ms, and stops by itself
// --drain-s after the soak's --duration-s.
#include <librdkafka/rdkafkacpp.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cmath>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "alliance/codec/record_decoder.h"

#include "soak_clock.h"

namespace {

using soak::g_stop;
using soak::kWindowMs;
using soak::wall_ms;

/// Nearest-rank percentile of sorted values (p in 0..1).
std::int64_t percentile(const std::vector<std::int64_t>& sorted, double p) {
  const auto rank = static_cast<std::size_t>(std::max(1.0, std::ceil(p * static_cast<double>(sorted.size()))));
  return sorted[std::min(rank, sorted.size()) - 1];
}

/// The latencies of one 10-s window: to the settlement's broker timestamp
/// and to the moment the probe received it.
struct Window {
  std::vector<std::int64_t> stamped, received;
};

/// Writes one CSV of buckets of `per` 10-s windows each: bucket, t_s (its
/// end, s from t0), count, p50/p90/p99/max of the latency in ms, and p50/p99
/// of the received latency (empty cells: no settlement in the bucket).
bool write_buckets(const std::string& path, const char* bucket_name, std::int64_t per, const std::vector<Window>& windows,
                   std::int64_t duration_ms) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return false;
  std::fprintf(f, "%s,t_s,count,p50_ms,p90_ms,p99_ms,max_ms,recv_p50_ms,recv_p99_ms\n", bucket_name);
  const std::int64_t n = static_cast<std::int64_t>(windows.size());
  for (std::int64_t b = 0; b * per < n; ++b) {
    std::vector<std::int64_t> v, r;
    for (std::int64_t w = b * per; w < std::min(n, (b + 1) * per); ++w) {
      const Window& win = windows[static_cast<std::size_t>(w)];
      v.insert(v.end(), win.stamped.begin(), win.stamped.end());
      r.insert(r.end(), win.received.begin(), win.received.end());
    }
    std::sort(v.begin(), v.end());
    std::sort(r.begin(), r.end());
    const double t_s = static_cast<double>(std::min((b + 1) * per * kWindowMs, duration_ms)) / 1000.0;
    if (v.empty()) {
      std::fprintf(f, "%lld,%.0f,0,,,,,,\n", static_cast<long long>(b), t_s);
      continue;
    }
    std::fprintf(f, "%lld,%.0f,%zu,%lld,%lld,%lld,%lld,%lld,%lld\n", static_cast<long long>(b), t_s, v.size(),
                 static_cast<long long>(percentile(v, 0.50)), static_cast<long long>(percentile(v, 0.90)),
                 static_cast<long long>(percentile(v, 0.99)), static_cast<long long>(v.back()),
                 static_cast<long long>(percentile(r, 0.50)), static_cast<long long>(percentile(r, 0.99)));
  }
  return std::fclose(f) == 0;
}

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app{"settlement latency outside the processor, for bench/soak.sh"};
  std::string bootstrap, topic, out_dir;
  std::int64_t t0_ms = 0, duration_s = 0, drain_s = 5;
  app.add_option("--bootstrap", bootstrap, "Kafka bootstrap servers")->required();
  app.add_option("--topic", topic, "the settlements topic")->required();
  app.add_option("--t0-ms", t0_ms, "the soak's start (epoch ms): buckets count from it")->required();
  app.add_option("--duration-s", duration_s, "the soak's length in s")->required()->check(CLI::Range(1, 7 * 86400));
  app.add_option("--drain-s", drain_s, "s to keep reading after the soak's end")->check(CLI::Range(0, 3600));
  app.add_option("--out-dir", out_dir, "directory for latency.csv, latency_10s.csv, latency_meta.txt")->required();
  CLI11_PARSE(app, argc, argv);

  std::string err;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  for (const auto& [k, v] : {std::pair<const char*, std::string>{"bootstrap.servers", bootstrap},
                             {"group.id", "soak-latency-probe"},  // required by the API; nothing is committed
                             {"enable.auto.commit", "false"},
                             {"auto.offset.reset", "earliest"},
                             {"isolation.level", "read_committed"},  // what finance jobs read (SPEC §1)
                             {"fetch.wait.max.ms", "10"}}) {
    if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) {
      std::fprintf(stderr, "soak_latency: %s\n", err.c_str());
      return 2;
    }
  }
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!consumer) {
    std::fprintf(stderr, "soak_latency: %s\n", err.c_str());
    return 2;
  }
  std::vector<RdKafka::TopicPartition*> parts;
  {
    std::unique_ptr<RdKafka::Topic> t(RdKafka::Topic::create(consumer.get(), topic, nullptr, err));
    RdKafka::Metadata* raw = nullptr;
    if (!t || consumer->metadata(false, t.get(), &raw, 10'000) != RdKafka::ERR_NO_ERROR) {
      std::fprintf(stderr, "soak_latency: no metadata for topic %s on %s\n", topic.c_str(), bootstrap.c_str());
      return 2;
    }
    std::unique_ptr<RdKafka::Metadata> md(raw);
    const auto* tm = md->topics()->at(0);
    if (tm->err() != RdKafka::ERR_NO_ERROR || tm->partitions()->empty()) {
      std::fprintf(stderr, "soak_latency: topic %s: %s\n", topic.c_str(), RdKafka::err2str(tm->err()).c_str());
      return 2;
    }
    for (const auto* p : *tm->partitions())
      parts.push_back(RdKafka::TopicPartition::create(topic, p->id(), RdKafka::Topic::OFFSET_BEGINNING));
  }
  consumer->assign(parts);
  soak::stop_on_signals();

  const std::int64_t duration_ms = duration_s * 1000;
  std::vector<Window> windows(static_cast<std::size_t>((duration_ms + kWindowMs - 1) / kWindowMs));
  std::int64_t before = 0, after = 0, after_max = 0, undecodable = 0, no_timestamp = 0, log_append = 0, gaps = 0;
  std::int64_t read_delay_max = 0, total = 0, errors = 0;
  std::map<std::int32_t, std::int64_t> next_offset;
  // The probe's own delay (received - broker timestamp), per ms up to 10 s:
  // small when it keeps up (its figures do not depend on it).
  std::vector<std::int64_t> read_delays(10'001, 0);
  const std::int64_t stop_at = t0_ms + duration_ms + drain_s * 1000;
  while (!g_stop.load() && wall_ms() < stop_at) {
    std::unique_ptr<RdKafka::Message> m(consumer->consume(100));
    if (m->err() == RdKafka::ERR__TIMED_OUT || m->err() == RdKafka::ERR__PARTITION_EOF) continue;
    if (m->err() != RdKafka::ERR_NO_ERROR) {
      if (errors++ < 5) std::fprintf(stderr, "soak_latency: consume: %s\n", m->errstr().c_str());
      continue;
    }
    const std::int64_t received = wall_ms();
    // Offsets skipped: records the broker dropped (the mock's retention)
    // before the probe read them, or transaction markers.
    auto [it, first] = next_offset.emplace(m->partition(), m->offset() + 1);
    if (!first) {
      if (m->offset() > it->second) gaps += m->offset() - it->second;
      it->second = m->offset() + 1;
    }
    const RdKafka::MessageTimestamp ts = m->timestamp();
    if (ts.type == RdKafka::MessageTimestamp::MSG_TIMESTAMP_NOT_AVAILABLE) {
      ++no_timestamp;
      continue;
    }
    if (ts.type == RdKafka::MessageTimestamp::MSG_TIMESTAMP_LOG_APPEND_TIME) ++log_append;
    const auto record = alliance::decode_record(
        alliance::OutputKind::kSettlements, std::string_view(static_cast<const char*>(m->payload()), m->len()));
    const auto* s = record ? std::get_if<alliance::SettlementRecord>(&record->body) : nullptr;
    if (s == nullptr || s->event_ts <= 0) {
      ++undecodable;
      continue;
    }
    ++total;
    read_delay_max = std::max(read_delay_max, received - ts.timestamp);
    ++read_delays[static_cast<std::size_t>(std::clamp<std::int64_t>(received - ts.timestamp, 0, 10'000))];
    const std::int64_t latency = ts.timestamp - s->event_ts;
    if (ts.timestamp < t0_ms) {
      ++before;
    } else if (ts.timestamp >= t0_ms + duration_ms) {
      ++after;
      after_max = std::max(after_max, latency);
    } else {
      Window& w = windows[static_cast<std::size_t>((ts.timestamp - t0_ms) / kWindowMs)];
      w.stamped.push_back(latency);
      w.received.push_back(received - s->event_ts);
    }
  }
  consumer->close();
  auto delay_percentile = [&](double p) {
    std::int64_t seen = 0;
    for (std::size_t ms = 0; ms < read_delays.size(); ++ms)
      if ((seen += read_delays[ms]) >= static_cast<std::int64_t>(std::ceil(p * static_cast<double>(total))))
        return static_cast<std::int64_t>(ms);
    return std::int64_t{0};
  };
  for (auto* p : parts) delete p;

  bool ok = write_buckets(out_dir + "/latency_10s.csv", "window", 1, windows, duration_ms) &&
            write_buckets(out_dir + "/latency.csv", "minute", 6, windows, duration_ms);
  if (std::FILE* f = std::fopen((out_dir + "/latency_meta.txt").c_str(), "w")) {
    std::fprintf(f,
                 "settlements_read=%lld\nbefore_start=%lld\nafter_end=%lld\nafter_end_max_ms=%lld\n"
                 "undecodable=%lld\nno_timestamp=%lld\nlog_append_time=%lld\noffset_gaps=%lld\n"
                 "consume_errors=%lld\nmax_read_delay_ms=%lld\np50_read_delay_ms=%lld\np99_read_delay_ms=%lld\n",
                 static_cast<long long>(total), static_cast<long long>(before), static_cast<long long>(after),
                 static_cast<long long>(after_max), static_cast<long long>(undecodable),
                 static_cast<long long>(no_timestamp), static_cast<long long>(log_append), static_cast<long long>(gaps),
                 static_cast<long long>(errors), static_cast<long long>(read_delay_max),
                 static_cast<long long>(delay_percentile(0.5)), static_cast<long long>(delay_percentile(0.99)));
    ok = std::fclose(f) == 0 && ok;
  } else {
    ok = false;
  }
  if (!ok) {
    std::fprintf(stderr, "soak_latency: --out-dir %s: cannot write the latency files\n", out_dir.c_str());
    return 2;
  }
  std::fprintf(stderr, "soak_latency: %lld settlements (%lld after the end), %lld offsets skipped, max read delay %lld ms\n",
               static_cast<long long>(total), static_cast<long long>(after), static_cast<long long>(gaps),
               static_cast<long long>(read_delay_max));
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "soak_latency: %s\n", e.what());
  return 1;
}

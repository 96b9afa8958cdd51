// The soak's paced producer (bench/soak.sh; docs/SOAK.md): realistic clicks,
// referrals and orders from the TrafficGenerator, sent at a fixed rate to the
// topology's input topics (key: user_id), each with `ts` = the wall clock in
// ms when it is handed to librdkafka. Users are drawn from a population of
// --users that turns over once per --turnover-s (new users arrive, old ones
// leave). Owns its pacing and a CSV of what it achieved per 10-second window
// (windows counted from --t0-ms, the soak's common start).
#include <librdkafka/rdkafkacpp.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "alliance/app/traffic_generator.h"
#include "alliance/config/topology_loader.h"

#include "soak_clock.h"

namespace {

using soak::g_stop;
using soak::kWindowMs;
using soak::wall_ms;
using soak::wall_us;

/// Counts the broker's acknowledgements (librdkafka's poll thread = ours).
class Deliveries : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& m) override {
    if (m.err() == RdKafka::ERR_NO_ERROR) {
      ++delivered;
    } else {
      if (failed++ < 5) std::fprintf(stderr, "soak_producer: delivery failed: %s\n", m.errstr().c_str());
    }
  }
  std::int64_t delivered = 0;
  std::int64_t failed = 0;
};

/// Replaces the numeric `"ts":<ms>` of a generated message with `ms` (a bad
/// message with a string ts keeps it: it is meant to be bad).
void stamp_ts(std::string& json, std::int64_t ms) {
  const auto at = json.find("\"ts\":");
  if (at == std::string::npos) return;
  const std::size_t from = at + 5;
  std::size_t to = from;
  while (to < json.size() && json[to] >= '0' && json[to] <= '9') ++to;
  if (to > from) json.replace(from, to - from, std::to_string(ms));
}

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app{"paced producer of realistic alliance traffic for bench/soak.sh"};
  std::string bootstrap, topology_path, out_path;
  double rate = 0;
  std::int64_t duration_s = 0, users = 100'000, turnover_s = 1800, t0_ms = 0;
  std::uint64_t seed = 1;
  app.add_option("--bootstrap", bootstrap, "Kafka bootstrap servers")->required();
  app.add_option("--topology", topology_path, "topology YAML (input topics, partners, codes, campaigns)")->required();
  app.add_option("--rate", rate, "events per second")->required()->check(CLI::Range(1.0, 1e6));
  app.add_option("--duration-s", duration_s, "seconds to produce")->required()->check(CLI::Range(1, 7 * 86400));
  app.add_option("--users", users, "active users at any moment")->check(CLI::Range(1, 100'000'000));
  app.add_option("--turnover-s", turnover_s, "seconds in which the whole population is replaced (0: never)")
      ->check(CLI::Range(0, 365 * 86400));
  app.add_option("--t0-ms", t0_ms, "the soak's start (epoch ms): sending starts then; windows count from it")
      ->required();
  app.add_option("--out", out_path, "CSV of what was achieved per 10 s window")->required();
  app.add_option("--seed", seed, "random seed of the traffic");
  CLI11_PARSE(app, argc, argv);

  const auto topology = alliance::load_topology_or_explain(topology_path, "soak_producer");
  if (!topology) return 2;
  std::FILE* out = std::fopen(out_path.c_str(), "w");
  if (out == nullptr) {
    std::fprintf(stderr, "soak_producer: --out %s: cannot write it\n", out_path.c_str());
    return 2;
  }
  std::fprintf(out, "window,t_s,sent,rate,target,max_behind_ms,delivered_total,failed_total\n");
  std::fflush(out);

  std::string err;
  Deliveries deliveries;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  if (conf->set("bootstrap.servers", bootstrap, err) != RdKafka::Conf::CONF_OK ||
      conf->set("linger.ms", "5", err) != RdKafka::Conf::CONF_OK ||
      conf->set("queue.buffering.max.messages", "1000000", err) != RdKafka::Conf::CONF_OK ||
      conf->set("dr_cb", &deliveries, err) != RdKafka::Conf::CONF_OK) {
    std::fprintf(stderr, "soak_producer: %s\n", err.c_str());
    return 2;
  }
  std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), err));
  if (!producer) {
    std::fprintf(stderr, "soak_producer: %s\n", err.c_str());
    return 2;
  }
  soak::stop_on_signals();

  alliance::GeneratorOptions g;
  g.seed = seed;
  g.users = users;
  g.start_ms = t0_ms;
  g.mean_gap_us = std::max<std::int64_t>(1, static_cast<std::int64_t>(1e6 / rate));
  alliance::TrafficGenerator gen(*topology, g);
  const std::array<std::string, 3> topics{topology->inputs.clicks, topology->inputs.referrals, topology->inputs.orders};

  // Know the topics' partitions before the start, so the first events do not
  // wait for a metadata round trip (their latency would be the harness's).
  for (const auto& name : topics) {
    std::unique_ptr<RdKafka::Topic> topic(RdKafka::Topic::create(producer.get(), name, nullptr, err));
    RdKafka::Metadata* md = nullptr;
    if (!topic || producer->metadata(false, topic.get(), &md, 10'000) != RdKafka::ERR_NO_ERROR) {
      std::fprintf(stderr, "soak_producer: no metadata for topic %s on %s\n", name.c_str(), bootstrap.c_str());
      return 2;
    }
    delete md;
  }
  while (!g_stop.load() && wall_ms() < t0_ms) {
    producer->poll(0);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const std::int64_t t0_us = t0_ms * 1000;
  const std::int64_t end_us = t0_us + duration_s * 1'000'000;
  const std::int64_t windows = (duration_s * 1000 + kWindowMs - 1) / kWindowMs;
  std::int64_t sent = 0, window = 0, window_sent = 0, max_behind_us = 0;

  auto close_window = [&] {
    const std::int64_t t_ms = std::min((window + 1) * kWindowMs, duration_s * 1000);
    const double span_s = static_cast<double>(t_ms - window * kWindowMs) / 1000.0;
    std::fprintf(out, "%lld,%.0f,%lld,%.1f,%.0f,%.1f,%lld,%lld\n", static_cast<long long>(window), t_ms / 1000.0,
                 static_cast<long long>(window_sent), static_cast<double>(window_sent) / span_s, rate,
                 static_cast<double>(max_behind_us) / 1000.0, static_cast<long long>(deliveries.delivered),
                 static_cast<long long>(deliveries.failed));
    std::fflush(out);
    ++window;
    window_sent = 0;
    max_behind_us = 0;
  };

  for (;;) {
    const std::int64_t now = wall_us();
    if (g_stop.load() || now >= end_us) break;
    while (window < windows - 1 && now >= t0_us + (window + 1) * kWindowMs * 1000) close_window();
    // The message due now: the n-th is due at t0 + n / rate.
    const auto due = static_cast<std::int64_t>(static_cast<double>(now - t0_us) * rate / 1e6);
    if (turnover_s > 0)
      gen.set_first_user(static_cast<std::int64_t>(static_cast<double>(now - t0_us) / 1e6 * static_cast<double>(users) /
                                                   static_cast<double>(turnover_s)));
    if (sent < due) {
      // How far behind its schedule the oldest unsent message is.
      const auto scheduled_us = t0_us + static_cast<std::int64_t>(static_cast<double>(sent) * 1e6 / rate);
      max_behind_us = std::max(max_behind_us, now - scheduled_us);
    }
    for (; sent < due; ++sent, ++window_sent) {
      alliance::GeneratedMessage m = gen.next(/*with_type=*/false);
      stamp_ts(m.json, wall_ms());
      for (;;) {
        const auto e = producer->produce(topics[static_cast<std::size_t>(m.kind)], RdKafka::Topic::PARTITION_UA,
                                         RdKafka::Producer::RK_MSG_COPY, m.json.data(), m.json.size(), m.key.data(),
                                         m.key.size(), 0, nullptr);
        if (e == RdKafka::ERR_NO_ERROR) break;
        if (e != RdKafka::ERR__QUEUE_FULL) {
          std::fprintf(stderr, "soak_producer: produce to %s failed: %s\n",
                       topics[static_cast<std::size_t>(m.kind)].c_str(), RdKafka::err2str(e).c_str());
          return 1;
        }
        producer->poll(10);  // the queue is full: wait for the broker
      }
    }
    producer->poll(0);
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  if (g_stop.load()) close_window();  // interrupted: the window it was in, then no more
  else while (window < windows) close_window();
  producer->flush(30'000);
  // The windows' delivered totals were written before the final flush.
  std::fprintf(stderr,
               "soak_producer: sent %lld events in %lld s = %.0f events/s (target %.0f); delivered %lld, failed %lld, "
               "unacknowledged %d\n",
               static_cast<long long>(sent), static_cast<long long>(duration_s),
               static_cast<double>(sent) / static_cast<double>(duration_s), rate,
               static_cast<long long>(deliveries.delivered), static_cast<long long>(deliveries.failed),
               producer->outq_len());
  std::fclose(out);
  return deliveries.failed == 0 && producer->outq_len() == 0 ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "soak_producer: %s\n", e.what());
  return 1;
}

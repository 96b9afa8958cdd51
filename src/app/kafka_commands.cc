#include "alliance/app/kafka_commands.h"

#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <cstdint>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include "alliance/app/traffic_generator.h"
#include "alliance/codec/record_decoder.h"
#include "alliance/config/topology_loader.h"
#include "alliance/core/money_format.h"
#include "alliance/dashboard/dashboard_command.h"
#include "alliance/kafka/embedded_broker.h"

namespace alliance {

namespace {

std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop.store(true); }

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// What the demo's table shows, in one currency (the topology's default),
/// fed from acknowledged outputs (runner thread) and read by the printer
/// thread; guarded by mu_.
class LiveView {
 public:
  explicit LiveView(std::string currency) : currency_(std::move(currency)) {}

  void add(const std::vector<OutboxEntry>& entries) {
    std::lock_guard lock(mu_);
    for (const auto& e : entries) {
      if (e.kind == OutputKind::kDlq) {
        ++dead_letters_;
        continue;
      }
      if (e.kind != OutputKind::kMetrics && e.kind != OutputKind::kSettlements && e.kind != OutputKind::kRisk) continue;
      // The typed record as produced; after a restart only the bytes exist.
      std::optional<OutputRecord> decoded;
      if (!e.record && !(decoded = decode_record(e.kind, e.body))) continue;
      const OutputRecord& record = e.record ? *e.record : *decoded;
      if (const auto* m = std::get_if<MetricRecord>(&record.body)) {
        if (m->dim != "source" || m->window_size != 60'000 || m->currency != currency_) continue;
        Row& r = sources_[m->key];
        if (m->window_start >= r.window_start)
          r = Row{m->window_start, m->clicks, m->unique_users, m->orders, format_micros(m->conversions_micros),
                  m->revenue_minor};
      } else if (const auto* k = std::get_if<RiskRecord>(&record.body)) {
        risk_[k->partner_id + " " + k->period] = *k;
      } else if (const auto* st = std::get_if<SettlementRecord>(&record.body)) {
        if (st->currency != currency_) continue;
        Ledger& l = partners_[st->partner_id];
        std::int64_t& total = st->reversal ? l.reversed : l.accrued;
        const std::int64_t amount = st->attributed_minor;
        if (__builtin_add_overflow(total, amount, &total))  // a view: saturate rather than wrap
          total = amount < 0 ? INT64_MIN : INT64_MAX;
        l.records += 1;
      }
    }
  }

  void print(std::int64_t produced, const std::string& bootstrap, const std::string& metrics) {
    std::lock_guard lock(mu_);
    std::string s = "\x1b[H\x1b[2J";
    char buf[256];
    std::snprintf(buf, sizeof buf, "alliance demo  |  %lld events produced  |  broker %s  |  %s  |  Ctrl-C stops\n\n",
                  static_cast<long long>(produced), bootstrap.c_str(), metrics.c_str());
    s += buf;
    s += "Per-source conversion, latest 1-minute window (" + currency_ + ")\n";
    std::snprintf(buf, sizeof buf, "  %-10s %8s %8s %8s %12s %10s %14s\n", "source", "clicks", "users", "orders",
                  "conversions", "conv.rate", "revenue");
    s += buf;
    for (const auto& [src, r] : sources_) {
      const double rate = r.users > 0 ? std::stod(r.conversions) / static_cast<double>(r.users) : 0.0;
      std::snprintf(buf, sizeof buf, "  %-10s %8lld %8lld %8lld %12s %9.1f%% %14s\n", src.c_str(),
                    static_cast<long long>(r.clicks), static_cast<long long>(r.users), static_cast<long long>(r.orders),
                    r.conversions.c_str(), 100 * rate, format_money(r.revenue, currency_).c_str());
      s += buf;
    }
    s += "\nPartner settlement since start (" + currency_ + ")\n";
    std::snprintf(buf, sizeof buf, "  %-12s %14s %14s %14s %8s\n", "partner", "accrued", "reversed", "net", "records");
    s += buf;
    for (const auto& [p, l] : partners_) {
      // The net is shown only when it fits in int64 (the table is a view;
      // the ledger's own totals are checked where they are summed).
      MinorUnits net = 0;
      const std::string net_text =
          __builtin_add_overflow(l.accrued, l.reversed, &net) ? "overflow" : format_money(net, currency_);
      std::snprintf(buf, sizeof buf, "  %-12s %14s %14s %14s %8lld\n", p.c_str(),
                    format_money(l.accrued, currency_).c_str(), format_money(l.reversed, currency_).c_str(),
                    net_text.c_str(), static_cast<long long>(l.records));
      s += buf;
    }
    // Partner risk (SPEC §3.9): the partner-periods flagged now.
    s += "\nFlagged partners (partner risk)\n";
    std::snprintf(buf, sizeof buf, "  %-12s %-8s %-32s %10s %10s %10s %5s\n", "partner", "period", "flags", "fast",
                  "clk/user", "reversal", "held");
    s += buf;
    for (const auto& [key, k] : risk_) {
      if (k.flags.empty()) continue;
      std::string flags;
      for (const auto& f : k.flags) flags += (flags.empty() ? "" : ",") + f;
      std::snprintf(buf, sizeof buf, "  %-12s %-8s %-32s %10s %10s %10s %5s\n", k.partner_id.c_str(), k.period.c_str(),
                    flags.c_str(), risk_fast_share(k).c_str(), risk_clicks_per_user(k).c_str(),
                    risk_reversal_rate(k).c_str(), k.held ? "yes" : "no");
      s += buf;
    }
    std::snprintf(buf, sizeof buf, "\ndead letters: %lld\n", static_cast<long long>(dead_letters_));
    s += buf;
    std::fputs(s.c_str(), stdout);
    std::fflush(stdout);
  }

 private:
  struct Row {
    std::int64_t window_start = -1, clicks = 0, users = 0, orders = 0;
    std::string conversions = "0";
    std::int64_t revenue = 0;
  };
  struct Ledger {
    std::int64_t accrued = 0, reversed = 0, records = 0;
  };
  const std::string currency_;
  std::mutex mu_;
  std::map<std::string, Row> sources_;
  std::map<std::string, Ledger> partners_;
  std::map<std::string, RiskRecord> risk_;  // latest per "partner period"
  std::int64_t dead_letters_ = 0;
};

}  // namespace

std::atomic<bool>& stop_on_signals() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  return g_stop;
}

int run_broker(const BrokerOptions& o) {
  const auto loaded = load_topology_or_explain(o.topology_path, "broker");
  if (!loaded) return 2;
  const Topology& t = *loaded;
  auto& stop = stop_on_signals();
  EmbeddedBroker broker;
  broker.create_topology_topics(t, o.partitions);
  const std::string boot = broker.bootstraps();
  if (!o.bootstrap_file.empty()) {
    const std::string tmp = o.bootstrap_file + ".tmp";
    std::ofstream(tmp) << boot << "\n";
    std::error_code ec;
    std::filesystem::rename(tmp, o.bootstrap_file, ec);  // readers never see half a line
    if (ec) {
      std::fprintf(stderr, "alliance broker: --bootstrap-file %s: cannot write it (%s); give a path in a writable "
                   "directory\n", o.bootstrap_file.c_str(), ec.message().c_str());
      return 2;
    }
  }
  std::printf("%s\n", boot.c_str());
  std::fflush(stdout);
  std::fprintf(stderr, "alliance broker: librdkafka mock cluster with the topics of %s (%d partitions each); "
               "type 'down' / 'up' to take the brokers down / up, 'rtt <ms>' to delay their responses "
               "('rtt 0': normal again); Ctrl-C stops\n", t.name.c_str(), o.partitions);
  // Fault injection for tests: commands on stdin (a detached reader thread:
  // it may block in getline when stdin stays open).
  std::thread([&broker, &stop] {
    std::string cmd;
    while (!stop.load() && std::getline(std::cin, cmd)) {
      if (!cmd.empty() && cmd.back() == '\r') cmd.pop_back();
      if (cmd == "down" || cmd == "up") {
        broker.set_down(cmd == "down");
        std::fprintf(stderr, "alliance broker: brokers %s\n", cmd.c_str());
      } else if (cmd.rfind("rtt ", 0) == 0) {
        char* end = nullptr;
        const long ms = std::strtol(cmd.c_str() + 4, &end, 10);
        if (end == cmd.c_str() + 4 || *end != '\0' || ms < 0 || ms > 600'000) {
          std::fprintf(stderr, "alliance broker: 'rtt <ms>' takes 0..600000 ms, not '%s'\n", cmd.c_str() + 4);
        } else {
          broker.set_rtt(static_cast<int>(ms));
          std::fprintf(stderr, "alliance broker: response delay %ld ms\n", ms);
        }
      } else if (!cmd.empty()) {
        std::fprintf(stderr, "alliance broker: unknown command '%s' (down, up, rtt <ms>)\n", cmd.c_str());
      }
    }
  }).detach();
  while (!stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  return 0;
}

int run_demo(const DemoOptions& o) {
  const auto loaded = load_topology_or_explain(o.topology_path, "demo");
  if (!loaded) return 2;
  const Topology& t = *loaded;
  auto& stop = stop_on_signals();
  EmbeddedBroker broker;
  broker.create_topology_topics(t, o.partitions);
  const std::string boot = broker.bootstraps();
  const std::string state = o.state_dir.empty()
                                ? (std::filesystem::temp_directory_path() / ("alliance-demo-" + std::to_string(::getpid()))).string()
                                : o.state_dir;

  // The live web dashboard, reading the output topics like any consumer.
  std::unique_ptr<dashboard::LiveDashboard> dash;
  if (!o.dashboard_listen.empty()) {
    try {
      dashboard::DashboardOptions d;
      d.bootstrap = boot;
      d.listen = o.dashboard_listen;
      d.http = o.http;
      dash = std::make_unique<dashboard::LiveDashboard>(t, d);
    } catch (const std::exception& e) {
      // The demo goes on without it (a second demo, a test beside another).
      std::fprintf(stderr, "alliance demo: no dashboard: %s (pick another address with --dashboard HOST:PORT)\n",
                   e.what());
    }
    if (dash) std::printf("dashboard: %s\n", dash->address().text().c_str());
    std::fflush(stdout);
  }
  // The addresses bound; /metrics's once run_kafka has it listening.
  std::mutex endpoints_mutex;
  std::string metrics_at = o.metrics_listen.empty() ? "no /metrics" : "/metrics on " + o.metrics_listen + " (starting)";
  const std::string dash_at = dash ? "  |  dashboard " + dash->address().text() : std::string();
  auto endpoints = [&] {
    std::lock_guard<std::mutex> lock(endpoints_mutex);
    return metrics_at + dash_at;
  };

  // Traffic: event time follows the wall clock at `rate` events per second.
  std::atomic<std::int64_t> produced{0};
  std::thread traffic([&] {
    std::string err;
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    conf->set("bootstrap.servers", boot, err);
    conf->set("linger.ms", "5", err);
    std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), err));
    GeneratorOptions g;
    g.start_ms = wall_ms();
    g.mean_gap_us = std::max<std::int64_t>(1, static_cast<std::int64_t>(1'000'000.0 / o.rate));
    g.users = 2000;
    g.fraud = o.fraud;  // an injector and a click farm, so partner risk has something to flag
    TrafficGenerator gen(t, g);
    const std::array<std::string, 3> topics{t.inputs.clicks, t.inputs.referrals, t.inputs.orders};
    while (!stop.load()) {
      const auto m = gen.next(/*with_type=*/false);
      while (gen.now() > wall_ms() && !stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
      producer->produce(topics[static_cast<std::size_t>(m.kind)], RdKafka::Topic::PARTITION_UA,
                        RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(m.json.data()), m.json.size(),
                        m.key.data(), m.key.size(), 0, nullptr);
      producer->poll(0);
      ++produced;
    }
    producer->flush(2000);
  });

  LiveView view(t.default_currency);
  std::thread printer([&] {
    while (!stop.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(o.refresh_ms));
      view.print(produced.load(), boot, endpoints());
    }
  });
  std::thread timer;
  if (o.duration_ms > 0)
    timer = std::thread([&] {
      const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(o.duration_ms);
      while (!stop.load() && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      stop.store(true);
    });

  RunOptions run;
  run.bootstrap = boot;
  run.group = "alliance-demo";
  run.state_dir = state;
  run.metrics_listen = o.metrics_listen;
  run.metrics_security = o.http;
  run.session_timeout_ms = 6000;
  run.stop = &stop;
  run.on_published = [&](const std::vector<OutboxEntry>& e) { view.add(e); };
  run.on_metrics_listening = [&](const http::BoundAddress& a) {
    std::lock_guard<std::mutex> lock(endpoints_mutex);
    metrics_at = a.text("metrics");
  };
  const int rc = run_kafka(t, run);
  stop.store(true);
  traffic.join();
  printer.join();
  if (timer.joinable()) timer.join();
  view.print(produced.load(), boot, "stopped");
  if (o.state_dir.empty()) std::filesystem::remove_all(state);
  return rc;
}

}  // namespace alliance

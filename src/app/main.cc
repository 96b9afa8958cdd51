// The `alliance` command line: replay (files), and the Kafka runtime commands.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "alliance/app/kafka_commands.h"
#include "alliance/app/replay_command.h"
#include "alliance/app/traffic_generator.h"
#include "alliance/config/topology_loader.h"
#include "alliance/dashboard/dashboard_command.h"

int main(int argc, char** argv) {
  CLI::App app{"alliance: attribution and settlement stream processor for alliance marketing"};
  app.require_subcommand(1);

  alliance::ReplayOptions replay;
  auto* r = app.add_subcommand("replay", "process JSONL event files through the core and write the outputs as JSONL");
  r->add_option("--topology", replay.topology_path, "topology YAML file")->required();
  r->add_option("--input", replay.inputs, "input JSONL file (repeatable; processed in the order given)")->required();
  r->add_option("--out", replay.out_dir, "output directory")->required();
  r->add_option("--state", replay.state_dir, "RocksDB state directory: resume after a crash");
  r->add_option("--batch", replay.batch_lines,
                "input records per emit cycle and commit (default: the topology's replay_batch)")
      ->check(CLI::PositiveNumber);
  std::string replay_emit;
  r->add_option("--emit", replay_emit, "running (default: the topology's emit) or final: only final records")
      ->check(CLI::IsMember({"running", "final"}));
  r->add_flag("--quiet", replay.quiet, "no progress and no summary");
  r->add_option("--partitions", replay.partitions,
                "split users over N partitions and aggregate in a second stage, as a Kafka run over N "
                "partitions does (memory only)")
      ->check(CLI::Range(1, 256));

  std::string gen_topology;
  std::int64_t gen_events = 10000;
  alliance::GeneratorOptions gen;
  auto* g = app.add_subcommand("generate", "write deterministic realistic traffic as JSONL to stdout");
  g->add_option("--topology", gen_topology, "topology YAML file (partners, codes, campaigns)")->required();
  g->add_option("--events", gen_events, "number of events")->check(CLI::PositiveNumber);
  g->add_option("--seed", gen.seed, "random seed");
  g->add_option("--users", gen.users, "active users")->check(CLI::PositiveNumber);
  g->add_option("--bad-rate", gen.bad_rate, "share of bad messages");
  g->add_option("--duplicate-rate", gen.duplicate_rate, "share of re-sent events");
  g->add_option("--gap-ms", gen.mean_gap_ms, "mean event time between events")->check(CLI::PositiveNumber);

  std::string run_topology;
  alliance::RunOptions run;
  auto* k = app.add_subcommand("run", "run the processor against Kafka (SPEC §6)");
  k->add_option("--topology", run_topology, "topology YAML file")->required();
  k->add_option("--bootstrap", run.bootstrap, "Kafka bootstrap servers host:port[,...]")->required();
  k->add_option("--group", run.group, "consumer group id");
  k->add_option("--state", run.state_dir, "RocksDB state directory (one subdirectory per partition)");
  k->add_option("--metrics", run.metrics_listen, "Prometheus /metrics listen address ('' for none)");
  k->add_option("--commit-interval", run.commit_interval_ms, "ms between batch commits");
  k->add_option("--idle-wait", run.idle_wait_ms, "ms an input may hold back the event-time merge");
  k->add_option("--session-timeout", run.session_timeout_ms, "consumer group session timeout, ms");
  k->add_option("--stop-when-idle", run.stop_when_idle_ms, "bounded run: finish after this many ms without input");
  k->add_option("--assignor", run.assignor, "partition.assignment.strategy")->check(CLI::IsMember({"range", "roundrobin"}));
  k->add_option("--guarantee", run.guarantee, "at_least_once or exactly_once")->check(CLI::IsMember({"at_least_once", "exactly_once"}));

  alliance::BrokerOptions broker;
  auto* b = app.add_subcommand("broker", "host librdkafka's mock cluster with a topology's topics and print its address");
  b->add_option("--topology", broker.topology_path, "topology YAML file")->required();
  b->add_option("--partitions", broker.partitions, "partitions per topic")->check(CLI::PositiveNumber);
  b->add_option("--bootstrap-file", broker.bootstrap_file, "also write the bootstrap address to this file");

  alliance::DemoOptions demo;
  std::string demo_duration;
  auto* d = app.add_subcommand("demo", "embedded broker + traffic + processor + /metrics, with a live table");
  d->add_option("--topology", demo.topology_path, "topology YAML file")->required();
  d->add_option("--rate", demo.rate, "events per second")->check(CLI::PositiveNumber);
  d->add_option("--duration", demo_duration, "stop after this long, e.g. 30s (default: until Ctrl-C)");
  d->add_option("--metrics", demo.metrics_listen, "Prometheus /metrics listen address");
  d->add_option("--state", demo.state_dir, "RocksDB state directory (default: a temporary one)");
  d->add_option("--partitions", demo.partitions, "partitions per topic (>1: two stages)")->check(CLI::Range(1, 64));
  d->add_option("--dashboard", demo.dashboard_listen, "the live web dashboard's listen address ('' for none)");

  std::string dash_topology, dash_retain;
  alliance::dashboard::DashboardOptions dash;
  auto* w = app.add_subcommand("dashboard", "live web dashboard of the output topics (docs/OPERATIONS.md)");
  w->add_option("--topology", dash_topology, "topology YAML file (output topic names, windows, currency)")->required();
  w->add_option("--bootstrap", dash.bootstrap, "Kafka bootstrap servers host:port[,...]")->required();
  w->add_option("--listen", dash.listen, "HTTP listen address (port 0: any free port)");
  w->add_option("--retain", dash_retain, "windowed metrics kept behind the watermark, e.g. 6h (default)");
  w->add_option("--balances-topic", dash.balances_topic, "partner-balances topic, read once it exists ('' for none)");

  CLI11_PARSE(app, argc, argv);
  if (k->parsed()) {
    const auto t = alliance::load_topology_or_explain(run_topology, "run");
    if (!t) return 2;
    // The topology's processing: settings apply unless given on the command line.
    if (k->count("--guarantee") == 0) run.guarantee = t->guarantee;
    if (k->count("--commit-interval") == 0) run.commit_interval_ms = t->commit_interval;
    run.stop = &alliance::stop_on_signals();
    return alliance::run_kafka(*t, run);
  }
  if (b->parsed()) return alliance::run_broker(broker);
  if (w->parsed()) {
    const auto t = alliance::load_topology_or_explain(dash_topology, "dashboard");
    if (!t) return 2;
    if (!dash_retain.empty()) {
      const auto retain = alliance::parse_duration(dash_retain);
      if (!retain || *retain <= 0) {
        std::fprintf(stderr, "alliance dashboard: --retain %s: write e.g. 6h, 90m\n", dash_retain.c_str());
        return 2;
      }
      dash.retain_ms = *retain;
    }
    return alliance::dashboard::run_dashboard(*t, dash, alliance::stop_on_signals());
  }
  if (d->parsed()) {
    if (!demo_duration.empty()) {
      auto dur = alliance::parse_duration(demo_duration);
      if (!dur) {
        std::fprintf(stderr, "alliance demo: --duration %s: write e.g. 30s, 5m\n", demo_duration.c_str());
        return 2;
      }
      demo.duration_ms = *dur;
    }
    return alliance::run_demo(demo);
  }
  if (r->parsed()) {
    replay.emit_final = replay_emit == "final";
    return alliance::run_replay(replay);
  }
  if (g->parsed()) {
    const auto t = alliance::load_topology_or_explain(gen_topology, "generate");
    if (!t) return 2;
    alliance::TrafficGenerator generator(*t, gen);
    for (std::int64_t i = 0; i < gen_events; ++i) {
      const auto m = generator.next(/*with_type=*/true);
      std::fwrite(m.json.data(), 1, m.json.size(), stdout);
      std::fputc('\n', stdout);
    }
  }
  return 0;
}

// The `alliance` command line: replay (files), and the Kafka runtime commands.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "alliance/app/kafka_commands.h"
#include "alliance/app/payouts_command.h"
#include "alliance/app/replay_command.h"
#include "alliance/app/traffic_generator.h"
#include "alliance/config/topology_loader.h"
#include "alliance/dashboard/dashboard_command.h"

#ifndef ALLIANCE_VERSION
#error "ALLIANCE_VERSION (CMake PROJECT_VERSION) must be defined"
#endif

namespace {

/// Usage errors (unknown command or option, bad value) exit with 2, as the
/// README promises; 0 and 1 remain for ran / failed while running.
constexpr int kUsageError = 2;

/// A number > 0, checked on the text so the message stays readable (CLI11's
/// PositiveNumber prints the range up to DBL_MAX in full).
CLI::Validator positive() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        char* end = nullptr;
        const long double x = std::strtold(v.c_str(), &end);
        if (end == v.c_str() || *end != '\0' || !(x > 0)) return "must be a number greater than 0, got " + v;
        return {};
      },
      "POSITIVE");
}

/// A share of all events: a number in [0, 1].
CLI::Validator share() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        char* end = nullptr;
        const long double x = std::strtold(v.c_str(), &end);
        if (end == v.c_str() || *end != '\0' || !(x >= 0 && x <= 1))
          return "must be a share between 0 and 1 (e.g. 0.002), got " + v;
        return {};
      },
      "SHARE");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"alliance: attribution and settlement stream processor for alliance marketing"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "alliance " ALLIANCE_VERSION, "print the version and exit");
  app.option_defaults()->always_capture_default();  // --help shows each default

  alliance::ReplayOptions replay;
  auto* r = app.add_subcommand("replay", "process JSONL event files through the core and write the outputs as JSONL");
  r->add_option("--topology", replay.topology_path, "topology YAML file")->required();
  r->add_option("--input", replay.inputs, "input JSONL file (repeatable; processed in the order given)")
      ->required()
      ->default_str("");
  r->add_option("--out", replay.out_dir, "output directory")->required();
  r->add_option("--state", replay.state_dir, "RocksDB state directory: resume after a crash");
  r->add_option("--batch", replay.batch_lines,
                "input records per emit cycle and commit (default: the topology's replay_batch)")
      ->check(positive())
      ->default_str("replay_batch");
  std::string replay_emit;
  r->add_option("--emit", replay_emit, "running or final: only final records (default: the topology's emit)")
      ->check(CLI::IsMember({"running", "final"}));
  r->add_flag("--quiet", replay.quiet, "no progress and no summary");
  r->add_option("--partitions", replay.partitions,
                "split users over N partitions and aggregate in a second stage, as a Kafka run over N "
                "partitions does (memory only); default: one stage")
      ->check(CLI::Range(1, 256))
      ->default_str("");

  std::string gen_topology;
  std::int64_t gen_events = 10000;
  alliance::GeneratorOptions gen;
  auto* g = app.add_subcommand("generate", "write deterministic realistic traffic as JSONL to stdout");
  g->add_option("--topology", gen_topology, "topology YAML file (partners, codes, campaigns)")->required();
  g->add_option("--events", gen_events, "number of events")->check(positive());
  g->add_option("--seed", gen.seed, "random seed");
  g->add_option("--users", gen.users, "active users")->check(positive());
  g->add_option("--bad-rate", gen.bad_rate, "share of bad messages, 0 to 1")->check(share());
  g->add_option("--duplicate-rate", gen.duplicate_rate, "share of re-sent events, 0 to 1")->check(share());
  g->add_option("--gap-ms", gen.mean_gap_ms, "mean event time between events")->check(positive());

  std::string run_topology;
  alliance::RunOptions run;
  auto* k = app.add_subcommand("run", "run the processor against Kafka (SPEC §6)");
  k->add_option("--topology", run_topology, "topology YAML file")->required();
  k->add_option("--bootstrap", run.bootstrap, "Kafka bootstrap servers host:port[,...]")->required();
  k->add_option("--group", run.group, "consumer group id");
  k->add_option("--state", run.state_dir, "RocksDB state directory (one subdirectory per partition)");
  k->add_option("--metrics", run.metrics_listen, "Prometheus /metrics listen address ('' for none)");
  k->add_option("--commit-interval", run.commit_interval_ms,
                "ms between batch commits (default: the topology's processing.commit_interval)")
      ->default_str("");
  k->add_option("--idle-wait", run.idle_wait_ms, "ms an input may hold back the event-time merge");
  k->add_option("--session-timeout", run.session_timeout_ms, "consumer group session timeout, ms");
  k->add_option("--stop-when-idle", run.stop_when_idle_ms, "bounded run: finish after this many ms without input");
  k->add_option("--assignor", run.assignor, "partition.assignment.strategy")->check(CLI::IsMember({"range", "roundrobin"}));
  k->add_option("--guarantee", run.guarantee, "output guarantee (default: the topology's processing.guarantee)")
      ->check(CLI::IsMember({"at_least_once", "exactly_once"}))
      ->default_str("");

  alliance::BrokerOptions broker;
  auto* b = app.add_subcommand("broker", "host librdkafka's mock cluster with a topology's topics and print its address");
  b->add_option("--topology", broker.topology_path, "topology YAML file")->required();
  b->add_option("--partitions", broker.partitions, "partitions per topic")->check(positive());
  b->add_option("--bootstrap-file", broker.bootstrap_file, "also write the bootstrap address to this file");

  alliance::DemoOptions demo;
  std::string demo_duration;
  auto* d = app.add_subcommand("demo", "embedded broker + traffic + processor + /metrics, with a live table");
  d->add_option("--topology", demo.topology_path, "topology YAML file")->required();
  d->add_option("--rate", demo.rate, "events per second")->check(positive());
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

  alliance::PayoutsOptions payouts;
  auto* pay = app.add_subcommand("payouts", "print the payout batch CSV of the positive payable partner balances (SPEC §5.5)");
  pay->add_option("--from", payouts.from_dir, "a replay's output directory (reads partner-balances.jsonl)");
  pay->add_option("--bootstrap", payouts.bootstrap, "or: Kafka bootstrap servers, to read the balances topic");
  pay->add_option("--topology", payouts.topology_path, "topology YAML file (with --bootstrap: outputs.balances)");
  pay->add_option("--timeout", payouts.timeout_ms, "ms to read the topic to its end")->check(positive());

  // An unknown first word is a mistyped command: name it and list the commands
  // (CLI11 alone would only say "A subcommand is required").
  const std::function<bool(const CLI::App*)> every = [](const CLI::App*) { return true; };
  const auto commands = std::as_const(app).get_subcommands(every);
  const auto list_commands = [&commands] {
    std::string names;
    for (const auto* sub : commands) names += (names.empty() ? "" : ", ") + sub->get_name();
    return names;
  };
  const auto is_command = [&commands](std::string_view word) {
    for (const auto* sub : commands)
      if (sub->get_name() == word) return true;
    return false;
  };
  if (argc >= 2 && argv[1][0] != '-' && !is_command(argv[1])) {
    std::fprintf(stderr, "alliance: unknown command \"%s\"; commands: %s (alliance --help describes them)\n",
                 argv[1], list_commands().c_str());
    return kUsageError;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() != 0 && app.get_subcommands().empty() && dynamic_cast<const CLI::RequiredError*>(&e)) {
      std::fprintf(stderr, "alliance: a command is required; commands: %s (alliance --help describes them)\n",
                   list_commands().c_str());
      return kUsageError;
    }
    return app.exit(e) == 0 ? 0 : kUsageError;  // --help and --version exit 0
  }
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
  if (pay->parsed()) return alliance::run_payouts(payouts);
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

// The `alliance` command line: replay (files), and the Kafka runtime commands.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "alliance/app/kafka_commands.h"
#include "alliance/app/payouts_command.h"
#include "alliance/app/replay_command.h"
#include "alliance/app/traffic_generator.h"
#include "alliance/config/topology_loader.h"
#include "alliance/dashboard/dashboard_command.h"
#include "alliance/http/http_security.h"
#include "alliance/kafka/kafka_client_config.h"

#ifndef ALLIANCE_VERSION
#error "ALLIANCE_VERSION (CMake PROJECT_VERSION) must be defined"
#endif

namespace {

/// Exit codes of every command (README "Exit codes"): 0 did what was asked,
/// 1 failed while running for a reason outside the command line and its
/// files (a retry may succeed), 2 cannot do what was asked (usage, topology,
/// input, state directory, disk, listen address, Kafka topics).
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

/// Edits (insert, delete, substitute, swap two neighbours) between a and b.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

/// The long option names of `app`, in the order --help shows them.
std::vector<std::string> long_options(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::Option* opt : app.get_options())
    for (const std::string& n : opt->get_lnames()) names.push_back("--" + n);
  return names;
}

/// The first word of args that looks like an option `app` does not have,
/// with what to write instead, or "" when there is none. Runs before
/// parsing, so a misspelled flag is named even when CLI11 would first
/// complain about a required option it hid ("--toplogy" for --topology).
std::string unknown_option(const CLI::App& app, const std::string& usage, int first, int argc, char** argv) {
  for (int i = first; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--") break;  // what follows is not options
    const bool long_form = arg.size() > 2 && arg.substr(0, 2) == "--";
    const bool short_form = arg.size() == 2 && arg[0] == '-' && std::isalpha(static_cast<unsigned char>(arg[1]));
    if (!long_form && !short_form) continue;  // a value (e.g. -3)
    const std::string name(arg.substr(0, arg.find('=')));
    if (const CLI::Option* opt = app.get_option_no_throw(name)) {
      // Its value is the next word (even one that begins with --).
      if (opt->get_type_size_min() > 0 && name.size() == arg.size()) ++i;
      continue;
    }
    const auto names = long_options(app);
    // The closest name: fewest edits (at most 2; the start of a name counts
    // as 1, a name with more after it as 2: --state-dir is --state), then
    // the longest common start (--ouput: --out rather than --input).
    std::string best;
    std::pair<std::size_t, std::size_t> best_score{3, 0};
    for (const std::string& n : names) {
      const std::size_t dist = n.rfind(name, 0) == 0 ? 1 : name.rfind(n, 0) == 0 ? 2 : edit_distance(name, n);
      const std::size_t common =
          static_cast<std::size_t>(std::mismatch(name.begin(), name.end(), n.begin(), n.end()).first - name.begin());
      if (dist <= 2 && (dist < best_score.first || (dist == best_score.first && common > best_score.second)))
        best_score = {dist, common}, best = n;
    }
    std::string msg = "alliance: unknown option " + name + " for `" + usage + "`";
    if (!best.empty()) return msg + "; did you mean " + best + "? (`" + usage + " --help` lists the options)";
    msg += "; its options:";
    for (const std::string& n : names)
      if (n != "--help") msg += " " + n;
    return msg + " (`" + usage + " --help` describes them)";
  }
  return {};
}

/// The Kafka client property flags of a command that connects to a
/// cluster (SPEC §9): `-X KEY=VALUE` (repeatable) and `--kafka-config FILE`.
struct KafkaFlags {
  std::vector<std::string> properties;
  std::string file;

  void add_to(CLI::App* cmd) {
    cmd->add_option("-X", properties,
                    "librdkafka client property KEY=VALUE for every Kafka client (repeatable; wins over "
                    "--kafka-config; a value may use ${ENV_NAME}), e.g. -X security.protocol=SASL_SSL")
        ->expected(1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
        ->default_str("");
    cmd->add_option("--kafka-config", file,
                    "Java-properties file of librdkafka client properties, like Kafka's client.properties "
                    "(docs/OPERATIONS.md \"Connecting to a secured cluster\")")
        ->default_str("");
  }
  /// The properties, checked; nullopt after saying on stderr why not.
  [[nodiscard]] std::optional<alliance::KafkaClientConfig> load(const char* command) const {
    try {
      auto c = alliance::KafkaClientConfig::load(file, properties);
      c.check_client();
      return c;
    } catch (const alliance::KafkaConfigError& e) {
      std::fprintf(stderr, "alliance %s: %s\n", command, e.what());
      return std::nullopt;
    }
  }
  /// Replaces `bootstrap` (the --bootstrap flag) by what the clients connect
  /// to: the flag, else the properties' bootstrap.servers. False after
  /// saying on stderr why there is none.
  static bool resolve_bootstrap(const alliance::KafkaClientConfig& c, std::string& bootstrap, const char* command) {
    try {
      bootstrap = c.bootstrap(bootstrap);
      return true;
    } catch (const alliance::KafkaConfigError& e) {
      std::fprintf(stderr, "alliance %s: %s\n", command, e.what());
      return false;
    }
  }
};

/// The HTTP server flags (SPEC §9): the bearer token file and HTTPS.
struct HttpFlags {
  std::string token_file, tls_cert, tls_key;

  void add_to(CLI::App* cmd, const char* servers) {
    cmd->add_option("--http-token-file", token_file,
                    std::string("file holding the bearer token every request to ") + servers +
                        " must carry, but /healthz (Authorization: Bearer <token>)")
        ->default_str("");
    cmd->add_option("--tls-cert", tls_cert, std::string("PEM certificate (chain): serve ") + servers + " over HTTPS")
        ->default_str("");
    cmd->add_option("--tls-key", tls_key, "PEM private key of --tls-cert")->default_str("");
  }
  [[nodiscard]] std::optional<alliance::http::HttpSecurity> load(const char* command) const {
    try {
      return alliance::http::HttpSecurity::load(token_file, tls_cert, tls_key);
    } catch (const std::invalid_argument& e) {
      std::fprintf(stderr, "alliance %s: %s\n", command, e.what());
      return std::nullopt;
    }
  }
};

/// Says on stderr when a token would cross the network in clear text.
void warn_clear_text_token(const char* command, const alliance::http::HttpSecurity& s, const std::string& listen) {
  if (s.token.empty() || s.tls() || listen.empty()) return;
  const bool loopback = listen.rfind("127.", 0) == 0 || listen.rfind("localhost:", 0) == 0;
  if (!loopback)
    std::fprintf(stderr,
                 "alliance %s: warning: %s is not a loopback address and there is no --tls-cert: the bearer "
                 "token crosses the network in clear text\n",
                 command, listen.c_str());
}

}  // namespace

int main(int argc, char** argv) try {
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
  g->add_flag("--fraud", gen.fraud,
              "add fraud: the topology's last partner injects clicks before completions, p-clickfarm spams clicks "
              "(partner risk, SPEC §3.9)");

  std::string run_topology;
  alliance::RunOptions run;
  auto* k = app.add_subcommand("run", "run the processor against Kafka (SPEC §6)");
  k->add_option("--topology", run_topology, "topology YAML file")->required();
  k->add_option("--bootstrap", run.bootstrap,
                "Kafka bootstrap servers host:port[,...] (default: bootstrap.servers of the client properties)")
      ->default_str("");
  k->add_option("--group", run.group, "consumer group id");
  k->add_option("--state", run.state_dir, "RocksDB state directory (one subdirectory per partition)");
  k->add_option("--metrics", run.metrics_listen, "Prometheus /metrics listen address ('' for none)");
  k->add_option("--commit-interval", run.commit_interval_ms,
                "ms between batch commits (default: the topology's processing.commit_interval)")
      ->default_str("");
  k->add_option("--idle-wait", run.idle_wait_ms, "ms an input may hold back the event-time merge");
  k->add_option("--session-timeout", run.session_timeout_ms, "consumer group session timeout, ms");
  k->add_option("--stop-when-idle", run.stop_when_idle_ms, "bounded run: finish after this many ms without input (on one partition a later run goes on from its end)");
  k->add_option("--assignor", run.assignor, "partition.assignment.strategy")->check(CLI::IsMember({"range", "roundrobin"}));
  k->add_option("--guarantee", run.guarantee, "output guarantee (default: the topology's processing.guarantee)")
      ->check(CLI::IsMember({"at_least_once", "exactly_once"}))
      ->default_str("");
  KafkaFlags run_kafka;
  run_kafka.add_to(k);
  HttpFlags run_http;
  run_http.add_to(k, "/metrics and /readyz");

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
  d->add_flag("--fraud,!--no-fraud", demo.fraud,
              "traffic with a click injector and a click farm, which partner risk flags (default: on)");
  d->add_option("--dashboard", demo.dashboard_listen, "the live web dashboard's listen address ('' for none)");
  HttpFlags demo_http;
  demo_http.add_to(d, "/metrics and the dashboard");

  std::string dash_topology, dash_retain;
  alliance::dashboard::DashboardOptions dash;
  auto* w = app.add_subcommand("dashboard", "live web dashboard of the output topics (docs/OPERATIONS.md)");
  w->add_option("--topology", dash_topology, "topology YAML file (output topic names, windows, currency)")->required();
  w->add_option("--bootstrap", dash.bootstrap,
                "Kafka bootstrap servers host:port[,...] (default: bootstrap.servers of the client properties)")
      ->default_str("");
  w->add_option("--listen", dash.listen, "HTTP listen address (port 0: any free port)");
  w->add_option("--retain", dash_retain, "windowed metrics kept behind the watermark, e.g. 6h (default)");
  KafkaFlags dash_kafka;
  dash_kafka.add_to(w);
  HttpFlags dash_http;
  dash_http.add_to(w, "the page and its API");

  alliance::PayoutsOptions payouts;
  auto* pay = app.add_subcommand("payouts", "print the payout batch CSV of the positive payable partner balances (SPEC §5.5)");
  pay->add_option("--from", payouts.from_dir, "a replay's output directory (reads partner-balances.jsonl)");
  pay->add_option("--bootstrap", payouts.bootstrap, "or: Kafka bootstrap servers, to read the balances topic");
  pay->add_option("--topology", payouts.topology_path, "topology YAML file (with --bootstrap: outputs.balances)");
  pay->add_option("--timeout", payouts.timeout_ms, "ms to read the topic to its end")->check(positive());
  KafkaFlags pay_kafka;
  pay_kafka.add_to(pay);

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
  // A misspelled option is named, with the option meant (CLI11 would first
  // report a required option it made look missing, e.g. --toplogy).
  if (argc >= 2) {
    const bool command = argv[1][0] != '-';
    const CLI::App& scope = command ? *app.get_subcommand(argv[1]) : app;
    const std::string usage = command ? std::string("alliance ") + argv[1] : "alliance";
    if (const std::string msg = unknown_option(scope, usage, command ? 2 : 1, argc, argv); !msg.empty()) {
      std::fprintf(stderr, "%s\n", msg.c_str());
      return kUsageError;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Words left over may be a secret given as `-X KEY VALUE`: not echoed.
    if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr &&
        std::any_of(argv + 1, argv + argc, [](const char* a) { return std::string_view(a).rfind("-X", 0) == 0; })) {
      std::fprintf(stderr,
                   "alliance: unexpected words on the command line (not shown: with -X one may be a secret); "
                   "write each property as one word, -X KEY=VALUE (quoted if it holds spaces)\n");
      return kUsageError;
    }
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
    auto kafka = run_kafka.load("run");
    auto http = run_http.load("run");
    if (!kafka || !http || !KafkaFlags::resolve_bootstrap(*kafka, run.bootstrap, "run")) return 2;
    // --session-timeout when given, else the properties' session.timeout.ms (librdkafka checked it is a number).
    if (k->count("--session-timeout") == 0)
      if (const auto v = kafka->get("session.timeout.ms")) run.session_timeout_ms = std::stoll(*v);
    run.kafka = std::move(*kafka);
    run.metrics_security = std::move(*http);
    warn_clear_text_token("run", run.metrics_security, run.metrics_listen);
    run.stop = &alliance::stop_on_signals();
    return alliance::run_kafka(*t, run);
  }
  if (b->parsed()) return alliance::run_broker(broker);
  if (pay->parsed()) {
    auto kafka = pay_kafka.load("payouts");
    if (!kafka) return 2;
    if (!payouts.from_dir.empty() && kafka->size() > 0) {
      std::fprintf(stderr, "alliance payouts: -X and --kafka-config are for reading the topic (--bootstrap), not --from\n");
      return 2;
    }
    if (payouts.from_dir.empty() && payouts.bootstrap.empty())
      if (const auto b = kafka->get("bootstrap.servers")) payouts.bootstrap = *b;
    payouts.kafka = std::move(*kafka);
    return alliance::run_payouts(payouts);
  }
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
    auto kafka = dash_kafka.load("dashboard");
    auto http = dash_http.load("dashboard");
    if (!kafka || !http || !KafkaFlags::resolve_bootstrap(*kafka, dash.bootstrap, "dashboard")) return 2;
    dash.kafka = std::move(*kafka);
    dash.http = std::move(*http);
    warn_clear_text_token("dashboard", dash.http, dash.listen);
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
    auto http = demo_http.load("demo");
    if (!http) return 2;
    demo.http = std::move(*http);
    warn_clear_text_token("demo", demo.http, demo.metrics_listen);
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
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
      std::fprintf(stderr, "alliance generate: cannot write the events to stdout: %s\n", std::strerror(errno));
      return 2;
    }
  }
  return 0;
} catch (const std::exception& e) {
  // Whatever no command caught: a failure while running (README "Exit codes").
  std::fprintf(stderr, "alliance %s: %s\n", argc >= 2 ? argv[1] : "", e.what());
  return 1;
}

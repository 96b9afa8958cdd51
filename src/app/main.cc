// The `alliance` command line: replay (files), and the Kafka runtime commands.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "alliance/app/replay_command.h"
#include "alliance/app/traffic_generator.h"
#include "alliance/config/topology_loader.h"

int main(int argc, char** argv) {
  CLI::App app{"alliance: attribution and settlement stream processor for alliance marketing"};
  app.require_subcommand(1);

  alliance::ReplayOptions replay;
  auto* r = app.add_subcommand("replay", "process JSONL event files through the core and write the outputs as JSONL");
  r->add_option("--topology", replay.topology_path, "topology YAML file")->required();
  r->add_option("--input", replay.inputs, "input JSONL file (repeatable; processed in the order given)")->required();
  r->add_option("--out", replay.out_dir, "output directory")->required();
  r->add_option("--state", replay.state_dir, "RocksDB state directory: resume after a crash");
  r->add_option("--batch", replay.batch_lines, "lines per committed batch")->check(CLI::PositiveNumber);
  r->add_flag("--quiet", replay.quiet, "no progress and no summary");

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

  CLI11_PARSE(app, argc, argv);
  if (r->parsed()) return alliance::run_replay(replay);
  if (g->parsed()) {
    try {
      const alliance::Topology t = alliance::load_topology_file(gen_topology);
      alliance::TrafficGenerator generator(t, gen);
      for (std::int64_t i = 0; i < gen_events; ++i) {
        const auto m = generator.next(/*with_type=*/true);
        std::fwrite(m.json.data(), 1, m.json.size(), stdout);
        std::fputc('\n', stdout);
      }
    } catch (const alliance::ConfigError& e) {
      std::fprintf(stderr, "alliance generate: invalid topology: %s\n", e.what());
      return 2;
    }
  }
  return 0;
}

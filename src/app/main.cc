// The `alliance` command line: replay (files), and the Kafka runtime commands.
#include <CLI/CLI.hpp>

#include "alliance/app/replay_command.h"

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

  CLI11_PARSE(app, argc, argv);
  if (r->parsed()) return alliance::run_replay(replay);
  return 0;
}

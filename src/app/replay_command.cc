#include "alliance/app/replay_command.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "alliance/app/file_sink.h"
#include "alliance/app/file_source.h"
#include "alliance/app/replay_ledger.h"
#include "alliance/app/replay_summary.h"
#include "alliance/codec/event_decoder.h"
#include "alliance/config/topology_loader.h"
#include "alliance/core/byte_codec.h"
#include "alliance/core/digest.h"
#include "alliance/core/partitioned_core.h"
#include "alliance/runtime/stream_driver.h"

namespace alliance {

namespace {
/// Input records per commit of a replay with --state (emit cycles stay replay_batch long).
constexpr std::size_t kReplayCommitRecords = 10'000;
}  // namespace

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Refuses (throws, one line) to resume a state that consumed other inputs,
/// changed ones, or wrote to another output directory; otherwise prepares
/// `source` to go on hashing where the state left off.
void check_resume(PartitionTask& task, FileSource& source, const std::string& state_dir, const std::string& out_dir) {
  std::optional<ReplayLedger> stored;
  if (auto inputs = task.meta(kReplayInputsKey)) {
    try {
      stored = ReplayLedger{task.meta(kReplayOutKey).value_or(""), decode_inputs(*inputs)};
    } catch (const CorruptState&) {
      throw std::runtime_error(state_dir + ": the state's record of its inputs (meta \"" +
                               std::string(kReplayInputsKey) + "\") is corrupt; start over with a new --state directory");
    }
  }
  const std::optional<std::string> position = task.resume(InputStream::kFile);
  const ResumeRequest request{state_dir, out_dir, source.canonical_paths()};
  if (auto why = layout_refusal(stored, position.has_value(), request)) throw std::runtime_error(*why);
  if (!stored) return;
  const std::vector<InputNow> now = source.observe(stored->inputs, position);
  if (auto why = content_refusal(*stored, state_dir, now)) throw std::runtime_error(*why);
}

/// `--partitions N`: the two-stage core of a Kafka run over N partitions,
/// computed in memory by PartitionedCore (a model of the partitioned run
/// for comparing its results with one partition; no state, no resume).
void replay_partitioned(const Topology& topology, const ReplayOptions& o, std::size_t cycle_records,
                        ProcessorStats& stats, std::int64_t& lines) {
  PartitionedCore split(topology, static_cast<std::int32_t>(o.partitions));
  FileSource source(o.inputs);
  FileSink sink(o.out_dir, /*durable=*/false);
  sink.open({-1, -1, -1, -1, -1});
  EventDecoder decoder;
  source.take_assigned();
  source.start(0, [](InputStream) { return std::nullopt; });
  std::vector<InputRecord> batch;
  auto write = [&] {
    const std::int64_t now = wall_clock_ms();
    for (const auto& r : split.take_outputs()) sink.write(output_kind(r), encode_record(r), now);
  };
  while (!source.input_ended(0)) {
    batch.clear();
    source.poll(cycle_records, 0, batch);
    for (InputRecord& r : batch) {
      DecodeResult d = decoder.decode(r.payload, std::nullopt);
      SourcePosition sp{r.topic, 0, r.offset};
      if (d.ok()) split.process(*d.event, sp, r.payload);
      else split.reject(DeadLetter{std::move(d.reason), std::move(d.detail), std::move(r.payload), std::move(sp)});
    }
    split.flush();
    write();
  }
  split.finish();
  write();
  stats = split.stats();
  lines = source.lines_read();
}

}  // namespace

int run_replay(const ReplayOptions& o) {
  const auto loaded = load_topology_or_explain(o.topology_path, "replay");
  if (!loaded) return 2;
  const Topology& topology = *loaded;
  std::int64_t total_bytes = 0;
  for (const auto& in : o.inputs) {
    std::ifstream f(in, std::ios::binary);
    if (!f || std::filesystem::is_directory(in)) {
      std::fprintf(stderr, "alliance replay: cannot read input file %s\n", in.c_str());
      return 2;
    }
    total_bytes += static_cast<std::int64_t>(std::filesystem::file_size(in));
  }
  if (o.partitions > 0 && !o.state_dir.empty()) {
    std::fprintf(stderr, "alliance replay: --partitions runs in memory only; drop --state or --partitions\n");
    return 2;
  }
  const std::size_t cycle_records = o.batch_lines > 0 ? o.batch_lines : static_cast<std::size_t>(topology.replay_batch);
  const auto started = std::chrono::steady_clock::now();
  ProcessorStats stats;
  std::int64_t lines = 0;
  try {
    if (o.partitions > 0) {
      replay_partitioned(topology, o, cycle_records, stats, lines);
    } else {
      const bool stateful = !o.state_dir.empty();
      FileSource source(o.inputs, /*hash=*/stateful);
      FileSink sink(o.out_dir, /*durable=*/stateful);
      const std::string out_dir = canonical_path(o.out_dir);

      DriverOptions options;
      options.cycle_records = cycle_records;
      options.emit_final = o.emit_final || topology.emit == EmitMode::kFinal;
      // With a store, commits come every kReplayCommitRecords within the emit
      // cycle: a commit's batch and its dirty cache entries stay small
      // (docs/STATE.md "Bounded memory").
      if (stateful) options.commit_records = std::min(cycle_records, kReplayCommitRecords);
      // The end-of-input flush stays out of the state: a resume over grown
      // or new input continues from the last event (SPEC §3.8, §8).
      options.end_uncommitted = stateful;
      DriverHooks hooks;
      const Processor* processor = nullptr;
      hooks.open_task = [&](std::int32_t p) {
        std::unique_ptr<StateStore> store;
        if (!o.state_dir.empty()) {
          const std::string fingerprint =
              topology.name + ":" + sha256_hex(read_file(o.topology_path)).substr(0, 16);
          RocksOptions rocks;
          rocks.block_cache_bytes = static_cast<std::size_t>(topology.state.block_cache_mb) << 20;
          rocks.write_buffer_bytes = static_cast<std::size_t>(topology.state.write_buffer_mb) << 20;
          store = open_rocks_store(o.state_dir, fingerprint, rocks);
        }
        auto task = std::make_unique<PartitionTask>(topology, TaskConfig{p, 1, /*file_order=*/true}, std::move(store));
        // Resume only where it is sound (SPEC §8), before any output is touched.
        if (stateful) check_resume(*task, source, o.state_dir, out_dir);
        // The files are cut back to the sizes the state acknowledged.
        sink.open(FileSink::decode_sizes(task->meta("sink_sizes")));
        processor = &task->processor();
        return task;
      };
      // Every commit records what was read of each input and where the outputs go.
      if (stateful)
        hooks.commit_meta = [&](std::int32_t) {
          return MetaUpdates{{kReplayInputsKey, encode_inputs(source.consumed())}, {kReplayOutKey, out_dir}};
        };
      ReplayProgress progress(!o.quiet && ::isatty(STDERR_FILENO) != 0, total_bytes);
      hooks.on_tick = [&](std::int64_t) { progress.update(source.lines_read(), source.bytes_read()); };
      StreamDriver driver(source, sink, options, std::move(hooks));
      driver.run();
      progress.done();
      stats = processor->stats();
      lines = source.lines_read();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "alliance replay: %s\n", e.what());
    return 2;
  }
  if (!o.quiet) {
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::fputs(format_summary(stats, lines, secs).c_str(), stdout);
    std::printf("  outputs in %s/\n", o.out_dir.c_str());
  }
  return 0;
}

}  // namespace alliance

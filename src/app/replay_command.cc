#include "alliance/app/replay_command.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "alliance/app/file_sink.h"
#include "alliance/app/replay_summary.h"
#include "alliance/codec/event_decoder.h"
#include "alliance/config/topology_loader.h"
#include "alliance/core/byte_codec.h"
#include "alliance/core/digest.h"
#include "alliance/core/partitioned_core.h"
#include "alliance/core/processor.h"
#include "alliance/state/state_session.h"

namespace alliance {

namespace {

std::int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Where replay stands: the next unread byte of input file `file`.
struct ReplayPosition {
  std::int64_t file = 0;
  std::int64_t offset = 0;
  std::int64_t line = 0;  // 0-based line number of the next line

  [[nodiscard]] std::string encode() const { return ByteWriter().i64(file).i64(offset).i64(line).take(); }
  static ReplayPosition decode(std::string_view v) {
    ByteReader r(v);
    ReplayPosition p;
    p.file = r.i64();
    p.offset = r.i64();
    p.line = r.i64();
    return p;
  }
};

std::string encode_sizes(const std::array<std::int64_t, 4>& s) {
  ByteWriter w;
  for (auto v : s) w.i64(v);
  return w.take();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool blank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
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
  const auto started = std::chrono::steady_clock::now();
  Processor processor(topology);
  // --partitions N: the two-stage computation of a Kafka run over N partitions.
  std::unique_ptr<PartitionedCore> split;
  if (o.partitions > 0) split = std::make_unique<PartitionedCore>(topology, static_cast<std::int32_t>(o.partitions));
  EventDecoder decoder;
  std::unique_ptr<StateStore> store;
  std::unique_ptr<StateSession> session;
  std::unique_ptr<FileSink> sink;
  ReplayPosition pos;
  std::int64_t lines = 0;
  try {
    std::array<std::int64_t, 4> truncate_to{-1, -1, -1, -1};
    if (!o.state_dir.empty()) {
      const std::string fingerprint = topology.name + ":" + sha256_hex(read_file(o.topology_path)).substr(0, 16);
      store = open_rocks_store(o.state_dir, fingerprint);
      session = std::make_unique<StateSession>(*store, processor);
      if (auto p = session->meta("replay_position")) pos = ReplayPosition::decode(*p);
      if (auto s = session->meta("sink_sizes")) {
        ByteReader r(*s);
        for (auto& v : truncate_to) v = r.i64();
      }
    }
    sink = std::make_unique<FileSink>(o.out_dir, truncate_to);
    if (session) {
      // Records committed before a crash but not yet written: send them again.
      auto pending = session->pending();
      for (const auto& e : pending) sink->write(e.kind, e.body, wall_clock_ms());
      session->acknowledge(pending, {{"sink_sizes", encode_sizes(sink->sync())}});
    }

    auto flush = [&] {
      if (split) {
        split->flush();
        const std::int64_t now = wall_clock_ms();
        for (const auto& r : split->take_outputs()) sink->write(output_kind(r), encode_record(r), now);
        return;
      }
      auto outputs = processor.take_outputs();
      if (session) {
        auto entries = session->commit(std::move(outputs), {{"replay_position", pos.encode()}});
        const std::int64_t now = wall_clock_ms();
        for (const auto& e : entries) sink->write(e.kind, e.body, now);
        session->acknowledge(entries, {{"sink_sizes", encode_sizes(sink->sync())}});
      } else {
        const std::int64_t now = wall_clock_ms();
        for (const auto& r : outputs) sink->write(output_kind(r), encode_record(r), now);
        discard_changes(processor);
      }
    };

    ReplayProgress progress(!o.quiet && ::isatty(STDERR_FILENO) != 0, total_bytes);
    std::int64_t bytes_before = 0;
    for (std::int64_t i = 0; i < pos.file; ++i)
      bytes_before += static_cast<std::int64_t>(std::filesystem::file_size(o.inputs[static_cast<std::size_t>(i)]));
    std::size_t in_batch = 0;
    std::string line;
    auto finished = [&] { return split ? split->finished() : processor.clock().finished; };
    while (!finished() && pos.file < static_cast<std::int64_t>(o.inputs.size())) {
      const std::string& path = o.inputs[static_cast<std::size_t>(pos.file)];
      std::ifstream in(path, std::ios::binary);
      in.seekg(pos.offset);
      while (std::getline(in, line)) {
        const std::int64_t line_no = pos.line;
        pos.offset += static_cast<std::int64_t>(line.size()) + (in.eof() ? 0 : 1);
        pos.line += 1;
        // A CRLF line keeps its '\r': a dead letter stores the original
        // bytes, and JSON treats the '\r' as trailing whitespace.
        if (!blank(line)) {
          ++lines;
          DecodeResult d = decoder.decode(line, std::nullopt);
          SourcePosition sp{path, 0, line_no};
          if (d.ok()) {
            if (split) split->process(*d.event, sp, line);
            else processor.process(*d.event, sp, line);
          } else {
            DeadLetter dl{std::move(d.reason), std::move(d.detail), line, std::move(sp)};
            if (split) split->reject(std::move(dl));
            else processor.reject(std::move(dl));
          }
        }
        if (++in_batch >= o.batch_lines) {
          flush();
          in_batch = 0;
          progress.update(lines, bytes_before + pos.offset);
        }
      }
      bytes_before += static_cast<std::int64_t>(std::filesystem::file_size(path));
      pos.file += 1;
      pos.offset = 0;
      pos.line = 0;
    }
    if (!finished()) {
      if (split) split->finish();
      else processor.finish();
    }
    flush();
    progress.done();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "alliance replay: %s\n", e.what());
    return 2;
  }
  if (!o.quiet) {
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::fputs(format_summary(split ? split->stats() : processor.stats(), lines, secs).c_str(), stdout);
    std::printf("  outputs in %s/\n", o.out_dir.c_str());
  }
  return 0;
}

}  // namespace alliance

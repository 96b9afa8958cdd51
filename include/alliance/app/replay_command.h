// `alliance replay` (SPEC §8): drives the core from JSONL files and writes
// the four outputs as JSONL. Runs on the calling thread.
#pragma once

#include <string>
#include <vector>

namespace alliance {

struct ReplayOptions {
  std::string topology_path;
  std::vector<std::string> inputs;
  std::string out_dir;
  std::string state_dir;     // empty: in memory only, start from scratch
  std::size_t batch_lines = 0;  // input records per cycle; 0: the topology's replay_batch
  bool emit_final = false;      // --emit final
  bool quiet = false;
  std::size_t partitions = 0;  // >0: users split over N partitions, two stages (memory only)
};

/// Returns the process exit code: 0 when it ran (bad events are data),
/// 2 when it could not run (unreadable input, invalid topology, bad state).
int run_replay(const ReplayOptions& options);

}  // namespace alliance

// What a replay's state remembers of its inputs and its output directory
// (SPEC §8 `--state`), and whether a replay may resume from it: the same
// inputs, the last one grown at its end, or new inputs after the last, into
// the same output directory. Pure; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace alliance {

/// The state's meta entries (docs/STATE.md), written with every commit.
inline constexpr const char* kReplayInputsKey = "replay_inputs";
inline constexpr const char* kReplayOutKey = "replay_out";

/// One input as far as the state consumed it.
struct ConsumedInput {
  std::string path;        // canonical absolute path
  std::int64_t bytes = 0;  // bytes consumed from its start
  std::string sha256;      // lower-case hex SHA-256 of those bytes
  bool operator==(const ConsumedInput&) const = default;
};

struct ReplayLedger {
  std::string out_dir;                // canonical absolute path of --out
  std::vector<ConsumedInput> inputs;  // in the order read: the first inputs of the list
};

std::string encode_inputs(const std::vector<ConsumedInput>& inputs);
/// Throws CorruptState on a truncated value.
std::vector<ConsumedInput> decode_inputs(std::string_view value);

/// The replay asking to resume.
struct ResumeRequest {
  std::string state_dir;            // as given (messages)
  std::string out_dir;              // canonical absolute path
  std::vector<std::string> inputs;  // canonical absolute paths, in the order given
};

/// Why the state may not resume with this output directory and input list
/// (one line naming the file or directory and the fix), or nullopt.
/// `stored`: nullopt when the state holds no ledger; `has_position`: it
/// holds a replay position (a state of an alliance that kept no ledger).
std::optional<std::string> layout_refusal(const std::optional<ReplayLedger>& stored, bool has_position,
                                          const ResumeRequest& request);

/// What a consumed input holds now.
struct InputNow {
  std::int64_t size = 0;         // its size now
  std::string prefix_sha256;     // SHA-256 of its first `bytes` consumed bytes; empty when it is shorter
  bool prefix_ends_line = true;  // those bytes are none or end with '\n'
};

/// Why the state may not resume over the inputs as they are now, or
/// nullopt. `now[i]` describes `stored.inputs[i]` (layout_refusal passed).
std::optional<std::string> content_refusal(const ReplayLedger& stored, const std::string& state_dir,
                                           const std::vector<InputNow>& now);

}  // namespace alliance

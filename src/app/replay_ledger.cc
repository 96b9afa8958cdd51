#include "alliance/app/replay_ledger.h"

#include "alliance/core/byte_codec.h"

namespace alliance {

namespace {

constexpr const char* kStartOver = "start over with a new --state directory";

std::string listed(const std::vector<ConsumedInput>& inputs) {
  std::string s;
  for (const auto& in : inputs) s += (s.empty() ? "" : ", ") + in.path;
  return s;
}

}  // namespace

std::string encode_inputs(const std::vector<ConsumedInput>& inputs) {
  ByteWriter w;
  w.i64(static_cast<std::int64_t>(inputs.size()));
  for (const auto& in : inputs) w.str(in.path).i64(in.bytes).str(in.sha256);
  return w.take();
}

std::vector<ConsumedInput> decode_inputs(std::string_view value) {
  ByteReader r(value);
  const std::int64_t n = r.i64();
  if (n < 0 || static_cast<std::size_t>(n) > r.remaining()) throw CorruptState("bad replay_inputs count");
  std::vector<ConsumedInput> inputs(static_cast<std::size_t>(n));
  for (auto& in : inputs) {
    in.path = r.str();
    in.bytes = r.i64();
    in.sha256 = r.str();
  }
  return inputs;
}

std::optional<std::string> layout_refusal(const std::optional<ReplayLedger>& stored, bool has_position,
                                          const ResumeRequest& request) {
  const std::string& state = request.state_dir;
  if (!stored) {
    if (!has_position) return std::nullopt;  // nothing consumed yet: a fresh start
    return state + ": this state holds a replay position but not which inputs it consumed (an alliance before "
                   "resume checks wrote it), so resuming it cannot be checked; " + kStartOver;
  }
  if (!stored->out_dir.empty() && stored->out_dir != request.out_dir)
    return state + ": this state wrote its outputs to " + stored->out_dir + ", not " + request.out_dir +
           ": resume with --out " + stored->out_dir + ", or replay into " + request.out_dir +
           " with a new --state directory";
  const auto& had = stored->inputs;
  for (std::size_t i = 0; i < had.size(); ++i) {
    const std::string k = std::to_string(i + 1);
    if (i >= request.inputs.size())
      return state + ": this state consumed " + had[i].path + " as input " + k + ", which this replay does not list: " +
             "give the inputs it consumed in the same order (" + listed(had) + "), then any new ones; or " + kStartOver;
    if (had[i].path != request.inputs[i])
      return state + ": input " + k + " is " + request.inputs[i] + ", but this state consumed " + had[i].path +
             " as input " + k + ": give the inputs it consumed in the same order (" + listed(had) +
             "), then any new ones; or " + kStartOver;
  }
  return std::nullopt;
}

std::optional<std::string> content_refusal(const ReplayLedger& stored, const std::string& state_dir,
                                           const std::vector<InputNow>& now) {
  const auto& had = stored.inputs;
  for (std::size_t i = 0; i < had.size() && i < now.size(); ++i) {
    const ConsumedInput& c = had[i];
    const InputNow& n = now[i];
    const std::string consumed = std::to_string(c.bytes);
    if (n.size < c.bytes)
      return c.path + " holds " + std::to_string(n.size) + " bytes, fewer than the " + consumed + " the state " +
             state_dir + " consumed of it (truncated or replaced): " + kStartOver + " to replay it";
    if (n.prefix_sha256 != c.sha256)
      return c.path + " changed in the first " + consumed + " bytes the state " + state_dir +
             " consumed of it (SHA-256 " + c.sha256.substr(0, 12) + "…, now " + n.prefix_sha256.substr(0, 12) +
             "…): " + kStartOver + " to replay it; only new lines at its end or new inputs after the last resume";
    if (n.size > c.bytes && i + 1 < had.size())
      return c.path + " grew after the state " + state_dir + " had read on into " + had[i + 1].path +
             ", so its new lines would be read out of order: put them in a new input after the last, or " + kStartOver;
    if (n.size > c.bytes && !n.prefix_ends_line)
      return c.path + " grew, but the state " + state_dir + " read its last line before that line had its newline, " +
             "so that line changed: " + kStartOver + " to replay it";
  }
  return std::nullopt;
}

}  // namespace alliance

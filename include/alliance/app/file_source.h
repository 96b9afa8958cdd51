// The RecordSource of `alliance replay`: JSONL files read in the order
// given, one partition (0), one stream in file order. A record's resume
// token is the position after its line (file index, byte offset, line
// number), so a replay with --state resumes exactly after its last commit.
// With hashing on (--state) it also hashes every byte it reads, so it can
// say what it consumed of each input (path, bytes, SHA-256) for the
// state's ledger, and checks a state's ledger against the files before it
// resumes. Used by the StreamDriver's thread only.
#pragma once

#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "alliance/app/replay_ledger.h"
#include "alliance/core/digest.h"
#include "alliance/runtime/record_source.h"

namespace alliance {

/// `path` as an absolute path without symbolic links, "." or ".." (as far
/// as it exists): how a state names its inputs and output directory.
std::string canonical_path(const std::string& path);

class FileSource final : public RecordSource {
 public:
  /// `hash`: keep the SHA-256 of what was read of each input (consumed()).
  explicit FileSource(std::vector<std::string> paths, bool hash = false);

  void poll(std::size_t max, int timeout_ms, std::vector<InputRecord>& out) override;
  std::vector<std::int32_t> take_assigned() override;
  std::vector<std::int32_t> take_revoked() override { return {}; }
  void start(std::int32_t partition, const std::function<std::optional<std::string>(InputStream)>& resume) override;
  [[nodiscard]] bool at_end(std::int32_t, InputStream) const override { return true; }
  [[nodiscard]] bool input_ended(std::int32_t) const override { return ended_; }

  /// Bytes of input before the current position (progress display).
  [[nodiscard]] std::int64_t bytes_read() const { return bytes_before_ + offset_; }
  [[nodiscard]] std::int64_t lines_read() const { return lines_; }

  /// The inputs as given, made canonical absolute paths (the ledger's names).
  [[nodiscard]] const std::vector<std::string>& canonical_paths() const { return canonical_; }
  /// With hashing, what was read so far: every input passed, and the
  /// current one if any of it was read.
  [[nodiscard]] std::vector<ConsumedInput> consumed() const;
  /// Before start(), with hashing: reads what a state consumed of each input
  /// (the first `stored` inputs of the list) as the files are now, for
  /// content_refusal; keeps what start(`position`) needs to go on hashing
  /// without reading those bytes again.
  std::vector<InputNow> observe(const std::vector<ConsumedInput>& stored, const std::optional<std::string>& position);

 private:
  bool open_current();
  /// The current input is read to its end (or cannot be read further).
  void close_current();

  std::vector<std::string> paths_;
  std::vector<std::string> canonical_;
  std::vector<TopicName> topics_;  // paths_, shared by the records read from them
  bool hash_ = false;
  bool assigned_ = false;
  bool started_ = false;
  bool ended_ = false;
  std::size_t file_ = 0;
  std::int64_t offset_ = 0;  // next unread byte of paths_[file_]
  std::int64_t line_ = 0;    // 0-based number of the next line
  std::int64_t bytes_before_ = 0;
  std::int64_t lines_ = 0;   // non-blank lines handed out
  std::ifstream in_;
  std::string line_buf_;
  Sha256 digest_;                    // of paths_[file_] up to offset_ (hashing)
  std::vector<ConsumedInput> done_;  // inputs before file_ (hashing)
  /// From observe(): the stored ledger and the digest at the position.
  std::vector<ConsumedInput> observed_;
  std::optional<std::pair<std::size_t, Sha256>> observed_digest_;
};

}  // namespace alliance

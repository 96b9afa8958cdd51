// The RecordSource of `alliance replay`: JSONL files read in the order
// given, one partition (0), one stream in file order. A record's resume
// token is the position after its line (file index, byte offset, line
// number), so a replay with --state resumes exactly after its last commit.
// Used by the StreamDriver's thread only.
#pragma once

#include <fstream>
#include <string>
#include <vector>

#include "alliance/runtime/record_source.h"

namespace alliance {

class FileSource final : public RecordSource {
 public:
  explicit FileSource(std::vector<std::string> paths);

  void poll(std::size_t max, int timeout_ms, std::vector<InputRecord>& out) override;
  std::vector<std::int32_t> take_assigned() override;
  std::vector<std::int32_t> take_revoked() override { return {}; }
  void start(std::int32_t partition, const std::function<std::optional<std::string>(InputStream)>& resume) override;
  [[nodiscard]] bool at_end(std::int32_t, InputStream) const override { return true; }
  [[nodiscard]] bool input_ended(std::int32_t) const override { return ended_; }

  /// Bytes of input before the current position (progress display).
  [[nodiscard]] std::int64_t bytes_read() const { return bytes_before_ + offset_; }
  [[nodiscard]] std::int64_t lines_read() const { return lines_; }

 private:
  bool open_current();

  std::vector<std::string> paths_;
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
};

}  // namespace alliance

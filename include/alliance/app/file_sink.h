// Writes output records as JSON lines into DIR/<output>.jsonl, one file per
// output topic (SPEC §8). Owns the four file handles; one thread.
#pragma once

#include <array>
#include <cstdio>
#include <string>

#include "alliance/codec/record_encoder.h"

namespace alliance {

class FileSink {
 public:
  /// Creates `dir` if needed. `truncate_to` gives, per OutputKind, the byte
  /// size to cut each file back to (resume) or -1 to start it empty.
  FileSink(const std::string& dir, const std::array<std::int64_t, 4>& truncate_to);
  ~FileSink();
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;

  /// Appends one encoded record (without emitted_at) to its file.
  void write(OutputKind kind, std::string_view encoded, std::int64_t emitted_at_ms);
  /// Flushes and fsyncs; returns the byte size of each file afterwards.
  std::array<std::int64_t, 4> sync();
  [[nodiscard]] std::array<std::int64_t, 4> written() const { return sizes_; }

  static std::string file_name(OutputKind kind);

 private:
  std::array<std::FILE*, 4> files_{};
  std::array<std::int64_t, 4> sizes_{};
};

}  // namespace alliance

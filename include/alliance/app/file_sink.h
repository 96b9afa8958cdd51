// Writes output records as JSON lines into DIR/<output>.jsonl, one file per
// output topic (SPEC §8): the RecordSink of `alliance replay`. A cycle is
// acknowledged once its lines are written (and fsync'd when the replay keeps
// state), and the acknowledgement stores the file sizes, so a resumed replay
// cuts any torn tail off first. Owns the four file handles; one thread.
#pragma once

#include <array>
#include <cstdio>
#include <optional>
#include <string>

#include "alliance/codec/record_encoder.h"
#include "alliance/runtime/record_sink.h"

namespace alliance {

class FileSink final : public RecordSink {
 public:
  /// `durable`: fsync every cycle before acknowledging it.
  FileSink(std::string dir, bool durable);
  /// Creates the directory if needed and opens the files. `truncate_to`
  /// gives, per OutputKind, the byte size to cut each file back to (resume)
  /// or -1 to start it empty. Throws, before touching any file, when a file
  /// is shorter than its size (changed since: never padded).
  void open(const std::array<std::int64_t, kOutputFiles>& truncate_to);
  ~FileSink() override;
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;

  /// Appends one encoded record (without emitted_at) to its file.
  void write(OutputKind kind, std::string_view encoded, std::int64_t emitted_at_ms);
  /// Flushes and fsyncs; returns the byte size of each file afterwards.
  std::array<std::int64_t, kOutputFiles> sync();
  [[nodiscard]] std::array<std::int64_t, kOutputFiles> written() const { return sizes_; }

  static std::string file_name(OutputKind kind);

  void publish(std::int32_t partition, std::int64_t cycle, std::vector<OutboxEntry> entries) override;
  std::vector<AcknowledgedCycle> poll(int timeout_ms) override;
  [[nodiscard]] std::size_t in_flight() const override { return 0; }
  [[nodiscard]] MetaUpdates acknowledged_meta() override;

  /// The meta value of the file sizes, and its decoding (-1 each when absent).
  static std::string encode_sizes(const std::array<std::int64_t, kOutputFiles>& sizes);
  static std::array<std::int64_t, kOutputFiles> decode_sizes(const std::optional<std::string>& value);

 private:
  std::string dir_;
  bool durable_;
  std::vector<AcknowledgedCycle> acknowledged_;
  std::array<std::FILE*, kOutputFiles> files_{};
  std::array<std::int64_t, kOutputFiles> sizes_{};
};

}  // namespace alliance

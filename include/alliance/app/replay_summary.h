// Terminal progress line and end-of-run summary for `alliance replay`.
// Called from the replay thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "alliance/core/processor.h"

namespace alliance {

class ReplayProgress {
 public:
  /// Shows progress only when `enabled` (stderr is a terminal and not --quiet).
  ReplayProgress(bool enabled, std::int64_t total_bytes);
  /// Redraws at most every 200 ms.
  void update(std::int64_t lines, std::int64_t bytes_done);
  void done();

 private:
  bool enabled_;
  std::int64_t total_bytes_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_;
};

/// Human summary: events by type, dead letters by reason, records per output.
std::string format_summary(const ProcessorStats& s, std::int64_t lines, double seconds);

}  // namespace alliance

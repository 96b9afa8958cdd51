// Where a partition task's committed outputs go: output files (replay) or
// the Kafka producer (run). Publication is asynchronous: publish() hands
// over one cycle's outbox entries, and poll() later returns the cycles
// whose every entry the destination has made durable. Used by the
// StreamDriver's thread only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "alliance/runtime/outbox_entry.h"

namespace alliance {

/// A cycle of one task the sink has fully acknowledged.
struct AcknowledgedCycle {
  std::int32_t partition = 0;
  std::int64_t cycle = 0;
  std::vector<OutboxEntry> entries;
};

class RecordSink {
 public:
  virtual ~RecordSink() = default;
  /// Starts publishing `entries` (in order) as cycle `cycle` of `partition`.
  virtual void publish(std::int32_t partition, std::int64_t cycle, std::vector<OutboxEntry> entries) = 0;
  /// Serves delivery reports for up to `timeout_ms` and returns the cycles
  /// acknowledged since the last call, in publication order per partition.
  virtual std::vector<AcknowledgedCycle> poll(int timeout_ms) = 0;
  /// Cycles published and not yet acknowledged.
  [[nodiscard]] virtual std::size_t in_flight() const = 0;
  /// Meta values to store with an acknowledgement (replay: file sizes).
  [[nodiscard]] virtual MetaUpdates acknowledged_meta() { return {}; }
  /// Forgets cycles of a partition this instance no longer owns.
  virtual void forget(std::int32_t partition) { (void)partition; }
};

}  // namespace alliance

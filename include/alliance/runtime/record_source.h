// Where a run's input comes from: replay files or the Kafka consumer. A
// source owns its partitions' read positions; the StreamDriver asks it for
// records, learns which partitions this instance owns, starts each one at
// the positions stored with its state, and reports what the outputs of a
// cycle acknowledged (Kafka: group offsets). Used by the driver's thread
// only; no callback of a source calls back into the driver.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "alliance/runtime/input_record.h"

namespace alliance {

class RecordSource {
 public:
  virtual ~RecordSource() = default;

  /// Appends up to `max` records to `out`; waits up to `timeout_ms` only
  /// when none is available at once.
  virtual void poll(std::size_t max, int timeout_ms, std::vector<InputRecord>& out) = 0;

  /// Partitions assigned / revoked since the last call.
  virtual std::vector<std::int32_t> take_assigned() = 0;
  virtual std::vector<std::int32_t> take_revoked() = 0;
  /// The task of `partition` is restored: read each of its streams from the
  /// position `resume(stream)` gives (nullopt: from the start).
  virtual void start(std::int32_t partition,
                     const std::function<std::optional<std::string>(InputStream)>& resume) = 0;

  /// The merge may stop waiting for an empty stream: it is at its end.
  [[nodiscard]] virtual bool at_end(std::int32_t partition, InputStream stream) const = 0;
  /// No more input will come for `partition` (end of the files; a bounded
  /// Kafka run whose inputs stayed idle): the driver ends its stage 1.
  [[nodiscard]] virtual bool input_ended(std::int32_t partition) const = 0;
  /// Records the broker still holds for the assigned partitions beyond what
  /// was polled (0 when unknown): batches grow with the backlog.
  [[nodiscard]] virtual std::int64_t backlog() const { return 0; }
  /// Back-pressure: stop (or go on) fetching `stream` of `partition` while
  /// its task holds enough of it unprocessed (the event-time merge waits
  /// for another stream). Records already polled stay valid; a resumed
  /// stream goes on after the last record polled. Default: nothing to do
  /// (files are read only as far as the driver asks).
  virtual void set_paused(std::int32_t partition, InputStream stream, bool paused) {
    (void)partition;
    (void)stream;
    (void)paused;
  }

  /// The outputs of a cycle are acknowledged and its state is durable: the
  /// source may remember `positions` as consumed (Kafka: commit offsets).
  virtual void acknowledge(std::int32_t partition,
                           const std::vector<std::pair<InputStream, std::string>>& positions) {
    (void)partition;
    (void)positions;
  }
};

}  // namespace alliance

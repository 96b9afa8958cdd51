// One input message as a source hands it to the runtime: which partition
// task and input stream it belongs to, where it was read, its bytes, and
// where to resume that stream after it. Plain value; any thread.
#pragma once

#include <cstdint>
#include <string>

#include "alliance/core/event.h"

namespace alliance {

/// The inputs of a partition task. The three event topics are merged in
/// event time (SPEC §3.1); a replay file is processed in file order; the
/// repartition topic feeds stage 2 of a partitioned run; payouts (keyed by
/// partner, not merged in event time) are applied as they arrive.
enum class InputStream : std::uint8_t {
  kClicks = 0,
  kReferrals = 1,
  kOrders = 2,
  kFile = 3,
  kRepartition = 4,
  kPayouts = 5
};
inline constexpr std::size_t kInputStreams = 6;
std::string_view to_string(InputStream s);
/// The event-time merged stream of an event kind.
InputStream stream_of(EventKind kind);

struct InputRecord {
  std::int32_t partition = 0;  // the task it belongs to
  InputStream stream = InputStream::kFile;
  std::string topic;           // Kafka topic, or the replay file's path
  std::int64_t offset = 0;     // Kafka offset, or the 0-based line number
  bool keyed = true;           // Kafka: the message had a key (inputs must be keyed by user_id)
  std::string payload;
  std::int64_t append_ms = -1;  // broker append time, -1 when unknown
  /// Opaque to the task: stored with the state once this record is
  /// processed, and given back to the source to resume the stream.
  std::string resume;
};

}  // namespace alliance

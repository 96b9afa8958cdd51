// Why an input went to the dead-letter topic (SPEC §5.4), and where it came
// from. Plain values; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

namespace alliance {

/// Where an input record was read: a Kafka topic-partition-offset, or in
/// file replay the file path, partition 0 and the 0-based line number.
struct SourcePosition {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
};

/// The most of an input's bytes a dead letter keeps (SPEC §5.4): 64 KiB,
/// so a dead letter (payload base64-encoded, ~87 KiB) always fits in a Kafka
/// message whatever the input's size.
inline constexpr std::size_t kDeadLetterPayloadLimit = 64 * 1024;

/// A rejected input: machine-readable reason (`missing_field:amount_minor`),
/// human detail and the original bytes. Created with the whole input in
/// `payload`; bound_payload() then keeps its first kDeadLetterPayloadLimit
/// bytes and records the full size and SHA-256. Plain value; any thread.
struct DeadLetter {
  DeadLetter() = default;
  DeadLetter(std::string reason_, std::string detail_, std::string payload_, SourcePosition position_)
      : reason(std::move(reason_)), detail(std::move(detail_)), payload(std::move(payload_)),
        position(std::move(position_)) {}

  std::string reason;
  std::string detail;
  std::string payload;
  SourcePosition position;
  std::int64_t payload_bytes = -1;  // size of the original input; -1 until bound_payload()
  std::string payload_sha256;       // hex SHA-256 of the whole original input
};

/// Fills payload_bytes and payload_sha256 from the whole payload and cuts
/// the payload to kDeadLetterPayloadLimit bytes. Idempotent: a bound dead
/// letter is left as it is.
void bound_payload(DeadLetter& dl);

}  // namespace alliance

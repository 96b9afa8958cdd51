// Why an input went to the dead-letter topic (SPEC §5.4), and where it came
// from. Plain values; any thread.
#pragma once

#include <cstdint>
#include <string>

namespace alliance {

/// Where an input record was read: a Kafka topic-partition-offset, or in
/// file replay the file path, partition 0 and the 0-based line number.
struct SourcePosition {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
};

/// A rejected input: machine-readable reason (`missing_field:amount_minor`),
/// human detail and the original bytes.
struct DeadLetter {
  std::string reason;
  std::string detail;
  std::string payload;
  SourcePosition position;
};

}  // namespace alliance

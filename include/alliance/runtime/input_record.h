// One input message as a source hands it to the runtime: which partition
// task and input stream it belongs to, where it was read, its bytes, and
// where to resume that stream after it. Plain value; any thread.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "alliance/core/byte_codec.h"
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
/// The input topics a Kafka partition consumes (the repartition topic aside).
inline constexpr InputStream kKafkaInputStreams[] = {InputStream::kClicks, InputStream::kReferrals,
                                                     InputStream::kOrders, InputStream::kPayouts};
std::string_view to_string(InputStream s);
/// The event-time merged stream of an event kind.
InputStream stream_of(EventKind kind);

/// A topic name (or replay file path) shared by the records read from it:
/// copying one copies a handle, not the name.
class TopicName {
 public:
  TopicName() : name_(empty()) {}
  TopicName(std::string name) : name_(std::make_shared<const std::string>(std::move(name))) {}  // NOLINT: implicit
  TopicName(const char* name) : TopicName(std::string(name)) {}  // NOLINT: implicit
  [[nodiscard]] const std::string& str() const { return *name_; }
  operator const std::string&() const { return *name_; }  // NOLINT: implicit
  /// The same shared name (not merely equal text).
  [[nodiscard]] bool same(const TopicName& o) const { return name_ == o.name_; }

 private:
  static const std::shared_ptr<const std::string>& empty() {
    static const auto e = std::make_shared<const std::string>();
    return e;
  }
  std::shared_ptr<const std::string> name_;
};

/// Where to resume a stream after a record. The sources' positions are
/// integers (a Kafka offset; a file, byte offset and line): kept so, and
/// encoded as their 8-byte little-endian concatenation (ByteWriter::i64)
/// only when stored, so a record carries no token string. Other bytes
/// (tests) are kept as they are.
class ResumePosition {
 public:
  ResumePosition() = default;
  ResumePosition(std::string bytes) : bytes_(std::move(bytes)), opaque_(true) {}  // NOLINT: implicit
  static ResumePosition of(std::int64_t a) { return ResumePosition({a, 0, 0}, 1); }
  static ResumePosition of(std::int64_t a, std::int64_t b, std::int64_t c) { return ResumePosition({a, b, c}, 3); }
  /// The token's bytes.
  [[nodiscard]] std::string bytes() const {
    if (opaque_) return bytes_;
    ByteWriter w;
    for (std::uint8_t i = 0; i < count_; ++i) w.i64(values_[i]);
    return w.take();
  }
  operator std::string() const { return bytes(); }  // NOLINT: implicit

 private:
  ResumePosition(std::array<std::int64_t, 3> v, std::uint8_t n) : values_(v), count_(n) {}
  std::array<std::int64_t, 3> values_{};
  std::uint8_t count_ = 0;
  std::string bytes_;
  bool opaque_ = false;
};

struct InputRecord {
  std::int32_t partition = 0;  // the task it belongs to
  InputStream stream = InputStream::kFile;
  TopicName topic;             // Kafka topic, or the replay file's path
  std::int64_t offset = 0;     // Kafka offset, or the 0-based line number
  bool keyed = true;           // Kafka: the message had a key (inputs must be keyed by user_id)
  std::string payload;
  std::int64_t append_ms = -1;  // broker append time, -1 when unknown
  /// Opaque to the task: stored with the state once this record is
  /// processed, and given back to the source to resume the stream.
  ResumePosition resume;
};

}  // namespace alliance

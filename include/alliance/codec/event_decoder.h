// Decodes one input message (SPEC §2) with simdjson on-demand into a
// validated Event, or a dead-letter reason of SPEC §5.4. Owns a reusable
// parser and buffer: one decoder per thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "alliance/core/event.h"

namespace alliance {

inline constexpr std::size_t kMaxMessageBytes = 64 * 1024;

struct DecodeResult {
  std::optional<Event> event;  // set when valid
  std::string reason;          // else: e.g. "missing_field:amount_minor"
  std::string detail;          // human text for the dead letter

  [[nodiscard]] bool ok() const { return event.has_value(); }
};

/// Where decode() puts its verdict: an Event (built in place), or a
/// reason and detail with `event` empty. The three start out empty.
struct DecodeTarget {
  std::optional<Event>& event;
  std::string& reason;
  std::string& detail;
};

class EventDecoder {
 public:
  EventDecoder();
  /// `topic_kind` is the kind the Kafka topic implies (then `type` is
  /// optional and must match); nullopt for files (then `type` is required).
  DecodeResult decode(std::string_view bytes, std::optional<EventKind> topic_kind);
  /// The same into caller-owned storage (no move of the Event).
  void decode(std::string_view bytes, std::optional<EventKind> topic_kind, DecodeTarget out);

 private:
  /// decode() after the size, UTF-8 and BOM checks, into a fresh `out`;
  /// sets json_error_.
  void parse(std::string_view bytes, std::optional<EventKind> topic_kind, DecodeTarget out);

  simdjson::ondemand::parser parser_;
  simdjson::error_code json_error_ = simdjson::SUCCESS;  // of the last parse(), if the JSON was malformed
  std::string buffer_;  // message bytes + SIMDJSON_PADDING
};

}  // namespace alliance

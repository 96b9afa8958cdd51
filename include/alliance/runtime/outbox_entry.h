// An output record on its way out: committed with the state in the outbox
// (docs/STATE.md), handed to a RecordSink, deleted once acknowledged. Plain
// values; any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "alliance/codec/record_encoder.h"
#include "alliance/core/output_record.h"

namespace alliance {

/// An output record waiting in the outbox: encoded without emitted_at, so a
/// resend after a crash is byte-identical apart from that field.
struct OutboxEntry {
  std::int64_t seq = 0;
  OutputKind kind = OutputKind::kDlq;
  std::string key;
  std::string body;
  std::int32_t partition = -1;  // forwards: the repartition partition; -1: by key
  /// The typed record `body` encodes (its key moved to `key`), kept until the
  /// acknowledgement for the run's gauges and live views, so nothing parses
  /// what was just encoded. Null for forwards and for entries read back from
  /// the store after a restart (then decode_record reads `body`).
  std::shared_ptr<const OutputRecord> record;
};

/// Meta entries (key, value) written with a commit or an acknowledgement.
using MetaUpdates = std::vector<std::pair<std::string, std::string>>;

}  // namespace alliance

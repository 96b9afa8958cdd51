// An output record on its way out: committed with the state in the outbox
// (docs/STATE.md), handed to a RecordSink, deleted once acknowledged. Plain
// values; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "alliance/codec/record_encoder.h"

namespace alliance {

/// An output record waiting in the outbox: encoded without emitted_at, so a
/// resend after a crash is byte-identical apart from that field.
struct OutboxEntry {
  std::int64_t seq = 0;
  OutputKind kind = OutputKind::kDlq;
  std::string key;
  std::string body;
  std::int32_t partition = -1;  // forwards: the repartition partition; -1: by key
};

/// Meta entries (key, value) written with a commit or an acknowledgement.
using MetaUpdates = std::vector<std::pair<std::string, std::string>>;

}  // namespace alliance

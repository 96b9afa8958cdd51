// Reads our own output records (SPEC §5) back into the typed records of
// output_record.h: the one reader for what we read back (the dashboard,
// `payouts`, the demo's table, and the run's gauges for records resent from
// the outbox after a restart, when only their bytes exist). The inverse of
// encode_record (record_encoder.h): for every record r of a JSON kind,
// encode_record(*decode_record(kind, encode_record(r))) == encode_record(r)
// byte for byte. Any thread (one parser per thread).
#pragma once

#include <optional>
#include <string_view>

#include "alliance/codec/record_encoder.h"
#include "alliance/core/output_record.h"

namespace alliance {

/// The record of `kind` in `json` (a body as stored in the outbox or as
/// published, with `emitted_at`), or nullopt when `json` is not one: not one
/// JSON object, a field of the wrong type, or a required field missing.
///
/// Fields are found by name in any order; unknown ones (`emitted_at`) and the
/// derived ones (rates, ratios, net benefit: the writer derives them from the
/// integers) are skipped. Required: settlements `partner_id`, `kind`,
/// `attributed_minor`, `currency`; metrics `dim`, `key`, `window_start`,
/// `window_end`, `window_size`, `clicks`, `unique_users`, `orders`,
/// `conversions`, `revenue_minor`; statements `partner_id`, `period`,
/// `currency`, `accrued_minor`, `reversed_minor`, `net_minor`; balances
/// `partner_id`, `currency` and the five amounts; dead letters `reason`.
/// Other fields missing take the record's defaults. The returned record's
/// `key` is empty (the Kafka key is not in the body). kRepartition (binary
/// forwards, forward_record.h) is never decoded here: nullopt.
std::optional<OutputRecord> decode_record(OutputKind kind, std::string_view json);

/// `-12.500000` -> -12500000 (6 places at most; "1.5" and "7" too);
/// nullopt for anything else or out of the int64 range.
std::optional<std::int64_t> parse_micros(std::string_view text);

/// Standard base64 with padding, as base64_encode writes it; nullopt when not.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace alliance

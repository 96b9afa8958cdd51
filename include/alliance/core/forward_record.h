// What stage 1 of a partitioned run (one user partition's Processor) sends to
// stage 2 (the aggregation owned by one repartition partition): partial
// metric records (cumulative per source partition), settlement records for
// the statement ledger, payouts and risk releases for the ledger, partner
// risk's clicks per partner-period, and watermark marks. Binary, versioned by a type
// byte. Pure functions; any thread. Design: docs/KAFKA.md "Two stages".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "alliance/core/byte_codec.h"
#include "alliance/core/event.h"
#include "alliance/core/output_record.h"

namespace alliance {

/// A source partition's progress: its watermark and stream time; `finished`
/// once its input ended (bounded runs), which counts as +infinity.
struct WatermarkMark {
  TimestampMs watermark = 0;
  TimestampMs stream_time = 0;
  bool finished = false;
  bool operator==(const WatermarkMark&) const = default;
};

/// A payout on its way to the ledger that owns the partner balances, with
/// what a dead letter needs if stage 2 refuses it.
struct PayoutForward {
  Payout payout;
  TimestampMs ts = 0;
  std::string raw;
  SourcePosition pos;
};

/// A risk release on its way to the ledger that owns partner risk, with
/// what a dead letter needs if stage 2 refuses it.
struct ReleaseForward {
  RiskRelease release;
  TimestampMs ts = 0;
  std::string raw;
  SourcePosition pos;
};

/// Clicks one user partition counted for one partner-period in one emit
/// cycle, and the users among them new to it there (SPEC §3.9: users are
/// partitioned, so stage 2 adds the partitions' distinct users).
struct RiskClicks {
  std::string period;
  std::string partner_id;
  TimestampMs period_end = 0;
  std::int64_t clicks = 0;
  std::int64_t new_users = 0;
};

struct Forward {
  std::int32_t source = 0;  // the user partition that sent it
  std::variant<MetricRecord, SettlementRecord, WatermarkMark, PayoutForward, RiskClicks, ReleaseForward> body;
};

std::string encode_forward(const Forward& f);
/// Throws CorruptState on bytes it cannot read.
Forward decode_forward(std::string_view bytes);

void write_metric(ByteWriter& w, const MetricRecord& r);
MetricRecord read_metric(ByteReader& r);

/// The repartition partition of `key` among `partitions` (FNV-1a): the same
/// in replay and in Kafka, and stable across restarts.
std::int32_t route(std::string_view key, std::int32_t partitions);
/// The key every settlement record is routed by: one ledger, because pools
/// couple the partners of a campaign.
inline constexpr std::string_view kLedgerRouteKey = "ledger";

}  // namespace alliance

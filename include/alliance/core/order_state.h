// The lifecycle state of one order and what it accrued (SPEC §3.6). Values
// owned by the Processor's order table; core thread only.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "alliance/core/event_time.h"
#include "alliance/core/metric_windows.h"
#include "alliance/core/money.h"

namespace alliance {

enum class OrderPhase : std::uint8_t {
  kPending = 0,
  kCompleted = 1,
  kCancelled = 2,          // cancelled (before or after completion): closed
  kClosedUncompleted = 3,  // refunded before completion: closed
};

/// What one partner accrued on the order, and how much has been reversed.
struct PartnerShare {
  std::string partner_id;
  std::optional<std::string> campaign_id;
  std::optional<std::string> contract_id;
  std::int64_t weight_micros = 0;
  MinorUnits attributed_minor = 0;
  std::optional<MinorUnits> commission_minor;
  MinorUnits reversed_minor = 0;             // cumulative, positive
  MinorUnits commission_reversed_minor = 0;  // cumulative, positive
  std::vector<std::string> touchpoint_ids;   // credited touchpoints, chronological
};

/// What one metric key (source, campaign or partner) was credited, for refunds.
struct DimShare {
  Dim dim = Dim::kSource;
  std::string key;
  MinorUnits amount_minor = 0;
  MinorUnits reversed_minor = 0;
};

/// One order, from its first event until order_retention after its newest:
/// phase, amounts, what it accrued, and who it belongs to. `user_id` is the
/// user of the order's first event: events under any other user are
/// dead-lettered (order_user_mismatch). `event_ids` are the lifecycle events
/// applied to it, in order, so a resent one is a duplicate even after the
/// dedupe set forgot it (SPEC §3.6).
struct OrderState {
  OrderPhase phase = OrderPhase::kPending;
  std::string user_id;
  std::vector<std::string> event_ids;
  std::string currency;
  MinorUnits amount_minor = 0;
  TimestampMs completed_ts = 0;
  TimestampMs last_ts = 0;  // newest event of the order, for order_retention
  std::string model;
  MinorUnits refunded_minor = 0;      // cumulative refunds r_k
  std::int64_t applied_reversals = 0;  // k of the last cancel/refund applied
  std::vector<PartnerShare> partners;  // sorted by partner id
  std::vector<DimShare> dims;
};

/// Whether `event_id` is one of the lifecycle events applied to `order`.
inline bool applied_event(const OrderState& order, const std::string& event_id) {
  for (const auto& id : order.event_ids)
    if (id == event_id) return true;
  return false;
}

/// The partner's cumulative reversal after cumulative refunds r of amount A:
/// floor(b·r/A) (SPEC §3.6).
inline MinorUnits cumulative_reversal(MinorUnits accrued, MinorUnits refunded, MinorUnits amount) {
  return amount == 0 ? accrued : floor_div128(static_cast<__int128>(accrued) * refunded, amount);
}

}  // namespace alliance

// Typed output records of SPEC §5, produced by the core and encoded to JSON
// by the codec. Plain values; any thread.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "alliance/core/dead_letter.h"
#include "alliance/core/event_time.h"
#include "alliance/core/money.h"

namespace alliance {

/// SPEC §5.1: one accrual or reversal of one partner for one order.
struct SettlementRecord {
  std::string record_id;  // <order_id>:<kind>:<n>:<partner_id>
  bool reversal = false;
  std::string order_id;
  std::string user_id;
  std::string partner_id;
  std::optional<std::string> campaign_id;
  std::string model;            // model name, or "referral_code" for precedence
  std::int64_t weight_micros = 0;  // the partner's summed weight, 6 places
  MinorUnits attributed_minor = 0;  // negative for reversals
  std::optional<MinorUnits> commission_minor;
  std::string currency;
  TimestampMs event_ts = 0;
  std::string period;
  std::optional<std::string> contract_id;
  std::string event_id;  // the event that caused the record
  /// The partner's credited touchpoints (chronological), the same on the
  /// accrual and its reversals; for a referral code, the owner's referral
  /// touchpoint if the user has one within lookback.
  std::vector<std::string> touchpoint_ids;
  /// The completion time of the order: event_ts on an accrual. Not
  /// published; the ledger books a reversal's commission against the
  /// accrual's period and holding (SPEC §3.6, §3.8).
  TimestampMs accrual_ts = 0;
  /// Partner risk (SPEC §3.9), not published. On an accrual: the time of
  /// the partner's latest credited touchpoint (none: a referral code with
  /// no referral touchpoint). On a reversal: whether it is the first of
  /// this order for this partner (the order counts in reversed_orders).
  std::optional<TimestampMs> touch_ts;
  bool first_reversal = false;
};

/// SPEC §5.2: the numbers of one (dimension, key, window, currency).
struct MetricRecord {
  std::string dim;   // source | campaign | partner
  std::string key;
  TimestampMs window_start = 0;
  TimestampMs window_end = 0;
  DurationMs window_size = 0;  // 0: the running "all" record
  std::int64_t clicks = 0;
  std::int64_t unique_users = 0;
  std::int64_t referrals = 0;
  std::int64_t orders = 0;
  std::int64_t conversions_micros = 0;
  MinorUnits revenue_minor = 0;
  MinorUnits refunds_minor = 0;
  std::optional<std::string> currency;  // the topology's default currency for count-only windows
  std::int64_t late_events = 0;
  bool final = false;
  TimestampMs watermark = 0;  // event time up to which the inputs are complete
  // Only on window_size "all" (campaign and source dimensions).
  std::int64_t buyers = 0;
  std::int64_t repeat_buyers = 0;
  std::optional<MinorUnits> cost_minor;  // campaigns only
  /// Buyers whose last completed order on the key is older than churn_after
  /// at the churn evaluation time (docs/SEMANTICS.md, customer measures).
  std::int64_t churned_buyers = 0;
  /// Net attributed revenue per buyer and its discounted lifetime value,
  /// from the record's own integers (set_customer_measures); null: no buyers.
  std::optional<MinorUnits> ltv_minor;
  std::optional<MinorUnits> clv_minor;
  /// Stage 1 -> stage 2 only, on a partition's final "all" partial: the last
  /// completed order times (sorted) of its buyers not yet churned, so stage
  /// 2 can count churn at its own, later evaluation time. Never published.
  std::vector<TimestampMs> active_last_orders;
};

/// SPEC §5.3: a partner's totals for one settlement period (day, week or month) and currency.
struct StatementRecord {
  std::string partner_id;
  std::string period;
  std::string currency;
  std::int64_t revision = 1;
  MinorUnits accrued_minor = 0;
  MinorUnits reversed_minor = 0;  // sum of reversal records: <= 0
  MinorUnits net_minor = 0;
  std::optional<MinorUnits> commission_minor;  // null: partner has no contract
  MinorUnits pool_share_minor = 0;
  std::int64_t records = 0;
  std::string digest;
  TimestampMs period_start = 0;  // UTC ms
  TimestampMs period_end = 0;    // UTC ms, exclusive
  std::optional<std::string> contract_id;
  std::optional<std::int64_t> rate_bp;  // tiered: the tier rate applied
  bool final = false;
};

/// SPEC §5.5: what alliance owes one partner in one currency. Invariant:
/// accrued + reversed = pending + payable + paid.
struct BalanceRecord {
  std::string partner_id;
  std::string currency;
  MinorUnits accrued_minor = 0;
  MinorUnits reversed_minor = 0;  // <= 0
  MinorUnits pending_minor = 0;
  MinorUnits payable_minor = 0;   // negative: a clawback
  MinorUnits paid_minor = 0;
  std::string last_payout_id;     // empty: none yet
  TimestampMs watermark = 0;
  MinorUnits held_minor = 0;      // part of pending held by partner risk (SPEC §3.9)
};

/// SPEC §5.6: the fraud signals of one partner in one settlement period.
struct RiskRecord {
  std::string partner_id;
  std::string period;
  TimestampMs period_start = 0;  // UTC ms
  TimestampMs period_end = 0;    // UTC ms, exclusive
  std::int64_t credited_orders = 0;
  std::int64_t fast_orders = 0;
  std::int64_t clicks = 0;
  std::int64_t click_users = 0;
  std::int64_t reversed_orders = 0;
  std::vector<std::string> flags;  // sorted
  bool held = false;
  bool released = false;
  bool final = false;
  std::int64_t revision = 1;
  TimestampMs watermark = 0;
};

/// A record for the internal repartition topic (stage 1 -> stage 2 of a
/// partitioned run, docs/KAFKA.md): already encoded (forward_record.h) and
/// addressed to one repartition partition.
struct ForwardedRecord {
  std::int32_t target = 0;
  std::string payload;
};

/// One message for an output topic: its Kafka key and typed body.
struct OutputRecord {
  std::string key;
  // Appended alternatives keep the indexes outboxes already store (OutputKind).
  std::variant<SettlementRecord, MetricRecord, StatementRecord, DeadLetter, BalanceRecord, ForwardedRecord, RiskRecord>
      body;
};

}  // namespace alliance

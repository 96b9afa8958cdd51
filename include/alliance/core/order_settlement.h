// Order settlement (SPEC §3.2-§3.6): the lifecycle of an order — pending,
// completion (attribution, commission, accrual records), refunds and
// cancels (reversal records) — and the refusal of an event whose totals
// would overflow. Owns no state: it works on the tables of the Processor
// that owns it (orders, users, learned codes, ledger, metrics), and emits
// its records, metric credits and dead letters through that Processor
// (Host). Lives as long as its Processor and is used from its thread only.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "alliance/core/cached_table.h"
#include "alliance/core/event.h"
#include "alliance/core/expiry_index.h"
#include "alliance/core/metric_windows.h"
#include "alliance/core/order_state.h"
#include "alliance/core/output_record.h"
#include "alliance/core/processor_stats.h"
#include "alliance/core/settlement_ledger.h"
#include "alliance/core/state_table.h"
#include "alliance/core/topology.h"
#include "alliance/core/touchpoints.h"

namespace alliance {

class OrderSettlement {
 public:
  /// What settlement asks of its Processor: dead letters, metric credits,
  /// settlement records (to its ledger or stage 2) and the watermark.
  class Host {
   public:
    virtual void dead_letter(std::string reason, std::string detail, const SourcePosition& pos,
                             std::string_view raw) = 0;
    /// True when the credit fell into a window already closed (late).
    virtual bool credit(Dim dim, const std::string& key, const std::string& user, TimestampMs ts,
                        const MetricDelta& delta, bool new_order) = 0;
    virtual void emit_settlement(SettlementRecord r) = 0;
    [[nodiscard]] virtual TimestampMs watermark() const = 0;

   protected:
    ~Host() = default;
  };

  /// `split`: stage 1 of a partitioned run (statements live in stage 2,
  /// which checks its own sums). `out` is the Processor's output list, read
  /// to see whether an event was dead-lettered.
  OrderSettlement(const Topology& topology, bool split, CachedTable<UserTouchpoints>& users,
                  CachedTable<OrderState>& orders, ExpiryIndex& order_expiry,
                  const StateTable<std::string>& learned_codes, const SettlementLedger& ledger,
                  const MetricWindows& metrics, ProcessorStats& stats, const std::vector<OutputRecord>& out,
                  Host& host);

  /// False when the order already applied this event (a duplicate after
  /// dedupe_retention, SPEC §3.6): then nothing changed.
  bool on_order(const Event& e, const Order& o, const SourcePosition& pos, std::string_view raw);

 private:
  void apply_order(const Event& e, const Order& o, const SourcePosition& pos, std::string_view raw);
  /// The order `order_id` for an accepted event at `ts` (created if new),
  /// marked changed, its retention started at `ts` at the latest.
  OrderState& order_for(const std::string& order_id, TimestampMs ts);
  /// What one completion, refund or cancel would publish and add, computed
  /// before any state changes so an overflow refuses the event whole (SPEC §2).
  struct OrderEffects {
    std::vector<SettlementRecord> records;  // `period` set
    std::vector<MetricCredit> credits;
  };
  /// True when `fx` would take any total this Processor keeps outside int64.
  [[nodiscard]] bool would_overflow(const Event& e, const OrderEffects& fx) const;
  void refuse_overflow(const Event& e, const std::string& order_id, const SourcePosition& pos,
                       std::string_view raw);
  void complete(const Event& e, const Order& o, const SourcePosition& pos, std::string_view raw);
  /// Reverses `current` to cumulative refunds `new_refunded`; false (and
  /// dead-lettered, nothing changed) when a total would overflow.
  bool reverse(const Event& e, const OrderState& current, MinorUnits new_refunded,
               const SourcePosition& pos, std::string_view raw);
  /// The settlement record of partner share `ps` of order `order_id` caused
  /// by `e`: its accrual (`reversal` 0) or its `reversal`-th reversal, with
  /// the amounts given. The one place a SettlementRecord is built.
  [[nodiscard]] SettlementRecord settlement_record(const Event& e, const std::string& order_id,
                                                   std::int64_t reversal, const PartnerShare& ps,
                                                   const std::string& model, const std::string& currency,
                                                   MinorUnits attributed_minor,
                                                   std::optional<MinorUnits> commission_minor,
                                                   TimestampMs accrual_ts) const;

  /// A touchpoint-like credit target: an eligible touchpoint, or the single
  /// referral-code owner, or the "direct" source of an unattributed order.
  /// Views of the touchpoints, the order or the topology, for one completion.
  struct Credit {
    std::string_view source;
    std::string_view campaign_id;
    std::string_view partner_id;
    std::string_view touchpoint_id;  // empty: none (a code without a referral touchpoint, direct)
    TimestampMs ts = INT64_MIN;      // the touchpoint's time (partner risk); INT64_MIN: none
  };
  /// One positive credit's part for one metric key, before keys are merged.
  struct KeyCredit {
    Dim dim;
    std::string_view key;
    MinorUnits amount = 0;
    std::int64_t micros = 0;
  };
  /// Buffers a completion reuses, so the steady state allocates less.
  struct Scratch {
    std::vector<const Touchpoint*> eligible;
    std::vector<Credit> credits;
    std::vector<TimestampMs> times;
    std::vector<std::size_t> by_partner, group;
    std::vector<KeyCredit> keys;
  };

  const Topology& topology_;
  bool split_;
  Scratch scratch_;
  CachedTable<UserTouchpoints>& users_;
  CachedTable<OrderState>& orders_;
  ExpiryIndex& order_expiry_;  // in memory only (no state store): orders by event time
  const StateTable<std::string>& learned_codes_;
  const SettlementLedger& ledger_;
  const MetricWindows& metrics_;
  ProcessorStats& stats_;
  const std::vector<OutputRecord>& out_;
  Host& host_;
};

}  // namespace alliance

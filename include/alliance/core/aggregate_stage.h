// Stage 2 of a partitioned run: the aggregation owned by one repartition
// partition. It sums the cumulative partial metric records that every user
// partition (source) forwards for the metric keys routed here, books the
// forwarded settlement records in the statement ledger (all routed to one
// partition, because pools couple partners) and the forwarded payouts in its
// partner balances (docs/FINANCE.md), and finalizes windows and
// statement periods once the smallest watermark over all sources passes
// them. Resends are dropped by a per-source sequence number. Owned by the
// Processor of the same partition number; single thread, the core's.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "alliance/core/forward_record.h"
#include "alliance/core/metric_windows.h"
#include "alliance/core/output_record.h"
#include "alliance/core/settlement_ledger.h"
#include "alliance/core/state_table.h"
#include "alliance/core/topology.h"

namespace alliance {

/// What stage 2 knows of one source partition.
struct SourceProgress {
  std::int64_t seq = -1;  // last forwarded record applied
  WatermarkMark mark{INT64_MIN, INT64_MIN, false};
};

class AggregateStage {
 public:
  AggregateStage(const Topology& topology, std::int32_t sources);

  /// Applies one forwarded record carrying the source's sequence number
  /// `seq`; a record at or below the last applied one of its source is a
  /// resend and is ignored (returns false). Outputs go to `out`. Throws
  /// CorruptState on bytes that are not a forwarded record, and
  /// AmountOverflow (after consuming `seq`, before any other change) for a
  /// settlement record that would take a statement, pool volume or
  /// commission outside int64, or a partial metric record whose sum with
  /// the other sources' partials would (docs/SEMANTICS.md).
  bool accept(std::int64_t seq, std::string_view payload, std::vector<OutputRecord>& out);

  /// Running (not final) sums of every metric key and statement changed
  /// since the last call: once per batch, not per forwarded record.
  /// `running` false (emit final): only revisions of closed statements.
  void emit_running(std::vector<OutputRecord>& out, bool running = true);

  /// The smallest watermark over all sources (a finished source counts as
  /// +infinity; one never heard from as -infinity).
  [[nodiscard]] TimestampMs watermark() const;
  /// The events' watermark over all sources, which matures commission
  /// (SPEC §3.8): as watermark(), but a finished source's end of input is
  /// not +infinity: at most the newest stream time of any source - grace,
  /// the watermark one partition would have reached (N partitions = one).
  [[nodiscard]] TimestampMs maturity_watermark() const;
  [[nodiscard]] bool done() const { return done_; }

  SettlementLedger& ledger() { return ledger_; }
  /// Latest partial of each (metric key, source, currency).
  StateTable<MetricRecord>& partials() { return partials_; }
  std::set<std::string>& dirty() { return dirty_; }
  /// Sources, sweep tick and done flag, as one meta value.
  [[nodiscard]] std::string encode_progress() const;
  void decode_progress(std::string_view v);

 private:
  void on_mark(std::int32_t source, const WatermarkMark& m, std::vector<OutputRecord>& out);
  void finalize(TimestampMs watermark, std::vector<OutputRecord>& out);
  /// True when `partial` (of `source`, replacing its previous one) would
  /// make the money sum of its group and currency leave int64.
  [[nodiscard]] bool partial_sum_would_overflow(const std::string& group, std::int32_t source,
                                                const MetricRecord& partial) const;
  /// The summed records (one per currency) of the partials of `group`.
  void sum(const std::string& group, bool final, std::vector<OutputRecord>& out) const;

  const Topology& topology_;
  std::int32_t sources_count_;
  std::map<std::int32_t, SourceProgress> sources_;
  StateTable<MetricRecord> partials_;  // key: group key + be64(source) + currency
  std::set<std::string> dirty_;        // group keys changed since the last running emission
  SettlementLedger ledger_;
  ClvFactor clv_;
  std::int64_t sweep_tick_ = 0;
  bool done_ = false;
};

/// The key the partials of one metric key (all sources, all currencies) share.
std::string partial_group_key(const MetricRecord& r);

}  // namespace alliance

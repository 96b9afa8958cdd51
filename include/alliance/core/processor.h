// The pure core of alliance: takes validated events (and codec rejects) in
// processing order, keeps all state, and returns output records and state
// changes. No I/O, no clock, no threads: replay and the Kafka runtime drive
// the same Processor. One Processor per partition group; it must be used
// from a single thread at a time.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "alliance/core/aggregate_stage.h"
#include "alliance/core/cached_table.h"
#include "alliance/core/dead_letter.h"
#include "alliance/core/event.h"
#include "alliance/core/expiry_index.h"
#include "alliance/core/metric_windows.h"
#include "alliance/core/order_settlement.h"
#include "alliance/core/order_state.h"
#include "alliance/core/output_record.h"
#include "alliance/core/processor_stats.h"
#include "alliance/core/settlement_ledger.h"
#include "alliance/core/state_table.h"
#include "alliance/core/topology.h"
#include "alliance/core/touchpoints.h"

namespace alliance {

/// Meta state: stream time and emission tick.
struct ProcessorClock {
  TimestampMs stream_time = 0;  // largest event time processed
  std::int64_t emit_tick = 0;   // stream_time / emit_interval at the last emission
  std::int64_t sweep_tick = 0;  // stream_time / 1h at the last expiry sweep
  /// stream_time at the last expiry sweep (INT64_MIN: none yet): the
  /// horizons of users, orders and dedupe ids are computed from it, so
  /// expiry is the same whether a key was read from the cache or RocksDB.
  TimestampMs swept_at = INT64_MIN;
  /// Set by the end-of-input flush (finish()) of a replay or a bounded run,
  /// which closes every window and period. Never stored by a replay with
  /// --state nor by a bounded run over one input partition: a later run goes
  /// on from the last event's watermark (SPEC §3.8, docs/OPERATIONS.md
  /// "Bounded runs"). A bounded split run still stores it.
  bool finished = false;
};

/// Which share of the users a Processor owns. `partitions == 0`: all of
/// them (replay, one Kafka partition): it aggregates metrics and statements
/// itself. Otherwise it is stage 1 of user partition `partition`: metric
/// records become cumulative partials and settlement records are copied,
/// both forwarded (OutputRecord with a ForwardedRecord body) to stage 2,
/// which is the AggregateStage of each Processor (docs/KAFKA.md).
struct Partitioning {
  std::int32_t partition = 0;
  std::int32_t partitions = 0;
  [[nodiscard]] bool split() const { return partitions > 0; }
};

/// Keys of the store-backed tables (CachedTable) that events will read, by
/// table: what a state store prefetches before a batch, one MultiGet per
/// table. A key left out is still read when needed, one Get at a time.
struct TableReads {
  std::vector<std::string> dedupe;          // event ids
  std::vector<std::string> users;           // user ids
  std::vector<std::string> orders;          // order ids
  std::vector<std::string> campaign_users;  // campaign_user_key(all_record_key(), user)
  std::vector<std::string> risk_users;      // risk_user_key(period, partner, user)
  /// A completion of the batch: which campaign users it credits depends on
  /// its user's touchpoints, so those keys are asked for in a second round,
  /// once the users are in the cache (Processor::completion_reads).
  struct Completion {
    std::string user_id;
    TimestampMs ts = 0;
    std::string campaign_id;  // the order's own, or empty
    bool referral_code = false;
  };
  std::vector<Completion> completions;
  [[nodiscard]] bool empty() const {
    return dedupe.empty() && users.empty() && orders.empty() && campaign_users.empty() && risk_users.empty() &&
           completions.empty();
  }
  /// Empties every list, keeping their capacity.
  void clear() {
    dedupe.clear();
    users.clear();
    orders.clear();
    campaign_users.clear();
    risk_users.clear();
    completions.clear();
  }
};

/// A dispatcher over the core's parts: decodes an event's kind and hands it
/// to its handler (clicks and referrals here, orders to OrderSettlement,
/// payouts to the ledger); owns the state tables, the clock, expiry and
/// the emission of outputs.
class Processor {
 public:
  explicit Processor(const Topology& topology, Partitioning partitioning = {});
  // Its OrderSettlement refers to its tables: neither copied nor moved.
  Processor(const Processor&) = delete;
  Processor& operator=(const Processor&) = delete;

  /// Processes one valid event read at `pos`; `raw` is kept only for a
  /// dead letter raised by the core (refund_exceeds_amount, …).
  void process(const Event& event, const SourcePosition& pos, std::string_view raw);
  /// Publishes a codec reject to the dead-letter output and counts it.
  void reject(DeadLetter dl);
  /// End of input (file replay): watermark to +infinity, all finals.
  void finish();
  /// Adds to `reads` the keys of the store-backed tables that process(`e`)
  /// will read and their caches do not hold now. Changes nothing (not
  /// const only because MetricWindows gives no const campaign_users()).
  void reads_for(const Event& e, TableReads& reads);
  /// The second round of reads_for: for each completion, the campaign users
  /// its credit may touch (the sources and campaigns of the user's
  /// touchpoints the model can credit, "referral" or "direct"), from the
  /// user as the cache now holds it (never read from the store here). A
  /// superset is harmless: a prefetch only fills the cache.
  void completion_reads(const std::vector<TableReads::Completion>& completions, TableReads& reads);

  /// Ends an emit cycle (SPEC §5.2): running records of every key changed
  /// since the last cycle, once each, when `emit_running` (emit: running);
  /// revisions of closed statements always. Split mode: forwards the
  /// partials and this partition's watermark to stage 2, whose running sums
  /// follow the same rule.
  void end_cycle(bool emit_running);
  /// Output records are waiting to be taken.
  [[nodiscard]] bool has_outputs() const { return !out_.empty(); }
  /// Split mode, stage 2: applies a record read from repartition partition
  /// `partitioning.partition`; `seq` is its source's sequence number. A
  /// record that cannot be decoded is dead-lettered.
  void accept_forward(std::int64_t seq, std::string_view payload, const SourcePosition& pos);

  /// Output records produced since the last call, in production order.
  std::vector<OutputRecord> take_outputs() { return std::move(out_); }

  [[nodiscard]] const ProcessorStats& stats() const { return stats_; }
  /// The watermark of windows and periods: the events' watermark, or
  /// +infinity after the end-of-input flush (SPEC §3.7).
  [[nodiscard]] TimestampMs watermark() const;
  /// The events' watermark alone (largest event time - grace): what
  /// matures commission (SPEC §3.8); the flush never moves it.
  [[nodiscard]] TimestampMs event_watermark() const { return clock_.stream_time - topology_.grace; }
  [[nodiscard]] const Topology& topology() const { return topology_; }
  [[nodiscard]] const ProcessorClock& clock() const { return clock_; }

  // State tables, for the state store adapter (persist / restore).
  CachedTable<UserTouchpoints>& users() { return users_; }
  /// The pool users()' touchpoints take their labels from (state decoding interns into it).
  TouchLabelPool& touch_labels() { return touch_labels_; }
  CachedTable<OrderState>& orders() { return orders_; }
  CachedTable<TimestampMs>& dedupe() { return dedupe_; }
  StateTable<std::string>& learned_codes() { return learned_codes_; }
  /// Partner risk's distinct click users of this partition (SPEC §3.9):
  /// risk_user_key -> the period's end (expiry: dedupe_retention after it).
  CachedTable<TimestampMs>& risk_users() { return risk_users_; }
  /// Clicks counted since the last emit cycle, per risk key: applied to
  /// partner risk (or forwarded to stage 2) once per cycle, and before a
  /// period they belong to closes. Persisted with the state: a commit may
  /// fall between cycles.
  std::map<std::string, RiskClicks, std::less<>>& risk_clicks() { return risk_clicks_; }
  MetricWindows& metrics() { return metrics_; }
  /// The statement ledger this partition persists: its own, or in split
  /// mode its stage 2's.
  SettlementLedger& ledger() { return partitioning_.split() ? aggregate_.ledger() : ledger_; }
  AggregateStage& aggregate() { return aggregate_; }
  [[nodiscard]] const Partitioning& partitioning() const { return partitioning_; }
  ProcessorClock& mutable_clock() { return clock_; }
  void after_restore();
  /// Evicts clean cache entries of the store-backed tables down to
  /// `budget_bytes` in all (after a commit wrote the changed ones) and
  /// starts a new cache cycle.
  /// Returns whether anything was evicted.
  bool trim_caches(std::size_t budget_bytes);
  /// Approximate bytes held by the store-backed tables' caches.
  [[nodiscard]] std::size_t cache_bytes() const;
  /// Forgets change tracking (running without a state store).
  void discard_changes();
  /// Whether the state tables remember changed keys for a state store (off:
  /// replay in memory, nothing persisted).
  void track_changes(bool on);

 private:
  /// Calls f on each table that is a write-back cache of the state store
  /// (the ones trim_caches() bounds); `self` is *this, const or not.
  template <class Self, class F>
  static void for_each_cached_table(Self& self, F&& f) {
    f(self.users_);
    f(self.orders_);
    f(self.dedupe_);
    f(self.metrics_.campaign_users());
    f(self.risk_users_);
  }
  void on_click(const Event& e, const Click& c);
  void on_referral(const Event& e, const Referral& r);
  /// A payout (SPEC §3.8): applied to the balances, or forwarded to them.
  void on_payout(const Event& e, const SourcePosition& pos, std::string_view raw);
  /// A risk release (SPEC §3.9): applied to partner risk, or forwarded to it.
  void on_release(const Event& e, const SourcePosition& pos, std::string_view raw);
  /// Counts a partnered click in partner risk (SPEC §3.9).
  /// `user_counted`: counted_for() said the user is counted already.
  void count_risk_click(const Event& e, const std::string& partner, bool user_counted);
  /// Moves count_risk_click's cached period to the one holding `ts`.
  void risk_period_for(TimestampMs ts);
  /// Hands the clicks counted since the last cycle to partner risk: this
  /// ledger's, or stage 2's (forwards).
  void flush_risk_clicks();
  /// Adds the campaign_users key of (dim, key, user) to `reads` unless the
  /// cache holds it (reads_for and completion_reads); an empty key: nothing.
  void campaign_user_read(Dim dim, std::string_view key, const std::string& user, TableReads& reads);
  bool credit(Dim dim, const std::string& key, const std::string& user, TimestampMs ts,
              const MetricDelta& delta, bool new_order, bool user_counted = false);
  /// What a click or referral need not count again, from the user's list
  /// before its touchpoint joins: `source`/`campaign`, a touchpoint with
  /// that source / campaign (crediting it counted the user among that key's
  /// all-time users, who stay in campaign_users for good); `risk_user`, a
  /// click of `partner` in the risk period risk_period_for() set (its
  /// count_risk_click counted the user among that partner-period's click
  /// users). An empty key or partner: nothing to count, so true. One walk.
  struct CountedFor {
    bool source = false, campaign = false, risk_user = false;
  };
  [[nodiscard]] CountedFor counted_for(const UserTouchpoints* u, std::string_view source, std::string_view campaign,
                                       std::string_view partner) const;
  void core_dead_letter(std::string reason, std::string detail, const SourcePosition& pos,
                        std::string_view raw);
  /// A record of OrderSettlement: to this ledger, or forwarded to stage 2; published.
  void emit_settlement(SettlementRecord r);
  void advance(TimestampMs ts);
  void sweep();
  /// The expiry horizons of the store-backed tables, from clock_.swept_at.
  void set_horizons();
  void count_outputs(std::size_t from);
  /// Split mode: forwards the watermark when it moved since the last mark.
  void mark_progress(bool emit_running);
  /// Split mode: turns the metric records from `from` on into forwards.
  void forward_metrics(std::size_t from);
  /// `body` encoded as a record of this partition for repartition partition `target`.
  [[nodiscard]] ForwardedRecord forwarded(std::int32_t target, decltype(Forward::body) body) const;

  const Topology& topology_;
  Partitioning partitioning_;
  std::string read_key_;  // campaign_user_read's key buffer
  ProcessorClock clock_;
  // The labels users_' touchpoints refer to: declared first, so it
  // outlives every value that holds a reference into it.
  TouchLabelPool touch_labels_;
  // The tables that grow with users, orders and events: caches of the
  // state store when one backs them (docs/STATE.md).
  CachedTable<UserTouchpoints> users_;
  CachedTable<OrderState> orders_;
  CachedTable<TimestampMs> dedupe_;
  StateTable<std::string> learned_codes_;  // referral code -> partner, from referral events
  CachedTable<TimestampMs> risk_users_;
  std::map<std::string, RiskClicks, std::less<>> risk_clicks_;
  TimestampMs risk_clicks_first_end_ = INT64_MAX;  // earliest period end among risk_clicks_
  // count_risk_click's period of the last click and key buffers.
  TimestampMs risk_period_start_ = INT64_MAX;
  TimestampMs risk_period_end_ = INT64_MIN;
  std::string risk_period_;
  std::string risk_key_buf_;
  std::string risk_user_buf_;
  // In memory only (no state store): dedupe_ and orders_ keys by event time,
  // so the hourly sweep frees them. With a store, RocksDB's compaction
  // filter deletes expired values and the caches evict.
  ExpiryIndex dedupe_expiry_;
  ExpiryIndex order_expiry_;
  MetricWindows metrics_;
  SettlementLedger ledger_;
  AggregateStage aggregate_;
  std::optional<WatermarkMark> last_mark_;
  ProcessorStats stats_;
  std::vector<OutputRecord> out_;
  bool event_late_ = false;  // set by credit() while one event is processed
  /// What OrderSettlement asks of this Processor (its dead letters, credits,
  /// settlement records, watermark).
  class SettlementHost final : public OrderSettlement::Host {
   public:
    explicit SettlementHost(Processor& p) : p_(p) {}
    void dead_letter(std::string reason, std::string detail, const SourcePosition& pos,
                     std::string_view raw) override;
    bool credit(Dim dim, const std::string& key, const std::string& user, TimestampMs ts,
                const MetricDelta& delta, bool new_order) override;
    void emit_settlement(SettlementRecord r) override;
    [[nodiscard]] TimestampMs watermark() const override;

   private:
    Processor& p_;
  };
  SettlementHost settlement_host_{*this};
  OrderSettlement settlement_;  // after the tables it works on
};

}  // namespace alliance

// Partner risk (SPEC §3.9, §5.6): per partner and settlement period the
// fraud signals (credited, fast and reversed orders; clicks and distinct
// click users), their flags, holds and releases, and the partner-risk
// records. Owned by the SettlementLedger that owns the statements and the
// balances (the Processor's, or stage 2's in split mode); called only from
// the core's thread. The distinct click users themselves live in stage 1
// (Processor, a store-backed table): this class receives their counts.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "alliance/core/dirty_keys.h"
#include "alliance/core/event.h"
#include "alliance/core/output_record.h"
#include "alliance/core/state_table.h"
#include "alliance/core/topology.h"

namespace alliance {

/// The signals of one partner in one period (SPEC §3.9).
struct RiskCounts {
  std::int64_t credited_orders = 0;
  std::int64_t fast_orders = 0;
  std::int64_t clicks = 0;
  std::int64_t click_users = 0;
  std::int64_t reversed_orders = 0;
  bool operator==(const RiskCounts&) const = default;
};

/// Flag bits, in the (alphabetical) order records list them.
enum RiskFlag : std::uint8_t { kClickInjection = 1, kClickSpam = 2, kRefundAbuse = 4 };

/// The flags `c` raises under `cfg`: exact rationals, compared by
/// cross-multiplication in 128 bits (never a float). Pure.
std::uint8_t risk_flags(const RiskCounts& c, const RiskConfig& cfg);
/// The names of `flags`, sorted.
std::vector<std::string> risk_flag_names(std::uint8_t flags);

/// One partner-period's risk state.
struct RiskState {
  TimestampMs period_end = 0;
  RiskCounts counts;
  std::int64_t revision = 1;
  bool closed = false;    // the final record of `revision` was published
  bool released = false;  // a risk_release arrived: never held again
  bool held = false;      // the hold in force when last evaluated (action hold, flagged, not released)
};

/// Why a risk_release was refused (SPEC §5.4 reason and a human detail).
struct ReleaseRefusal {
  std::string reason;
  std::string detail;
};

class PartnerRisk {
 public:
  /// Told when a partner-period's hold starts (true) or ends (false).
  using HoldListener = std::function<void(const std::string& partner, const std::string& period, bool held)>;

  explicit PartnerRisk(const Topology& topology);
  void set_hold_listener(HoldListener f) { on_hold_ = std::move(f); }

  /// Counts a settlement record booked by the ledger (`period` set): an
  /// accrual is a credited order of its period (fast when its touchpoint
  /// came less than min_ctit before it); a reversal that is the first of
  /// its order for the partner is a reversed order of the accrual's period.
  void book(const SettlementRecord& r);
  /// Adds clicks of `partner` in `period` (ending at `period_end`) and the
  /// users among them that are new to the partner-period.
  void add_clicks(const std::string& period, const std::string& partner, TimestampMs period_end,
                  std::int64_t clicks, std::int64_t new_users);
  /// Applies a risk_release, or says why it must be dead-lettered (then
  /// nothing changed).
  [[nodiscard]] std::optional<ReleaseRefusal> release(const RiskRelease& r);
  /// Whether the commission of (partner, period) is held now.
  [[nodiscard]] bool held(const std::string& partner, const std::string& period) const;

  /// Final records of periods whose end <= watermark.
  void close_periods(TimestampMs watermark, std::vector<OutputRecord>& out);
  /// Re-evaluates the holds of every key changed since the last call and
  /// publishes revisions (closed periods) and, when `running`, running
  /// records (open periods).
  void emit_running(std::vector<OutputRecord>& out, bool running = true);

  StateTable<RiskState>& states() { return states_; }
  /// release_id -> risk key, for duplicate_release (kept for good, like payout ids).
  StateTable<std::string>& releases() { return releases_; }
  DirtyKeys& dirty() { return dirty_; }
  /// Rebuilds the open-period index after a restore.
  void reindex();

 private:
  RiskState& state(const std::string& period, const std::string& partner, TimestampMs period_end);
  /// Sets the hold of `key` from its flags; tells the listener on a change.
  void update_hold(const std::string& key, RiskState& s);
  [[nodiscard]] RiskRecord build(const std::string& key, const RiskState& s, bool final) const;

  const Topology& topology_;
  StateTable<RiskState> states_;  // key: risk_key()
  StateTable<std::string> releases_;
  std::map<TimestampMs, std::set<std::string>> open_periods_;  // end -> periods
  DirtyKeys dirty_;
  HoldListener on_hold_;
};

/// Risk state key: length-prefixed period, partner (a period's keys share a prefix).
std::string risk_key(const std::string& period, const std::string& partner);
/// The stage-1 key of one distinct click user: length-prefixed period, partner, user.
std::string risk_user_key(const std::string& period, const std::string& partner, const std::string& user);
/// The Kafka key of SPEC §5.6: partner_id|period.
std::string risk_output_key(const std::string& key);
/// The first instant (UTC ms) of the period labelled `label` in the
/// topology's zone and unit, or nullopt when `label` is not such a label.
std::optional<TimestampMs> period_label_start(const std::string& label, DurationMs offset, PeriodUnit unit);

}  // namespace alliance

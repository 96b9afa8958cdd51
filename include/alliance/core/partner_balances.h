// The finance lifecycle of SPEC §3.8: per partner and currency, commission
// pending (inside its holding period), payable, paid and clawed back, and the
// payouts finance reported. Owned by the SettlementLedger that owns the
// statements (the Processor's, or stage 2's in split mode); called only from
// the core's thread.
#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "alliance/core/dirty_keys.h"
#include "alliance/core/event.h"
#include "alliance/core/output_record.h"
#include "alliance/core/pending_buckets.h"
#include "alliance/core/state_table.h"
#include "alliance/core/topology.h"

namespace alliance {

/// One partner's balance in one currency. Invariant:
/// accrued + reversed = pending + payable + paid,
/// pending = Σ by_maturity + Σ held, held_minor = Σ held.
struct BalanceState {
  MinorUnits accrued_minor = 0;   // Σ positive commission booked
  MinorUnits reversed_minor = 0;  // Σ negative commission booked (<= 0)
  MinorUnits pending_minor = 0;
  MinorUnits payable_minor = 0;   // negative: a clawback
  MinorUnits paid_minor = 0;
  /// Pending commission by the time it becomes payable (accrual + holding);
  /// a bucket may be negative when a reversal lands before its accrual's
  /// tiered or pool commission does.
  PendingBuckets by_maturity;
  /// Pending buckets of periods partner risk holds (SPEC §3.9): they do not
  /// mature until the hold ends (a risk_release, or the flag clears).
  PendingBuckets held;
  MinorUnits held_minor = 0;  // Σ held
  /// For the state store, which keeps one key per maturity (a balance's
  /// value does not grow with its pending accruals): buckets changed since
  /// the store last drained the balance. Not persisted.
  std::set<MaturityKey> changed_dues;
  /// Buckets up to here were made payable by a payout dated this late.
  TimestampMs matured_through = INT64_MIN;
  std::string last_payout_id;
};

/// Why a payout was refused (SPEC §5.4 reason and a human detail).
struct PayoutRefusal {
  std::string reason;
  std::string detail;
};

class PartnerBalances {
 public:
  explicit PartnerBalances(const Topology& topology);

  /// True when moving up to `bound` (either sign) through the balance of
  /// (partner, currency) could take one of its totals outside int64.
  [[nodiscard]] bool would_overflow(const std::string& partner, const std::string& currency,
                                    MinorUnits bound) const;
  /// Books `amount` of commission (negative: a reversal) of an accrual
  /// completed at `accrual_ts`: pending until accrual_ts + the partner's
  /// holding period has passed, payable at once after it (or with a 0s
  /// holding period). Must have been checked with would_overflow. `period`:
  /// the settlement period the commission belongs to; while partner risk
  /// holds it, the commission stays pending (held) whatever its maturity.
  void book(const std::string& partner, const std::string& currency, MinorUnits amount, TimestampMs accrual_ts,
            const std::string& period);
  /// Asked by book(): is the commission of (partner, period) held now?
  using HoldQuery = std::function<bool(const std::string& partner, const std::string& period)>;
  void set_hold_query(HoldQuery q) { held_ = std::move(q); }
  /// A hold of (partner, period) started (its pending buckets stop
  /// maturing) or ended (they mature by their normal rule, at once if due).
  void set_hold(const std::string& partner, const std::string& period, bool held);
  /// Moves pending commission whose holding period ended by `watermark` to payable.
  void mature(TimestampMs watermark);
  /// Applies a payout read at event time `ts`, or says why it must be
  /// dead-lettered (then nothing changed). Commission whose holding period
  /// ended by `ts` counts as payable to it, but never beyond the watermark:
  /// a payout dated in the future matures nothing the stream has not.
  [[nodiscard]] std::optional<PayoutRefusal> pay(const Payout& p, TimestampMs ts);
  /// One record per balance changed since the last call.
  void emit(std::vector<OutputRecord>& out);

  [[nodiscard]] BalanceRecord record(const std::string& key, const BalanceState& b) const;
  StateTable<BalanceState>& balances() { return balances_; }
  /// payout_id -> balance key, for duplicate_payout (kept for good: a handful per partner and month).
  StateTable<std::string>& payouts() { return payouts_; }
  DirtyKeys& dirty() { return dirty_; }
  [[nodiscard]] TimestampMs watermark() const { return watermark_; }
  /// After a restore: the watermark the restored state had matured to
  /// (the events' watermark; every bucket due by it was released then).
  void restore_watermark(TimestampMs watermark) { watermark_ = std::max(watermark_, watermark); }
  /// Rebuilds the next-maturity index after a restore.
  void reindex();

 private:
  /// Moves the pending buckets of `b` due by `through` to payable.
  void release(BalanceState& b, TimestampMs through);
  /// Adds `amount` to `b`'s pending bucket `mk` in `buckets` (by_maturity or
  /// held; a bucket that sums to 0 goes), and to pending_minor.
  void add_pending(BalanceState& b, PendingBuckets& buckets, const MaturityKey& mk,
                   MinorUnits amount);
  const Topology& topology_;
  HoldQuery held_;
  StateTable<BalanceState> balances_;  // key: balance_key()
  StateTable<std::string> payouts_;
  DirtyKeys dirty_;
  TimestampMs watermark_ = INT64_MIN;  // the latest mature() call
  TimestampMs next_due_ = INT64_MAX;   // earliest pending maturity over all balances
};

/// Balance state key: length-prefixed partner and currency.
std::string balance_key(const std::string& partner, const std::string& currency);
/// The Kafka key of SPEC §5.5: partner_id|currency.
std::string balance_output_key(const std::string& key);

}  // namespace alliance

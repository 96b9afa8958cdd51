// Period ledgers behind the settlement-statements topic (SPEC §3.5, §5.3):
// per partner, settlement period (day, week or month) and currency, the sums of settlement records,
// tier and pool commission, digests and revisions. Owned by the Processor;
// called only from the core's thread.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "alliance/core/dirty_keys.h"
#include "alliance/core/output_record.h"
#include "alliance/core/partner_balances.h"
#include "alliance/core/partner_risk.h"
#include "alliance/core/state_table.h"
#include "alliance/core/topology.h"

namespace alliance {

/// One statement's totals. The totals, `record_count` and `revision` cover
/// the whole period for as long as the statement exists; after
/// `statement_retention` a closed statement is compacted: its record ids are
/// dropped and the digest they had becomes `base_digest` (docs/SEMANTICS.md
/// "Statement revisions after retention").
struct StatementState {
  TimestampMs period_end = 0;
  MinorUnits accrued_minor = 0;
  MinorUnits reversed_minor = 0;
  MinorUnits record_commission_minor = 0;  // Σ commission of percent/flat records
  std::int64_t record_count = 0;        // all records booked in the period
  /// Ids booked since compaction (all if none), sorted. With a state store
  /// only those not yet written: the store holds the others (one key each)
  /// and the ledger reads them when a digest needs them.
  std::vector<std::string> record_ids;
  std::int64_t stored_ids = 0;          // ids since compaction in the store
  std::string base_digest;              // digest at compaction; empty: never compacted
  std::string digest;                   // of base_digest and record_ids; empty: recompute
  std::int64_t revision = 1;
  bool closed = false;  // the final record of `revision` was published
  /// For the state store: stored ids to delete (the statement was compacted).
  std::vector<std::string> dropped_ids;
  /// Reversals booked here of accruals from another (earlier) period: they
  /// are reversed at that period's rates, not at this period's (SPEC §3.6).
  MinorUnits carried_in_minor = 0;   // <= 0
  /// Reversals of this period's accruals booked in later periods.
  MinorUnits carried_out_minor = 0;  // <= 0
  /// Tiered and pool commission booked into the partner's balance at close
  /// and revisions (SPEC §3.8): the next revision books the difference.
  MinorUnits balance_booked_minor = 0;
};

/// Net attributed amounts of one campaign in one period and currency, for
/// pools. Only records of partners the topology knows count (SPEC §3.5).
struct CampaignVolume {
  MinorUnits revenue_minor = 0;                  // known partners' records on the campaign
  std::map<std::string, MinorUnits> by_partner;  // known partner -> net attributed
  /// Reversals in later periods of this period's accruals: they shrink the
  /// pool, which stays split at this period's shares (SPEC §3.6).
  MinorUnits carried_out_minor = 0;  // <= 0
};

/// The statement ledger: statements and pool volumes of one partition (or of
/// stage 2 in split mode). Owned by the Processor (or its AggregateStage);
/// called only from the core's thread.
class SettlementLedger {
 public:
  explicit SettlementLedger(const Topology& topology);
  // Its balances and risk call each other through callbacks bound to it.
  SettlementLedger(const SettlementLedger&) = delete;
  SettlementLedger& operator=(const SettlementLedger&) = delete;

  /// True when booking `records` (one event's records, `period` set) would
  /// take a total outside int64: a statement's accrued, reversed or record
  /// commission sum, a pool volume, or the commission (contract + pool
  /// shares) of any statement the records change, pool members included.
  /// The caller dead-letters the event (`amount_overflow`) and books nothing.
  [[nodiscard]] bool would_overflow(const std::vector<SettlementRecord>& records) const;
  /// Books a settlement record whose period ends (UTC ms) at `period_end`.
  /// Its sums must have been checked with would_overflow (throws
  /// MoneyOverflow instead of wrapping otherwise).
  void add(const SettlementRecord& r, TimestampMs period_end);
  /// Publishes final statements for periods whose end <= watermark (the
  /// end-of-input flush closes them all; it matures nothing: mature()).
  void close_periods(TimestampMs watermark, std::vector<OutputRecord>& out);
  /// Moves pending commission whose holding period ended by the events'
  /// watermark to payable (SPEC §3.8: the events' watermark alone, never
  /// the +infinity of an end-of-input flush).
  void mature(TimestampMs event_watermark) { balances_.mature(event_watermark); }
  /// Publishes revisions (closed periods) and, when `running`, running
  /// statements (open periods) of everything changed since the last call.
  void emit_running(std::vector<OutputRecord>& out, bool running = true);

  /// The commission of a tiered contract for a net attributed total.
  static MinorUnits tiered_commission(const Contract& c, MinorUnits net);
  /// The rate of the highest tier a net attributed total reaches.
  static std::int64_t tier_rate(const Contract& c, MinorUnits net);
  /// The pool shares of one period and currency: partner -> minor units.
  [[nodiscard]] std::map<std::string, MinorUnits> pool_shares(const std::string& period,
                                                              const std::string& currency) const;

  StateTable<StatementState>& statements() { return statements_; }
  /// Reads the stored record ids of a statement (sorted) from the state
  /// store: set by the state session, so ids never stay in memory longer
  /// than until their commit. Unset: every id stays in `record_ids`.
  using IdLoader = std::function<std::vector<std::string>(const std::string& statement_key)>;
  void set_id_loader(IdLoader loader) { id_loader_ = std::move(loader); }
  [[nodiscard]] bool ids_stored() const { return static_cast<bool>(id_loader_); }
  StateTable<CampaignVolume>& volumes() { return volumes_; }
  /// The partner balances fed by this ledger's commission (SPEC §3.8).
  PartnerBalances& balances() { return balances_; }
  /// The fraud signals, flags and holds of each partner-period (SPEC §3.9),
  /// fed by the records this ledger books and the clicks stage 1 counts.
  PartnerRisk& risk() { return risk_; }
  /// Statements with a running update or revision still to emit.
  DirtyKeys& dirty() { return dirty_; }
  /// Compacts closed statements of periods that ended before `horizon`:
  /// drops their record ids, keeps totals, count, revision and digest (and
  /// the pool volumes of their periods), so a very late record continues
  /// the revisions with full-period totals.
  void expire(TimestampMs horizon);
  /// Rebuilds the open-period index after a restore.
  void reindex();

 private:
  StatementRecord build(const std::string& skey, StatementState& s, bool final) const;
  /// Pool shares of one period and currency over the volumes `volume_of`
  /// returns (campaign -> volume or null); nothing if a sum leaves int64.
  template <class VolumeOf>
  std::optional<std::map<std::string, MinorUnits>> shares_of_pools(const std::string& period,
                                                                   const std::string& currency,
                                                                   VolumeOf volume_of) const;
  void mark_pool_members_dirty(const std::string& period, const std::string& currency,
                               const std::string& campaign);
  /// Books into the balance the change of a final statement's tiered and
  /// pool commission since its last final record.
  void book_closing(StatementState& s, const StatementRecord& r);
  /// The statement of the accrual a reversal `r` undoes, when it belongs to
  /// another period this ledger holds; empty otherwise.
  [[nodiscard]] std::string carried_from(const SettlementRecord& r) const;

  const Topology& topology_;
  /// Every id of statement `skey` since compaction, sorted: the stored ones and `s.record_ids`.
  [[nodiscard]] std::vector<std::string> all_ids(const std::string& skey, const StatementState& s) const;
  [[nodiscard]] std::string digest_of(const std::string& skey, const StatementState& s) const;

  IdLoader id_loader_;
  StateTable<StatementState> statements_;  // key: statement_key()
  StateTable<CampaignVolume> volumes_;     // key: volume_key()
  std::map<TimestampMs, std::set<std::string>> open_periods_;  // end -> periods
  DirtyKeys dirty_;
  PartnerBalances balances_;
  PartnerRisk risk_;
};

/// Statement state key: length-prefixed period, partner, currency
/// (byte_codec.h put_key_part), so a period's statements share a prefix.
std::string statement_key(const std::string& period, const std::string& partner,
                          const std::string& currency);
/// Pool volume state key: length-prefixed period, currency, campaign.
std::string volume_key(const std::string& period, const std::string& currency,
                       const std::string& campaign);
/// The (period, partner, currency) of a statement key; throws CorruptState.
struct StatementKey {
  std::string period, partner, currency;
};
StatementKey split_statement_key(const std::string& key);
/// SHA-256 hex of ids already sorted bytewise, each followed by '\n'.
std::string record_digest(const std::vector<std::string>& sorted_ids);

}  // namespace alliance

// Period ledgers behind the settlement-statements topic (SPEC §3.5, §5.3):
// per partner, settlement day and currency, the sums of settlement records,
// tier and pool commission, digests and revisions. Owned by the Processor;
// called only from the core's thread.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "alliance/core/output_record.h"
#include "alliance/core/state_table.h"
#include "alliance/core/topology.h"

namespace alliance {

struct StatementState {
  TimestampMs period_end = 0;
  MinorUnits accrued_minor = 0;
  MinorUnits reversed_minor = 0;
  MinorUnits record_commission_minor = 0;  // Σ commission of percent/flat records
  std::vector<std::string> record_ids;  // kept sorted
  std::string digest;                   // of record_ids; empty: recompute
  std::int64_t revision = 1;
  bool closed = false;  // the final record of `revision` was published
};

/// Net attributed amounts of one campaign in one period and currency, for pools.
struct CampaignVolume {
  MinorUnits revenue_minor = 0;                  // all partners' records on the campaign
  std::map<std::string, MinorUnits> by_partner;  // partner -> net attributed
};

class SettlementLedger {
 public:
  explicit SettlementLedger(const Topology& topology);

  /// Books a settlement record whose period ends (UTC ms) at `period_end`.
  void add(const SettlementRecord& r, TimestampMs period_end);
  /// Publishes final statements for periods whose end <= watermark.
  void close_periods(TimestampMs watermark, std::vector<OutputRecord>& out);
  /// Publishes revisions (closed periods) and, when `running`, running
  /// statements (open periods) of everything changed since the last call.
  void emit_running(std::vector<OutputRecord>& out, bool running = true);

  /// The commission of a tiered contract for a net attributed total.
  static MinorUnits tiered_commission(const Contract& c, MinorUnits net);
  /// The pool shares of one period and currency: partner -> minor units.
  [[nodiscard]] std::map<std::string, MinorUnits> pool_shares(const std::string& period,
                                                              const std::string& currency) const;

  StateTable<StatementState>& statements() { return statements_; }
  StateTable<CampaignVolume>& volumes() { return volumes_; }
  /// Statements with a running update or revision still to emit.
  std::set<std::string>& dirty() { return dirty_; }
  /// Drops closed statements of days that ended before `horizon`, and
  /// their pool volumes.
  void expire(TimestampMs horizon);
  /// Rebuilds the open-period index after a restore.
  void reindex();

 private:
  StatementRecord build(const std::string& skey, StatementState& s, bool final) const;
  void mark_pool_members_dirty(const std::string& period, const std::string& currency,
                               const std::string& campaign);

  const Topology& topology_;
  StateTable<StatementState> statements_;  // key: period \0 partner \0 currency
  StateTable<CampaignVolume> volumes_;     // key: period \0 currency \0 campaign
  std::map<TimestampMs, std::set<std::string>> open_periods_;  // end -> periods
  std::set<std::string> dirty_;
};

std::string statement_key(const std::string& period, const std::string& partner,
                          const std::string& currency);
/// SHA-256 hex of ids already sorted bytewise, each followed by '\n'.
std::string record_digest(const std::vector<std::string>& sorted_ids);

}  // namespace alliance

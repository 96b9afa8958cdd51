// The table registry: every kind of state alliance stores, declared once —
// its column family, the format byte every stored value begins with, where
// it lives while the core runs (loaded whole at open, or a bounded cache of
// RocksDB read on demand) and its expiry rule. The codecs, the state
// session (restore, cache loaders, eviction), RocksDB (column families,
// compaction filter) and the changelog all read it. Plain constants.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "alliance/core/byte_codec.h"
#include "alliance/state/state_changes.h"

namespace alliance {

/// Where a table's entries live while the core runs.
enum class Residency : std::uint8_t {
  kWhole,   // loaded whole when the store opens: bounded by what is open (windows, statements, …)
  kCached,  // a CachedTable: read on demand (prefetched per batch), evicted past state.cache_mb
  kSession, // read by the state session itself (meta, outbox)
};

/// How RocksDB deletes a table's expired values.
enum class Expiry : std::uint8_t {
  kNone,         // deleted by the core (window closed, statement compacted, outbox acknowledged)
  kEventTime,    // the value's expiry time follows its format byte (i64); RocksDB's compaction
                 // filter drops values older than the table's horizon (published after each write)
};

struct TableSpec {
  Cf cf;
  std::string_view name;   // the column family's name
  std::uint8_t format;     // first byte of every stored value (kMeta: none, see kStateFormat)
  Residency residency;
  Expiry expiry;
  std::string_view retention;  // the rule, for docs and errors
};

/// The state directory's format, stored as meta "state_format" at creation:
/// a directory of another format is refused with a clear error. Meta values
/// are small named records without a format byte of their own; this number
/// covers them. 3: the users table's compact touchpoints (users format 2);
/// 4: users format 3 (an anchor) and appends merged by RocksDB.
inline constexpr std::int64_t kStateFormat = 4;

inline constexpr std::array<TableSpec, kCfCount> kStateTables{{
    {Cf::kUsers, "users", 3, Residency::kCached, Expiry::kEventTime, "lookback + grace after the user's newest event"},
    {Cf::kOrders, "orders", 1, Residency::kCached, Expiry::kEventTime, "order_retention after the order's newest event"},
    {Cf::kDedupe, "dedupe", 1, Residency::kCached, Expiry::kEventTime, "dedupe_retention after the event"},
    {Cf::kCodes, "codes", 1, Residency::kWhole, Expiry::kNone, "kept (one per referral code)"},
    {Cf::kWindows, "windows", 1, Residency::kWhole, Expiry::kNone, "until the window is final"},
    {Cf::kCampaigns, "campaigns", 1, Residency::kWhole, Expiry::kNone, "kept (one per campaign and source)"},
    {Cf::kCampaignUsers, "campaign_users", 1, Residency::kCached, Expiry::kNone, "kept (all-time users per campaign)"},
    {Cf::kStatements, "statements", 1, Residency::kWhole, Expiry::kNone, "kept; ids dropped after statement_retention"},
    {Cf::kVolumes, "volumes", 1, Residency::kWhole, Expiry::kNone, "kept with their period's statements"},
    {Cf::kMeta, "meta", 0, Residency::kSession, Expiry::kNone, "kept"},
    {Cf::kOutbox, "outbox", 1, Residency::kSession, Expiry::kNone, "until the sink acknowledges the record"},
    {Cf::kWindowUsers, "window_users", 1, Residency::kWhole, Expiry::kNone, "until the window is final"},
    {Cf::kPartials, "partials", 1, Residency::kWhole, Expiry::kNone, "until the window is final (stage 2)"},
    {Cf::kChurn, "churn", 1, Residency::kWhole, Expiry::kNone, "one per (last order time, campaign or source) of buyers"},
    {Cf::kStatementIds, "statement_ids", 1, Residency::kCached, Expiry::kNone, "until statement_retention after the period"},
    {Cf::kBalances, "balances", 1, Residency::kWhole, Expiry::kNone, "kept (one per partner and currency)"},
    {Cf::kPayouts, "payouts", 1, Residency::kWhole, Expiry::kNone, "kept (every payout id, for duplicate_payout)"},
    {Cf::kMaturities, "maturities", 1, Residency::kWhole, Expiry::kNone, "until the commission is payable (holding period)"},
    {Cf::kRisk, "risk", 1, Residency::kWhole, Expiry::kNone, "kept (one per partner and settlement period)"},
    {Cf::kReleases, "releases", 1, Residency::kWhole, Expiry::kNone, "kept (every release id, for duplicate_release)"},
    {Cf::kRiskUsers, "risk_users", 1, Residency::kCached, Expiry::kEventTime, "dedupe_retention after the period's end"},
}};

[[nodiscard]] constexpr const TableSpec& table_spec(Cf cf) { return kStateTables[static_cast<std::size_t>(cf)]; }

/// Thrown for a stored value whose format byte this version does not read;
/// what() names the table and what to do.
std::string unknown_format_message(Cf cf, std::uint8_t found);
/// A writer for a value of `cf`, its format byte already written.
ByteWriter value_writer(Cf cf);
/// The stored value of `cf` after its format byte; throws CorruptState for
/// an empty value or another format (unknown_format_message).
std::string_view value_payload(Cf cf, std::string_view stored);

}  // namespace alliance

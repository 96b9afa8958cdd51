// The state changes of one batch: per column family, keys with their new
// value, a deletion, or an append to merge into the value (the users
// table). Produced from the Processor's tables, written to
// RocksDB in one WriteBatch and, encoded, to the changelog. Plain values.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace alliance {

/// One column family per kind of state. Key encodings (docs/STATE.md):
/// users/orders/dedupe/codes by id; windows by big-endian window end, size,
/// dimension, key (so expiry scans run in time order); statements by
/// period, partner, currency; outbox by big-endian sequence number.
enum class Cf : std::uint8_t {
  kUsers = 0,
  kOrders,
  kDedupe,
  kCodes,
  kWindows,
  kCampaigns,
  kCampaignUsers,
  kStatements,
  kVolumes,
  kMeta,
  kOutbox,
  kWindowUsers,  // be64(len(window key)) + window key + user -> ""
  kPartials,     // stage 2: partial sum key + be64(source) -> metric record
  kChurn,        // be64(last order time) + all-record key -> buyers
  kStatementIds, // statement key + record id -> ""
  kBalances,     // partner, currency (length-prefixed) -> balance (balance_codec.h)
  kPayouts,      // payout_id -> balance key, for duplicate_payout
  kMaturities,   // balance key + be64(due) + period -> pending commission maturing then (held: a 1 after it)
  kRisk,         // period, partner (length-prefixed) -> partner risk state (risk_codec.h)
  kReleases,     // release_id -> risk key, for duplicate_release
  kRiskUsers,    // period, partner, user (length-prefixed) -> the period's end: distinct click users
};
inline constexpr std::size_t kCfCount = 21;
std::string_view cf_name(Cf cf);

struct StateChange {
  Cf cf;
  std::string key;
  std::optional<std::string> value;  // nullopt: delete
  /// `value` is an append the table's merge combines with what the key
  /// holds (merge_values()), not the new value.
  bool merge = false;
};

using StateChanges = std::vector<StateChange>;

/// What `base` (null: the key holds nothing) becomes with `appends` merged
/// in order, for a table that has appends (the users table: merge_user());
/// throws CorruptState. Any thread.
std::string merge_values(Cf cf, const std::string_view* base, const std::string_view* appends, std::size_t n);

/// Changelog framing of a batch's changes (replayable into an empty store).
std::string encode_changelog(const StateChanges& changes);
StateChanges decode_changelog(std::string_view bytes);

}  // namespace alliance

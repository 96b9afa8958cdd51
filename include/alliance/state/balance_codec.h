// State encodings of the finance lifecycle (SPEC §3.8, docs/STATE.md):
// partner balances, payout ids, and the finance fields appended to
// statements and pool volumes. Called from state_codec.cc; pure functions.
#pragma once

#include <string_view>

#include "alliance/core/byte_codec.h"
#include "alliance/core/partner_balances.h"
#include "alliance/core/settlement_ledger.h"
#include "alliance/state/state_changes.h"

namespace alliance {

/// The meta key of the balances changed since their last emission.
inline constexpr std::string_view kDirtyBalancesKey = "dirty_balances";

std::string encode_balance(const BalanceState& b);
/// Throws CorruptState.
BalanceState decode_balance(std::string_view v);

/// Appends the balances' and payouts' changes (and the dirty set) to `out`.
void collect_balance_changes(PartnerBalances& balances, StateChanges& out);
/// Restores one entry of Cf::kBalances or Cf::kPayouts.
void restore_balance_entry(PartnerBalances& balances, Cf cf, const std::string& key, std::string_view v);

/// Finance fields of a statement and a pool volume, appended to their
/// encodings; values written before them (state format 2) read as 0.
void append_statement_finance(ByteWriter& w, const StatementState& s);
void read_statement_finance(ByteReader& r, StatementState& s);
void append_volume_finance(ByteWriter& w, const CampaignVolume& v);
void read_volume_finance(ByteReader& r, CampaignVolume& v);

}  // namespace alliance

// State encodings of partner risk (SPEC §3.9, docs/STATE.md): the risk
// state of each partner-period, release ids, the distinct click users of
// stage 1 and its clicks not yet forwarded. Called from state_codec.cc;
// pure functions.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "alliance/core/forward_record.h"
#include "alliance/core/partner_risk.h"
#include "alliance/state/state_changes.h"

namespace alliance {

/// The meta keys of the risk keys changed since their last emission, and
/// of the clicks counted since the last emit cycle.
inline constexpr std::string_view kDirtyRiskKey = "dirty_risk";
inline constexpr std::string_view kRiskClicksKey = "risk_clicks";

std::string encode_risk(const RiskState& s);
/// Throws CorruptState.
RiskState decode_risk(std::string_view v);
std::string encode_risk_clicks(const std::map<std::string, RiskClicks, std::less<>>& pending);
/// Throws CorruptState.
void decode_risk_clicks(std::string_view v, std::map<std::string, RiskClicks, std::less<>>& out);

/// Appends the risk states' and release ids' changes (and the dirty set) to `out`.
void collect_risk_changes(PartnerRisk& risk, StateChanges& out);
/// Restores one entry of Cf::kRisk or Cf::kReleases.
void restore_risk_entry(PartnerRisk& risk, Cf cf, const std::string& key, std::string_view v);

}  // namespace alliance

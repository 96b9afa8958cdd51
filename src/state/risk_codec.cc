#include "alliance/state/risk_codec.h"

#include "alliance/state/state_codec.h"
#include "alliance/state/state_tables.h"

namespace alliance {

std::string encode_risk(const RiskState& s) {
  ByteWriter w = value_writer(Cf::kRisk);
  const RiskCounts& c = s.counts;
  w.i64(s.period_end).i64(c.credited_orders).i64(c.fast_orders).i64(c.clicks).i64(c.click_users);
  w.i64(c.reversed_orders).i64(s.revision).u8(s.closed ? 1 : 0).u8(s.released ? 1 : 0).u8(s.held ? 1 : 0);
  return w.take();
}

RiskState decode_risk(std::string_view v) {
  ByteReader r(value_payload(Cf::kRisk, v));
  RiskState s;
  s.period_end = r.i64();
  RiskCounts& c = s.counts;
  c.credited_orders = r.i64();
  c.fast_orders = r.i64();
  c.clicks = r.i64();
  c.click_users = r.i64();
  c.reversed_orders = r.i64();
  s.revision = r.i64();
  s.closed = r.u8() != 0;
  s.released = r.u8() != 0;
  s.held = r.u8() != 0;
  if (!r.done()) throw CorruptState("risk state with trailing bytes");
  // Counts only grow from 0 (found worth checking by fuzz_state_restore):
  // a negative one would make the exact ratio comparisons meaningless.
  if (c.credited_orders < 0 || c.fast_orders < 0 || c.clicks < 0 || c.click_users < 0 || c.reversed_orders < 0 ||
      s.revision < 1 || s.period_end < 0 || s.period_end > kMaxTimestampMs + 7 * kMsPerDay * 5)
    throw CorruptState("risk state with impossible counts, revision or period end");
  return s;
}

std::string encode_risk_clicks(const std::map<std::string, RiskClicks, std::less<>>& pending) {
  ByteWriter w;
  w.i64(static_cast<std::int64_t>(pending.size()));
  for (const auto& [k, c] : pending) w.str(c.period).str(c.partner_id).i64(c.period_end).i64(c.clicks).i64(c.new_users);
  return w.take();
}

void decode_risk_clicks(std::string_view v, std::map<std::string, RiskClicks, std::less<>>& out) {
  ByteReader r(v);
  out.clear();
  for (std::int64_t i = 0, n = r.i64(); i < n; ++i) {
    RiskClicks c;
    c.period = r.str();
    c.partner_id = r.str();
    c.period_end = r.i64();
    c.clicks = r.i64();
    c.new_users = r.i64();
    if (c.clicks < 0 || c.new_users < 0 || c.new_users > c.clicks) throw CorruptState("pending risk clicks with impossible counts");
    out[risk_key(c.period, c.partner_id)] = std::move(c);
  }
  if (!r.done()) throw CorruptState("pending risk clicks with trailing bytes");
}

void collect_risk_changes(PartnerRisk& risk, StateChanges& out) {
  risk.states().drain_changes([&](const std::string& k, const RiskState* s) {
    out.push_back(StateChange{Cf::kRisk, k, s ? std::optional<std::string>(encode_risk(*s)) : std::nullopt});
  });
  risk.releases().drain_changes([&](const std::string& k, const std::string* v) {
    out.push_back(
        StateChange{Cf::kReleases, k, v ? std::optional<std::string>(value_writer(Cf::kReleases).take() + *v) : std::nullopt});
  });
  out.push_back(StateChange{Cf::kMeta, std::string(kDirtyRiskKey), encode_key_set(risk.dirty())});
}

void restore_risk_entry(PartnerRisk& risk, Cf cf, const std::string& key, std::string_view v) {
  if (cf == Cf::kRisk) {
    KeyPartReader kr(key);
    kr.next();
    kr.next();
    if (!kr.done()) throw CorruptState("risk key with trailing bytes");
    risk.states().restore(key, decode_risk(v));
  } else {
    const std::string_view target = value_payload(Cf::kReleases, v);
    KeyPartReader kr(target);
    kr.next();
    kr.next();
    if (!kr.done()) throw CorruptState("release of a malformed risk key");
    risk.releases().restore(key, std::string(target));
  }
}

}  // namespace alliance

#include "alliance/core/partner_risk.h"

#include <algorithm>
#include <charconv>

#include "alliance/core/byte_codec.h"

namespace alliance {

std::string risk_key(const std::string& period, const std::string& partner) { return composite_key(period, partner); }

std::string risk_user_key(const std::string& period, const std::string& partner, const std::string& user) {
  return composite_key(period, partner, user);
}

std::string risk_output_key(const std::string& key) {
  KeyPartReader r(key);
  std::string period = r.next();
  std::string partner = r.next();
  if (!r.done()) throw CorruptState("risk key with trailing bytes");
  return partner + '|' + period;
}

namespace {

/// num/den > ppm/1e6, exactly (num, den, ppm >= 0; den > 0).
bool above(std::int64_t num, std::int64_t den, std::int64_t ppm) {
  return static_cast<__int128>(num) * 1'000'000 > static_cast<__int128>(ppm) * den;
}

bool digits(std::string_view s, std::size_t from, std::size_t n, int& out) {
  if (from + n > s.size()) return false;
  for (std::size_t i = from; i < from + n; ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  std::from_chars(s.data() + from, s.data() + from + n, out);
  return true;
}

}  // namespace

std::uint8_t risk_flags(const RiskCounts& c, const RiskConfig& cfg) {
  std::uint8_t f = 0;
  if (c.credited_orders >= cfg.min_orders && c.credited_orders > 0) {
    if (above(c.fast_orders, c.credited_orders, cfg.max_fast_share_ppm)) f |= kClickInjection;
    if (above(c.reversed_orders, c.credited_orders, cfg.max_reversal_rate_ppm)) f |= kRefundAbuse;
  }
  if (c.click_users >= cfg.min_click_users && c.click_users > 0 &&
      above(c.clicks, c.click_users, cfg.max_clicks_per_user_ppm))
    f |= kClickSpam;
  return f;
}

std::vector<std::string> risk_flag_names(std::uint8_t flags) {
  std::vector<std::string> names;
  if ((flags & kClickInjection) != 0) names.emplace_back("click_injection");
  if ((flags & kClickSpam) != 0) names.emplace_back("click_spam");
  if ((flags & kRefundAbuse) != 0) names.emplace_back("refund_abuse");
  return names;
}

std::optional<TimestampMs> period_label_start(const std::string& label, DurationMs offset, PeriodUnit unit) {
  int year = 0, a = 0, b = 0;
  if (!digits(label, 0, 4, year) || label.size() < 7 || label[4] != '-') return std::nullopt;
  std::int64_t days = 0;
  switch (unit) {
    case PeriodUnit::kDay:
      if (label.size() != 10 || label[7] != '-' || !digits(label, 5, 2, a) || !digits(label, 8, 2, b)) return std::nullopt;
      if (a < 1 || a > 12 || b < 1 || b > 31) return std::nullopt;
      days = days_from_civil(year, static_cast<unsigned>(a), static_cast<unsigned>(b));
      break;
    case PeriodUnit::kMonth:
      if (label.size() != 7 || !digits(label, 5, 2, a) || a < 1 || a > 12) return std::nullopt;
      days = days_from_civil(year, static_cast<unsigned>(a), 1);
      break;
    case PeriodUnit::kWeek: {
      if (label.size() != 8 || label[5] != 'W' || !digits(label, 6, 2, a) || a < 1 || a > 53) return std::nullopt;
      // ISO week 1 holds January 4th; weeks begin on Monday (1970-01-01 was a Thursday).
      const std::int64_t jan4 = days_from_civil(year, 1, 4);
      const std::int64_t monday = jan4 - ((jan4 % 7 + 7 + 3) % 7);
      days = monday + 7 * static_cast<std::int64_t>(a - 1);
      break;
    }
  }
  const TimestampMs start = days * kMsPerDay - offset;
  if (start < 0 || start > kMaxTimestampMs) return std::nullopt;
  // 2026-02-31 or week 53 of a 52-week year: not a period of this calendar.
  if (period_of(start, offset, unit) != label) return std::nullopt;
  return start;
}

PartnerRisk::PartnerRisk(const Topology& topology) : topology_(topology) {}

RiskState& PartnerRisk::state(const std::string& period, const std::string& partner, TimestampMs period_end) {
  const std::string key = risk_key(period, partner);
  const bool is_new = states_.find(key) == nullptr;
  RiskState& s = states_.upsert(key);
  if (is_new) {
    s.period_end = period_end;
    open_periods_[period_end].insert(period);
  }
  dirty_.insert(key);
  return s;
}

void PartnerRisk::book(const SettlementRecord& r) {
  const RiskConfig& cfg = topology_.risk;
  if (!r.reversal) {
    RiskState& s = state(r.period, r.partner_id,
                         period_end(r.event_ts, topology_.settlement_offset, topology_.settlement_period));
    s.counts.credited_orders += 1;
    if (r.touch_ts && r.event_ts - *r.touch_ts < cfg.min_ctit) s.counts.fast_orders += 1;
    return;
  }
  if (!r.first_reversal) return;
  // Counted against the accrual's period, so reversal_rate compares the
  // same orders (docs/SEMANTICS.md "Partner risk").
  const TimestampMs accrual = r.accrual_ts > 0 ? r.accrual_ts : r.event_ts;
  RiskState& s = state(period_of(accrual, topology_.settlement_offset, topology_.settlement_period), r.partner_id,
                       period_end(accrual, topology_.settlement_offset, topology_.settlement_period));
  s.counts.reversed_orders += 1;
}

void PartnerRisk::add_clicks(const std::string& period, const std::string& partner, TimestampMs period_end,
                             std::int64_t clicks, std::int64_t new_users) {
  if (clicks == 0 && new_users == 0) return;
  RiskState& s = state(period, partner, period_end);
  s.counts.clicks += clicks;
  s.counts.click_users += new_users;
}

std::optional<ReleaseRefusal> PartnerRisk::release(const RiskRelease& r) {
  if (topology_.partner(r.partner_id) == nullptr)
    return ReleaseRefusal{"unknown_partner",
                          "risk_release " + r.release_id + ": the topology has no partner " + r.partner_id};
  if (const std::string* seen = releases_.find(r.release_id))
    return ReleaseRefusal{"duplicate_release", "risk_release " + r.release_id + " was already applied (to " +
                                                   risk_output_key(*seen) + ")"};
  const auto start = period_label_start(r.period, topology_.settlement_offset, topology_.settlement_period);
  if (!start)
    return ReleaseRefusal{"bad_value:period", "risk_release " + r.release_id + ": \"" + r.period +
                                                  "\" is not a settlement period label of this topology (" +
                                                  std::string(to_string(topology_.settlement_period)) + ")"};
  RiskState& s = state(r.period, r.partner_id,
                       period_end(*start, topology_.settlement_offset, topology_.settlement_period));
  s.released = true;
  const std::string key = risk_key(r.period, r.partner_id);
  releases_.upsert(r.release_id) = key;
  update_hold(key, s);
  return std::nullopt;
}

bool PartnerRisk::held(const std::string& partner, const std::string& period) const {
  if (topology_.risk.action != RiskAction::kHold) return false;
  const RiskState* s = states_.find(risk_key(period, partner));
  return s != nullptr && s->held;
}

void PartnerRisk::update_hold(const std::string& key, RiskState& s) {
  const bool hold =
      topology_.risk.action == RiskAction::kHold && !s.released && risk_flags(s.counts, topology_.risk) != 0;
  if (hold == s.held) return;
  s.held = hold;
  states_.upsert(key);
  if (on_hold_) {
    KeyPartReader r(key);
    const std::string period = r.next();
    on_hold_(r.next(), period, hold);
  }
}

RiskRecord PartnerRisk::build(const std::string& key, const RiskState& s, bool final) const {
  KeyPartReader k(key);
  RiskRecord r;
  r.period = k.next();
  r.partner_id = k.next();
  r.period_end = s.period_end;
  r.period_start = period_start(s.period_end - 1, topology_.settlement_offset, topology_.settlement_period);
  r.credited_orders = s.counts.credited_orders;
  r.fast_orders = s.counts.fast_orders;
  r.clicks = s.counts.clicks;
  r.click_users = s.counts.click_users;
  r.reversed_orders = s.counts.reversed_orders;
  r.flags = risk_flag_names(risk_flags(s.counts, topology_.risk));
  r.held = s.held;
  r.released = s.released;
  r.final = final;
  r.revision = s.revision;
  return r;
}

void PartnerRisk::close_periods(TimestampMs watermark, std::vector<OutputRecord>& out) {
  while (!open_periods_.empty() && open_periods_.begin()->first <= watermark) {
    for (const std::string& period : open_periods_.begin()->second) {
      const std::string prefix = composite_key(period);
      std::vector<std::string> keys;
      for (auto it = states_.map().lower_bound(prefix);
           it != states_.map().end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it)
        if (!it->second.closed) keys.push_back(it->first);
      for (const std::string& key : keys) {
        RiskState& s = states_.upsert(key);
        s.closed = true;
        update_hold(key, s);
        out.push_back({risk_output_key(key), build(key, s, true)});
        dirty_.erase(key);
      }
    }
    open_periods_.erase(open_periods_.begin());
  }
}

void PartnerRisk::emit_running(std::vector<OutputRecord>& out, bool running) {
  dirty_.for_each_sorted([&](const std::string& key) {
    RiskState* s = states_.find(key);
    if (s == nullptr) return;
    update_hold(key, *s);
    if (s->closed) {
      s->revision += 1;
      states_.upsert(key);
      out.push_back({risk_output_key(key), build(key, *s, true)});
    } else if (running) {
      out.push_back({risk_output_key(key), build(key, *s, false)});
    }
  });
  dirty_.clear();
}

void PartnerRisk::reindex() {
  open_periods_.clear();
  for (const auto& [k, s] : states_.map())
    if (!s.closed) open_periods_[s.period_end].insert(KeyPartReader(k).next());
}

}  // namespace alliance

#include "alliance/core/metric_windows.h"

#include "alliance/core/byte_codec.h"
#include "alliance/core/checked_money.h"

namespace alliance {

std::string_view to_string(Dim d) {
  switch (d) {
    case Dim::kSource: return "source";
    case Dim::kCampaign: return "campaign";
    case Dim::kPartner: return "partner";
  }
  return "?";
}

std::string encode_window_key(TimestampMs end, DurationMs size, Dim dim, const std::string& key) {
  std::string k;
  k.reserve(17 + key.size());
  put_be64(k, end);
  put_be64(k, size);
  k.push_back(static_cast<char>(dim));
  k.append(key);
  return k;
}

namespace {

struct DecodedWindowKey {
  TimestampMs end;
  DurationMs size;
  Dim dim;
  std::string key;
};

DecodedWindowKey decode_window_key(const std::string& k) {
  return {get_be64(k), get_be64(std::string_view(k).substr(8)), static_cast<Dim>(k[16]),
          k.substr(17)};
}

void add_delta(WindowAggregate& agg, const MetricDelta& d) {
  agg.clicks += d.clicks;
  agg.referrals += d.referrals;
  agg.orders += d.orders;
  agg.conversions_micros += d.conversions_micros;
  if (!d.currency.empty()) {
    auto& m = agg.money[d.currency];
    m.revenue_minor = add_exact(m.revenue_minor, d.revenue_minor);
    m.refunds_minor = add_exact(m.refunds_minor, d.refunds_minor);
  }
}

/// Adds `d`'s money to `t` (a copy of an aggregate's totals); false if it
/// leaves int64.
bool add_money(MoneyTotals& t, const MetricDelta& d) {
  return try_add(t.revenue_minor, d.revenue_minor) && try_add(t.refunds_minor, d.refunds_minor);
}

MoneyTotals money_of(const WindowAggregate* agg, const std::string& currency) {
  if (agg == nullptr) return {};
  auto it = agg->money.find(currency);
  return it == agg->money.end() ? MoneyTotals{} : it->second;
}

}  // namespace

std::string metric_group_key(const MetricRecord& r) {
  std::string k;
  k.append(r.dim).append("|").append(r.key).append("|").append(std::to_string(r.window_start)).append("|");
  k.append(r.window_size == 0 ? std::string("all") : format_duration(r.window_size));
  return k;
}

std::string campaign_user_key(const std::string& campaign, const std::string& user) {
  return composite_key(campaign, user);
}

std::string metric_output_key(const MetricRecord& r) {
  return metric_group_key(r).append("|").append(r.currency.value_or(""));
}

MetricWindows::MetricWindows(const Topology& topology) : topology_(topology) {}

void MetricWindows::track_changes(bool on) {
  tracking_ = on;
  windows_.track_changes(on);
  campaigns_.track_changes(on);
  campaign_users_.track_changes(on);
  if (!on) {
    new_window_users_.clear();
    dropped_window_users_.clear();
  }
}

bool MetricWindows::would_overflow(const std::vector<MetricCredit>& credits, TimestampMs ts,
                                   TimestampMs watermark) const {
  // Totals after the event, per (window key, currency) and (campaign, currency).
  std::map<std::pair<std::string, std::string>, MoneyTotals> windows, campaigns;
  for (const MetricCredit& c : credits) {
    if (c.key.empty() || c.delta.currency.empty()) continue;
    for (DurationMs size : topology_.windows) {
      const TimestampMs end = floor_div(ts, size) * size + size;
      if (end <= watermark) continue;  // late: the window takes no money
      const std::string wkey = encode_window_key(end, size, c.dim, c.key);
      auto [it, fresh] = windows.try_emplace({wkey, c.delta.currency});
      if (fresh) it->second = money_of(windows_.find(wkey), c.delta.currency);
      if (!add_money(it->second, c.delta)) return true;
    }
    if (c.dim != Dim::kCampaign) continue;
    auto [it, fresh] = campaigns.try_emplace({c.key, c.delta.currency});
    if (fresh) it->second = money_of(campaigns_.find(c.key), c.delta.currency);
    if (!add_money(it->second, c.delta)) return true;
  }
  return false;
}

bool MetricWindows::apply(Dim dim, const std::string& key, const std::string& user,
                          TimestampMs ts, const MetricDelta& delta, TimestampMs watermark,
                          TimestampMs stream_time) {
  bool late = false;
  for (DurationMs size : topology_.windows) {
    const TimestampMs end = floor_div(ts, size) * size + size;
    if (end <= watermark) {
      late = true;
      const TimestampMs open_end = floor_div(stream_time, size) * size + size;
      const std::string wkey = encode_window_key(open_end, size, dim, key);
      windows_.upsert(wkey).late_events += 1;
      dirty_windows_.insert(wkey);
      continue;
    }
    const std::string wkey = encode_window_key(end, size, dim, key);
    WindowAggregate& agg = windows_.upsert(wkey);
    add_delta(agg, delta);
    if (delta.counts_user) {
      const UserFingerprint f = fingerprint_of(user);
      if (agg.users.insert(f) && tracking_) new_window_users_.emplace_back(wkey, f);
    }
    agg.unique_users = static_cast<std::int64_t>(agg.users.size());
    dirty_windows_.insert(wkey);
  }
  return late;
}

void MetricWindows::apply_all(const std::string& campaign, const std::string& user,
                              TimestampMs ts, const MetricDelta& delta, bool new_order) {
  WindowAggregate& agg = campaigns_.upsert(campaign);
  add_delta(agg, delta);
  agg.as_of = std::max(agg.as_of, ts);
  if (delta.counts_user) {
    const std::string cu_key = campaign_user_key(campaign, user);
    const bool seen = campaign_users_.find(cu_key) != nullptr;
    CampaignUser& cu = campaign_users_.upsert(cu_key);
    if (!seen) agg.unique_users += 1;
    if (new_order) {
      cu.completed_orders += 1;
      if (cu.completed_orders == 1) agg.buyers += 1;
      if (cu.completed_orders == 2) agg.repeat_buyers += 1;
    }
  }
  dirty_campaigns_.insert(campaign);
}

void MetricWindows::emit_window(const std::string& wkey, const WindowAggregate& agg, bool final,
                                std::vector<OutputRecord>& out) const {
  const DecodedWindowKey k = decode_window_key(wkey);
  MetricRecord r;
  r.dim = std::string(to_string(k.dim));
  r.key = k.key;
  r.window_start = k.end - k.size;
  r.window_end = k.end;
  r.window_size = k.size;
  r.clicks = agg.clicks;
  r.unique_users = agg.unique_users;
  r.referrals = agg.referrals;
  r.orders = agg.orders;
  r.conversions_micros = agg.conversions_micros;
  r.late_events = agg.late_events;
  r.final = final;
  // The default currency's record always exists, so a window's identity
  // (key, currency) never changes when its first money arrives.
  std::map<std::string, MoneyTotals> money = agg.money;
  money.try_emplace(topology_.default_currency);
  for (const auto& [currency, m] : money) {
    MetricRecord c = r;
    c.currency = currency;
    c.revenue_minor = m.revenue_minor;
    c.refunds_minor = m.refunds_minor;
    std::string okey = metric_output_key(c);
    out.push_back({std::move(okey), std::move(c)});
  }
}

void MetricWindows::emit_campaign(const std::string& campaign, const WindowAggregate& agg,
                                  bool final, std::vector<OutputRecord>& out) const {
  MetricRecord r;
  r.dim = "campaign";
  r.key = campaign;
  r.window_start = 0;
  r.window_end = agg.as_of;
  r.window_size = 0;
  r.clicks = agg.clicks;
  r.unique_users = agg.unique_users;
  r.referrals = agg.referrals;
  r.orders = agg.orders;
  r.conversions_micros = agg.conversions_micros;
  r.buyers = agg.buyers;
  r.repeat_buyers = agg.repeat_buyers;
  r.final = final;
  const CampaignConfig* cfg = topology_.campaign(campaign);
  std::map<std::string, MoneyTotals> money = agg.money;
  money.try_emplace(cfg != nullptr ? cfg->currency : topology_.default_currency);
  for (const auto& [currency, m] : money) {
    MetricRecord c = r;
    c.currency = currency;
    c.revenue_minor = m.revenue_minor;
    c.refunds_minor = m.refunds_minor;
    if (cfg != nullptr && cfg->cost_minor && cfg->currency == currency) c.cost_minor = cfg->cost_minor;
    std::string okey = metric_output_key(c);
    out.push_back({std::move(okey), std::move(c)});
  }
}

void MetricWindows::finalize(TimestampMs watermark, std::vector<OutputRecord>& out) {
  for (auto it = windows_.begin(); it != windows_.end();) {
    if (get_be64(it->first) > watermark) break;
    emit_window(it->first, it->second, /*final=*/true, out);
    dirty_windows_.erase(it->first);
    if (!it->second.users.empty() && tracking_) dropped_window_users_.emplace_back(it->first, std::move(it->second.user_chunks));
    it = windows_.erase(it);
  }
}

void MetricWindows::emit_running(std::vector<OutputRecord>& out, bool running) {
  if (!running) {
    dirty_windows_.clear();
    dirty_campaigns_.clear();
    return;
  }
  for (const auto& wkey : dirty_windows_)
    if (const WindowAggregate* agg = windows_.find(wkey)) emit_window(wkey, *agg, false, out);
  dirty_windows_.clear();
  for (const auto& c : dirty_campaigns_)
    if (const WindowAggregate* agg = campaigns_.find(c)) emit_campaign(c, *agg, false, out);
  dirty_campaigns_.clear();
}

void MetricWindows::finish(std::vector<OutputRecord>& out) {
  finalize(kEndOfTime, out);
  for (const auto& [c, agg] : campaigns_.map()) emit_campaign(c, agg, true, out);
  dirty_campaigns_.clear();
}

}  // namespace alliance

#include "alliance/core/metric_windows.h"

#include <numeric>

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

void encode_window_key_to(std::string& k, TimestampMs end, DurationMs size, Dim dim, std::string_view key) {
  k.clear();
  put_be64(k, end);
  put_be64(k, size);
  k.push_back(static_cast<char>(dim));
  k.append(key);
}

std::string encode_window_key(TimestampMs end, DurationMs size, Dim dim, const std::string& key) {
  std::string k;
  k.reserve(17 + key.size());
  encode_window_key_to(k, end, size, dim, key);
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

/// round_half_even(num / den) for den > 0, or nothing outside int64.
std::optional<std::int64_t> round_half_even_checked(__int128 num, __int128 den) {
  __int128 q = num / den;
  __int128 r = num % den;
  if (r < 0) {  // floor
    q -= 1;
    r += den;
  }
  const __int128 rest = den - r;  // r vs den/2 without computing 2r (den may be near 2^127)
  if (r > rest || (r == rest && q % 2 != 0)) q += 1;
  if (q > INT64_MAX || q < INT64_MIN) return std::nullopt;
  return static_cast<std::int64_t>(q);
}

/// The last completed order time of a buyer known from state written before
/// it was kept (completed_orders only): the key's newest event time.
TimestampMs last_order_of(const CampaignUser& cu, const WindowAggregate& agg) {
  return cu.last_order_ts != INT64_MIN ? cu.last_order_ts : agg.as_of;
}

}  // namespace

ClvFactor clv_factor(const ClvConfig& c) {
  using U128 = unsigned __int128;
  constexpr U128 kMillion = 1'000'000;
  constexpr U128 kLimit = U128{1} << 64;
  const U128 one_plus = kMillion + static_cast<U128>(c.discount_ppm);
  const auto g = static_cast<U128>(std::gcd(static_cast<std::uint64_t>(one_plus), std::uint64_t{1'000'000}));
  const U128 p = one_plus / g, q = kMillion / g;  // 1 + d = p / q
  // num_k = Σ_{t=1..k} q^t p^(k-t) = num_{k-1}·p + q^k; den_k = p^k.
  ClvFactor f;
  U128 num = 0, den = 1, qpow = 1;
  bool fits = true;
  for (std::int64_t k = 1; k <= c.periods && fits; ++k) {
    qpow *= q;
    num = num * p + qpow;
    den *= p;
    fits = num < kLimit && den < kLimit && qpow < kLimit;
  }
  if (fits) {
    f.num = num;
    f.den = den;
    return f;
  }
  // A long horizon with a rate that does not reduce: A to 10^-30 (each term
  // floored from the previous one: n <= 1000 units of error at most), then
  // rounded half to even to 15 places.
  constexpr U128 k15 = 1'000'000'000'000'000ULL;
  constexpr U128 kScale = k15 * k15;  // 10^30
  U128 term = kScale, sum = 0;
  for (std::int64_t t = 1; t <= c.periods; ++t) {
    term = term * q / p;  // term < 10^30, q <= 10^6: no overflow
    sum += term;
  }
  U128 a15 = sum / k15;
  const U128 rem = sum % k15;
  if (2 * rem > k15 || (2 * rem == k15 && a15 % 2 != 0)) a15 += 1;
  f.exact = false;
  f.num = a15;
  f.den = k15;
  return f;
}

void set_customer_measures(MetricRecord& r, const ClvFactor& f) {
  r.ltv_minor.reset();
  r.clv_minor.reset();
  if (r.buyers <= 0) return;
  const __int128 net = static_cast<__int128>(r.revenue_minor) - r.refunds_minor;  // |net| <= 2^64
  r.ltv_minor = round_half_even_checked(net, r.buyers);
  // |net|·num < 2^64·2^64 (exact) or 2^64·10^18 (fixed point); buyers·den < 2^63·2^64: __int128 holds both.
  const auto num = static_cast<__int128>(f.num), den = static_cast<__int128>(f.den);
  __int128 top = 0, bottom = 0;
  if (__builtin_mul_overflow(net, num, &top) || __builtin_mul_overflow(static_cast<__int128>(r.buyers), den, &bottom))
    return;
  r.clv_minor = round_half_even_checked(top, bottom);
}

std::string all_record_key(Dim dim, const std::string& key) {
  if (dim == Dim::kCampaign) return key;
  return std::string(1, '\x01') + key;
}

void all_record_key_to(std::string& k, Dim dim, std::string_view key) {
  k.clear();
  if (dim != Dim::kCampaign) k.push_back('\x01');
  k.append(key);
}

std::string metric_group_key(const MetricRecord& r) {
  std::string k;
  k.append(r.dim).append("|").append(r.key).append("|").append(std::to_string(r.window_start)).append("|");
  k.append(r.window_size == 0 ? std::string("all") : format_duration(r.window_size));
  return k;
}

std::string campaign_user_key(const std::string& campaign, const std::string& user) {
  return composite_key(campaign, user);
}

void campaign_user_key_to(std::string& k, std::string_view campaign, std::string_view user) {
  k.clear();
  put_key_part(k, campaign);
  put_key_part(k, user);
}

std::string metric_output_key(const MetricRecord& r) {
  return metric_group_key(r).append("|").append(r.currency.value_or(""));
}

MetricWindows::MetricWindows(const Topology& topology) : topology_(topology), clv_(clv_factor(topology.clv)) {}

void MetricWindows::track_changes(bool on) {
  if (!on) discard_window_member_changes();  // while tracking_ still says whether any were noted
  tracking_ = on;
  windows_.track_changes(on);
  campaigns_.track_changes(on);
  campaign_users_.track_changes(on);
  churn_index_.track_changes(on);
}

void MetricWindows::discard_window_member_changes() {
  // Members are noted only while tracking (a session); an in-memory run
  // discards every cycle and has none to visit.
  dropped_window_users_.clear();
  if (!tracking_) return;
  for (auto it = windows_.begin(); it != windows_.end(); ++it) it->second.new_members.clear();
}

bool MetricWindows::would_overflow(const std::vector<MetricCredit>& credits, TimestampMs ts,
                                   TimestampMs watermark) const {
  // Credits sorted by (dimension, key) name each key once (OrderSettlement
  // builds them so): every window and "all" record then takes one delta, and
  // the check is a lookup per record. Any other list sums per record first.
  for (std::size_t i = 1; i < credits.size(); ++i) {
    const MetricCredit& a = credits[i - 1];
    const MetricCredit& b = credits[i];
    if (!(a.dim < b.dim || (a.dim == b.dim && a.key < b.key))) return would_overflow_summed(credits, ts, watermark);
  }
  std::string& wkey = overflow_key_;
  for (const MetricCredit& c : credits) {
    if (c.key.empty() || c.delta.currency.empty()) continue;
    for (DurationMs size : topology_.windows) {
      const TimestampMs end = floor_div(ts, size) * size + size;
      if (end <= watermark) continue;  // late: the window takes no money
      encode_window_key_to(wkey, end, size, c.dim, c.key);
      MoneyTotals t = money_of(windows_.find(wkey), c.delta.currency);
      if (!add_money(t, c.delta)) return true;
    }
    if (c.dim != Dim::kCampaign && c.dim != Dim::kSource) continue;
    all_record_key_to(wkey, c.dim, c.key);
    MoneyTotals t = money_of(campaigns_.find(wkey), c.delta.currency);
    if (!add_money(t, c.delta)) return true;
  }
  return false;
}

bool MetricWindows::would_overflow_summed(const std::vector<MetricCredit>& credits, TimestampMs ts,
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
    if (c.dim != Dim::kCampaign && c.dim != Dim::kSource) continue;
    const std::string akey = all_record_key(c.dim, c.key);
    auto [it, fresh] = campaigns.try_emplace({akey, c.delta.currency});
    if (fresh) it->second = money_of(campaigns_.find(akey), c.delta.currency);
    if (!add_money(it->second, c.delta)) return true;
  }
  return false;
}

MetricWindows::KeyCache& MetricWindows::key_cache(Dim dim, const std::string& key) {
  KeyHandles& handles = key_handles_[static_cast<std::size_t>(dim)];
  if (auto it = handles.find(key); it != handles.end()) return key_caches_[it->second];
  // Keys come from the input: past a bound the cache starts over rather than grow.
  constexpr std::size_t kMaxCachedKeys = 1u << 16;
  if (key_caches_.size() >= kMaxCachedKeys) {
    for (KeyHandles& h : key_handles_) h.clear();
    key_caches_.clear();
  }
  handles.emplace(key, static_cast<std::uint32_t>(key_caches_.size()));
  KeyCache& kc = key_caches_.emplace_back();
  kc.windows.resize(topology_.windows.size());
  all_record_key_to(kc.all_key, dim, key);
  return kc;
}

WindowAggregate& MetricWindows::current_window(KeyCache& kc, std::size_t size_index, TimestampMs end, Dim dim,
                                               const std::string& key) {
  CurrentWindow& cur = kc.windows[size_index];
  if (cur.end != end || cur.epoch != windows_epoch_) {
    encode_window_key_to(cur.wkey, end, topology_.windows[size_index], dim, key);
    cur.agg = &windows_.upsert(cur.wkey);
    cur.end = end;
    cur.epoch = windows_epoch_;
    cur.changed_gen = windows_.change_generation();
    cur.dirty_gen = 0;
  } else if (cur.changed_gen != windows_.change_generation()) {
    windows_.mark_changed(cur.wkey);
    cur.changed_gen = windows_.change_generation();
  }
  if (cur.dirty_gen != dirty_windows_.generation()) {
    dirty_windows_.insert(cur.wkey);
    cur.dirty_gen = dirty_windows_.generation();
  }
  return *cur.agg;
}

bool MetricWindows::apply(Dim dim, const std::string& key, const std::string& user,
                          TimestampMs ts, const MetricDelta& delta, TimestampMs watermark,
                          TimestampMs stream_time) {
  bool late = false;
  std::optional<UserFingerprint> fingerprint;  // once per call, not per window size
  KeyCache& kc = key_cache(dim, key);
  for (std::size_t si = 0; si < topology_.windows.size(); ++si) {
    const DurationMs size = topology_.windows[si];
    const TimestampMs end = floor_div(ts, size) * size + size;
    if (end <= watermark) {
      late = true;
      const TimestampMs open_end = floor_div(stream_time, size) * size + size;
      std::string& wkey = window_key_;  // reused: no allocation per event
      encode_window_key_to(wkey, open_end, size, dim, key);
      windows_.upsert(wkey).late_events += 1;
      dirty_windows_.insert(wkey);
      continue;
    }
    WindowAggregate& agg = current_window(kc, si, end, dim, key);
    add_delta(agg, delta);
    if (delta.counts_user) {
      if (!fingerprint) fingerprint = fingerprint_of(user);
      const UserFingerprint& f = *fingerprint;
      if (agg.users.insert(f) && tracking_) agg.new_members.push_back(f);
    }
    agg.unique_users = static_cast<std::int64_t>(agg.users.size());
  }
  return late;
}

void MetricWindows::apply_all(Dim dim, const std::string& key, const std::string& user,
                              TimestampMs ts, const MetricDelta& delta, bool new_order, bool user_counted) {
  if (dim != Dim::kCampaign && dim != Dim::kSource) return;
  KeyCache& kc = key_cache(dim, key);
  const std::string& akey = kc.all_key;
  if (kc.all == nullptr || kc.all_epoch != windows_epoch_) {
    kc.all = &campaigns_.upsert(akey);
    kc.all_epoch = windows_epoch_;
    kc.all_changed_gen = campaigns_.change_generation();
  } else if (kc.all_changed_gen != campaigns_.change_generation()) {
    campaigns_.mark_changed(akey);
    kc.all_changed_gen = campaigns_.change_generation();
  }
  WindowAggregate& agg = *kc.all;
  add_delta(agg, delta);
  // A counted user's entry exists and a click or referral changes nothing
  // in it: skipping the look-up skips a store read when it is not cached.
  if (delta.counts_user && !(user_counted && !new_order)) {
    std::string& cu_key = campaign_user_key_;
    campaign_user_key_to(cu_key, akey, user);
    // Changed (written to the store) only when the user is new to the key
    // or completes an order: a returning visitor's click writes nothing.
    if (campaign_users_.find_or_create(cu_key).second) agg.unique_users += 1;
    if (new_order) {
      CampaignUser& cu = campaign_users_.upsert(cu_key);
      std::optional<TimestampMs> old_last;
      if (cu.completed_orders > 0) old_last = last_order_of(cu, agg);
      cu.completed_orders += 1;
      cu.last_order_ts = old_last ? std::max(*old_last, ts) : ts;
      if (cu.completed_orders == 1) agg.buyers += 1;
      if (cu.completed_orders == 2) agg.repeat_buyers += 1;
      reindex_buyer(akey, agg, old_last, cu.last_order_ts);
    }
  }
  agg.as_of = std::max(agg.as_of, ts);
  if (kc.all_dirty_gen != dirty_campaigns_.generation()) {
    dirty_campaigns_.insert(akey);
    kc.all_dirty_gen = dirty_campaigns_.generation();
  }
}

void MetricWindows::reindex_buyer(const std::string& all_key, WindowAggregate& agg,
                                  std::optional<TimestampMs> old_ts, TimestampMs new_ts) {
  if (old_ts) {
    if (*old_ts == new_ts) return;
    churn_index_.remove_one(*old_ts, all_key);
    if (*old_ts < churn_cutoff_) agg.churned -= 1;
  }
  churn_index_.add(new_ts, all_key);
  if (new_ts < churn_cutoff_) agg.churned += 1;
  else churn_next_ = std::min(churn_next_, new_ts);
}

void MetricWindows::advance_churn(TimestampMs eval) {
  TimestampMs cutoff = 0;
  if (__builtin_sub_overflow(eval, topology_.churn_after, &cutoff)) cutoff = INT64_MIN;
  if (cutoff <= churn_cutoff_) return;
  if (cutoff <= churn_next_) {  // nothing in [old cutoff, new cutoff)
    churn_cutoff_ = cutoff;
    return;
  }
  // Entries in [old cutoff, new cutoff) become churned.
  churn_index_.for_each_between(churn_cutoff_, cutoff, [&](TimestampMs, std::string_view akey, std::int64_t buyers) {
    if (WindowAggregate* agg = campaigns_.find(std::string(akey))) {
      // Derived and not persisted: no change record for the state store.
      agg->churned += buyers;
      dirty_campaigns_.insert(akey);
    }
  });
  churn_cutoff_ = cutoff;
  churn_next_ = churn_index_.first_at_or_after(cutoff);
}

void MetricWindows::rebuild_churn(TimestampMs eval) {
  invalidate_current();  // after a restore: the tables' entries were replaced
  if (__builtin_sub_overflow(eval, topology_.churn_after, &churn_cutoff_)) churn_cutoff_ = INT64_MIN;
  churn_next_ = INT64_MIN;
  for (auto& [akey, agg] : campaigns_) agg.churned = 0;
  churn_index_.for_each_between(INT64_MIN, churn_cutoff_, [&](TimestampMs, std::string_view akey, std::int64_t buyers) {
    if (WindowAggregate* agg = campaigns_.find(std::string(akey))) agg->churned += buyers;
  });
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

void MetricWindows::emit_all(const std::string& all_key, const WindowAggregate& agg,
                             bool final, std::vector<OutputRecord>& out) const {
  const bool source = !all_key.empty() && all_key[0] == '\x01';
  const std::string campaign = source ? all_key.substr(1) : all_key;
  MetricRecord r;
  r.dim = source ? "source" : "campaign";
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
  r.churned_buyers = agg.churned;
  r.final = final;
  if (final && forward_active_) {
    // Stage 2 counts churn at its own evaluation time: the last order times
    // of the buyers not churned here (docs/SEMANTICS.md).
    churn_index_.for_each_between(churn_cutoff_, INT64_MAX, [&](TimestampMs ts, std::string_view akey, std::int64_t buyers) {
      if (akey == all_key) r.active_last_orders.insert(r.active_last_orders.end(), static_cast<std::size_t>(buyers), ts);
    });
  }
  const CampaignConfig* cfg = source ? nullptr : topology_.campaign(campaign);
  std::map<std::string, MoneyTotals> money = agg.money;
  money.try_emplace(cfg != nullptr ? cfg->currency : topology_.default_currency);
  for (const auto& [currency, m] : money) {
    MetricRecord c = r;
    c.currency = currency;
    c.revenue_minor = m.revenue_minor;
    c.refunds_minor = m.refunds_minor;
    if (cfg != nullptr && cfg->cost_minor && cfg->currency == currency) c.cost_minor = cfg->cost_minor;
    set_customer_measures(c, clv_);
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
    invalidate_current();
  }
}

void MetricWindows::emit_running(std::vector<OutputRecord>& out, bool running) {
  if (!running) {
    dirty_windows_.clear();
    dirty_campaigns_.clear();
    return;
  }
  dirty_windows_.for_each_sorted([&](const std::string& wkey) {
    if (const WindowAggregate* agg = windows_.find(wkey)) emit_window(wkey, *agg, false, out);
  });
  dirty_windows_.clear();
  dirty_campaigns_.for_each_sorted([&](const std::string& c) {
    if (const WindowAggregate* agg = campaigns_.find(c)) emit_all(c, *agg, false, out);
  });
  dirty_campaigns_.clear();
}

void MetricWindows::finish(std::vector<OutputRecord>& out) {
  finalize(kEndOfTime, out);
  for (const auto& [c, agg] : campaigns_.map()) emit_all(c, agg, true, out);
  dirty_campaigns_.clear();
}

}  // namespace alliance

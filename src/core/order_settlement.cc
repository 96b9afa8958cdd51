#include "alliance/core/order_settlement.h"

#include <algorithm>

#include "alliance/core/attribution.h"
#include "alliance/core/checked_money.h"

namespace alliance {

namespace {

constexpr std::int64_t kOneMicros = 1'000'000;

}  // namespace

OrderSettlement::OrderSettlement(const Topology& topology, bool split, CachedTable<UserTouchpoints>& users,
                                 CachedTable<OrderState>& orders, ExpiryIndex& order_expiry,
                                 const StateTable<std::string>& learned_codes, const SettlementLedger& ledger,
                                 const MetricWindows& metrics, ProcessorStats& stats,
                                 const std::vector<OutputRecord>& out, Host& host)
    : topology_(topology),
      split_(split),
      users_(users),
      orders_(orders),
      order_expiry_(order_expiry),
      learned_codes_(learned_codes),
      ledger_(ledger),
      metrics_(metrics),
      stats_(stats),
      out_(out),
      host_(host) {}

bool OrderSettlement::on_order(const Event& e, const Order& o, const SourcePosition& pos,
                               std::string_view raw) {
  if (const OrderState* st = orders_.find(o.order_id)) {
    if (applied_event(*st, e.event_id)) return false;
    if (st->user_id != e.user_id) {
      host_.dead_letter("order_user_mismatch",
                        "order " + o.order_id + " belongs to the user of its first event, not to " + e.user_id,
                        pos, raw);
      return true;
    }
  }
  users_.upsert(e.user_id).observe(e.ts, topology_.max_touchpoints, topology_.lookback);
  const std::size_t before = out_.size();
  apply_order(e, o, pos, raw);
  // A dead-lettered event changes nothing, not even the order's retention.
  for (std::size_t i = before; i < out_.size(); ++i)
    if (std::holds_alternative<DeadLetter>(out_[i].body)) return true;
  // The newest event about an order starts its retention (order_retention).
  if (const OrderState* st = orders_.find(o.order_id); st != nullptr && st->last_ts < e.ts) {
    orders_.upsert(o.order_id).last_ts = e.ts;
    if (!orders_.backed()) order_expiry_.add(e.ts, o.order_id);
  }
  return true;
}

OrderState& OrderSettlement::order_for(const std::string& order_id, TimestampMs ts) {
  // A new order's retention starts with its first event: set at once, or a
  // store-backed table would see it as expired (last_ts 0) before on_order
  // sets it.
  OrderState& st = orders_.upsert(order_id);
  if (st.last_ts < ts) {
    st.last_ts = ts;
    if (!orders_.backed()) order_expiry_.add(ts, order_id);
  }
  return st;
}

void OrderSettlement::apply_order(const Event& e, const Order& o, const SourcePosition& pos,
                                  std::string_view raw) {
  OrderState* existing = orders_.find(o.order_id);
  const bool closed = existing != nullptr && (existing->phase == OrderPhase::kCancelled ||
                                              existing->phase == OrderPhase::kClosedUncompleted);
  if (closed) {
    host_.dead_letter("order_already_closed",
                      "order " + o.order_id + " was already closed; " +
                          std::string(to_string(o.status)) + " ignored",
                      pos, raw);
    return;
  }
  const bool completed = existing != nullptr && existing->phase == OrderPhase::kCompleted;
  // The order's user and the lifecycle events it applied (SPEC §3.6).
  auto applied = [&](OrderState& st) {
    if (st.event_ids.empty()) st.user_id = e.user_id;
    st.event_ids.push_back(e.event_id);
  };
  switch (o.status) {
    case OrderStatus::kPending: {
      if (completed) {
        stats_.duplicate_transitions += 1;
        return;
      }
      OrderState& st = order_for(o.order_id, e.ts);
      st.amount_minor = o.amount_minor;
      st.currency = o.currency;
      applied(st);
      return;
    }
    case OrderStatus::kCompleted: {
      if (completed) {
        stats_.duplicate_transitions += 1;
        return;
      }
      complete(e, o, pos, raw);
      // Applied only when it was not refused (amount_overflow).
      if (OrderState* st = orders_.find(o.order_id); st != nullptr && st->phase == OrderPhase::kCompleted) applied(*st);
      return;
    }
    case OrderStatus::kRefunded: {
      if (!completed) {
        OrderState& st = order_for(o.order_id, e.ts);
        st.phase = OrderPhase::kClosedUncompleted;
        st.currency = o.currency;
        st.amount_minor = o.amount_minor;
        applied(st);
        return;
      }
      const MinorUnits refund = o.refund_minor.value_or(0);
      // refunded <= amount <= 2^53 - 1 and refund <= 2^53 - 1: neither side can overflow.
      if (refund > existing->amount_minor - existing->refunded_minor) {
        host_.dead_letter("refund_exceeds_amount",
                          "order " + o.order_id + ": refunds would reach " +
                              std::to_string(existing->refunded_minor + refund) + " of amount " +
                              std::to_string(existing->amount_minor),
                          pos, raw);
        return;
      }
      if (!reverse(e, *existing, existing->refunded_minor + refund, pos, raw)) return;
      applied(order_for(o.order_id, e.ts));
      return;
    }
    case OrderStatus::kCancelled: {
      if (completed && !reverse(e, *existing, existing->amount_minor, pos, raw)) return;
      OrderState& st = order_for(o.order_id, e.ts);
      applied(st);
      if (!completed) {
        st.currency = o.currency;
        st.amount_minor = o.amount_minor;
      }
      st.phase = OrderPhase::kCancelled;
      return;
    }
  }
}

bool OrderSettlement::would_overflow(const Event& e, const OrderEffects& fx) const {
  // Split mode: statements live in stage 2, which checks its own sums.
  if (!split_ && ledger_.would_overflow(fx.records)) return true;
  return metrics_.would_overflow(fx.credits, e.ts, host_.watermark());
}

void OrderSettlement::refuse_overflow(const Event& e, const std::string& order_id, const SourcePosition& pos,
                                      std::string_view raw) {
  host_.dead_letter("amount_overflow",
                    "order " + order_id + ": " + std::string(to_string(std::get<Order>(e.body).status)) +
                        " would take a total outside the signed 64-bit range; nothing applied",
                    pos, raw);
}

void OrderSettlement::complete(const Event& e, const Order& o, const SourcePosition& pos, std::string_view raw) {
  // The eligible touchpoints, chronological, read in place: the user's
  // table is not changed while the completion is computed.
  std::vector<const Touchpoint*>& eligible = scratch_.eligible;
  eligible.clear();
  if (const UserTouchpoints* user = users_.find(e.user_id)) user->eligible(e.ts, topology_.lookback, eligible);

  // Who gets credit: referral-code owner, the model over eligible touchpoints, or nobody.
  std::vector<Credit>& credits = scratch_.credits;
  credits.clear();
  Weights w;
  std::string model;
  const std::string* owner = nullptr;
  if (o.referral_code) {
    auto it = topology_.code_owner.find(*o.referral_code);
    if (it != topology_.code_owner.end()) owner = &it->second;
    else owner = learned_codes_.find(*o.referral_code);
  }
  if (owner != nullptr) {
    std::string_view campaign = label_or_empty(o.campaign_id);
    for (auto it = eligible.rbegin(); campaign.empty() && it != eligible.rend(); ++it)
      if ((*it)->partner_id() == *owner) campaign = (*it)->campaign_id();
    // The referral event behind the code: the owner's newest referral
    // touchpoint of this user within lookback, if there is one.
    std::string_view referral_event;
    TimestampMs referral_ts = INT64_MIN;
    for (auto it = eligible.rbegin(); referral_event.empty() && it != eligible.rend(); ++it)
      if ((*it)->partner_id() == *owner && (*it)->kind() == EventKind::kReferral) {
        referral_event = (*it)->event_id;
        referral_ts = (*it)->ts;
      }
    credits.push_back({"referral", campaign, *owner, referral_event, referral_ts});
    w.num = {1};
    w.den = 1;
    model = "referral_code";
  } else if (!eligible.empty()) {
    std::vector<TimestampMs>& ts = scratch_.times;
    ts.clear();
    for (const Touchpoint* tp : eligible) {
      ts.push_back(tp->ts);
      credits.push_back({tp->source(), tp->campaign_id(), tp->partner_id(), tp->event_id, tp->ts});
    }
    w = attribution_weights(topology_.model, ts, e.ts, topology_.half_life);
    model = std::string(to_string(topology_.model));
  } else {
    credits.push_back({"direct", label_or_empty(o.campaign_id), {}, {}});
    w.num = {1};
    w.den = 1;
    model = "unattributed";
  }

  const std::vector<MinorUnits> shares = split_largest_remainder(o.amount_minor, w);
  const std::vector<MinorUnits> micros = split_largest_remainder(kOneMicros, w);
  auto positive = [&](std::size_t i) { return w.exact() ? w.num[i] > 0 : w.real[i] > 0; };

  // Everything the completion would do, before anything changes.
  OrderEffects fx;
  std::vector<PartnerShare> partners;
  std::int64_t unknown_partners = 0;
  // Per partner (in partner id order, touchpoints in time order): summed
  // shares and weights; campaign of the largest share.
  std::vector<std::size_t>& by_partner = scratch_.by_partner;
  by_partner.clear();
  for (std::size_t i = 0; i < credits.size(); ++i)
    if (!credits[i].partner_id.empty()) by_partner.push_back(i);
  std::stable_sort(by_partner.begin(), by_partner.end(),
                   [&](std::size_t a, std::size_t b) { return credits[a].partner_id < credits[b].partner_id; });
  std::vector<std::size_t>& idx = scratch_.group;
  for (std::size_t g = 0; g < by_partner.size();) {
    const std::string_view partner = credits[by_partner[g]].partner_id;
    idx.clear();
    for (; g < by_partner.size() && credits[by_partner[g]].partner_id == partner; ++g) idx.push_back(by_partner[g]);
    PartnerShare ps;
    ps.partner_id = std::string(partner);
    std::size_t best = idx.front();
    for (std::size_t i : idx) {
      ps.attributed_minor += shares[i];  // Σ shares of one order <= its amount
      if (shares[i] >= shares[best]) best = i;  // ties: the later touchpoint
    }
    if (ps.attributed_minor <= 0) continue;
    ps.weight_micros = weight_micros(w, idx);
    for (std::size_t i : idx)
      if (positive(i) && !credits[i].touchpoint_id.empty()) ps.touchpoint_ids.emplace_back(credits[i].touchpoint_id);
    if (o.campaign_id) ps.campaign_id = o.campaign_id;
    else if (!credits[best].campaign_id.empty()) ps.campaign_id = std::string(credits[best].campaign_id);
    const PartnerConfig* cfg = topology_.partner(ps.partner_id);
    if (cfg != nullptr && cfg->contract) {
      const Contract& c = *cfg->contract;
      ps.contract_id = c.id;
      if (c.type == ContractType::kPercent)
        ps.commission_minor =
            round_half_even_div(static_cast<__int128>(ps.attributed_minor) * c.rate_bp, 10'000);
      else if (c.type == ContractType::kFlat)
        ps.commission_minor = c.per_conversion_minor;
    }
    if (cfg == nullptr) unknown_partners += 1;
    partners.push_back(ps);

    fx.records.push_back(settlement_record(e, o.order_id, 0, ps, model, o.currency, ps.attributed_minor,
                                           ps.commission_minor, e.ts));
    // Partner risk: the partner's latest credited touchpoint (SPEC §3.9).
    for (std::size_t i : idx)
      if (positive(i) && credits[i].ts != INT64_MIN)
        fx.records.back().touch_ts = std::max(fx.records.back().touch_ts.value_or(INT64_MIN), credits[i].ts);
  }

  // Metrics: every key credited with a positive weight, once per order, in
  // (dimension, key) order.
  std::vector<KeyCredit>& keys = scratch_.keys;
  keys.clear();
  for (std::size_t i = 0; i < credits.size(); ++i) {
    if (!positive(i)) continue;
    const Credit& c = credits[i];
    for (auto [dim, key] : {std::pair{Dim::kSource, c.source}, std::pair{Dim::kCampaign, c.campaign_id},
                            std::pair{Dim::kPartner, c.partner_id}})
      if (!key.empty()) keys.push_back({dim, key, shares[i], micros[i]});
  }
  std::stable_sort(keys.begin(), keys.end(), [](const KeyCredit& a, const KeyCredit& b) {
    return a.dim != b.dim ? a.dim < b.dim : a.key < b.key;
  });
  std::vector<DimShare> dims;
  for (std::size_t k = 0; k < keys.size();) {
    const KeyCredit& first = keys[k];
    MinorUnits amount = 0;  // Σ shares of one order <= its amount
    std::int64_t key_micros = 0;
    for (; k < keys.size() && keys[k].dim == first.dim && keys[k].key == first.key; ++k) {
      amount += keys[k].amount;
      key_micros += keys[k].micros;
    }
    MetricDelta d;
    d.orders = 1;
    d.conversions_micros = key_micros;
    d.revenue_minor = amount;
    d.currency = o.currency;
    fx.credits.push_back({first.dim, std::string(first.key), std::move(d)});
    dims.push_back(DimShare{first.dim, std::string(first.key), amount, 0});
  }

  if (would_overflow(e, fx)) {
    refuse_overflow(e, o.order_id, pos, raw);
    return;
  }

  OrderState& st = order_for(o.order_id, e.ts);
  st.phase = OrderPhase::kCompleted;
  st.amount_minor = o.amount_minor;
  st.currency = o.currency;
  st.completed_ts = e.ts;
  st.model = model;
  st.partners = std::move(partners);
  st.dims = std::move(dims);
  if (st.model == "unattributed") stats_.unattributed_orders += 1;
  stats_.unknown_partner_records += unknown_partners;
  for (SettlementRecord& r : fx.records) host_.emit_settlement(std::move(r));
  for (const MetricCredit& c : fx.credits) host_.credit(c.dim, c.key, e.user_id, e.ts, c.delta, /*new_order=*/true);
}

bool OrderSettlement::reverse(const Event& e, const OrderState& current, MinorUnits new_refunded,
                              const SourcePosition& pos, std::string_view raw) {
  const std::string& order_id = std::get<Order>(e.body).order_id;
  const std::int64_t applied_reversals = current.applied_reversals + 1;
  OrderEffects fx;
  std::vector<PartnerShare> partners = current.partners;
  std::vector<DimShare> dims = current.dims;
  for (PartnerShare& ps : partners) {
    const MinorUnits cum = cumulative_reversal(ps.attributed_minor, new_refunded, current.amount_minor);
    const MinorUnits inc = cum - ps.reversed_minor;
    if (inc <= 0) continue;
    const bool first_reversal = ps.reversed_minor == 0;  // partner risk: a reversed order
    ps.reversed_minor = cum;
    std::optional<MinorUnits> commission;
    if (ps.commission_minor) {
      const MinorUnits cum_c =
          floor_div128(static_cast<__int128>(*ps.commission_minor) * cum, ps.attributed_minor);
      commission = -(cum_c - ps.commission_reversed_minor);
      ps.commission_reversed_minor = cum_c;
    }
    fx.records.push_back(settlement_record(e, order_id, applied_reversals, ps, current.model, current.currency,
                                           -inc, commission, current.completed_ts));
    fx.records.back().first_reversal = first_reversal;
  }
  for (DimShare& ds : dims) {
    const MinorUnits cum = cumulative_reversal(ds.amount_minor, new_refunded, current.amount_minor);
    const MinorUnits inc = cum - ds.reversed_minor;
    if (inc <= 0) continue;
    ds.reversed_minor = cum;
    MetricDelta d;
    d.refunds_minor = inc;
    d.currency = current.currency;
    d.counts_user = false;
    fx.credits.push_back({ds.dim, ds.key, std::move(d)});
  }

  if (would_overflow(e, fx)) {
    refuse_overflow(e, order_id, pos, raw);
    return false;
  }

  OrderState& st = order_for(order_id, e.ts);
  st.refunded_minor = new_refunded;
  st.applied_reversals = applied_reversals;
  st.partners = std::move(partners);
  st.dims = std::move(dims);
  for (SettlementRecord& r : fx.records) host_.emit_settlement(std::move(r));
  for (const MetricCredit& c : fx.credits) host_.credit(c.dim, c.key, e.user_id, e.ts, c.delta, false);
  return true;
}

SettlementRecord OrderSettlement::settlement_record(const Event& e, const std::string& order_id,
                                                    std::int64_t reversal, const PartnerShare& ps,
                                                    const std::string& model, const std::string& currency,
                                                    MinorUnits attributed_minor,
                                                    std::optional<MinorUnits> commission_minor,
                                                    TimestampMs accrual_ts) const {
  SettlementRecord r;
  r.record_id = order_id + (reversal > 0 ? ":reversal:" + std::to_string(reversal) : std::string(":accrual:0")) +
                ":" + ps.partner_id;
  r.reversal = reversal > 0;
  r.order_id = order_id;
  r.user_id = e.user_id;
  r.partner_id = ps.partner_id;
  r.campaign_id = ps.campaign_id;
  r.model = model;
  r.weight_micros = ps.weight_micros;
  r.attributed_minor = attributed_minor;
  r.commission_minor = commission_minor;
  r.currency = currency;
  r.event_ts = e.ts;
  r.period = period_of(r.event_ts, topology_.settlement_offset, topology_.settlement_period);
  r.contract_id = ps.contract_id;
  r.event_id = e.event_id;
  r.touchpoint_ids = ps.touchpoint_ids;
  r.accrual_ts = accrual_ts;
  return r;
}

}  // namespace alliance

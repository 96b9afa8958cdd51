#include "alliance/core/processor.h"

#include <algorithm>

#include "alliance/core/attribution.h"
#include "alliance/core/checked_money.h"

namespace alliance {

namespace {

// Expiry times and approximate heap weights of the store-backed tables.
TimestampMs user_expiry(const UserTouchpoints& u) { return u.newest_ts(); }
TimestampMs order_expiry(const OrderState& o) { return o.last_ts; }
TimestampMs dedupe_expiry(const TimestampMs& ts) { return ts; }
TimestampMs risk_user_expiry(const TimestampMs& period_end) { return period_end; }

std::size_t heap(const std::string& s) { return s.capacity() > 15 ? s.capacity() + 1 : 0; }
std::size_t user_weight(const UserTouchpoints& u) {
  // Labels are pooled (a few combinations shared by every user): not counted.
  std::size_t b = u.newest_first().capacity() * sizeof(Touchpoint);
  for (const auto& tp : u.newest_first()) b += tp.event_id.heap_bytes();
  return b;
}
std::size_t order_weight(const OrderState& o) {
  std::size_t b = heap(o.user_id) + heap(o.currency) + heap(o.model) + o.event_ids.capacity() * sizeof(std::string) +
                  o.partners.capacity() * sizeof(PartnerShare) + o.dims.capacity() * sizeof(DimShare);
  for (const auto& id : o.event_ids) b += heap(id);
  for (const auto& p : o.partners) {
    b += heap(p.partner_id) + p.touchpoint_ids.capacity() * sizeof(std::string);
    for (const auto& id : p.touchpoint_ids) b += heap(id);
  }
  for (const auto& d : o.dims) b += heap(d.key);
  return b;
}

}  // namespace

Processor::Processor(const Topology& topology, Partitioning partitioning)
    : topology_(topology),
      partitioning_(partitioning),
      users_(&user_expiry, &user_weight),
      orders_(&order_expiry, &order_weight),
      dedupe_(&dedupe_expiry),
      risk_users_(&risk_user_expiry),
      metrics_(topology),
      ledger_(topology),
      aggregate_(topology, partitioning.partitions),
      settlement_(topology_, partitioning_.split(), users_, orders_, order_expiry_, learned_codes_, ledger_,
                  metrics_, stats_, out_, settlement_host_) {
  metrics_.set_forward_active_buyers(partitioning_.split());
}

void Processor::SettlementHost::dead_letter(std::string reason, std::string detail, const SourcePosition& pos,
                                            std::string_view raw) {
  p_.core_dead_letter(std::move(reason), std::move(detail), pos, raw);
}

bool Processor::SettlementHost::credit(Dim dim, const std::string& key, const std::string& user, TimestampMs ts,
                                       const MetricDelta& delta, bool new_order) {
  return p_.credit(dim, key, user, ts, delta, new_order);
}

void Processor::SettlementHost::emit_settlement(SettlementRecord r) { p_.emit_settlement(std::move(r)); }

TimestampMs Processor::SettlementHost::watermark() const { return p_.watermark(); }

ForwardedRecord Processor::forwarded(std::int32_t target, decltype(Forward::body) body) const {
  return {target, encode_forward(Forward{partitioning_.partition, std::move(body)})};
}

void Processor::forward_metrics(std::size_t from) {
  if (!partitioning_.split()) return;
  for (std::size_t i = from; i < out_.size(); ++i) {
    auto* m = std::get_if<MetricRecord>(&out_[i].body);
    // Every currency record of a window goes to the same stage 2 (counts are added once per source).
    if (m != nullptr) out_[i].body = forwarded(route(metric_group_key(*m), partitioning_.partitions), std::move(*m));
  }
}

void Processor::end_cycle(bool emit_running) {
  if (partitioning_.split()) {
    mark_progress(emit_running);
    return;
  }
  const std::size_t first_output = out_.size();
  flush_risk_clicks();
  metrics_.emit_running(out_, emit_running);
  ledger_.emit_running(out_, emit_running);
  count_outputs(first_output);
}

void Processor::flush_risk_clicks() {
  if (partitioning_.split()) {
    const std::int32_t target = route(kLedgerRouteKey, partitioning_.partitions);
    for (auto& [key, c] : risk_clicks_) out_.push_back({std::string(kLedgerRouteKey), forwarded(target, std::move(c))});
  } else {
    for (const auto& [key, c] : risk_clicks_) ledger_.risk().add_clicks(c.period, c.partner_id, c.period_end, c.clicks, c.new_users);
  }
  risk_clicks_.clear();
  risk_clicks_first_end_ = INT64_MAX;
}

void Processor::mark_progress(bool emit_running) {
  const std::size_t first_output = out_.size();
  // Before the mark: stage 2 closes a period only with every click of it.
  flush_risk_clicks();
  // Stage 2 needs the partials whatever it publishes itself.
  metrics_.emit_running(out_);
  forward_metrics(first_output);
  aggregate_.emit_running(out_, emit_running);
  count_outputs(first_output);
  const WatermarkMark m{watermark(), clock_.stream_time, clock_.finished};
  if (last_mark_ == m) return;
  last_mark_ = m;
  for (std::int32_t q = 0; q < partitioning_.partitions; ++q) out_.push_back({"mark", forwarded(q, m)});
}

void Processor::accept_forward(std::int64_t seq, std::string_view payload, const SourcePosition& pos) {
  const std::size_t first_output = out_.size();
  try {
    aggregate_.accept(seq, payload, out_);
  } catch (const CorruptState& e) {
    out_.resize(first_output);
    core_dead_letter("bad_forwarded_record", e.what(), pos, payload);
    return;
  } catch (const AmountOverflow& e) {
    // Stage 2's rule for totals it alone can see (docs/SEMANTICS.md).
    out_.resize(first_output);
    core_dead_letter("amount_overflow", e.what(), pos, payload);
    return;
  }
  // Stage 2 dead-letters refused payouts itself (AggregateStage::accept).
  for (std::size_t i = first_output; i < out_.size(); ++i)
    if (const auto* dl = std::get_if<DeadLetter>(&out_[i].body)) stats_.dead_letters_by_reason[dl->reason] += 1;
  count_outputs(first_output);
}

TimestampMs Processor::watermark() const {
  return clock_.finished ? kEndOfTime : event_watermark();
}

void Processor::reject(DeadLetter dl) {
  bound_payload(dl);  // what the outbox keeps is at most 64 KiB of the input
  stats_.dead_letters_by_reason[dl.reason] += 1;
  std::string key = dl.position.topic + ":" + std::to_string(dl.position.partition) + ":" +
                    std::to_string(dl.position.offset);
  out_.push_back({std::move(key), std::move(dl)});
}

void Processor::core_dead_letter(std::string reason, std::string detail,
                                 const SourcePosition& pos, std::string_view raw) {
  reject(DeadLetter{std::move(reason), std::move(detail), std::string(raw), pos});
}

void Processor::process(const Event& e, const SourcePosition& pos, std::string_view raw) {
  if (e.kind() == EventKind::kPayout) {
    on_payout(e, pos, raw);
    return;
  }
  if (e.kind() == EventKind::kRiskRelease) {
    on_release(e, pos, raw);
    return;
  }
  if (dedupe_.find(e.event_id) != nullptr) {
    stats_.duplicates += 1;
    return;
  }
  const std::size_t first_output = out_.size();
  event_late_ = false;
  bool accepted = true;
  switch (e.kind()) {
    case EventKind::kClick: on_click(e, std::get<Click>(e.body)); break;
    case EventKind::kReferral: on_referral(e, std::get<Referral>(e.body)); break;
    case EventKind::kPayout:
    case EventKind::kRiskRelease: break;  // on_payout, on_release
    case EventKind::kOrder: {
      const std::size_t dlq_before = out_.size();
      if (!settlement_.on_order(e, std::get<Order>(e.body), pos, raw)) {
        stats_.duplicates += 1;
        return;
      }
      // A dead-lettered order does not enter the dedupe set (SPEC §3.1).
      for (std::size_t i = dlq_before; i < out_.size(); ++i)
        if (std::holds_alternative<DeadLetter>(out_[i].body)) accepted = false;
      break;
    }
  }
  if (accepted) {
    dedupe_.upsert(e.event_id) = e.ts;
    if (!dedupe_.backed()) dedupe_expiry_.add(e.ts, e.event_id);
    stats_.events_by_kind[std::string(to_string(e.kind()))] += 1;
    if (event_late_) stats_.late_events += 1;
  }
  advance(e.ts);
  forward_metrics(first_output);
  count_outputs(first_output);
}

void Processor::reads_for(const Event& e, TableReads& reads) {
  // The reads process() will make of the cached tables for this event, so
  // a batch's misses are one MultiGet per table instead of a Get each.
  if (!dedupe_.cached(e.event_id)) reads.dedupe.push_back(e.event_id);
  if (!users_.cached(e.user_id)) reads.users.push_back(e.user_id);
  auto campaign_user = [&](Dim dim, std::string_view key) { campaign_user_read(dim, key, e.user_id, reads); };
  if (const auto* o = std::get_if<Order>(&e.body)) {
    if (!orders_.cached(o->order_id)) reads.orders.push_back(o->order_id);
    if (o->status == OrderStatus::kCompleted)
      reads.completions.push_back({e.user_id, e.ts, o->campaign_id.value_or(""), o->referral_code.has_value()});
  } else if (const auto* c = std::get_if<Click>(&e.body)) {
    // The "all" records a click counts its user in (on_click), unless the
    // user's cached touchpoints say they are counted; an order's depend on
    // its touchpoints: the second round (completion_reads).
    if (c->partner_id) risk_period_for(e.ts);
    const std::string_view partner = label_or_empty(c->partner_id);
    const CountedFor known = counted_for(users_.peek(e.user_id), c->source, c->campaign_id, partner);
    if (!known.source) campaign_user(Dim::kSource, c->source);
    if (!known.campaign) campaign_user(Dim::kCampaign, c->campaign_id);
    if (!known.risk_user) {
      std::string k = risk_user_key(risk_period_, *c->partner_id, e.user_id);
      if (!risk_users_.cached(k)) reads.risk_users.push_back(std::move(k));
    }
  } else if (const auto* r = std::get_if<Referral>(&e.body)) {
    const std::string_view campaign = label_or_empty(r->campaign_id);
    const CountedFor known = counted_for(users_.peek(e.user_id), "referral", campaign, {});
    if (!known.source) campaign_user(Dim::kSource, "referral");
    if (!known.campaign) campaign_user(Dim::kCampaign, campaign);
  }
}

void Processor::campaign_user_read(Dim dim, std::string_view key, const std::string& user, TableReads& reads) {
  if (key.empty()) return;
  all_record_key_to(read_key_, dim, key);
  std::string k = campaign_user_key(read_key_, user);
  if (!metrics_.campaign_users().cached(k)) reads.campaign_users.push_back(std::move(k));
}

void Processor::completion_reads(const std::vector<TableReads::Completion>& completions, TableReads& reads) {
  auto campaign_user = [&](Dim dim, std::string_view k, const std::string& user) {
    campaign_user_read(dim, k, user, reads);
  };
  std::vector<const Touchpoint*> eligible;
  for (const TableReads::Completion& c : completions) {
    campaign_user(Dim::kCampaign, c.campaign_id, c.user_id);
    if (c.referral_code) campaign_user(Dim::kSource, "referral", c.user_id);
    eligible.clear();
    if (const UserTouchpoints* u = users_.peek(c.user_id)) u->eligible(c.ts, topology_.lookback, eligible);
    if (eligible.empty()) {
      campaign_user(Dim::kSource, "direct", c.user_id);
      continue;
    }
    // Single-touch models credit one end of the list; the others any of them.
    std::size_t from = 0, to = eligible.size();
    if (topology_.model == AttributionModel::kLastTouch) from = to - 1;
    if (topology_.model == AttributionModel::kFirstTouch) to = 1;
    for (std::size_t i = from; i < to; ++i) {
      campaign_user(Dim::kSource, eligible[i]->source(), c.user_id);
      campaign_user(Dim::kCampaign, eligible[i]->campaign_id(), c.user_id);
    }
  }
}

void Processor::on_payout(const Event& e, const SourcePosition& pos, std::string_view raw) {
  // Payouts reach the ledger that owns the partner's balance: this one, or
  // in split mode stage 2's, through the repartition topic like settlement
  // records (docs/FINANCE.md). They do not move stream time or dedupe.
  const std::size_t first_output = out_.size();
  const Payout& p = std::get<Payout>(e.body);
  if (partitioning_.split()) {
    PayoutForward f{p, e.ts, std::string(raw), pos};
    out_.push_back({std::string(kLedgerRouteKey), forwarded(route(kLedgerRouteKey, partitioning_.partitions), std::move(f))});
    return;
  }
  if (auto refusal = ledger_.balances().pay(p, e.ts)) {
    core_dead_letter(std::move(refusal->reason), std::move(refusal->detail), pos, raw);
  } else {
    stats_.events_by_kind["payout"] += 1;
  }
  count_outputs(first_output);
}

void Processor::on_release(const Event& e, const SourcePosition& pos, std::string_view raw) {
  // Like payouts: to the ledger that owns partner risk, this one or stage 2's.
  const std::size_t first_output = out_.size();
  const RiskRelease& r = std::get<RiskRelease>(e.body);
  if (partitioning_.split()) {
    ReleaseForward f{r, e.ts, std::string(raw), pos};
    out_.push_back({std::string(kLedgerRouteKey), forwarded(route(kLedgerRouteKey, partitioning_.partitions), std::move(f))});
    return;
  }
  if (auto refusal = ledger_.risk().release(r)) {
    core_dead_letter(std::move(refusal->reason), std::move(refusal->detail), pos, raw);
  } else {
    stats_.events_by_kind["risk_release"] += 1;
  }
  count_outputs(first_output);
}

void Processor::risk_period_for(TimestampMs ts) {
  if (ts >= risk_period_start_ && ts < risk_period_end_) return;
  risk_period_start_ = period_start(ts, topology_.settlement_offset, topology_.settlement_period);
  risk_period_end_ = period_end(ts, topology_.settlement_offset, topology_.settlement_period);
  risk_period_ = period_of(ts, topology_.settlement_offset, topology_.settlement_period);
}

void Processor::count_risk_click(const Event& e, const std::string& partner, bool user_counted) {
  // Per click: no allocation in the steady state (the period of the last
  // click is kept, keys are built in buffers).
  risk_period_for(e.ts);
  const TimestampMs end = risk_period_end_;
  // A click later than its period's users are kept is left out of risk:
  // its user could not be told from a new one (docs/SEMANTICS.md).
  if (end < risk_users_.horizon()) return;
  risk_key_buf_.clear();
  put_key_part(risk_key_buf_, risk_period_);
  put_key_part(risk_key_buf_, partner);
  risk_user_buf_.assign(risk_key_buf_);
  put_key_part(risk_user_buf_, e.user_id);  // = risk_user_key(period, partner, user)
  // A counted user's entry is live (end >= horizon) and would not change:
  // not looked up, so not read from the store either.
  bool fresh = false;
  if (!user_counted) {
    auto [slot, created] = risk_users_.find_or_create(risk_user_buf_);
    if (created) *slot = end;
    fresh = created;
  }
  auto it = risk_clicks_.find(risk_key_buf_);
  if (it == risk_clicks_.end()) {
    it = risk_clicks_.emplace(risk_key_buf_, RiskClicks{risk_period_, partner, end, 0, 0}).first;
    risk_clicks_first_end_ = std::min(risk_clicks_first_end_, end);
  }
  it->second.clicks += 1;
  it->second.new_users += fresh ? 1 : 0;
}

void Processor::count_outputs(std::size_t from) {
  // Metric records say up to which event time their inputs are complete:
  // this partition's watermark, or stage 2's over all sources.
  const TimestampMs wm = partitioning_.split() ? aggregate_.watermark() : watermark();
  for (std::size_t i = from; i < out_.size(); ++i) {
    auto& b = out_[i].body;
    if (std::holds_alternative<SettlementRecord>(b)) stats_.settlement_records += 1;
    if (auto* m = std::get_if<MetricRecord>(&b)) {
      m->watermark = wm;
      stats_.metric_records += 1;
    }
    if (std::holds_alternative<StatementRecord>(b)) stats_.statement_records += 1;
    if (std::holds_alternative<BalanceRecord>(b)) stats_.balance_records += 1;
    if (auto* r = std::get_if<RiskRecord>(&b)) r->watermark = std::max<TimestampMs>(wm, 0);
  }
}

bool Processor::credit(Dim dim, const std::string& key, const std::string& user, TimestampMs ts,
                       const MetricDelta& delta, bool new_order, bool user_counted) {
  if (key.empty()) return false;
  const bool late = metrics_.apply(dim, key, user, ts, delta, watermark(), clock_.stream_time);
  metrics_.apply_all(dim, key, user, ts, delta, new_order, user_counted);
  event_late_ = event_late_ || late;
  return late;
}

Processor::CountedFor Processor::counted_for(const UserTouchpoints* u, std::string_view source,
                                            std::string_view campaign, std::string_view partner) const {
  // An empty key has nothing to count (credit() and the look-ups skip it).
  CountedFor known{source.empty(), campaign.empty(), partner.empty()};
  if (u == nullptr) return known;
  const TouchLabels* last = nullptr;
  for (const Touchpoint& have : u->newest_first()) {
    if (known.source && known.campaign && known.risk_user) break;
    const TouchLabels* l = have.labels.get();
    if (l == nullptr) continue;
    // A click of the partner in the cycle's risk period: its count_risk_click
    // counted the user among that partner-period's click users.
    if (!known.risk_user && have.ts >= risk_period_start_ && have.ts < risk_period_end_ &&
        l->kind() == EventKind::kClick && l->partner_id() == partner)
      known.risk_user = true;
    if (l == last) continue;  // the same labels as the one before: already compared
    last = l;
    known.source = known.source || l->source() == source;
    known.campaign = known.campaign || l->campaign_id() == campaign;
  }
  return known;
}

void Processor::on_click(const Event& e, const Click& c) {
  const std::string_view partner = label_or_empty(c.partner_id);
  Touchpoint tp{e.ts, e.event_id, touch_labels_.intern(EventKind::kClick, c.campaign_id, c.source, partner)};
  UserTouchpoints& u = users_.upsert(e.user_id);
  // Before this touchpoint joins the list (docs/STATE.md "campaign users").
  if (c.partner_id) risk_period_for(e.ts);
  const CountedFor known = counted_for(&u, c.source, c.campaign_id, partner);
  u.add(tp, topology_.max_touchpoints, topology_.lookback);
  MetricDelta d;
  d.clicks = 1;
  credit(Dim::kSource, c.source, e.user_id, e.ts, d, false, known.source);
  credit(Dim::kCampaign, c.campaign_id, e.user_id, e.ts, d, false, known.campaign);
  if (c.partner_id) {
    credit(Dim::kPartner, *c.partner_id, e.user_id, e.ts, d, false);
    count_risk_click(e, *c.partner_id, known.risk_user);
  }
}

void Processor::on_referral(const Event& e, const Referral& r) {
  if (r.referral_code && topology_.code_owner.count(*r.referral_code) == 0 &&
      learned_codes_.find(*r.referral_code) == nullptr) {
    // First referral event naming a code decides its owner; the topology's
    // own codes always win (docs/SEMANTICS.md).
    learned_codes_.upsert(*r.referral_code) = r.partner_id;
  }
  Touchpoint tp{e.ts, e.event_id,
                touch_labels_.intern(EventKind::kReferral,
                                     label_or_empty(r.campaign_id), "referral",
                                     r.partner_id)};
  UserTouchpoints& u = users_.upsert(e.user_id);
  const CountedFor known =
      counted_for(&u, "referral", label_or_empty(r.campaign_id), {});
  u.add(tp, topology_.max_touchpoints, topology_.lookback);
  MetricDelta d;
  d.referrals = 1;
  credit(Dim::kSource, "referral", e.user_id, e.ts, d, false, known.source);
  if (r.campaign_id) credit(Dim::kCampaign, *r.campaign_id, e.user_id, e.ts, d, false, known.campaign);
  credit(Dim::kPartner, r.partner_id, e.user_id, e.ts, d, false);
}

void Processor::emit_settlement(SettlementRecord r) {
  r.period = period_of(r.event_ts, topology_.settlement_offset, topology_.settlement_period);
  if (partitioning_.split()) {
    out_.push_back({std::string(kLedgerRouteKey), forwarded(route(kLedgerRouteKey, partitioning_.partitions), r)});
  } else {
    ledger_.add(r, period_end(r.event_ts, topology_.settlement_offset, topology_.settlement_period));
  }
  std::string key = r.partner_id;
  out_.push_back({std::move(key), std::move(r)});
}

void Processor::advance(TimestampMs ts) {
  if (ts > clock_.stream_time) clock_.stream_time = ts;
  const TimestampMs wm = watermark();
  // A period closes only with every click of it counted.
  if (!partitioning_.split() && risk_clicks_first_end_ <= wm) flush_risk_clicks();
  metrics_.finalize(wm, out_);
  // Churn is counted at the watermark (at the end of input: the newest event time).
  metrics_.advance_churn(std::min(wm, clock_.stream_time));
  ledger_.close_periods(wm, out_);
  ledger_.mature(event_watermark());
  // Running records leave once per emit cycle (end_cycle), not per event.
  const std::int64_t sweep_tick = floor_div(clock_.stream_time, kExpirySweepInterval);
  if (sweep_tick != clock_.sweep_tick) {
    clock_.sweep_tick = sweep_tick;
    sweep();
  }
}

void Processor::sweep() {
  clock_.swept_at = clock_.stream_time;
  set_horizons();
  // With a state store the expired values are absent for the core from now
  // on (CachedTable's horizon); RocksDB's compaction filter deletes them and
  // the caches evict them. In memory the sweep frees them here.
  if (!dedupe_.backed())
    dedupe_expiry_.sweep(
        dedupe_.horizon(),
        [&](const std::string& id) -> std::optional<TimestampMs> {
          const TimestampMs* ts = dedupe_.peek(id);
          return ts != nullptr ? std::optional<TimestampMs>(*ts) : std::nullopt;
        },
        [&](const std::string& id) { dedupe_.erase(id); });
  if (!risk_users_.backed()) {
    std::vector<std::string> drop;
    risk_users_.for_each_expired([&](const std::string& k) { drop.push_back(k); });
    for (const auto& k : drop) risk_users_.erase(k);
  }
  if (!users_.backed()) {
    // A user whose newest event is older than lookback + grace can no longer
    // lend a touchpoint to an in-order completion.
    std::vector<std::string> drop;
    users_.for_each_expired([&](const std::string& id) { drop.push_back(id); });
    for (const auto& id : drop) users_.erase(id);
  }
  if (!orders_.backed())
    order_expiry_.sweep(
        orders_.horizon(),
        [&](const std::string& id) -> std::optional<TimestampMs> {
          const OrderState* o = orders_.peek(id);
          return o != nullptr ? std::optional<TimestampMs>(o->last_ts) : std::nullopt;
        },
        [&](const std::string& id) { orders_.erase(id); });
  ledger_.expire(clock_.stream_time - topology_.statement_retention);
}

void Processor::set_horizons() {
  if (clock_.swept_at == INT64_MIN) return;
  users_.set_horizon(clock_.swept_at - topology_.lookback - topology_.grace);
  dedupe_.set_horizon(clock_.swept_at - topology_.dedupe_retention);
  orders_.set_horizon(clock_.swept_at - topology_.order_retention);
  risk_users_.set_horizon(clock_.swept_at - topology_.dedupe_retention);
}

void Processor::after_restore() {
  risk_clicks_first_end_ = INT64_MAX;
  for (const auto& [k, c] : risk_clicks_) risk_clicks_first_end_ = std::min(risk_clicks_first_end_, c.period_end);
  ledger().reindex();
  ledger().balances().reindex();
  ledger().balances().restore_watermark(partitioning_.split() ? aggregate_.maturity_watermark() : event_watermark());
  set_horizons();
  dedupe_expiry_.clear();
  order_expiry_.clear();
  if (!dedupe_.backed()) dedupe_.for_each([&](const std::string& id, TimestampMs ts) { dedupe_expiry_.add(ts, id); });
  if (!orders_.backed()) orders_.for_each([&](const std::string& id, const OrderState& o) { order_expiry_.add(o.last_ts, id); });
  metrics_.rebuild_churn(std::min(watermark(), clock_.stream_time));
}

bool Processor::trim_caches(std::size_t budget_bytes) {
  const bool over = cache_bytes() > budget_bytes;
  if (over) {
    // Dedupe ids go first, all the clean ones: an id is read when its event
    // arrives (absent) and again only for a duplicate, and a miss costs the
    // store a bloom filter probe (~1 us) against ~20 us for a user's list.
    // Kept in proportion, they held most of the room and users were read
    // again and again (docs/BENCHMARKS.md, 2026-12-07, sixth session).
    dedupe_.evict_to(0);
    // Each table down to its share of three quarters of the budget, so the
    // next cycles do not evict again at once; `even_used`: clean entries
    // used in this cycle go too.
    auto shrink = [&](std::size_t now, bool even_used) {
      if (now == 0) return;
      const double keep = std::min(1.0, 0.75 * static_cast<double>(budget_bytes) / static_cast<double>(now));
      for_each_cached_table(*this, [&](auto& t) {
        t.evict_to(static_cast<std::size_t>(static_cast<double>(t.bytes()) * keep), even_used);
      });
    };
    shrink(cache_bytes(), false);
    // Still over: the cycle used more than the budget (a lagging run's big
    // batches). Clean entries of this cycle go too: the budget is a bound,
    // not a wish (issue 20 item 4).
    if (cache_bytes() > budget_bytes) shrink(cache_bytes(), true);
  }
  for_each_cached_table(*this, [](auto& t) { t.next_cycle(); });
  return over;
}

std::size_t Processor::cache_bytes() const {
  std::size_t n = 0;
  for_each_cached_table(*this, [&n](const auto& t) { n += t.bytes(); });
  return n;
}

void Processor::track_changes(bool on) {
  users_.track_changes(on);
  orders_.track_changes(on);
  dedupe_.track_changes(on);
  learned_codes_.track_changes(on);
  risk_users_.track_changes(on);
  metrics_.track_changes(on);
  ledger_.statements().track_changes(on);
  ledger_.volumes().track_changes(on);
  ledger_.balances().balances().track_changes(on);
  ledger_.balances().payouts().track_changes(on);
  ledger_.risk().states().track_changes(on);
  ledger_.risk().releases().track_changes(on);
  aggregate_.ledger().risk().states().track_changes(on);
  aggregate_.ledger().risk().releases().track_changes(on);
  aggregate_.ledger().balances().balances().track_changes(on);
  aggregate_.ledger().balances().payouts().track_changes(on);
  aggregate_.ledger().statements().track_changes(on);
  aggregate_.ledger().volumes().track_changes(on);
  aggregate_.partials().track_changes(on);
}

void Processor::discard_changes() {
  users_.clear_changes();
  orders_.clear_changes();
  dedupe_.clear_changes();
  learned_codes_.clear_changes();
  risk_users_.clear_changes();
  ledger().risk().states().clear_changes();
  ledger().risk().releases().clear_changes();
  metrics_.windows().clear_changes();
  metrics_.campaigns().clear_changes();
  metrics_.campaign_users().clear_changes();
  metrics_.churn_index().clear_changes();
  metrics_.discard_window_member_changes();
  ledger().statements().clear_changes();
  ledger().volumes().clear_changes();
  ledger().balances().balances().clear_changes();
  ledger().balances().payouts().clear_changes();
  aggregate_.partials().clear_changes();
}

void Processor::finish() {
  const std::size_t first_output = out_.size();
  clock_.finished = true;
  if (!partitioning_.split()) flush_risk_clicks();
  metrics_.advance_churn(clock_.stream_time);
  metrics_.emit_running(out_);
  ledger_.emit_running(out_);
  metrics_.finish(out_);
  // Closes every period but matures nothing: maturity follows the events'
  // watermark alone (SPEC §3.8), so a payout batch made from a replay never
  // pays commission still inside its holding period.
  ledger_.close_periods(kEndOfTime, out_);
  ledger_.emit_running(out_);
  forward_metrics(first_output);
  count_outputs(first_output);
}

}  // namespace alliance

#include "alliance/core/aggregate_stage.h"

#include <algorithm>

#include "alliance/core/checked_money.h"
#include "alliance/core/expiry_index.h"
#include "alliance/core/metric_windows.h"

namespace alliance {

namespace {

// Counts are the same in each currency record of one source: add them once.
void add_counts(MetricRecord& sum, const MetricRecord& p) {
  sum.clicks += p.clicks;
  sum.unique_users += p.unique_users;
  sum.referrals += p.referrals;
  sum.orders += p.orders;
  sum.conversions_micros += p.conversions_micros;
  sum.late_events += p.late_events;
  sum.buyers += p.buyers;
  sum.repeat_buyers += p.repeat_buyers;
  sum.churned_buyers += p.churned_buyers;  // users (so buyers) are partitioned: exact sums
  sum.window_end = std::max(sum.window_end, p.window_end);  // "all": newest event time
}

bool has_prefix(const std::string& s, const std::string& prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

std::string partial_group_key(const MetricRecord& r) { return ByteWriter().str(metric_group_key(r)).take(); }

namespace {

/// The group of a partial's state key: group key, be64(source), currency.
std::string group_of(const std::string& partial_key) {
  const auto len = static_cast<std::size_t>(ByteReader(partial_key).i64());
  return partial_key.substr(0, 8 + len);
}

std::int64_t source_of(const std::string& partial_key, std::size_t group_size) {
  return get_be64(std::string_view(partial_key).substr(group_size));
}

}  // namespace

AggregateStage::AggregateStage(const Topology& topology, std::int32_t sources)
    : topology_(topology), sources_count_(sources), ledger_(topology), clv_(clv_factor(topology.clv)) {}

TimestampMs AggregateStage::watermark() const {
  if (static_cast<std::int32_t>(sources_.size()) < sources_count_) return INT64_MIN;
  TimestampMs wm = kEndOfTime;
  for (const auto& [s, p] : sources_) wm = std::min(wm, p.mark.finished ? kEndOfTime : p.mark.watermark);
  return wm;
}

TimestampMs AggregateStage::maturity_watermark() const {
  // watermark() with a finished source's +infinity capped: a running
  // source's watermark is its stream time - grace, never beyond the newest.
  const TimestampMs wm = watermark();
  if (wm == INT64_MIN) return INT64_MIN;
  TimestampMs newest = INT64_MIN;
  for (const auto& [s, p] : sources_) newest = std::max(newest, p.mark.stream_time);
  return std::min(wm, newest - topology_.grace);
}

bool AggregateStage::accept(std::int64_t seq, std::string_view payload, std::vector<OutputRecord>& out) {
  Forward f = decode_forward(payload);
  if (f.source >= sources_count_)
    throw CorruptState("forwarded record from partition " + std::to_string(f.source) + " of only " +
                       std::to_string(sources_count_));
  SourceProgress& src = sources_[f.source];
  if (seq <= src.seq) return false;
  src.seq = seq;
  if (auto* m = std::get_if<MetricRecord>(&f.body)) {
    // A window the stage already finalized cannot change any more: its
    // sources sent their final partials before the marks that closed it.
    if (m->window_size > 0 && m->window_end <= watermark()) return true;
    std::string key = partial_group_key(*m);
    if (partial_sum_would_overflow(key, f.source, *m))
      throw AmountOverflow("metric " + metric_output_key(*m) + " " + m->currency.value_or("") +
                           ": the sum over partitions would leave int64; partial of partition " +
                           std::to_string(f.source) + " kept at its previous value");
    dirty_.insert(key);
    put_be64(key, f.source);
    key.append(m->currency.value_or(""));
    partials_.upsert(key) = std::move(*m);
  } else if (auto* s = std::get_if<SettlementRecord>(&f.body)) {
    if (ledger_.would_overflow({*s}))
      throw AmountOverflow("settlement record " + s->record_id +
                           " would take a statement total outside int64; not booked");
    ledger_.add(*s, period_end(s->event_ts, topology_.settlement_offset, topology_.settlement_period));
  } else if (auto* c = std::get_if<RiskClicks>(&f.body)) {
    ledger_.risk().add_clicks(c->period, c->partner_id, c->period_end, c->clicks, c->new_users);
  } else if (auto* rel = std::get_if<ReleaseForward>(&f.body)) {
    if (auto refusal = ledger_.risk().release(rel->release)) {
      DeadLetter dl{std::move(refusal->reason), std::move(refusal->detail), std::move(rel->raw), rel->pos};
      bound_payload(dl);
      std::string key = dl.position.topic + ":" + std::to_string(dl.position.partition) + ":" +
                        std::to_string(dl.position.offset);
      out.push_back({std::move(key), std::move(dl)});
    }
  } else if (auto* p = std::get_if<PayoutForward>(&f.body)) {
    if (auto refusal = ledger_.balances().pay(p->payout, p->ts)) {
      DeadLetter dl{std::move(refusal->reason), std::move(refusal->detail), std::move(p->raw), p->pos};
      bound_payload(dl);
      std::string key = dl.position.topic + ":" + std::to_string(dl.position.partition) + ":" +
                        std::to_string(dl.position.offset);
      out.push_back({std::move(key), std::move(dl)});
    }
  } else {
    on_mark(f.source, std::get<WatermarkMark>(f.body), out);
  }
  return true;
}

bool AggregateStage::partial_sum_would_overflow(const std::string& group, std::int32_t source,
                                                const MetricRecord& partial) const {
  MoneyTotals sum{partial.revenue_minor, partial.refunds_minor};
  for (auto it = partials_.map().lower_bound(group); it != partials_.map().end() && has_prefix(it->first, group);
       ++it) {
    if (source_of(it->first, group.size()) == source || it->second.currency != partial.currency) continue;
    if (!try_add(sum.revenue_minor, it->second.revenue_minor) || !try_add(sum.refunds_minor, it->second.refunds_minor))
      return true;
  }
  return false;
}

void AggregateStage::on_mark(std::int32_t source, const WatermarkMark& m, std::vector<OutputRecord>& out) {
  const TimestampMs before = watermark();
  WatermarkMark& mark = sources_[source].mark;
  mark.watermark = std::max(mark.watermark, m.watermark);
  mark.stream_time = std::max(mark.stream_time, m.stream_time);
  mark.finished = mark.finished || m.finished;
  const TimestampMs wm = watermark();
  if (wm > before) {
    finalize(wm, out);
    ledger_.close_periods(wm, out);
  }
  ledger_.mature(maturity_watermark());
  if (wm == kEndOfTime && !done_) {
    // Every source ended: the "all" records become final, like Processor::finish.
    done_ = true;
    for (auto it = partials_.begin(); it != partials_.end();) {
      const std::string key = group_of(it->first);
      sum(key, true, out);
      while (it != partials_.end() && has_prefix(it->first, key)) ++it;
    }
    dirty_.clear();
    ledger_.emit_running(out);
  }
  TimestampMs newest = INT64_MIN;
  for (const auto& [s, p] : sources_) newest = std::max(newest, p.mark.stream_time);
  const std::int64_t tick = floor_div(newest, kExpirySweepInterval);
  if (newest != INT64_MIN && tick != sweep_tick_) {
    sweep_tick_ = tick;
    ledger_.expire(newest - topology_.statement_retention);
  }
}

void AggregateStage::sum(const std::string& group, bool final, std::vector<OutputRecord>& out) const {
  auto it = partials_.map().lower_bound(group);
  if (it == partials_.map().end() || !has_prefix(it->first, group)) return;
  MetricRecord total = it->second;
  total.clicks = total.unique_users = total.referrals = total.orders = total.conversions_micros = 0;
  total.late_events = total.buyers = total.repeat_buyers = total.churned_buyers = 0;
  total.active_last_orders.clear();
  // At the end of every source the churn of an "all" record is counted at
  // the newest event time over all sources, as one Processor counts it at
  // its own: each source's final partial lists the last order times of the
  // buyers it had not counted churned yet (docs/SEMANTICS.md).
  const bool at_end = final && total.window_size == 0;
  TimestampMs cutoff = INT64_MIN;
  if (at_end) {
    TimestampMs newest = INT64_MIN;
    for (const auto& [s, p] : sources_) newest = std::max(newest, p.mark.stream_time);
    if (__builtin_sub_overflow(newest, topology_.churn_after, &cutoff)) cutoff = INT64_MIN;
  }
  std::map<std::string, std::pair<MinorUnits, MinorUnits>> money;  // currency -> revenue, refunds
  std::int64_t last_source = -1;
  for (; it != partials_.map().end() && has_prefix(it->first, group); ++it) {
    const std::int64_t source = source_of(it->first, group.size());
    if (source != last_source) {
      add_counts(total, it->second);
      if (at_end)
        for (TimestampMs last : it->second.active_last_orders) total.churned_buyers += last < cutoff ? 1 : 0;
    }
    last_source = source;
    // Checked when each partial arrived (partial_sum_would_overflow).
    auto& m = money[it->second.currency.value_or("")];
    m.first = add_exact(m.first, it->second.revenue_minor);
    m.second = add_exact(m.second, it->second.refunds_minor);
  }
  total.final = final;
  for (const auto& [currency, m] : money) {
    MetricRecord r = total;
    r.currency = currency;
    r.revenue_minor = m.first;
    r.refunds_minor = m.second;
    // cost belongs to the campaign's own currency record only
    r.cost_minor.reset();
    if (const CampaignConfig* cfg = r.window_size == 0 && r.dim == "campaign" ? topology_.campaign(r.key) : nullptr)
      r.cost_minor = cfg->cost_minor && cfg->currency == currency ? cfg->cost_minor : std::nullopt;
    if (r.window_size == 0) set_customer_measures(r, clv_);
    std::string key = metric_output_key(r);
    out.push_back({std::move(key), std::move(r)});
  }
}

void AggregateStage::finalize(TimestampMs wm, std::vector<OutputRecord>& out) {
  for (auto it = partials_.begin(); it != partials_.end();) {
    const MetricRecord& r = it->second;
    const std::string key = group_of(it->first);
    if (r.window_size == 0 || r.window_end > wm) {
      while (it != partials_.end() && has_prefix(it->first, key)) ++it;
      continue;
    }
    sum(key, true, out);
    dirty_.erase(key);
    while (it != partials_.end() && has_prefix(it->first, key)) it = partials_.erase(it);
  }
}

void AggregateStage::emit_running(std::vector<OutputRecord>& out, bool running) {
  if (running)
    for (const std::string& key : dirty_) sum(key, false, out);
  dirty_.clear();
  ledger_.emit_running(out, running);
}

std::string AggregateStage::encode_progress() const {
  ByteWriter w;
  w.i64(sweep_tick_).u8(done_ ? 1 : 0).i64(static_cast<std::int64_t>(sources_.size()));
  for (const auto& [s, p] : sources_)
    w.i64(s).i64(p.seq).i64(p.mark.watermark).i64(p.mark.stream_time).u8(p.mark.finished ? 1 : 0);
  w.i64(static_cast<std::int64_t>(dirty_.size()));
  for (const auto& k : dirty_) w.str(k);
  return w.take();
}

void AggregateStage::decode_progress(std::string_view v) {
  ByteReader r(v);
  sweep_tick_ = r.i64();
  done_ = r.u8() != 0;
  sources_.clear();
  for (std::int64_t i = 0, n = r.i64(); i < n; ++i) {
    const auto s = static_cast<std::int32_t>(r.i64());
    SourceProgress& p = sources_[s];
    p.seq = r.i64();
    p.mark.watermark = r.i64();
    p.mark.stream_time = r.i64();
    p.mark.finished = r.u8() != 0;
  }
  dirty_.clear();
  for (std::int64_t i = 0, n = r.i64(); i < n; ++i) dirty_.insert(r.str());
}

}  // namespace alliance

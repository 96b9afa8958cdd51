#include "alliance/core/forward_record.h"

namespace alliance {

namespace {

enum Type : std::uint8_t { kMetric = 1, kSettlement = 2, kMark = 3, kPayout = 4, kRiskClicks = 5, kRelease = 6 };

void write_settlement(ByteWriter& w, const SettlementRecord& r) {
  w.str(r.record_id).u8(r.reversal ? 1 : 0).str(r.order_id).str(r.user_id).str(r.partner_id);
  w.opt_str(r.campaign_id).str(r.model).i64(r.weight_micros).i64(r.attributed_minor);
  w.opt_i64(r.commission_minor).str(r.currency).i64(r.event_ts).str(r.period).opt_str(r.contract_id);
  w.i64(r.accrual_ts);  // appended: absent in records forwarded before (read as 0)
  // Appended for partner risk: absent before (no touchpoint time, not first).
  w.opt_i64(r.touch_ts).u8(r.first_reversal ? 1 : 0);
}

// What a forwarded finance event carries besides its fields: its event
// time, its original bytes and where it was read (stage 2 dead-letters it
// with them). Payouts and releases end with the same bytes.
template <class Forwarded>
void write_origin(ByteWriter& w, const Forwarded& f) {
  w.i64(f.ts).str(f.raw).str(f.pos.topic).i64(f.pos.partition).i64(f.pos.offset);
}

template <class Forwarded>
void read_origin(ByteReader& in, Forwarded& f) {
  f.ts = in.i64();
  f.raw = in.str();
  f.pos.topic = in.str();
  f.pos.partition = static_cast<std::int32_t>(in.i64());
  f.pos.offset = in.i64();
}

void write_release(ByteWriter& w, const ReleaseForward& f) {
  const RiskRelease& r = f.release;
  w.str(r.release_id).str(r.partner_id).str(r.period).opt_str(r.reference);
  write_origin(w, f);
}

ReleaseForward read_release(ByteReader& in) {
  ReleaseForward f;
  RiskRelease& r = f.release;
  r.release_id = in.str();
  r.partner_id = in.str();
  r.period = in.str();
  r.reference = in.opt_str();
  read_origin(in, f);
  return f;
}

RiskClicks read_risk_clicks(ByteReader& in) {
  RiskClicks c;
  c.period = in.str();
  c.partner_id = in.str();
  c.period_end = in.i64();
  c.clicks = in.i64();
  c.new_users = in.i64();
  if (c.clicks < 0 || c.new_users < 0 || c.new_users > c.clicks)
    throw CorruptState("forwarded risk clicks with impossible counts");
  return c;
}

void write_payout(ByteWriter& w, const PayoutForward& f) {
  const Payout& p = f.payout;
  w.str(p.payout_id).str(p.partner_id).i64(p.amount_minor).str(p.currency).opt_str(p.through_period);
  w.opt_str(p.reference);
  write_origin(w, f);
}

PayoutForward read_payout(ByteReader& in) {
  PayoutForward f;
  Payout& p = f.payout;
  p.payout_id = in.str();
  p.partner_id = in.str();
  p.amount_minor = in.i64();
  p.currency = in.str();
  p.through_period = in.opt_str();
  p.reference = in.opt_str();
  read_origin(in, f);
  return f;
}

SettlementRecord read_settlement(ByteReader& in) {
  SettlementRecord r;
  r.record_id = in.str();
  r.reversal = in.u8() != 0;
  r.order_id = in.str();
  r.user_id = in.str();
  r.partner_id = in.str();
  r.campaign_id = in.opt_str();
  r.model = in.str();
  r.weight_micros = in.i64();
  r.attributed_minor = in.i64();
  r.commission_minor = in.opt_i64();
  r.currency = in.str();
  r.event_ts = in.i64();
  r.period = in.str();
  r.contract_id = in.opt_str();
  if (!in.done()) r.accrual_ts = in.i64();
  if (!in.done()) {
    r.touch_ts = in.opt_i64();
    r.first_reversal = in.u8() != 0;
  }
  return r;
}

}  // namespace

void write_metric(ByteWriter& w, const MetricRecord& r) {
  w.str(r.dim).str(r.key).i64(r.window_start).i64(r.window_end).i64(r.window_size);
  w.i64(r.clicks).i64(r.unique_users).i64(r.referrals).i64(r.orders).i64(r.conversions_micros);
  w.i64(r.revenue_minor).i64(r.refunds_minor).opt_str(r.currency).i64(r.late_events).u8(r.final ? 1 : 0);
  w.i64(r.buyers).i64(r.repeat_buyers).opt_i64(r.cost_minor);
  // Appended later: a partial persisted before has none (read as 0 / empty).
  w.i64(r.churned_buyers).i64(static_cast<std::int64_t>(r.active_last_orders.size()));
  for (TimestampMs t : r.active_last_orders) w.i64(t);
}

MetricRecord read_metric(ByteReader& in) {
  MetricRecord r;
  r.dim = in.str();
  r.key = in.str();
  r.window_start = in.i64();
  r.window_end = in.i64();
  r.window_size = in.i64();
  r.clicks = in.i64();
  r.unique_users = in.i64();
  r.referrals = in.i64();
  r.orders = in.i64();
  r.conversions_micros = in.i64();
  r.revenue_minor = in.i64();
  r.refunds_minor = in.i64();
  r.currency = in.opt_str();
  r.late_events = in.i64();
  r.final = in.u8() != 0;
  r.buyers = in.i64();
  r.repeat_buyers = in.i64();
  r.cost_minor = in.opt_i64();
  if (!in.done()) {
    r.churned_buyers = in.i64();
    const std::int64_t n = in.i64();
    if (n < 0) throw CorruptState("negative count of active buyers in a metric partial");
    for (std::int64_t i = 0; i < n; ++i) r.active_last_orders.push_back(in.i64());
  }
  return r;
}

std::string encode_forward(const Forward& f) {
  ByteWriter w;
  if (const auto* m = std::get_if<MetricRecord>(&f.body)) {
    w.u8(kMetric).i64(f.source);
    write_metric(w, *m);
  } else if (const auto* s = std::get_if<SettlementRecord>(&f.body)) {
    w.u8(kSettlement).i64(f.source);
    write_settlement(w, *s);
  } else if (const auto* p = std::get_if<PayoutForward>(&f.body)) {
    w.u8(kPayout).i64(f.source);
    write_payout(w, *p);
  } else if (const auto* c = std::get_if<RiskClicks>(&f.body)) {
    w.u8(kRiskClicks).i64(f.source).str(c->period).str(c->partner_id).i64(c->period_end).i64(c->clicks).i64(c->new_users);
  } else if (const auto* rel = std::get_if<ReleaseForward>(&f.body)) {
    w.u8(kRelease).i64(f.source);
    write_release(w, *rel);
  } else {
    const auto& mark = std::get<WatermarkMark>(f.body);
    w.u8(kMark).i64(f.source).i64(mark.watermark).i64(mark.stream_time).u8(mark.finished ? 1 : 0);
  }
  return w.take();
}

Forward decode_forward(std::string_view bytes) {
  ByteReader in(bytes);
  const std::uint8_t type = in.u8();
  Forward f;
  const std::int64_t source = in.i64();
  if (source < 0 || source > INT32_MAX) throw CorruptState("forwarded record with a bad source partition");
  f.source = static_cast<std::int32_t>(source);
  switch (type) {
    case kMetric: f.body = read_metric(in); break;
    case kSettlement: f.body = read_settlement(in); break;
    case kPayout: f.body = read_payout(in); break;
    case kRiskClicks: f.body = read_risk_clicks(in); break;
    case kRelease: f.body = read_release(in); break;
    case kMark: {
      WatermarkMark m;
      m.watermark = in.i64();
      m.stream_time = in.i64();
      m.finished = in.u8() != 0;
      f.body = m;
      break;
    }
    default: throw CorruptState("forwarded record of unknown type " + std::to_string(type));
  }
  if (!in.done()) throw CorruptState("forwarded record with trailing bytes");
  return f;
}

std::int32_t route(std::string_view key, std::int32_t partitions) {
  std::uint32_t h = 2166136261u;
  for (const char c : key) {
    h ^= static_cast<unsigned char>(c);
    h *= 16777619u;
  }
  return partitions <= 1 ? 0 : static_cast<std::int32_t>(h % static_cast<std::uint32_t>(partitions));
}

}  // namespace alliance

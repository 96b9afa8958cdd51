#include "alliance/codec/record_encoder.h"

#include <cstdio>

namespace alliance {

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  // Runs of characters that need no escape are appended whole.
  std::size_t run = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      }
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

std::string base64_encode(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::string metric_conversion_rate(const MetricRecord& r) {
  return r.unique_users == 0 ? format_micros(0)
                             : format_ratio(r.conversions_micros, __int128{r.unique_users} * 1'000'000);
}

std::string metric_repeat_rate(const MetricRecord& r) {
  return r.buyers == 0 ? format_micros(0) : format_ratio(r.repeat_buyers, r.buyers);
}

std::string metric_churn_rate(const MetricRecord& r) {
  return r.buyers == 0 ? format_micros(0) : format_ratio(r.churned_buyers, r.buyers);
}

std::optional<std::string> metric_loyalty(const MetricRecord& r) {
  // (R - T) / (R + T) = (repeat - churned) / (repeat + churned): from the
  // exact counts, not from the rounded rates.
  const __int128 r_plus_t = __int128{r.repeat_buyers} + r.churned_buyers;
  if (r_plus_t > 0) return format_ratio(__int128{r.repeat_buyers} - r.churned_buyers, r_plus_t);
  return std::nullopt;
}

std::string risk_fast_share(const RiskRecord& r) {
  return r.credited_orders == 0 ? format_micros(0) : format_ratio(r.fast_orders, r.credited_orders);
}

std::string risk_clicks_per_user(const RiskRecord& r) {
  return r.click_users == 0 ? format_micros(0) : format_ratio(r.clicks, r.click_users);
}

std::string risk_reversal_rate(const RiskRecord& r) {
  return r.credited_orders == 0 ? format_micros(0) : format_ratio(r.reversed_orders, r.credited_orders);
}

std::optional<MinorUnits> metric_net_benefit(const MetricRecord& r) {
  if (!r.cost_minor) return std::nullopt;
  return r.revenue_minor - *r.cost_minor;
}

std::optional<std::string> metric_benefit_cost_ratio(const MetricRecord& r) {
  if (!r.cost_minor || *r.cost_minor <= 0) return std::nullopt;
  return format_ratio(r.revenue_minor - *r.cost_minor, *r.cost_minor);
}

namespace {

/// Builds one JSON object with fields in call order.
class JsonObject {
 public:
  JsonObject() { out_.push_back('{'); }
  JsonObject& str(std::string_view k, std::string_view v) {
    key(k);
    append_json_string(out_, v);
    return *this;
  }
  JsonObject& opt_str(std::string_view k, const std::optional<std::string>& v) {
    if (!v) return null(k);
    return str(k, *v);
  }
  JsonObject& num(std::string_view k, std::int64_t v) {
    key(k);
    out_ += std::to_string(v);
    return *this;
  }
  JsonObject& opt_num(std::string_view k, const std::optional<std::int64_t>& v) {
    if (!v) return null(k);
    return num(k, *v);
  }
  JsonObject& boolean(std::string_view k, bool v) {
    key(k);
    out_ += v ? "true" : "false";
    return *this;
  }
  JsonObject& str_array(std::string_view k, const std::vector<std::string>& v) {
    key(k);
    out_.push_back('[');
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (i > 0) out_.push_back(',');
      append_json_string(out_, v[i]);
    }
    out_.push_back(']');
    return *this;
  }
  JsonObject& null(std::string_view k) {
    key(k);
    out_ += "null";
    return *this;
  }
  std::string done() {
    out_.push_back('}');
    return std::move(out_);
  }

 private:
  void key(std::string_view k) {
    if (out_.size() > 1) out_.push_back(',');
    append_json_string(out_, k);
    out_.push_back(':');
  }
  std::string out_;
};

std::string encode(const SettlementRecord& r) {
  return JsonObject()
      .str("record_id", r.record_id)
      .str("kind", r.reversal ? "reversal" : "accrual")
      .str("order_id", r.order_id)
      .str("user_id", r.user_id)
      .str("partner_id", r.partner_id)
      .opt_str("campaign_id", r.campaign_id)
      .str("model", r.model)
      .str("weight", format_micros(r.weight_micros))
      .num("attributed_minor", r.attributed_minor)
      .opt_num("commission_minor", r.commission_minor)
      .str("currency", r.currency)
      .num("event_ts", r.event_ts)
      .str("period", r.period)
      .opt_str("contract_id", r.contract_id)
      .str("event_id", r.event_id)
      .str_array("touchpoint_ids", r.touchpoint_ids)
      .done();
}

std::string encode(const MetricRecord& r) {
  JsonObject o;
  o.str("dim", r.dim)
      .str("key", r.key)
      .num("window_start", r.window_start)
      .num("window_end", r.window_end)
      .str("window_size", r.window_size == 0 ? "all" : format_duration(r.window_size))
      .num("clicks", r.clicks)
      .num("unique_users", r.unique_users)
      .num("referrals", r.referrals)
      .num("orders", r.orders)
      .str("conversions", format_micros(r.conversions_micros))
      .str("conversion_rate", metric_conversion_rate(r))
      .num("revenue_minor", r.revenue_minor)
      .num("refunds_minor", r.refunds_minor)
      .opt_str("currency", r.currency)
      .num("late_events", r.late_events)
      .boolean("final", r.final)
      .num("watermark", r.watermark);
  if (r.window_size == 0) {
    o.num("buyers", r.buyers)
        .num("repeat_buyers", r.repeat_buyers)
        .str("repeat_rate", metric_repeat_rate(r))
        .num("churned_buyers", r.churned_buyers)
        .str("churn_rate", metric_churn_rate(r))
        .opt_str("loyalty", metric_loyalty(r))
        .opt_num("ltv_minor", r.ltv_minor)
        .opt_num("clv_minor", r.clv_minor);
  }
  if (r.window_size == 0 && r.dim == "campaign") {
    o.opt_num("cost_minor", r.cost_minor)
        .opt_num("net_benefit_minor", metric_net_benefit(r))
        .opt_str("benefit_cost_ratio", metric_benefit_cost_ratio(r));
  }
  return o.done();
}

std::string encode(const StatementRecord& r) {
  JsonObject o;
  o.str("partner_id", r.partner_id)
      .str("period", r.period)
      .str("currency", r.currency)
      .num("revision", r.revision)
      .num("accrued_minor", r.accrued_minor)
      .num("reversed_minor", r.reversed_minor)
      .num("net_minor", r.net_minor)
      .opt_num("commission_minor", r.commission_minor)
      .num("pool_share_minor", r.pool_share_minor)
      .num("records", r.records);
  // SPEC §5.3: the digest is on final statements and revisions only.
  if (r.final) o.str("digest", r.digest);
  else o.null("digest");
  o.num("period_start", r.period_start).num("period_end", r.period_end).opt_str("contract_id", r.contract_id);
  o.opt_num("rate_bp", r.rate_bp);
  return o.boolean("final", r.final).done();
}

std::string encode(const BalanceRecord& r) {
  JsonObject o;
  o.str("partner_id", r.partner_id)
      .str("currency", r.currency)
      .num("accrued_minor", r.accrued_minor)
      .num("reversed_minor", r.reversed_minor)
      .num("pending_minor", r.pending_minor)
      .num("held_minor", r.held_minor)
      .num("payable_minor", r.payable_minor)
      .num("paid_minor", r.paid_minor);
  if (r.last_payout_id.empty()) o.null("last_payout_id");
  else o.str("last_payout_id", r.last_payout_id);
  return o.num("watermark", r.watermark).done();
}

std::string encode(const RiskRecord& r) {
  JsonObject o;
  o.str("partner_id", r.partner_id)
      .str("period", r.period)
      .num("period_start", r.period_start)
      .num("period_end", r.period_end)
      .num("credited_orders", r.credited_orders)
      .num("fast_orders", r.fast_orders)
      .str("fast_share", risk_fast_share(r))
      .num("clicks", r.clicks)
      .num("click_users", r.click_users)
      .str("clicks_per_user", risk_clicks_per_user(r))
      .num("reversed_orders", r.reversed_orders)
      .str("reversal_rate", risk_reversal_rate(r))
      .str_array("flags", r.flags)
      .boolean("held", r.held)
      .boolean("released", r.released)
      .boolean("final", r.final)
      .num("revision", r.revision);
  return o.num("watermark", r.watermark).done();
}

std::string encode(const DeadLetter& dead_letter) {
  // The Processor bounds every dead letter; one that was not is bounded
  // here, so an encoded dead letter never exceeds ~88 KiB plus its detail.
  DeadLetter bounded_copy;
  const DeadLetter* d = &dead_letter;
  if (dead_letter.payload_bytes < 0) {
    bounded_copy = dead_letter;
    bound_payload(bounded_copy);
    d = &bounded_copy;
  }
  return JsonObject()
      .str("reason", d->reason)
      .str("topic", d->position.topic)
      .num("partition", d->position.partition)
      .num("offset", d->position.offset)
      .str("payload", base64_encode(d->payload))
      .num("payload_bytes", d->payload_bytes)
      .str("payload_sha256", d->payload_sha256)
      .str("detail", d->detail)
      .done();
}

// Forwarded records are binary and travel as they are.
std::string encode(const ForwardedRecord& f) { return f.payload; }

}  // namespace

OutputKind output_kind(const OutputRecord& r) { return static_cast<OutputKind>(r.body.index()); }

std::string_view to_string(OutputKind k) {
  switch (k) {
    case OutputKind::kSettlements: return "settlements";
    case OutputKind::kMetrics: return "campaign-metrics";
    case OutputKind::kStatements: return "settlement-statements";
    case OutputKind::kDlq: return "dlq";
    case OutputKind::kBalances: return "partner-balances";
    case OutputKind::kRisk: return "partner-risk";
    case OutputKind::kRepartition: return "repartition";
  }
  return "?";
}

std::string encode_record(const OutputRecord& r) {
  return std::visit([](const auto& body) { return encode(body); }, r.body);
}

std::string stamp_emitted_at(std::string_view encoded, std::int64_t emitted_at_ms) {
  std::string out(encoded.substr(0, encoded.size() - 1));
  out += ",\"emitted_at\":";
  out += std::to_string(emitted_at_ms);
  out.push_back('}');
  return out;
}

}  // namespace alliance

#include "alliance/codec/record_decoder.h"

#include <simdjson.h>

#include <cstdint>
#include <string>

namespace alliance {

namespace {

using simdjson::ondemand::object;
using simdjson::ondemand::value;

bool read(value v, std::string& out) {
  std::string_view s;
  if (v.get_string().get(s) != simdjson::SUCCESS) return false;
  out.assign(s);
  return true;
}

bool read(value v, std::int64_t& out) { return v.get_int64().get(out) == simdjson::SUCCESS; }

bool read(value v, std::int32_t& out) {
  std::int64_t i = 0;
  if (!read(v, i) || i < INT32_MIN || i > INT32_MAX) return false;
  out = static_cast<std::int32_t>(i);
  return true;
}

bool read(value v, bool& out) { return v.get_bool().get(out) == simdjson::SUCCESS; }

/// null -> nullopt; else the value's type.
template <typename T>
bool read(value v, std::optional<T>& out) {
  bool null = false;
  if (v.is_null().get(null) != simdjson::SUCCESS) return false;
  if (null) {
    out.reset();
    return true;
  }
  T t{};
  if (!read(v, t)) return false;
  out = std::move(t);
  return true;
}

/// Notes a required field read (`bit` in `seen`).
bool mark(std::uint32_t& seen, std::uint32_t bit, bool ok) {
  if (ok) seen |= bit;
  return ok;
}

/// A 6-place decimal: a string ("0.083333", what we write) or a number.
bool read_micros(value v, std::int64_t& out) {
  std::string_view text;
  simdjson::ondemand::json_type type;
  if (v.type().get(type) != simdjson::SUCCESS) return false;
  if (type == simdjson::ondemand::json_type::string) {
    if (v.get_string().get(text) != simdjson::SUCCESS) return false;
  } else if (type == simdjson::ondemand::json_type::number) {
    text = v.raw_json_token();
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\n' || text.back() == '\r'))
      text.remove_suffix(1);
  } else {
    return false;
  }
  const auto m = parse_micros(text);
  if (!m) return false;
  out = *m;
  return true;
}

/// Field dispatch of one record kind: `field(name, value, seen)` reads the
/// field it knows into the record and sets its required bit in `seen`;
/// false when a known field has the wrong type.
template <typename Record, typename Field>
std::optional<OutputRecord> read_object(object obj, std::uint32_t required, Field field) {
  Record r;
  std::uint32_t seen = 0;
  for (auto f : obj) {
    std::string_view name;
    if (f.unescaped_key().get(name) != simdjson::SUCCESS) return std::nullopt;
    value v;
    if (f.value().get(v) != simdjson::SUCCESS) return std::nullopt;
    if (!field(r, name, v, seen)) return std::nullopt;
  }
  if ((seen & required) != required) return std::nullopt;
  return OutputRecord{std::string(), std::move(r)};
}

std::optional<OutputRecord> read_settlement(object obj) {
  return read_object<SettlementRecord>(obj, 0b1111, [](SettlementRecord& r, std::string_view k, value v, std::uint32_t& seen) {
    if (k == "record_id") return read(v, r.record_id);
    if (k == "kind") {
      std::string_view kind;
      if (v.get_string().get(kind) != simdjson::SUCCESS || (kind != "accrual" && kind != "reversal")) return false;
      r.reversal = kind == "reversal";
      seen |= 1;
      return true;
    }
    if (k == "order_id") return read(v, r.order_id);
    if (k == "user_id") return read(v, r.user_id);
    if (k == "partner_id") return mark(seen, 2, read(v, r.partner_id));
    if (k == "campaign_id") return read(v, r.campaign_id);
    if (k == "model") return read(v, r.model);
    if (k == "weight") return read_micros(v, r.weight_micros);
    if (k == "attributed_minor") return mark(seen, 4, read(v, r.attributed_minor));
    if (k == "commission_minor") return read(v, r.commission_minor);
    if (k == "currency") return mark(seen, 8, read(v, r.currency));
    if (k == "event_ts") return read(v, r.event_ts);
    if (k == "period") return read(v, r.period);
    if (k == "contract_id") return read(v, r.contract_id);
    if (k == "event_id") return read(v, r.event_id);
    if (k == "touchpoint_ids") {
      simdjson::ondemand::array a;
      if (v.get_array().get(a) != simdjson::SUCCESS) return false;
      r.touchpoint_ids.clear();
      for (auto e : a) {
        std::string_view id;
        if (e.get_string().get(id) != simdjson::SUCCESS) return false;
        r.touchpoint_ids.emplace_back(id);
      }
      return true;
    }
    return true;
  });
}

std::optional<OutputRecord> read_metric(object obj) {
  return read_object<MetricRecord>(obj, 0b11'1111'1111, [](MetricRecord& r, std::string_view k, value v, std::uint32_t& seen) {
    if (k == "dim") return mark(seen, 1, read(v, r.dim));
    if (k == "key") return mark(seen, 2, read(v, r.key));
    if (k == "window_start") return mark(seen, 4, read(v, r.window_start));
    if (k == "window_end") return mark(seen, 8, read(v, r.window_end));
    if (k == "window_size") {
      std::string_view size;
      if (v.get_string().get(size) != simdjson::SUCCESS) return false;
      if (size == "all") {
        r.window_size = 0;
      } else {
        const auto d = parse_duration(size);
        if (!d) return false;
        r.window_size = *d;
      }
      seen |= 16;
      return true;
    }
    if (k == "clicks") return mark(seen, 32, read(v, r.clicks));
    if (k == "unique_users") return mark(seen, 64, read(v, r.unique_users));
    if (k == "referrals") return read(v, r.referrals);
    if (k == "orders") return mark(seen, 128, read(v, r.orders));
    if (k == "conversions") return mark(seen, 256, read_micros(v, r.conversions_micros));
    if (k == "revenue_minor") return mark(seen, 512, read(v, r.revenue_minor));
    if (k == "refunds_minor") return read(v, r.refunds_minor);
    if (k == "currency") return read(v, r.currency);
    if (k == "late_events") return read(v, r.late_events);
    if (k == "final") return read(v, r.final);
    if (k == "watermark") return read(v, r.watermark);
    if (k == "buyers") return read(v, r.buyers);
    if (k == "repeat_buyers") return read(v, r.repeat_buyers);
    if (k == "churned_buyers") return read(v, r.churned_buyers);
    if (k == "cost_minor") return read(v, r.cost_minor);
    if (k == "ltv_minor") return read(v, r.ltv_minor);
    if (k == "clv_minor") return read(v, r.clv_minor);
    return true;  // derived: conversion_rate, repeat_rate, churn_rate, loyalty, net_benefit_minor, benefit_cost_ratio
  });
}

std::optional<OutputRecord> read_statement(object obj) {
  return read_object<StatementRecord>(obj, 0b11'1111, [](StatementRecord& r, std::string_view k, value v, std::uint32_t& seen) {
    if (k == "partner_id") return mark(seen, 1, read(v, r.partner_id));
    if (k == "period") return mark(seen, 2, read(v, r.period));
    if (k == "currency") return mark(seen, 4, read(v, r.currency));
    if (k == "revision") return read(v, r.revision);
    if (k == "accrued_minor") return mark(seen, 8, read(v, r.accrued_minor));
    if (k == "reversed_minor") return mark(seen, 16, read(v, r.reversed_minor));
    if (k == "net_minor") return mark(seen, 32, read(v, r.net_minor));
    if (k == "commission_minor") return read(v, r.commission_minor);
    if (k == "pool_share_minor") return read(v, r.pool_share_minor);
    if (k == "records") return read(v, r.records);
    if (k == "digest") {
      std::optional<std::string> d;
      if (!read(v, d)) return false;
      r.digest = d.value_or("");
      return true;
    }
    if (k == "period_start") return read(v, r.period_start);
    if (k == "period_end") return read(v, r.period_end);
    if (k == "contract_id") return read(v, r.contract_id);
    if (k == "rate_bp") return read(v, r.rate_bp);
    if (k == "final") return read(v, r.final);
    return true;
  });
}

std::optional<OutputRecord> read_balance(object obj) {
  return read_object<BalanceRecord>(obj, 0b111'1111, [](BalanceRecord& r, std::string_view k, value v, std::uint32_t& seen) {
    if (k == "partner_id") return mark(seen, 1, read(v, r.partner_id));
    if (k == "currency") return mark(seen, 2, read(v, r.currency));
    if (k == "accrued_minor") return mark(seen, 4, read(v, r.accrued_minor));
    if (k == "reversed_minor") return mark(seen, 8, read(v, r.reversed_minor));
    if (k == "pending_minor") return mark(seen, 16, read(v, r.pending_minor));
    if (k == "payable_minor") return mark(seen, 32, read(v, r.payable_minor));
    if (k == "paid_minor") return mark(seen, 64, read(v, r.paid_minor));
    if (k == "held_minor") return read(v, r.held_minor);  // absent before partner risk: 0
    if (k == "last_payout_id") {
      std::optional<std::string> id;
      if (!read(v, id)) return false;
      r.last_payout_id = id.value_or("");
      return true;
    }
    if (k == "watermark") return read(v, r.watermark);
    return true;
  });
}

std::optional<OutputRecord> read_risk(object obj) {
  return read_object<RiskRecord>(obj, 0b11, [](RiskRecord& r, std::string_view k, value v, std::uint32_t& seen) {
    if (k == "partner_id") return mark(seen, 1, read(v, r.partner_id));
    if (k == "period") return mark(seen, 2, read(v, r.period));
    if (k == "period_start") return read(v, r.period_start);
    if (k == "period_end") return read(v, r.period_end);
    if (k == "credited_orders") return read(v, r.credited_orders);
    if (k == "fast_orders") return read(v, r.fast_orders);
    if (k == "clicks") return read(v, r.clicks);
    if (k == "click_users") return read(v, r.click_users);
    if (k == "reversed_orders") return read(v, r.reversed_orders);
    if (k == "held") return read(v, r.held);
    if (k == "released") return read(v, r.released);
    if (k == "final") return read(v, r.final);
    if (k == "revision") return read(v, r.revision);
    if (k == "watermark") return read(v, r.watermark);
    if (k == "flags") {
      simdjson::ondemand::array a;
      if (v.get_array().get(a) != simdjson::SUCCESS) return false;
      r.flags.clear();
      for (auto e : a) {
        std::string_view f;
        if (e.get_string().get(f) != simdjson::SUCCESS) return false;
        r.flags.emplace_back(f);
      }
      return true;
    }
    return true;  // the ratios are derived from the counts
  });
}

std::optional<OutputRecord> read_dead_letter(object obj) {
  return read_object<DeadLetter>(obj, 0b1, [](DeadLetter& d, std::string_view k, value v, std::uint32_t& seen) {
    if (k == "reason") return mark(seen, 1, read(v, d.reason));
    if (k == "topic") return read(v, d.position.topic);
    if (k == "partition") return read(v, d.position.partition);
    if (k == "offset") return read(v, d.position.offset);
    if (k == "payload") {
      std::string_view text;
      if (v.get_string().get(text) != simdjson::SUCCESS) return false;
      auto bytes = base64_decode(text);
      if (!bytes) return false;
      d.payload = std::move(*bytes);
      return true;
    }
    if (k == "payload_bytes") return read(v, d.payload_bytes);
    if (k == "payload_sha256") return read(v, d.payload_sha256);
    if (k == "detail") return read(v, d.detail);
    return true;
  });
}

}  // namespace

std::optional<std::int64_t> parse_micros(std::string_view s) {
  const bool neg = !s.empty() && s[0] == '-';
  if (neg) s.remove_prefix(1);
  const auto dot = s.find('.');
  const std::string_view whole = s.substr(0, dot);
  const std::string_view frac = dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
  if (whole.empty() || frac.size() > 6 || (dot != std::string_view::npos && frac.empty())) return std::nullopt;
  unsigned __int128 v = 0;
  for (char c : whole) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
    if (v > (static_cast<unsigned __int128>(1) << 64)) return std::nullopt;
  }
  for (std::size_t i = 0; i < 6; ++i) {
    const char c = i < frac.size() ? frac[i] : '0';
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  const unsigned __int128 limit = static_cast<unsigned __int128>(INT64_MAX) + (neg ? 1 : 0);
  if (v > limit) return std::nullopt;
  if (neg) return static_cast<std::int64_t>(-static_cast<__int128>(v));
  return static_cast<std::int64_t>(v);
}

std::optional<std::string> base64_decode(std::string_view in) {
  auto sextet = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    const int pad = last ? (in[i + 3] == '=') + (in[i + 2] == '=' && in[i + 3] == '=') : 0;
    unsigned v = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      const int s = j >= 4 - static_cast<std::size_t>(pad) ? 0 : sextet(in[i + j]);
      if (s < 0) return std::nullopt;
      v = (v << 6) | static_cast<unsigned>(s);
    }
    out.push_back(static_cast<char>((v >> 16) & 0xff));
    if (pad < 2) out.push_back(static_cast<char>((v >> 8) & 0xff));
    if (pad < 1) out.push_back(static_cast<char>(v & 0xff));
  }
  return out;
}

std::optional<OutputRecord> decode_record(OutputKind kind, std::string_view json) {
  if (kind == OutputKind::kRepartition) return std::nullopt;
  thread_local simdjson::ondemand::parser parser;
  thread_local std::string buffer;
  buffer.assign(json);
  buffer.append(simdjson::SIMDJSON_PADDING, '\0');
  simdjson::ondemand::document doc;
  if (parser.iterate(buffer.data(), json.size(), buffer.size()).get(doc) != simdjson::SUCCESS) return std::nullopt;
  object obj;
  if (doc.get_object().get(obj) != simdjson::SUCCESS) return std::nullopt;
  std::optional<OutputRecord> r;
  switch (kind) {
    case OutputKind::kSettlements: r = read_settlement(obj); break;
    case OutputKind::kMetrics: r = read_metric(obj); break;
    case OutputKind::kStatements: r = read_statement(obj); break;
    case OutputKind::kDlq: r = read_dead_letter(obj); break;
    case OutputKind::kBalances: r = read_balance(obj); break;
    case OutputKind::kRisk: r = read_risk(obj); break;
    case OutputKind::kRepartition: break;
  }
  // One object and nothing after it (simdjson 3.0: no document::at_end()).
  if (r && doc.current_location().error() != simdjson::OUT_OF_BOUNDS) return std::nullopt;
  return r;
}

}  // namespace alliance

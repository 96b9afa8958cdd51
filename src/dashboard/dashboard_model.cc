#include "alliance/dashboard/dashboard_model.h"

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <tuple>

#include "alliance/codec/record_decoder.h"
#include "alliance/codec/record_encoder.h"
#include "alliance/core/currency.h"

namespace alliance::dashboard {

std::string_view to_string(Feed f) {
  switch (f) {
    case Feed::kMetrics: return "metrics";
    case Feed::kSettlements: return "settlements";
    case Feed::kStatements: return "statements";
    case Feed::kBalances: return "balances";
    case Feed::kDlq: return "dlq";
    case Feed::kRisk: return "risk";
  }
  return "?";
}

namespace {

using Int = __int128;

std::string int_text(Int v) {
  if (v == 0) return "0";
  const bool neg = v < 0;
  std::string s;
  while (v != 0) {
    const int d = static_cast<int>(v % 10);
    s.push_back(static_cast<char>('0' + (neg ? -d : d)));
    v /= 10;
  }
  if (neg) s.push_back('-');
  return {s.rbegin(), s.rend()};
}

std::string money_text128(Int minor, std::string_view currency) {
  const int digits = currency_minor_digits(currency).value_or(2);
  const bool neg = minor < 0;
  std::string abs = int_text(minor);
  if (neg) abs.erase(0, 1);
  if (static_cast<int>(abs.size()) <= digits) abs.insert(0, static_cast<std::size_t>(digits + 1) - abs.size(), '0');
  const std::string whole = abs.substr(0, abs.size() - static_cast<std::size_t>(digits));
  std::string out = neg ? "-" : "";
  for (std::size_t i = 0; i < whole.size(); ++i) {
    if (i > 0 && (whole.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(whole[i]);
  }
  if (digits > 0) out.append(".").append(abs.substr(abs.size() - static_cast<std::size_t>(digits)));
  return out;
}

/// Builds one JSON value; keys and values in call order.
class Json {
 public:
  Json& begin_object() { return open('{'); }
  Json& end_object() { return close('}'); }
  Json& begin_array() { return open('['); }
  Json& end_array() { return close(']'); }
  Json& key(std::string_view k) {
    comma();
    append_json_string(out_, k);
    out_.push_back(':');
    after_key_ = true;
    return *this;
  }
  Json& str(std::string_view v) {
    comma();
    append_json_string(out_, v);
    return *this;
  }
  Json& num(Int v) {
    comma();
    out_ += int_text(v);
    return *this;
  }
  Json& real(double v) {
    comma();
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6f", v);
    out_ += buf;
    return *this;
  }
  Json& boolean(bool v) {
    comma();
    out_ += v ? "true" : "false";
    return *this;
  }
  Json& null() {
    comma();
    out_ += "null";
    return *this;
  }
  /// A JSON text inserted as it is (a stored record).
  Json& raw(std::string_view json) {
    comma();
    out_ += json;
    return *this;
  }
  Json& money(Int minor, std::string_view currency) {
    return begin_object().key("minor").num(minor).key("text").str(money_text128(minor, currency)).end_object();
  }
  std::string done() { return std::move(out_); }

 private:
  Json& open(char c) {
    comma();
    out_.push_back(c);
    first_ = true;
    return *this;
  }
  Json& close(char c) {
    out_.push_back(c);
    first_ = false;
    return *this;
  }
  void comma() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_ && !out_.empty()) out_.push_back(',');
    first_ = false;
  }
  std::string out_;
  bool first_ = true;
  bool after_key_ = false;
};

/// A field of the "all" records (the cost ones: campaigns only), and how it is shown.
enum class FieldKind { kCount, kMoney, kPercent, kRatio };
struct OptionalField {
  std::string_view name;
  FieldKind kind;
};
// SPEC §5.2: the running "all" records' cost-benefit and customer measures.
constexpr OptionalField kAllFields[] = {
    {"buyers", FieldKind::kCount},         {"repeat_buyers", FieldKind::kCount},
    {"repeat_rate", FieldKind::kPercent},  {"cost_minor", FieldKind::kMoney},
    {"net_benefit_minor", FieldKind::kMoney}, {"benefit_cost_ratio", FieldKind::kRatio},
    {"ltv_minor", FieldKind::kMoney},      {"clv_minor", FieldKind::kMoney},
    {"churn_rate", FieldKind::kPercent},   {"loyalty", FieldKind::kRatio},
};

/// A field value as read: an integer, a decimal text, or null.
struct FieldValue {
  enum { kNull, kInt, kText } type = kNull;
  std::int64_t i = 0;
  std::string text;
};

struct Metric {
  std::string dim, id, window_size, currency, conversions, conversion_rate;
  std::int64_t window_start = 0, window_end = 0, clicks = 0, unique_users = 0, referrals = 0, orders = 0,
               revenue = 0, refunds = 0;
  std::optional<std::int64_t> watermark;
  bool final = false;
  std::vector<std::pair<std::string_view, FieldValue>> extras;  // kAllFields present
  std::string raw;
};

struct Statement {
  std::string partner, period, currency;
  std::int64_t revision = 0, accrued = 0, reversed = 0, net = 0, pool_share = 0, records = 0;
  std::optional<std::int64_t> commission;
  bool final = false;
  std::string raw;
};

struct Balance {
  std::string partner, currency;
  std::int64_t accrued = 0, reversed = 0, pending = 0, payable = 0, paid = 0, held = 0;
  std::optional<std::string> last_payout_id;
  std::string raw;
};

/// The latest partner-risk record of one partner and period (SPEC §5.6).
struct Risk {
  RiskRecord record;
  std::string raw;
};

struct Settlement {
  std::string partner;
  std::int64_t seen = 0;
  std::string raw;  // the latest
};

/// "97.000000" -> "97", "1.500000" -> "1.5": the same number, shorter.
std::string decimal_text(std::string s) {
  if (s.find('.') == std::string::npos) return s;
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

double decimal_value(const std::string& s) { return std::strtod(s.c_str(), nullptr); }

}  // namespace

std::string money_text(std::int64_t minor, std::string_view currency) { return money_text128(minor, currency); }

std::string percent_text(std::string_view d) {
  // "-0.083333" -> "-8.3333 %": move the point two places, drop leading zeros.
  const bool neg = !d.empty() && d[0] == '-';
  const std::string_view body = neg ? d.substr(1) : d;
  const auto dot = body.find('.');
  const std::string_view whole = body.substr(0, dot);
  std::string frac(dot == std::string_view::npos ? std::string_view() : body.substr(dot + 1));
  if (whole.empty() || whole.find_first_not_of("0123456789") != std::string_view::npos ||
      frac.find_first_not_of("0123456789") != std::string::npos || (dot != std::string_view::npos && frac.empty()))
    return std::string(d);
  if (frac.size() < 2) frac.append(2 - frac.size(), '0');
  std::string digits = std::string(whole) + frac.substr(0, 2);
  frac.erase(0, 2);
  const auto nz = digits.find_first_not_of('0');
  digits = nz == std::string::npos ? "0" : digits.substr(nz);
  std::string out = (neg ? "-" : "") + digits;
  if (!frac.empty()) out += "." + frac;
  return out + " %";
}

std::string utc_text(std::int64_t ms) {
  const std::time_t secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

struct DashboardModel::Impl {
  explicit Impl(ModelOptions o) : opt(std::move(o)) {}

  ModelOptions opt;
  std::map<std::string, Metric> metrics;          // by Kafka key
  /// (dim, key, window_size, window_start) -> currency -> Kafka key of metrics.
  using WindowId = std::tuple<std::string, std::string, std::string, std::int64_t>;
  std::map<WindowId, std::map<std::string, std::string>> windows;
  std::map<std::string, Statement> statements;    // partner_id|period|currency
  std::map<std::string, Balance> balances;        // partner_id|currency
  std::map<std::string, Settlement> settlements;  // partner_id
  std::map<std::string, Risk> risk;               // partner_id|period
  std::map<std::string, std::int64_t> dlq_by_reason;
  std::unordered_set<std::string> dlq_keys;
  std::deque<std::string> dlq_recent;  // newest last
  std::int64_t dlq_total = 0;
  bool dlq_dedupe_full = false;
  std::optional<std::int64_t> watermark;  // the largest below the end of input
  bool end_of_input = false;
  std::optional<std::int64_t> evicted_at;  // watermark of the last sweep
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> next_offset;
  std::map<Feed, std::int64_t> read, unreadable;
  std::map<Feed, std::pair<std::string, bool>> topics;
  std::string source_error;

  void note_watermark(std::int64_t w) {
    // The end-of-input watermark (a bounded run's last records) says every
    // window is final; the event time reached stays the one before it.
    if (w == INT64_MAX) end_of_input = true;
    else if (!watermark || w > *watermark) watermark = w;
  }

  [[nodiscard]] std::int64_t cutoff() const {
    return watermark && *watermark > INT64_MIN + opt.retain_ms ? *watermark - opt.retain_ms : INT64_MIN;
  }

  void evict() {
    if (!watermark || (evicted_at && *watermark - *evicted_at < opt.series_window_ms)) return;
    evicted_at = *watermark;
    const std::int64_t cut = cutoff();
    for (auto it = metrics.begin(); it != metrics.end();) {
      if (it->second.window_size != "all" && it->second.window_end < cut) it = erase_metric(it);
      else ++it;
    }
  }

  static WindowId window_of(const Metric& m) { return {m.dim, m.id, m.window_size, m.window_start}; }

  std::map<std::string, Metric>::iterator erase_metric(std::map<std::string, Metric>::iterator it) {
    const auto w = windows.find(window_of(it->second));
    if (w != windows.end()) {
      w->second.erase(it->second.currency);
      if (w->second.empty()) windows.erase(w);
    }
    return metrics.erase(it);
  }

  void put_metric(std::string key, Metric m) {
    if (auto old = metrics.find(key); old != metrics.end()) erase_metric(old);
    if (m.window_size != "all" && m.window_end < cutoff()) return;  // too old to keep
    windows[window_of(m)][m.currency] = key;
    metrics.emplace(std::move(key), std::move(m));
  }

  static std::string size_text(DurationMs size) { return size == 0 ? "all" : format_duration(size); }

  /// The "all" record fields of a metric record, as the writer writes them.
  static std::vector<std::pair<std::string_view, FieldValue>> all_fields(const MetricRecord& r) {
    std::vector<std::pair<std::string_view, FieldValue>> out;
    if (r.window_size != 0) return out;
    auto num = [](std::optional<std::int64_t> v) {
      FieldValue f;
      if (v) f = FieldValue{FieldValue::kInt, *v, {}};
      return f;
    };
    auto text = [](std::optional<std::string> v) {
      FieldValue f;
      if (v) f = FieldValue{FieldValue::kText, 0, std::move(*v)};
      return f;
    };
    const bool campaign = r.dim == "campaign";
    for (const auto& f : kAllFields) {
      const std::string_view n = f.name;
      if (n == "buyers") out.emplace_back(n, num(r.buyers));
      else if (n == "repeat_buyers") out.emplace_back(n, num(r.repeat_buyers));
      else if (n == "repeat_rate") out.emplace_back(n, text(metric_repeat_rate(r)));
      else if (n == "cost_minor" && campaign) out.emplace_back(n, num(r.cost_minor));
      else if (n == "net_benefit_minor" && campaign) out.emplace_back(n, num(metric_net_benefit(r)));
      else if (n == "benefit_cost_ratio" && campaign) out.emplace_back(n, text(metric_benefit_cost_ratio(r)));
      else if (n == "ltv_minor") out.emplace_back(n, num(r.ltv_minor));
      else if (n == "clv_minor") out.emplace_back(n, num(r.clv_minor));
      else if (n == "churn_rate") out.emplace_back(n, text(metric_churn_rate(r)));
      else if (n == "loyalty") out.emplace_back(n, text(metric_loyalty(r)));
    }
    return out;
  }

  bool ingest_metric(MetricRecord& r, std::string key, std::string_view value) {
    Metric m;
    m.extras = all_fields(r);
    m.conversion_rate = metric_conversion_rate(r);
    m.dim = std::move(r.dim);
    m.id = std::move(r.key);
    m.window_size = size_text(r.window_size);
    m.window_start = r.window_start;
    m.window_end = r.window_end;
    m.clicks = r.clicks;
    m.unique_users = r.unique_users;
    m.orders = r.orders;
    m.conversions = format_micros(r.conversions_micros);
    m.revenue = r.revenue_minor;
    m.currency = r.currency.value_or("");
    m.referrals = r.referrals;
    m.refunds = r.refunds_minor;
    m.final = r.final;
    m.watermark = r.watermark;
    m.raw.assign(value);
    if (m.watermark) note_watermark(*m.watermark);
    if (key.empty())
      key = m.dim + '|' + m.id + '|' + std::to_string(m.window_start) + '|' + m.window_size + '|' + m.currency;
    put_metric(std::move(key), std::move(m));
    evict();
    return true;
  }

  bool ingest_statement(StatementRecord& r, std::string key, std::string_view value) {
    Statement s;
    s.partner = std::move(r.partner_id);
    s.period = std::move(r.period);
    s.currency = std::move(r.currency);
    s.accrued = r.accrued_minor;
    s.reversed = r.reversed_minor;
    s.net = r.net_minor;
    s.revision = r.revision;
    s.commission = r.commission_minor;
    s.pool_share = r.pool_share_minor;
    s.records = r.records;
    s.final = r.final;
    s.raw.assign(value);
    if (key.empty()) key = s.partner + '|' + s.period + '|' + s.currency;
    statements.insert_or_assign(std::move(key), std::move(s));
    return true;
  }

  bool ingest_balance(BalanceRecord& r, std::string key, std::string_view value) {
    Balance b;
    b.partner = std::move(r.partner_id);
    b.currency = std::move(r.currency);
    b.accrued = r.accrued_minor;
    b.reversed = r.reversed_minor;
    b.pending = r.pending_minor;
    b.payable = r.payable_minor;
    b.paid = r.paid_minor;
    b.held = r.held_minor;
    if (!r.last_payout_id.empty()) b.last_payout_id = std::move(r.last_payout_id);
    note_watermark(r.watermark);
    b.raw.assign(value);
    if (key.empty()) key = b.partner + '|' + b.currency;
    balances.insert_or_assign(std::move(key), std::move(b));
    return true;
  }

  bool ingest_risk(RiskRecord& r, std::string key, std::string_view value) {
    // An upsert stream: the latest record of a key wins, revisions included.
    if (key.empty()) key = r.partner_id + '|' + r.period;
    Risk& k = risk[key];
    k.record = std::move(r);
    k.raw.assign(value);
    return true;
  }

  bool ingest_settlement(SettlementRecord& r, std::string key, std::string_view value) {
    if (key.empty()) key = r.partner_id;
    Settlement& s = settlements[key];
    s.partner = std::move(r.partner_id);
    ++s.seen;
    s.raw.assign(value);
    return true;
  }

  bool ingest_dlq(const DeadLetter& d, const std::string& key, std::string_view value) {
    const std::string& reason = d.reason;
    if (!key.empty() && !dlq_dedupe_full) {
      if (!dlq_keys.insert(key).second) return true;  // redelivered: counted once
      if (dlq_keys.size() >= opt.max_dead_letter_keys) dlq_dedupe_full = true;
    }
    ++dlq_by_reason[reason];
    ++dlq_total;
    dlq_recent.emplace_back(value);
    while (dlq_recent.size() > opt.recent_dead_letters) dlq_recent.pop_front();
    return true;
  }

  // --- the view -------------------------------------------------------------

  /// The counts record of a window: the default currency's, else any.
  [[nodiscard]] const Metric* counts_of(const std::string& dim, const std::string& id, std::int64_t start,
                                        const std::string& size) const {
    const auto w = windows.find(WindowId{dim, id, size, start});
    if (w == windows.end() || w->second.empty()) return nullptr;
    const auto d = w->second.find(opt.default_currency);
    return &metrics.at(d != w->second.end() ? d->second : w->second.begin()->second);
  }

  void write_extras(Json& j, const Metric& m) const {
    for (const auto& [name, v] : m.extras) {
      j.key(name);
      if (v.type == FieldValue::kNull) {
        j.null();
        continue;
      }
      const auto kind = std::find_if(std::begin(kAllFields), std::end(kAllFields),
                                     [&](const OptionalField& f) { return f.name == name; })->kind;
      j.begin_object();
      if (v.type == FieldValue::kInt) j.key("value").num(v.i);
      else j.key("value").str(v.text);
      std::string text;
      switch (kind) {
        case FieldKind::kMoney: text = v.type == FieldValue::kInt ? money_text(v.i, m.currency) : v.text; break;
        case FieldKind::kPercent: text = percent_text(v.type == FieldValue::kInt ? std::to_string(v.i) : v.text); break;
        case FieldKind::kCount:
        case FieldKind::kRatio: text = v.type == FieldValue::kInt ? std::to_string(v.i) : v.text; break;
      }
      j.key("text").str(text).end_object();
    }
  }

  void write_all_rows(Json& j, std::string_view dim) const {
    j.begin_array();
    for (const auto& [k, m] : metrics) {
      if (m.dim != dim || m.window_size != "all") continue;
      j.begin_object()
          .key("key").str(m.id)
          .key("currency").str(m.currency)
          .key("clicks").num(m.clicks)
          .key("unique_users").num(m.unique_users)
          .key("orders").num(m.orders)
          .key("conversions").str(m.conversions)
          .key("conversions_text").str(decimal_text(m.conversions))
          .key("revenue").money(m.revenue, m.currency)
          .key("refunds").money(m.refunds, m.currency)
          .key("final").boolean(m.final);
      write_extras(j, m);
      j.end_object();
    }
    j.end_array();
  }

  void write_series_and_sources(Json& j) const {
    const std::string size = opt.series_window_ms > 0 ? format_size(opt.series_window_ms) : "";
    // Sources with windows of the chart's size, and the newest window start.
    std::map<std::string, std::int64_t> latest;  // source -> newest window start
    std::int64_t newest = INT64_MIN, oldest = INT64_MAX;
    for (auto w = windows.lower_bound(WindowId{"source", "", "", INT64_MIN});
         w != windows.end() && std::get<0>(w->first) == "source"; ++w) {
      const auto& [dim, id, wsize, start] = w->first;
      if (wsize != size) continue;
      auto [it, fresh] = latest.try_emplace(id, start);
      if (!fresh) it->second = std::max(it->second, start);
      newest = std::max(newest, start);
      oldest = std::min(oldest, start);
    }
    j.key("series").begin_object().key("window_size").str(size).key("window_ms").num(opt.series_window_ms);
    std::vector<std::int64_t> starts;
    if (!latest.empty())
      for (std::size_t i = opt.series_points; i-- > 0;) {
        const std::int64_t s = newest - static_cast<std::int64_t>(i) * opt.series_window_ms;
        if (s >= oldest) starts.push_back(s);  // not before the first window kept
      }
    j.key("starts").begin_array();
    for (auto s : starts) j.num(s);
    j.end_array().key("sources").begin_array();
    for (const auto& [src, unused] : latest) {
      std::vector<const Metric*> row;
      for (auto s : starts) row.push_back(counts_of("source", src, s, size));
      j.begin_object().key("key").str(src);
      j.key("clicks").begin_array();
      for (const Metric* m : row) j.num(m ? m->clicks : 0);
      j.end_array().key("unique_users").begin_array();
      for (const Metric* m : row) j.num(m ? m->unique_users : 0);
      j.end_array().key("conversions").begin_array();
      for (const Metric* m : row) j.real(m ? decimal_value(m->conversions) : 0.0);
      j.end_array().key("conversion_rate").begin_array();
      for (const Metric* m : row) j.real(m ? decimal_value(m->conversion_rate) : 0.0);
      j.end_array().end_object();
    }
    j.end_array().end_object();

    // Each source's newest window of the chart's size.
    j.key("sources").begin_array();
    for (const auto& [src, start] : latest) {
      const Metric* c = counts_of("source", src, start, size);
      j.begin_object()
          .key("key").str(src)
          .key("window_start").num(start)
          .key("window_start_text").str(utc_text(start))
          .key("window_size").str(size)
          .key("final").boolean(c->final)
          .key("clicks").num(c->clicks)
          .key("unique_users").num(c->unique_users)
          .key("orders").num(c->orders)
          .key("conversions").str(c->conversions)
          .key("conversions_text").str(decimal_text(c->conversions))
          .key("conversion_rate").str(c->conversion_rate)
          .key("conversion_rate_text").str(percent_text(c->conversion_rate))
          .key("revenue").begin_array();
      for (const auto& [currency, key] : windows.at(WindowId{"source", src, size, start})) {
        const Metric& r = metrics.at(key);
        j.begin_object()
            .key("currency").str(currency)
            .key("minor").num(r.revenue)
            .key("text").str(money_text(r.revenue, currency))
            .end_object();
      }
      j.end_array().end_object();
    }
    j.end_array();
  }

  static std::string format_size(std::int64_t ms) {
    if (ms % 86'400'000 == 0) return std::to_string(ms / 86'400'000) + "d";
    if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
    if (ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    return std::to_string(ms) + "ms";
  }

  void write_partners(Json& j) const {
    struct Totals {
      Int accrued = 0, reversed = 0, net = 0, commission = 0, pool_share = 0, records = 0;
      bool any_commission = false;
      std::int64_t periods = 0, open = 0;
      std::string latest_period;
    };
    std::map<std::pair<std::string, std::string>, Totals> by;  // (partner, currency)
    for (const auto& [k, s] : statements) {
      Totals& t = by[{s.partner, s.currency}];
      t.accrued += s.accrued;
      t.reversed += s.reversed;
      t.net += s.net;
      if (s.commission) {
        t.commission += *s.commission;
        t.any_commission = true;
      }
      t.pool_share += s.pool_share;
      t.records += s.records;
      ++t.periods;
      if (!s.final) ++t.open;
      t.latest_period = std::max(t.latest_period, s.period);
    }
    j.begin_array();
    for (const auto& [pc, t] : by) {
      const auto& [partner, currency] = pc;
      j.begin_object()
          .key("partner_id").str(partner)
          .key("currency").str(currency)
          .key("accrued").money(t.accrued, currency)
          .key("reversed").money(t.reversed, currency)
          .key("net").money(t.net, currency)
          .key("commission");
      if (t.any_commission) j.money(t.commission, currency);
      else j.null();
      j.key("pool_share").money(t.pool_share, currency)
          .key("records").num(t.records)
          .key("periods").num(t.periods)
          .key("open_periods").num(t.open)
          .key("latest_period").str(t.latest_period)
          .end_object();
    }
    j.end_array();
  }

  void write_balances(Json& j) const {
    j.begin_array();
    for (const auto& [k, b] : balances) {
      j.begin_object()
          .key("partner_id").str(b.partner)
          .key("currency").str(b.currency)
          .key("accrued").money(b.accrued, b.currency)
          .key("reversed").money(b.reversed, b.currency)
          .key("pending").money(b.pending, b.currency)
          .key("payable").money(b.payable, b.currency)
          .key("paid").money(b.paid, b.currency)
          .key("held").money(b.held, b.currency)
          .key("last_payout_id");
      if (b.last_payout_id) j.str(*b.last_payout_id);
      else j.null();
      j.end_object();
    }
    j.end_array();
  }

  /// The partner-periods flagged now (latest records), newest period first,
  /// with their signals and the partner's held money per currency.
  void write_flagged(Json& j) const {
    std::vector<const RiskRecord*> rows;
    for (const auto& [k, r] : risk)
      if (!r.record.flags.empty()) rows.push_back(&r.record);
    std::stable_sort(rows.begin(), rows.end(), [](const RiskRecord* a, const RiskRecord* b) {
      return a->period != b->period ? a->period > b->period : a->partner_id < b->partner_id;
    });
    j.begin_array();
    for (const RiskRecord* r : rows) {
      std::string flags;
      for (const auto& f : r->flags) flags += (flags.empty() ? "" : ", ") + f;
      std::string held;
      for (const auto& [k, b] : balances)
        if (b.partner == r->partner_id && b.held != 0)
          held += (held.empty() ? "" : "; ") + money_text(b.held, b.currency) + " " + b.currency;
      j.begin_object()
          .key("partner_id").str(r->partner_id)
          .key("period").str(r->period)
          .key("flags").str(flags)
          .key("credited_orders").num(r->credited_orders)
          .key("fast_share").str(risk_fast_share(*r))
          .key("clicks").num(r->clicks)
          .key("click_users").num(r->click_users)
          .key("clicks_per_user").str(risk_clicks_per_user(*r))
          .key("reversal_rate").str(risk_reversal_rate(*r))
          .key("held").boolean(r->held)
          .key("released").boolean(r->released)
          .key("final").boolean(r->final)
          .key("held_money").str(held.empty() ? "none" : held)
          .end_object();
    }
    j.end_array();
  }

  void write_dead_letters(Json& j) const {
    std::vector<std::pair<std::string, std::int64_t>> rows(dlq_by_reason.begin(), dlq_by_reason.end());
    std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    j.begin_object().key("total").num(dlq_total).key("by_reason").begin_array();
    for (const auto& [reason, n] : rows) j.begin_object().key("reason").str(reason).key("count").num(n).end_object();
    j.end_array().key("deduplicated").boolean(!dlq_dedupe_full).end_object();
  }

  void write_watermark(Json& j) const {
    j.key("watermark");
    const char* end = " (end of input: every window final)";
    if (watermark) j.num(*watermark).key("watermark_text").str(utc_text(*watermark) + (end_of_input ? end : ""));
    else j.null().key("watermark_text").str(end_of_input ? "end of input" : "");
    j.key("end_of_input").boolean(end_of_input);
  }

  void write_positions(Json& j) const {
    j.key("positions").begin_array();
    for (const auto& [tp, next] : next_offset)
      j.begin_object().key("topic").str(tp.first).key("partition").num(tp.second).key("next_offset").num(next).end_object();
    j.end_array();
    j.key("topics").begin_array();
    for (const auto& [feed, t] : topics)
      j.begin_object().key("feed").str(to_string(feed)).key("topic").str(t.first).key("present").boolean(t.second).end_object();
    j.end_array();
    j.key("source_error").str(source_error);
  }
};

DashboardModel::DashboardModel(ModelOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
DashboardModel::~DashboardModel() = default;

bool DashboardModel::ingest(Feed feed, std::string_view topic, std::int32_t partition, std::int64_t offset,
                            std::string_view key, std::string_view value) {
  Impl& m = *impl_;
  ++version_;
  auto& next = m.next_offset[{std::string(topic), partition}];
  next = std::max(next, offset + 1);
  ++m.read[feed];
  static constexpr OutputKind kKinds[] = {OutputKind::kMetrics, OutputKind::kSettlements, OutputKind::kStatements,
                                           OutputKind::kBalances, OutputKind::kDlq, OutputKind::kRisk};  // by Feed
  std::optional<OutputRecord> r = decode_record(kKinds[static_cast<std::size_t>(feed)], value);
  bool ok = r.has_value();
  if (ok) {
    std::string k(key);
    switch (feed) {
      case Feed::kMetrics: ok = m.ingest_metric(std::get<MetricRecord>(r->body), std::move(k), value); break;
      case Feed::kStatements: ok = m.ingest_statement(std::get<StatementRecord>(r->body), std::move(k), value); break;
      case Feed::kBalances: ok = m.ingest_balance(std::get<BalanceRecord>(r->body), std::move(k), value); break;
      case Feed::kSettlements: ok = m.ingest_settlement(std::get<SettlementRecord>(r->body), std::move(k), value); break;
      case Feed::kDlq: ok = m.ingest_dlq(std::get<DeadLetter>(r->body), k, value); break;
      case Feed::kRisk: ok = m.ingest_risk(std::get<RiskRecord>(r->body), std::move(k), value); break;
    }
  }
  if (!ok) ++m.unreadable[feed];
  return ok;
}

void DashboardModel::set_topic_state(Feed feed, std::string_view topic, bool present) {
  auto& t = impl_->topics[feed];
  if (t.first == topic && t.second == present) return;
  t = {std::string(topic), present};
  ++version_;
}

void DashboardModel::set_source_error(std::string_view error) {
  if (impl_->source_error == error) return;
  impl_->source_error.assign(error);
  ++version_;
}

std::optional<std::int64_t> DashboardModel::watermark() const { return impl_->watermark; }

std::string DashboardModel::view_json() const {
  const Impl& m = *impl_;
  Json j;
  j.begin_object().key("name").str(m.opt.name).key("version").num(version_).key("default_currency").str(m.opt.default_currency);
  m.write_watermark(j);
  m.write_series_and_sources(j);
  j.key("source_totals");
  m.write_all_rows(j, "source");
  j.key("campaigns");
  m.write_all_rows(j, "campaign");
  j.key("partners");
  m.write_partners(j);
  j.key("balances");
  m.write_balances(j);
  j.key("flagged");
  m.write_flagged(j);
  j.key("dead_letters");
  m.write_dead_letters(j);
  m.write_positions(j);
  return j.end_object().done();
}

std::string DashboardModel::status_json() const {
  const Impl& m = *impl_;
  Json j;
  j.begin_object().key("name").str(m.opt.name).key("version").num(version_);
  m.write_watermark(j);
  j.key("records").begin_object();
  for (Feed f : {Feed::kMetrics, Feed::kSettlements, Feed::kStatements, Feed::kBalances, Feed::kDlq, Feed::kRisk}) {
    const auto r = m.read.find(f);
    const auto u = m.unreadable.find(f);
    j.key(to_string(f))
        .begin_object()
        .key("read").num(r == m.read.end() ? 0 : r->second)
        .key("unreadable").num(u == m.unreadable.end() ? 0 : u->second)
        .key("kept").num(static_cast<std::int64_t>(kept(f)))
        .end_object();
  }
  j.end_object();
  m.write_positions(j);
  return j.end_object().done();
}

std::string DashboardModel::records_json(Feed feed, const std::map<std::string, std::string>& filter) const {
  const Impl& m = *impl_;
  auto want = [&](std::string_view field, const std::string& value) {
    const auto it = filter.find(std::string(field));
    return it == filter.end() || it->second == value;
  };
  Json j;
  j.begin_array();
  switch (feed) {
    case Feed::kMetrics:
      for (const auto& [k, r] : m.metrics)
        if (want("dim", r.dim) && want("key", r.id) && want("window_size", r.window_size) && want("currency", r.currency))
          j.raw(r.raw);
      break;
    case Feed::kStatements:
      for (const auto& [k, r] : m.statements)
        if (want("partner_id", r.partner) && want("currency", r.currency) && want("period", r.period)) j.raw(r.raw);
      break;
    case Feed::kBalances:
      for (const auto& [k, r] : m.balances)
        if (want("partner_id", r.partner) && want("currency", r.currency)) j.raw(r.raw);
      break;
    case Feed::kSettlements:
      for (const auto& [k, r] : m.settlements)
        if (want("partner_id", r.partner)) j.raw(r.raw);
      break;
    case Feed::kDlq:
      for (const auto& r : m.dlq_recent) j.raw(r);
      break;
    case Feed::kRisk:
      for (const auto& [k, r] : m.risk)
        if (want("partner_id", r.record.partner_id) && want("period", r.record.period)) j.raw(r.raw);
      break;
  }
  return j.end_array().done();
}

std::string DashboardModel::partners_json() const {
  Json j;
  impl_->write_partners(j);
  return j.done();
}

std::string DashboardModel::dead_letters_json() const {
  Json j;
  impl_->write_dead_letters(j);
  return j.done();
}

std::size_t DashboardModel::kept(Feed feed) const {
  const Impl& m = *impl_;
  switch (feed) {
    case Feed::kMetrics: return m.metrics.size();
    case Feed::kStatements: return m.statements.size();
    case Feed::kBalances: return m.balances.size();
    case Feed::kSettlements: return m.settlements.size();
    case Feed::kDlq: return m.dlq_recent.size();
    case Feed::kRisk: return m.risk.size();
  }
  return 0;
}

}  // namespace alliance::dashboard

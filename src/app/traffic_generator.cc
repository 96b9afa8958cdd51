#include "alliance/app/traffic_generator.h"

#include <array>
#include <cstdio>

#include "alliance/codec/record_encoder.h"

namespace alliance {

namespace {

constexpr std::array<const char*, 7> kSources{"social", "search", "email", "affiliate", "direct", "organic", "video"};
constexpr std::array<MinorUnits, 6> kPrices{1900, 4900, 9900, 19900, 29900, 99900};

/// Appends `"key":"value"` or `"key":number` pairs without a JSON library.
class Line {
 public:
  explicit Line(bool with_type, const char* type) {
    s_ = "{";
    if (with_type) str("type", type);
  }
  Line& str(const char* k, const std::string& v) {
    sep();
    append_json_string(s_, k);
    s_ += ':';
    append_json_string(s_, v);
    return *this;
  }
  Line& num(const char* k, std::int64_t v) {
    sep();
    append_json_string(s_, k);
    s_ += ':' + std::to_string(v);
    return *this;
  }
  std::string done() { return s_ + "}"; }

 private:
  void sep() {
    if (s_.size() > 1) s_ += ',';
  }
  std::string s_;
};

}  // namespace

TrafficGenerator::TrafficGenerator(const Topology& t, GeneratorOptions o)
    : o_(o), rng_(o.seed), now_(o.start_ms) {
  for (const auto& c : t.campaigns) campaigns_.push_back(c.id);
  if (campaigns_.empty()) campaigns_ = {"cmp-spring"};
  campaigns_.push_back("cmp-organic");
  for (const auto& p : t.partners) {
    partners_.push_back(p.id);
    for (const auto& c : p.referral_codes) codes_.push_back(c);
  }
  if (partners_.empty()) partners_ = {"p-books", "p-travel"};
  partners_.push_back("p-fitness");  // a partner the topology does not know
  injector_ = partners_[partners_.size() - 2];  // the topology's last partner
}

GeneratedMessage TrafficGenerator::inject(const std::string& user, GeneratedMessage m, bool with_type) {
  // The injected click carries the completion's own time: it wins the last
  // touch with a click-to-completion time of 0 (SPEC §3.9 fast_orders).
  Line l(with_type, "click");
  l.str("event_id", "e" + std::to_string(++seq_)).num("ts", now_).str("user_id", user)
      .str("campaign_id", campaigns_[rng_() % campaigns_.size()]).str("source", "affiliate").str("partner_id", injector_);
  held_ = std::move(m);
  return {EventKind::kClick, user, l.done()};
}

GeneratedMessage TrafficGenerator::spam(bool with_type) {
  // 20 users of the population, clicked over and over (SPEC §3.9 click_spam).
  const std::string user = user_id(first_user_ + static_cast<std::int64_t>(rng_() % 20) % o_.users);
  Line l(with_type, "click");
  l.str("event_id", "e" + std::to_string(++seq_)).num("ts", now_).str("user_id", user)
      .str("campaign_id", campaigns_[rng_() % campaigns_.size()]).str("source", "affiliate").str("partner_id", "p-clickfarm");
  return {EventKind::kClick, user, l.done()};
}

std::string TrafficGenerator::user_id(std::int64_t i) const {
  char buf[24];
  std::snprintf(buf, sizeof buf, "u%07lld", static_cast<long long>(i));
  return buf;
}

std::int64_t TrafficGenerator::pick_user() {
  return first_user_ + static_cast<std::int64_t>(rng_() % static_cast<std::uint64_t>(o_.users));
}

GeneratedMessage TrafficGenerator::next(bool with_type) {
  if (held_) {
    GeneratedMessage m = std::move(*held_);
    held_.reset();
    last_ = m;
    return m;
  }
  if (o_.mean_gap_us > 0) {
    elapsed_us_ += 1 + static_cast<std::int64_t>(
                           std::exponential_distribution<double>(1.0 / static_cast<double>(o_.mean_gap_us))(rng_));
    now_ = o_.start_ms + elapsed_us_ / 1000;
  } else {
    // Strictly increasing event times: file order and the event-time merge agree.
    now_ += 1 + static_cast<DurationMs>(std::exponential_distribution<double>(1.0 / static_cast<double>(o_.mean_gap_ms))(rng_));
  }
  const double u = std::uniform_real_distribution<double>(0, 1)(rng_);
  if (u < o_.bad_rate) return bad(with_type);
  if (u < o_.bad_rate + o_.duplicate_rate && !last_.json.empty()) return last_;
  const double kind = std::uniform_real_distribution<double>(0, 1)(rng_);
  if (o_.fraud && kind < 0.042) return last_ = spam(with_type);  // 6 % of the clicks
  GeneratedMessage m = kind < 0.70 ? click(with_type) : kind < 0.76 ? referral(with_type) : order(with_type);
  last_ = m;
  return m;
}

GeneratedMessage TrafficGenerator::click(bool with_type) {
  const std::string user = user_id(pick_user());
  Line l(with_type, "click");
  l.str("event_id", "e" + std::to_string(++seq_)).num("ts", now_).str("user_id", user)
      .str("campaign_id", campaigns_[rng_() % campaigns_.size()])
      .str("source", kSources[rng_() % kSources.size()]);
  if (rng_() % 3 != 0) l.str("partner_id", partners_[rng_() % partners_.size()]);
  return {EventKind::kClick, user, l.done()};
}

GeneratedMessage TrafficGenerator::referral(bool with_type) {
  const std::int64_t i = pick_user();
  const std::string user = user_id(i);
  Line l(with_type, "referral");
  l.str("event_id", "e" + std::to_string(++seq_)).num("ts", now_).str("user_id", user)
      .str("partner_id", partners_[rng_() % partners_.size()])
      .str("referrer_id", user_id(first_user_ + (i - first_user_ + 1) % o_.users))
      .str("campaign_id", campaigns_[rng_() % campaigns_.size()]);
  return {EventKind::kReferral, user, l.done()};
}

GeneratedMessage TrafficGenerator::order(bool with_type) {
  // Half the time move an open order along its lifecycle, else open a new one.
  if (!open_orders_.empty() && rng_() % 3 == 0) {
    const std::size_t idx = rng_() % open_orders_.size();
    OpenOrder& o = open_orders_[idx];
    Line l(with_type, "order");
    l.str("event_id", "e" + std::to_string(++seq_)).num("ts", now_).str("user_id", o.user)
        .str("order_id", o.order_id);
    std::string status;
    bool close = false;
    if (!o.completed) {
      status = rng_() % 5 == 0 ? "cancelled" : "completed";
      o.completed = status == "completed";
      close = !o.completed;
    } else if (rng_() % 4 != 0) {
      // Most completed orders are kept: this one is done, no event.
      open_orders_.erase(open_orders_.begin() + static_cast<std::ptrdiff_t>(idx));
      return click(with_type);
    } else if (rng_() % 3 == 0) {
      status = "cancelled";
      close = true;
    } else {
      status = "refunded";
      const MinorUnits left = o.amount - o.refunded;
      const MinorUnits refund = left <= 1 ? left : 1 + static_cast<MinorUnits>(rng_() % static_cast<std::uint64_t>(left / 2 + 1));
      if (refund <= 0) {
        open_orders_.erase(open_orders_.begin() + static_cast<std::ptrdiff_t>(idx));
        return click(with_type);
      }
      o.refunded += refund;
      l.num("refund_minor", refund);
      close = o.refunded >= o.amount || rng_() % 2 == 0;
    }
    l.str("status", status).num("amount_minor", o.amount).str("currency", o.currency);
    GeneratedMessage m{EventKind::kOrder, o.user, l.done()};
    const std::string user = o.user;
    if (close) open_orders_.erase(open_orders_.begin() + static_cast<std::ptrdiff_t>(idx));
    if (o_.fraud && status == "completed" && rng_() % 5 == 0) return inject(user, std::move(m), with_type);
    return m;
  }
  OpenOrder o;
  o.user = user_id(pick_user());
  o.order_id = "ord" + std::to_string(seq_ + 1);
  o.amount = kPrices[rng_() % kPrices.size()];
  o.refunded = 0;
  o.currency = rng_() % 10 == 0 ? "USD" : "CNY";
  o.completed = rng_() % 3 != 0;
  Line l(with_type, "order");
  l.str("event_id", "e" + std::to_string(++seq_)).num("ts", now_).str("user_id", o.user)
      .str("order_id", o.order_id).str("status", o.completed ? "completed" : "pending")
      .num("amount_minor", o.amount).str("currency", o.currency).str("course_id", "course-" + std::to_string(rng_() % 40));
  if (!codes_.empty() && rng_() % 8 == 0) l.str("referral_code", codes_[rng_() % codes_.size()]);
  GeneratedMessage m{EventKind::kOrder, o.user, l.done()};
  if (open_orders_.size() < 10'000) open_orders_.push_back(o);
  if (o_.fraud && o.completed && rng_() % 5 == 0) return inject(o.user, std::move(m), with_type);
  return m;
}

GeneratedMessage TrafficGenerator::bad(bool with_type) {
  const std::string user = user_id(pick_user());
  const std::string id = "e" + std::to_string(++seq_);
  const std::string type = with_type ? "\"type\":\"order\"," : "";
  switch (rng_() % 4) {
    case 0: return {EventKind::kOrder, user, "{" + type + "\"event_id\":\"" + id + "\",\"ts\":" + std::to_string(now_)};
    case 1:
      return {EventKind::kOrder, user, "{" + type + "\"event_id\":\"" + id + "\",\"ts\":" + std::to_string(now_) +
                                           ",\"user_id\":\"" + user + "\",\"order_id\":\"x\",\"status\":\"completed\",\"amount_minor\":-5,\"currency\":\"CNY\"}"};
    case 2:
      return {EventKind::kOrder, user, "{" + type + "\"event_id\":\"" + id + "\",\"ts\":\"yesterday\",\"user_id\":\"" + user +
                                           "\",\"order_id\":\"x\",\"status\":\"completed\",\"amount_minor\":5,\"currency\":\"CNY\"}"};
    default:
      return {EventKind::kOrder, user, "{" + type + "\"event_id\":\"" + id + "\",\"ts\":" + std::to_string(now_) +
                                           ",\"user_id\":\"" + user + "\",\"order_id\":\"x\",\"status\":\"shipped\",\"amount_minor\":5,\"currency\":\"CNY\"}"};
  }
}

}  // namespace alliance

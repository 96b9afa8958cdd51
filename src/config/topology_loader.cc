#include "alliance/config/topology_loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string_view>
#include <vector>

#include "alliance/core/currency.h"

namespace alliance {

namespace {

bool has_control_char(const std::string& s) {
  for (const unsigned char ch : s)
    if (ch < 0x20 || ch == 0x7f) return true;
  return false;
}

std::string trim_number(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

/// Refuses a key written twice in one map, in every map of the document at
/// any depth. yaml-cpp keeps both pairs and a lookup finds the first, so
/// `rate_bp: 1000, rate_bp: 5000` would silently be 1000; other YAML
/// readers keep the last. Walks each node once (an alias shares its
/// anchor's node), iteratively, with the path built only for the error.
class DuplicateKeyCheck {
 public:
  explicit DuplicateKeyCheck(std::string origin) : origin_(std::move(origin)) {}

  void run(const YAML::Node& root) {
    std::vector<Frame> stack{{root, 0, ""}};
    while (!stack.empty()) {
      Frame f = std::move(stack.back());
      stack.pop_back();
      if (!f.node.IsMap() && !f.node.IsSequence()) continue;
      const YAML::Mark m = f.node.Mark();
      if (!seen_.insert({m.pos, f.node.IsMap()}).second) continue;
      const std::size_t parent = steps_.size();
      steps_.push_back({f.up, f.step});
      std::vector<Frame> children;
      if (f.node.IsSequence()) {
        std::size_t i = 0;
        for (const auto& item : f.node) children.push_back({item, parent + 1, "[" + std::to_string(i++) + "]"});
      } else {
        std::map<std::string, int> line_of;  // key -> the line it is first on (1-based)
        for (const auto& kv : f.node) {
          if (!kv.first.IsScalar()) continue;  // a map or list as a key: the loader refuses it later
          const std::string& key = kv.first.Scalar();
          const int line = kv.first.Mark().line + 1;
          const auto [it, fresh] = line_of.emplace(key, line);
          if (!fresh) fail(parent + 1, key, it->second, line);
          children.push_back({kv.second, parent + 1, (f.up == 0 ? "" : ".") + key});
        }
      }
      for (auto c = children.rbegin(); c != children.rend(); ++c) stack.push_back(std::move(*c));
    }
  }

 private:
  struct Frame {
    YAML::Node node;
    std::size_t up;    // index + 1 in steps_ of the enclosing node (0: none)
    std::string step;  // from the enclosing node: "[i]", ".key" ("key" below the top, "" for the top)
  };
  struct Step {
    std::size_t up;
    std::string step;
  };

  [[noreturn]] void fail(std::size_t at, const std::string& key, int first, int second) const {
    std::string path;
    for (std::size_t i = at; i > 0; i = steps_[i - 1].up) path.insert(0, steps_[i - 1].step);
    path += (path.empty() ? "" : ".") + key;
    const std::string where = first == second ? "both on line " + std::to_string(first)
                                              : "on lines " + std::to_string(first) + " and " + std::to_string(second);
    throw ConfigError(origin_ + ": " + path + ": the key is written twice in the same map (" + where +
                      "); YAML readers silently keep only one of the two values (this one would take the first): "
                      "write the key once, with the value you mean");
  }

  std::string origin_;
  std::vector<Step> steps_;
  std::set<std::pair<int, bool>> seen_;  // (position in the text, is a map) of the nodes walked
};

/// Kafka's rule for a topic name: 1-249 characters of a-z A-Z 0-9 . _ -,
/// not "." or "..". Returns why `name` breaks it with at most `max`
/// characters, e.g. "has a space at position 7" ("" when it does not).
std::string kafka_name_problem(std::string_view name, std::size_t max) {
  for (std::size_t i = 0; i < name.size(); ++i) {
    const unsigned char ch = static_cast<unsigned char>(name[i]);
    if ((ch < 0x80 && std::isalnum(ch) != 0) || ch == '.' || ch == '_' || ch == '-') continue;
    char what[32];
    if (ch == ' ') std::snprintf(what, sizeof what, "a space");
    else if (ch > 0x20 && ch < 0x7f) std::snprintf(what, sizeof what, "'%c'", ch);
    else std::snprintf(what, sizeof what, "the byte 0x%02X", ch);
    return "has " + std::string(what) + " at position " + std::to_string(i + 1);
  }
  if (name == "." || name == "..") return "is one of the names Kafka reserves (\".\" and \"..\")";
  if (name.size() > max) return "is " + std::to_string(name.size()) + " characters, at most " + std::to_string(max);
  return "";
}

constexpr const char* kKafkaNameChars = "a-z, A-Z, 0-9, '.', '_' and '-'";

/// `name` with each run of characters Kafka refuses replaced by '-',
/// for the example in an error message.
std::string kafka_name_suggestion(std::string_view name, std::size_t max) {
  std::string out;
  for (const char c : name) {
    const unsigned char ch = static_cast<unsigned char>(c);
    const bool ok = (std::isalnum(ch) != 0 && ch < 0x80) || ch == '.' || ch == '_' || ch == '-';
    if (ok) out += c;
    else if (out.empty() || out.back() != '-') out += '-';
  }
  while (!out.empty() && (out.front() == '-' || out.front() == '.')) out.erase(0, 1);
  if (out.size() > max) out.resize(max);
  while (!out.empty() && (out.back() == '-' || out.back() == '.')) out.pop_back();
  return out.empty() ? "spring-alliance" : out;
}

/// Topics the processor derives from the topology's name, whatever else the
/// file says, and the longest suffix a default topic gets from it.
constexpr std::string_view kChangelogSuffix = ".changelog";
constexpr std::string_view kRepartitionSuffix = ".repartition";
constexpr std::string_view kLongestSuffix = ".partner-balances";
constexpr std::size_t kMaxTopicName = 249;
constexpr std::size_t kMaxName = kMaxTopicName - kLongestSuffix.size();

/// Reads one YAML map, remembering the dotted key path for error messages
/// and rejecting keys it does not know (typos must not pass silently).
class Reader {
 public:
  Reader(const YAML::Node& node, std::string origin, std::string path)
      : node_(node), origin_(std::move(origin)), path_(std::move(path)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw ConfigError(origin_ + ": " + dotted(key) + ": " + what);
  }

  std::string dotted(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

  void expect_map(std::initializer_list<const char*> allowed) const {
    expect_map(std::vector<std::string>(allowed.begin(), allowed.end()));
  }

  void expect_map(const std::vector<std::string>& allowed) const {
    if (!node_.IsMap()) throw ConfigError(origin_ + ": " + (path_.empty() ? "<top>" : path_) + ": must be a map");
    std::set<std::string> ok(allowed.begin(), allowed.end());
    for (const auto& kv : node_) {
      const auto k = kv.first.as<std::string>();
      if (ok.count(k) == 0) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        fail(k, "unknown key; valid keys here: " + list);
      }
    }
  }

  [[nodiscard]] bool has(const std::string& key) const { return node_[key].IsDefined() && !node_[key].IsNull(); }
  [[nodiscard]] YAML::Node child(const std::string& key) const { return node_[key]; }
  [[nodiscard]] Reader sub(const std::string& key) const { return Reader(node_[key], origin_, dotted(key)); }
  [[nodiscard]] Reader item(const std::string& key, std::size_t i) const {
    return Reader(node_[key][i], origin_, dotted(key + "[" + std::to_string(i) + "]"));
  }

  std::string str(const std::string& key, const std::string& example) const {
    if (!has(key)) fail(key, "is required, e.g. " + example);
    const YAML::Node n = node_[key];
    if (!n.IsScalar() || n.as<std::string>().empty()) fail(key, "must be a non-empty string, e.g. " + example);
    return n.as<std::string>();
  }

  std::string str_or(const std::string& key, const std::string& dflt) const {
    return has(key) ? str(key, dflt) : dflt;
  }

  std::int64_t integer(const std::string& key, std::int64_t lo, std::int64_t hi,
                       const std::string& example) const {
    if (!has(key)) fail(key, "is required, e.g. " + example);
    std::int64_t v = 0;
    try {
      v = node_[key].as<std::int64_t>();
    } catch (const YAML::Exception&) {
      fail(key, "must be an integer, e.g. " + example);
    }
    if (v < lo || v > hi)
      fail(key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " +
                    std::to_string(v) + "; e.g. " + example);
    return v;
  }

  DurationMs duration(const std::string& key, DurationMs dflt) const {
    if (!has(key)) return dflt;
    const auto text = scalar(key, "a duration such as 5s");
    auto d = parse_duration(text);
    if (!d) fail(key, "bad duration \"" + text + "\"; write a positive integer and a unit: 250ms, 5s, 1m, 1h, 7d");
    return *d;
  }

  /// A duration that may also be zero (`0s`, `0d`): "no wait at all".
  DurationMs duration_or_zero(const std::string& key, DurationMs dflt) const {
    if (!has(key)) return dflt;
    const auto text = scalar(key, "a duration such as 30d or 0s");
    const auto digits = text.find_first_not_of('0');
    if (digits > 0 && digits != std::string::npos && parse_duration("1" + text.substr(digits))) return 0;
    auto d = parse_duration(text);
    if (!d)
      fail(key, "bad duration \"" + text + "\"; write a non-negative integer and a unit: 0s, 250ms, 5s, 1m, 1h, 30d");
    return *d;
  }

  /// An identifier or label: a non-empty string without control characters
  /// (SPEC §2), so it can never be confused with another id in a key.
  std::string id(const std::string& key, const std::string& example) const {
    std::string v = str(key, example);
    if (has_control_char(v))
      fail(key, "contains a control character (U+0000-U+001F, U+007F); ids are printable text, e.g. " + example);
    return v;
  }

  /// An ISO 4217 currency code (SPEC §2), upper case.
  std::string currency(const std::string& key) const {
    const std::string code = str(key, "CNY");
    if (!is_iso4217(code)) {
      std::string upper = code;
      for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      const std::string hint = upper != code && is_iso4217(upper) ? "write \"" + upper + "\"" : "e.g. CNY, USD, EUR, JPY";
      fail(key, "\"" + code + "\" is not an ISO 4217 currency code (upper case, from the ISO 4217 list); " + hint);
    }
    return code;
  }

  /// One of `valid`, as written.
  std::string choice(const std::string& key, std::initializer_list<const char*> valid) const {
    std::string list;
    for (const auto& a : valid) list += (list.empty() ? "" : ", ") + std::string(a);
    const std::string v = str(key, list);
    for (const auto& a : valid)
      if (v == a) return v;
    fail(key, "\"" + v + "\" is not valid; valid: " + list);
  }

  double real(const std::string& key, double lo, double hi, const std::string& example) const {
    double v = 0;
    try {
      v = node_[key].as<double>();
    } catch (const YAML::Exception&) {
      fail(key, "must be a number, e.g. " + example);
    }
    if (!std::isfinite(v) || v < lo || v > hi)
      fail(key, "must be between " + trim_number(lo) + " and " + trim_number(hi) + "; e.g. " + example);
    return v;
  }

  /// A non-negative decimal with at most 6 places as an exact rational:
  /// millionths (ppm). No binary floating point: `0.3` is 300000 exactly.
  std::int64_t ppm(const std::string& key, std::int64_t hi_ppm, const std::string& example) const {
    const std::string text = scalar(key, "a decimal number, e.g. " + example);
    const auto dot = text.find('.');
    const std::string whole = text.substr(0, dot);
    const std::string frac = dot == std::string::npos ? std::string() : text.substr(dot + 1);
    const auto digits = [](const std::string& d) {
      return std::all_of(d.begin(), d.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    if (whole.empty() || whole.size() > 9 || !digits(whole) || (dot != std::string::npos && frac.empty()) ||
        !digits(frac))
      fail(key, "\"" + text + "\" is not a non-negative decimal number; e.g. " + example);
    if (frac.size() > 6)
      fail(key, "\"" + text + "\" has more than 6 decimal places; ratios are compared exactly to the "
                "millionth, e.g. " + example);
    std::int64_t v = std::stoll(whole) * 1'000'000;
    std::string f = frac;
    f.resize(6, '0');
    v += std::stoll(f);
    if (v > hi_ppm)
      fail(key, "\"" + text + "\" is above the largest valid value " + std::to_string(hi_ppm / 1'000'000) +
                "; e.g. " + example);
    return v;
  }

  /// The string form of a scalar; a list or map where a scalar belongs fails.
  std::string scalar(const std::string& key, const std::string& what) const {
    const YAML::Node n = node_[key];
    if (!n.IsScalar()) fail(key, "must be " + what);
    return n.as<std::string>();
  }

 private:
  YAML::Node node_;
  std::string origin_;
  std::string path_;
};

Contract read_contract(const Reader& r) {
  r.expect_map({"id", "type", "rate_bp", "per_conversion_minor", "tiers", "holding_period"});
  Contract c;
  c.id = r.id("id", "c-books");
  if (r.has("holding_period")) c.holding_period = r.duration_or_zero("holding_period", 0);
  const std::string type = r.str("type", "percent");
  if (type == "percent") {
    c.type = ContractType::kPercent;
    c.rate_bp = r.integer("rate_bp", 0, 10'000, "rate_bp: 1000 (10%)");
  } else if (type == "flat") {
    c.type = ContractType::kFlat;
    c.per_conversion_minor = r.integer("per_conversion_minor", 0, kMaxAmountMinor, "per_conversion_minor: 500");
  } else if (type == "tiered") {
    c.type = ContractType::kTiered;
    const YAML::Node tiers = r.child("tiers");
    if (!tiers.IsSequence() || tiers.size() == 0)
      r.fail("tiers", "must be a non-empty list, e.g. [{up_to_minor: 1000000, rate_bp: 500}, {rate_bp: 800}]");
    MinorUnits last = -1;
    for (std::size_t i = 0; i < tiers.size(); ++i) {
      Reader tr = r.item("tiers", i);
      Tier tier;
      tier.rate_bp = tr.integer("rate_bp", 0, 10'000, "rate_bp: 500");
      const bool is_last = i + 1 == tiers.size();
      if (!is_last) {
        tier.up_to_minor = tr.integer("up_to_minor", 0, kMaxAmountMinor, "up_to_minor: 1000000");
        if (*tier.up_to_minor <= last)
          tr.fail("up_to_minor", "tiers must have increasing up_to_minor");
        last = *tier.up_to_minor;
      } else if (tr.has("up_to_minor")) {
        tr.fail("up_to_minor", "the last tier is open-ended: leave up_to_minor out");
      }
      c.tiers.push_back(tier);
    }
  } else {
    r.fail("type", "unknown contract type \"" + type + "\"; valid: percent, flat, tiered");
  }
  return c;
}

}  // namespace

/// Every top-level key the loader accepts; docs/TOPOLOGY.md documents each
/// (tests/unit/topology_loader_test.cc checks that).
const std::vector<std::string>& topology_top_level_keys() {
  static const std::vector<std::string> keys{
      "name",          "inputs",           "outputs",         "attribution",     "windows",
      "grace",         "dedupe_retention", "settlement_tz",   "settlement_period", "holding_period",
      "emit",          "emit_interval",    "replay_batch",    "state",           "default_currency",
      "campaigns",     "partners",         "pools",           "processing",      "order_retention",
      "statement_retention", "clv",        "churn_after",     "risk"};
  return keys;
}

namespace {

void read_topics(const Reader& top, Topology& t) {
  t.inputs.payouts = t.name + ".payouts";
  t.outputs.balances = t.name + ".partner-balances";
  t.outputs.risk = t.name + ".partner-risk";
  if (top.has("inputs")) {
    Reader in = top.sub("inputs");
    in.expect_map({"clicks", "referrals", "orders", "payouts"});
    t.inputs.clicks = in.str_or("clicks", t.inputs.clicks);
    t.inputs.referrals = in.str_or("referrals", t.inputs.referrals);
    t.inputs.orders = in.str_or("orders", t.inputs.orders);
    t.inputs.payouts = in.str_or("payouts", t.inputs.payouts);
  }
  if (top.has("outputs")) {
    Reader out = top.sub("outputs");
    out.expect_map({"metrics", "settlements", "statements", "balances", "risk", "dlq"});
    t.outputs.metrics = out.str_or("metrics", t.outputs.metrics);
    t.outputs.settlements = out.str_or("settlements", t.outputs.settlements);
    t.outputs.statements = out.str_or("statements", t.outputs.statements);
    t.outputs.balances = out.str_or("balances", t.outputs.balances);
    t.outputs.risk = out.str_or("risk", t.outputs.risk);
    t.outputs.dlq = out.str_or("dlq", t.outputs.dlq);
  }
  // One topic per stream: an output written to an input (or two outputs
  // sharing a topic, or one on the processor's own changelog or repartition
  // topic) would feed records back or mix record types. Kafka also refuses
  // a topic whose name differs from another's only in '.' and '_'.
  const std::string changelog = t.name + std::string(kChangelogSuffix);
  const std::string repartition = t.name + std::string(kRepartitionSuffix);
  const std::vector<std::pair<std::string, const std::string*>> topics{
      {"the changelog topic the processor keeps for name " + t.name, &changelog},
      {"the repartition topic the processor keeps for name " + t.name, &repartition},
      {"inputs.clicks", &t.inputs.clicks},         {"inputs.referrals", &t.inputs.referrals},
      {"inputs.orders", &t.inputs.orders},         {"inputs.payouts", &t.inputs.payouts},
      {"outputs.metrics", &t.outputs.metrics},     {"outputs.settlements", &t.outputs.settlements},
      {"outputs.statements", &t.outputs.statements}, {"outputs.balances", &t.outputs.balances},
      {"outputs.risk", &t.outputs.risk},           {"outputs.dlq", &t.outputs.dlq}};
  constexpr std::size_t kInternal = 2;  // the first two: derived from the name, valid with it
  const auto metric_name = [](std::string n) {
    std::replace(n.begin(), n.end(), '.', '_');
    return n;
  };
  for (std::size_t i = kInternal; i < topics.size(); ++i) {
    const std::string& topic = *topics[i].second;
    if (const auto why = kafka_name_problem(topic, kMaxTopicName); !why.empty())
      top.fail(topics[i].first, "\"" + topic + "\" is not a valid Kafka topic name: it " + why + "; a topic name is 1-" +
                                    std::to_string(kMaxTopicName) + " characters of " + kKafkaNameChars +
                                    ", e.g. alliance.dlq");
    for (std::size_t j = 0; j < i; ++j) {
      const std::string& other = *topics[j].second;
      if (topic == other)
        top.fail(topics[i].first, "topic \"" + topic + "\" is also " + topics[j].first +
                                      "; every input and output needs its own topic");
      if (metric_name(topic) == metric_name(other))
        top.fail(topics[i].first, "topic \"" + topic + "\" collides with " + topics[j].first + " \"" + other +
                                      "\": Kafka treats '.' and '_' in topic names as the same and refuses "
                                      "the second; every input and output needs its own topic");
    }
  }
}

void read_windows(const Reader& top, Topology& t) {
  if (!top.has("windows")) return;
  const YAML::Node w = top.child("windows");
  if (!w.IsSequence() || w.size() == 0) top.fail("windows", "must be a non-empty list, e.g. [1m, 1h]");
  t.windows.clear();
  for (std::size_t i = 0; i < w.size(); ++i) {
    const std::string key = "windows[" + std::to_string(i) + "]";
    const std::string text = w[i].IsScalar() ? w[i].as<std::string>() : std::string("(not a scalar)");
    auto d = parse_duration(text);
    if (!d) top.fail(key, "bad duration \"" + text + "\"; write a positive integer and a unit, e.g. 1m");
    for (std::size_t j = 0; j < t.windows.size(); ++j)
      if (t.windows[j] == *d)
        top.fail(key, "\"" + text + "\" is the same size as windows[" + std::to_string(j) + "] (" +
                          format_duration(*d) + "); list each window size once (a repeated size counts "
                          "every event twice)");
    t.windows.push_back(*d);
  }
}

void read_campaigns(const Reader& top, const std::string& origin, Topology& t) {
  const YAML::Node campaigns = top.child("campaigns");
  if (!campaigns.IsDefined() || campaigns.IsNull()) return;
  if (!campaigns.IsSequence()) top.fail("campaigns", "must be a list of {id, cost_minor, currency}");
  for (std::size_t i = 0; i < campaigns.size(); ++i) {
    Reader c(campaigns[i], origin, "campaigns[" + std::to_string(i) + "]");
    c.expect_map({"id", "cost_minor", "currency"});
    CampaignConfig cc;
    cc.id = c.id("id", "cmp-spring");
    if (c.has("cost_minor")) cc.cost_minor = c.integer("cost_minor", 0, kMaxAmountMinor, "cost_minor: 10000000");
    cc.currency = c.has("currency") ? c.currency("currency") : t.default_currency;
    for (const auto& prev : t.campaigns)
      if (prev.id == cc.id) c.fail("id", "duplicate campaign id \"" + cc.id + "\"; each campaign appears once");
    t.campaigns.push_back(cc);
  }
}

void read_partners(const Reader& top, const std::string& origin, Topology& t) {
  const YAML::Node partners = top.child("partners");
  if (!partners.IsDefined() || partners.IsNull()) return;
  if (!partners.IsSequence()) top.fail("partners", "must be a list of {id, referral_codes, contract}");
  std::map<std::string, std::string> code_owner;
  for (std::size_t i = 0; i < partners.size(); ++i) {
    Reader p(partners[i], origin, "partners[" + std::to_string(i) + "]");
    p.expect_map({"id", "referral_codes", "contract"});
    PartnerConfig pc;
    pc.id = p.id("id", "p-books");
    for (const auto& prev : t.partners)
      if (prev.id == pc.id) p.fail("id", "duplicate partner id \"" + pc.id + "\"; each partner appears once");
    if (p.has("referral_codes")) {
      const YAML::Node codes = p.child("referral_codes");
      if (!codes.IsSequence()) p.fail("referral_codes", "must be a list, e.g. [BOOK10]");
      for (std::size_t j = 0; j < codes.size(); ++j) {
        const std::string key = "referral_codes[" + std::to_string(j) + "]";
        if (!codes[j].IsScalar() || codes[j].as<std::string>().empty())
          p.fail(key, "must be a non-empty string, e.g. BOOK10");
        const auto c = codes[j].as<std::string>();
        if (has_control_char(c)) p.fail(key, "contains a control character; codes are printable text, e.g. BOOK10");
        auto [it, fresh] = code_owner.emplace(c, pc.id);
        if (!fresh)
          p.fail("referral_codes", it->second == pc.id
                                       ? "code \"" + c + "\" is listed twice; list each code once"
                                       : "code \"" + c + "\" is already owned by partner \"" + it->second +
                                             "\"; a code has one owner");
        pc.referral_codes.push_back(c);
      }
    }
    if (p.has("contract")) pc.contract = read_contract(p.sub("contract"));
    t.partners.push_back(pc);
  }
}

void read_pools(const Reader& top, const std::string& origin, Topology& t) {
  const YAML::Node pools = top.child("pools");
  if (!pools.IsDefined() || pools.IsNull()) return;
  if (!pools.IsSequence()) top.fail("pools", "must be a list of {id, campaign_id, pool_bp, members}");
  std::map<std::string, std::int64_t> bp_per_campaign;
  std::map<std::string, std::string> pools_per_campaign;  // for the error message
  for (std::size_t i = 0; i < pools.size(); ++i) {
    Reader p(pools[i], origin, "pools[" + std::to_string(i) + "]");
    p.expect_map({"id", "campaign_id", "pool_bp", "members"});
    PoolConfig pc;
    pc.id = p.id("id", "pool-spring");
    for (const auto& prev : t.pools)
      if (prev.id == pc.id) p.fail("id", "duplicate pool id \"" + pc.id + "\"; each pool appears once");
    pc.campaign_id = p.id("campaign_id", "cmp-spring");
    if (t.campaign(pc.campaign_id) == nullptr)
      p.fail("campaign_id", "\"" + pc.campaign_id +
                                "\" is not a campaign of this topology; add it under campaigns: or fix the id");
    pc.pool_bp = p.integer("pool_bp", 0, 10'000, "pool_bp: 200");
    auto& sum = bp_per_campaign[pc.campaign_id];
    auto& names = pools_per_campaign[pc.campaign_id];
    sum += pc.pool_bp;
    names += (names.empty() ? "" : " + ") + pc.id + " " + std::to_string(pc.pool_bp);
    if (sum > 10'000)
      p.fail("pool_bp", "the pools of campaign \"" + pc.campaign_id + "\" add up to " + std::to_string(sum) +
                            " bp (" + names + "), more than 10000 bp (100 % of its revenue); lower pool_bp "
                            "so that their sum is at most 10000");
    const YAML::Node members = p.child("members");
    if (!members.IsSequence() || members.size() == 0)
      p.fail("members", "must be a non-empty list, e.g. [{partner_id: p-books, weight: 40}]");
    for (std::size_t j = 0; j < members.size(); ++j) {
      Reader m(members[j], origin, p.dotted("members[" + std::to_string(j) + "]"));
      m.expect_map({"partner_id", "weight"});
      PoolMember pm;
      pm.partner_id = m.str("partner_id", "p-books");
      if (t.partner(pm.partner_id) == nullptr)
        m.fail("partner_id", "\"" + pm.partner_id + "\" is not a partner of this topology; add it under partners:");
      for (std::size_t k = 0; k < pc.members.size(); ++k)
        if (pc.members[k].partner_id == pm.partner_id)
          m.fail("partner_id", "\"" + pm.partner_id + "\" is already members[" + std::to_string(k) +
                                   "] of this pool; list each partner once and give it its whole weight");
      pm.weight = m.integer("weight", 1, 1'000'000, "weight: 40");
      pc.members.push_back(pm);
    }
    t.pools.push_back(pc);
  }
}

/// The `risk:` block (SPEC §3.9); absent keys keep their defaults.
void read_risk(const Reader& r, RiskConfig& risk) {
  r.expect_map({"action", "min_ctit", "max_fast_share", "max_clicks_per_user", "max_reversal_rate", "min_orders",
                "min_click_users"});
  if (r.has("action")) risk.action = r.choice("action", {"flag", "hold"}) == "hold" ? RiskAction::kHold : RiskAction::kFlag;
  risk.min_ctit = r.duration_or_zero("min_ctit", risk.min_ctit);
  if (r.has("max_fast_share")) risk.max_fast_share_ppm = r.ppm("max_fast_share", 1'000'000, "max_fast_share: 0.3 (a share, 0 to 1)");
  if (r.has("max_clicks_per_user"))
    risk.max_clicks_per_user_ppm = r.ppm("max_clicks_per_user", 1'000'000'000'000, "max_clicks_per_user: 20");
  if (r.has("max_reversal_rate"))
    risk.max_reversal_rate_ppm = r.ppm("max_reversal_rate", 1'000'000, "max_reversal_rate: 0.5 (a share, 0 to 1)");
  if (r.has("min_orders")) risk.min_orders = r.integer("min_orders", 1, 1'000'000'000, "min_orders: 20");
  if (r.has("min_click_users"))
    risk.min_click_users = r.integer("min_click_users", 1, 1'000'000'000, "min_click_users: 20");
}

}  // namespace

Topology parse_topology(const std::string& text, const std::string& origin) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(origin + ": not valid YAML: " + e.what());
  }
  // Any malformed-scalar conversion below surfaces as ConfigError, never a crash.
  try {
    DuplicateKeyCheck(origin).run(root);
    Reader top(root, origin, "");
    top.expect_map(topology_top_level_keys());
    Topology t;
    t.name = top.id("name", "name: spring-alliance");
    if (const auto why = kafka_name_problem(t.name, kMaxName); !why.empty())
      top.fail("name", "\"" + t.name + "\" " + why + "; the name begins the Kafka topics derived from it (" + t.name +
                           std::string(kChangelogSuffix) + ", " + t.name + std::string(kRepartitionSuffix) +
                           ", and " + t.name + ".payouts, " + t.name + std::string(kLongestSuffix) +
                           " unless inputs.payouts, outputs.balances are given), so it is 1-" +
                           std::to_string(kMaxName) + " characters of " + kKafkaNameChars + " (Kafka allows " +
                           std::to_string(kMaxTopicName) + " per topic): write e.g. name: " +
                           kafka_name_suggestion(t.name, kMaxName));
    read_topics(top, t);
    if (top.has("attribution")) {
      Reader a = top.sub("attribution");
      a.expect_map({"model", "lookback", "half_life", "max_touchpoints"});
      if (a.has("model")) {
        const std::string m = a.str("model", "last_touch");
        auto model = attribution_model_from(m);
        if (!model)
          a.fail("model", "unknown model \"" + m +
                              "\"; valid: last_touch, first_touch, linear, position_based, time_decay");
        t.model = *model;
      }
      t.lookback = a.duration("lookback", t.lookback);
      t.half_life = a.duration("half_life", t.half_life);
      if (a.has("max_touchpoints"))
        t.max_touchpoints = static_cast<std::size_t>(a.integer("max_touchpoints", 1, 10'000, "max_touchpoints: 50"));
    }
    read_windows(top, t);
    t.grace = top.duration("grace", t.grace);
    t.dedupe_retention = top.duration("dedupe_retention", t.dedupe_retention);
    t.emit_interval = top.duration("emit_interval", t.emit_interval);
    if (top.has("emit"))
      t.emit = top.choice("emit", {"running", "final"}) == "final" ? EmitMode::kFinal : EmitMode::kRunning;
    if (top.has("replay_batch"))
      t.replay_batch = top.integer("replay_batch", 1, 1'000'000'000, "replay_batch: 100000");
    t.order_retention = top.duration("order_retention", t.order_retention);
    t.statement_retention = top.duration("statement_retention", t.statement_retention);
    if (top.has("settlement_tz")) {
      t.settlement_tz = top.str("settlement_tz", "\"+08:00\"");
      auto off = parse_utc_offset(t.settlement_tz);
      if (!off) top.fail("settlement_tz", "\"" + t.settlement_tz + "\" is not UTC or a fixed offset like \"+08:00\"");
      t.settlement_offset = *off;
    }
    if (top.has("settlement_period")) {
      const std::string p = top.choice("settlement_period", {"day", "week", "month"});
      t.settlement_period = p == "month" ? SettlementPeriod::kMonth
                            : p == "week" ? SettlementPeriod::kWeek
                                          : SettlementPeriod::kDay;
    }
    t.holding_period = top.duration_or_zero("holding_period", t.holding_period);
    if (top.has("state")) {
      Reader st = top.sub("state");
      st.expect_map({"cache_mb", "block_cache_mb", "write_buffer_mb"});
      constexpr std::int64_t kMaxMb = 1'048'576;  // 1 TiB
      if (st.has("cache_mb")) t.state.cache_mb = st.integer("cache_mb", 1, kMaxMb, "cache_mb: 128");
      if (st.has("block_cache_mb"))
        t.state.block_cache_mb = st.integer("block_cache_mb", 1, kMaxMb, "block_cache_mb: 128");
      if (st.has("write_buffer_mb"))
        t.state.write_buffer_mb = st.integer("write_buffer_mb", 1, kMaxMb, "write_buffer_mb: 64");
    }
    if (top.has("clv")) {
      Reader c = top.sub("clv");
      c.expect_map({"discount_rate", "periods"});
      if (c.has("discount_rate")) {
        t.clv.discount_rate = c.real("discount_rate", 0.0, 1.0, "discount_rate: 0.10");
        // An exact rational for the core: the decimal to 6 places (ppm).
        t.clv.discount_ppm = std::llround(t.clv.discount_rate * 1e6);
      }
      if (c.has("periods")) t.clv.periods = c.integer("periods", 1, 1000, "periods: 3");
    }
    t.churn_after = top.duration("churn_after", t.churn_after);
    if (top.has("risk")) read_risk(top.sub("risk"), t.risk);
    if (top.has("default_currency")) t.default_currency = top.currency("default_currency");
    if (top.has("processing")) {
      Reader pr = top.sub("processing");
      pr.expect_map({"guarantee", "commit_interval"});
      if (pr.has("guarantee")) t.guarantee = pr.choice("guarantee", {"at_least_once", "exactly_once"});
      t.commit_interval = pr.duration("commit_interval", t.commit_interval);
    }
    read_campaigns(top, origin, t);
    read_partners(top, origin, t);
    t.index();
    read_pools(top, origin, t);
    return t;
  } catch (const YAML::Exception& e) {
    throw ConfigError(origin + ": " + e.what());
  }
}

std::optional<Topology> load_topology_or_explain(const std::string& path, const char* command) {
  try {
    return load_topology_file(path);
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "alliance %s: invalid topology: %s\n", command, e.what());
    return std::nullopt;
  }
}

Topology load_topology_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path + ": cannot read the topology file (does it exist?)");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_topology(ss.str(), path);
}

}  // namespace alliance

#include "alliance/config/topology_loader.h"

#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

namespace alliance {

namespace {

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
    if (!node_.IsMap()) throw ConfigError(origin_ + ": " + (path_.empty() ? "<top>" : path_) + ": must be a map");
    std::set<std::string> ok(allowed.begin(), allowed.end());
    for (const auto& kv : node_) {
      const auto k = kv.first.as<std::string>();
      if (ok.count(k) == 0) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
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
    const auto text = node_[key].as<std::string>();
    auto d = parse_duration(text);
    if (!d) fail(key, "bad duration \"" + text + "\"; write a positive integer and a unit: 250ms, 5s, 1m, 1h, 7d");
    return *d;
  }

 private:
  YAML::Node node_;
  std::string origin_;
  std::string path_;
};

Contract read_contract(const Reader& r) {
  r.expect_map({"id", "type", "rate_bp", "per_conversion_minor", "tiers"});
  Contract c;
  c.id = r.str("id", "c-books");
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

Topology parse_topology(const std::string& text, const std::string& origin) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(origin + ": not valid YAML: " + e.what());
  }
  // Any malformed-scalar conversion below surfaces as ConfigError, never a crash.
  try {
  Reader top(root, origin, "");
  top.expect_map({"name", "inputs", "outputs", "attribution", "windows", "grace", "dedupe_retention",
                  "settlement_tz", "emit_interval", "default_currency", "campaigns", "partners",
                  "pools", "processing", "order_retention", "statement_retention"});
  Topology t;
  t.name = top.str("name", "name: spring-alliance");
  if (top.has("inputs")) {
    Reader in = top.sub("inputs");
    in.expect_map({"clicks", "referrals", "orders"});
    t.inputs.clicks = in.str_or("clicks", t.inputs.clicks);
    t.inputs.referrals = in.str_or("referrals", t.inputs.referrals);
    t.inputs.orders = in.str_or("orders", t.inputs.orders);
  }
  if (top.has("outputs")) {
    Reader out = top.sub("outputs");
    out.expect_map({"metrics", "settlements", "statements", "dlq"});
    t.outputs.metrics = out.str_or("metrics", t.outputs.metrics);
    t.outputs.settlements = out.str_or("settlements", t.outputs.settlements);
    t.outputs.statements = out.str_or("statements", t.outputs.statements);
    t.outputs.dlq = out.str_or("dlq", t.outputs.dlq);
  }
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
  if (top.has("windows")) {
    const YAML::Node w = top.child("windows");
    if (!w.IsSequence() || w.size() == 0) top.fail("windows", "must be a non-empty list, e.g. [1m, 1h]");
    t.windows.clear();
    for (std::size_t i = 0; i < w.size(); ++i) {
      auto d = parse_duration(w[i].as<std::string>());
      if (!d) top.fail("windows[" + std::to_string(i) + "]", "bad duration \"" + w[i].as<std::string>() + "\"; e.g. 1m");
      t.windows.push_back(*d);
    }
  }
  t.grace = top.has("grace") ? top.duration("grace", t.grace) : t.grace;
  t.dedupe_retention = top.duration("dedupe_retention", t.dedupe_retention);
  t.emit_interval = top.duration("emit_interval", t.emit_interval);
  t.order_retention = top.duration("order_retention", t.order_retention);
  t.statement_retention = top.duration("statement_retention", t.statement_retention);
  if (top.has("settlement_tz")) {
    t.settlement_tz = top.str("settlement_tz", "\"+08:00\"");
    auto off = parse_utc_offset(t.settlement_tz);
    if (!off) top.fail("settlement_tz", "\"" + t.settlement_tz + "\" is not UTC or a fixed offset like \"+08:00\"");
    t.settlement_offset = *off;
  }
  if (top.has("default_currency")) {
    t.default_currency = top.str("default_currency", "CNY");
    if (t.default_currency.size() != 3) top.fail("default_currency", "must be an ISO 4217 code such as CNY");
  }
  if (top.has("processing")) {
    Reader pr = top.sub("processing");
    pr.expect_map({"guarantee", "commit_interval"});
    t.guarantee = pr.str_or("guarantee", t.guarantee);
    if (t.guarantee != "at_least_once" && t.guarantee != "exactly_once")
      pr.fail("guarantee", "\"" + t.guarantee + "\" is not a guarantee; valid: at_least_once, exactly_once");
    t.commit_interval = pr.duration("commit_interval", t.commit_interval);
  }

  const YAML::Node campaigns = top.child("campaigns");
  if (campaigns.IsDefined() && !campaigns.IsNull()) {
    if (!campaigns.IsSequence()) top.fail("campaigns", "must be a list of {id, cost_minor}");
    for (std::size_t i = 0; i < campaigns.size(); ++i) {
      Reader c(campaigns[i], origin, "campaigns[" + std::to_string(i) + "]");
      c.expect_map({"id", "cost_minor", "currency"});
      CampaignConfig cc;
      cc.id = c.str("id", "cmp-spring");
      if (c.has("cost_minor")) cc.cost_minor = c.integer("cost_minor", 0, kMaxAmountMinor, "cost_minor: 10000000");
      cc.currency = c.str_or("currency", t.default_currency);
      for (const auto& prev : t.campaigns)
        if (prev.id == cc.id) c.fail("id", "duplicate campaign id \"" + cc.id + "\"");
      t.campaigns.push_back(cc);
    }
  }

  const YAML::Node partners = top.child("partners");
  std::map<std::string, std::string> code_owner;
  if (partners.IsDefined() && !partners.IsNull()) {
    if (!partners.IsSequence()) top.fail("partners", "must be a list of {id, referral_codes, contract}");
    for (std::size_t i = 0; i < partners.size(); ++i) {
      Reader p(partners[i], origin, "partners[" + std::to_string(i) + "]");
      p.expect_map({"id", "referral_codes", "contract"});
      PartnerConfig pc;
      pc.id = p.str("id", "p-books");
      for (const auto& prev : t.partners)
        if (prev.id == pc.id) p.fail("id", "duplicate partner id \"" + pc.id + "\"; each partner appears once");
      if (p.has("referral_codes")) {
        const YAML::Node codes = p.child("referral_codes");
        if (!codes.IsSequence()) p.fail("referral_codes", "must be a list, e.g. [BOOK10]");
        for (const auto& code : codes) {
          const auto c = code.as<std::string>();
          auto [it, fresh] = code_owner.emplace(c, pc.id);
          if (!fresh)
            p.fail("referral_codes", "code \"" + c + "\" is already owned by partner \"" + it->second +
                                         "\"; a code has one owner");
          pc.referral_codes.push_back(c);
        }
      }
      if (p.has("contract")) pc.contract = read_contract(p.sub("contract"));
      t.partners.push_back(pc);
    }
  }
  t.index();

  const YAML::Node pools = top.child("pools");
  if (pools.IsDefined() && !pools.IsNull()) {
    if (!pools.IsSequence()) top.fail("pools", "must be a list of {id, campaign_id, pool_bp, members}");
    for (std::size_t i = 0; i < pools.size(); ++i) {
      Reader p(pools[i], origin, "pools[" + std::to_string(i) + "]");
      p.expect_map({"id", "campaign_id", "pool_bp", "members"});
      PoolConfig pc;
      pc.id = p.str("id", "pool-spring");
      pc.campaign_id = p.str("campaign_id", "cmp-spring");
      pc.pool_bp = p.integer("pool_bp", 0, 10'000, "pool_bp: 200");
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
        pm.weight = m.integer("weight", 1, 1'000'000, "weight: 40");
        pc.members.push_back(pm);
      }
      t.pools.push_back(pc);
    }
  }
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

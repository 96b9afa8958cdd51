#include "alliance/core/settlement_ledger.h"

#include <algorithm>

#include "alliance/core/digest.h"

namespace alliance {

std::string statement_key(const std::string& period, const std::string& partner,
                          const std::string& currency) {
  return period + '\0' + partner + '\0' + currency;
}

namespace {

struct StatementKey {
  std::string period, partner, currency;
};

StatementKey split_key(const std::string& k) {
  const auto a = k.find('\0');
  const auto b = k.find('\0', a + 1);
  return {k.substr(0, a), k.substr(a + 1, b - a - 1), k.substr(b + 1)};
}

std::string volume_key(const std::string& period, const std::string& currency,
                       const std::string& campaign) {
  return period + '\0' + currency + '\0' + campaign;
}

// The Kafka key of SPEC §5.3: partner_id|period|currency.
std::string statement_output_key(const std::string& skey) {
  const StatementKey k = split_key(skey);
  return k.partner + '|' + k.period + '|' + k.currency;
}

}  // namespace

std::string record_digest(const std::vector<std::string>& sorted_ids) {
  const auto& ids = sorted_ids;
  std::string joined;
  for (const auto& id : ids) joined.append(id).push_back('\n');
  return sha256_hex(joined);
}

SettlementLedger::SettlementLedger(const Topology& topology) : topology_(topology) {}

void SettlementLedger::add(const SettlementRecord& r, TimestampMs period_end) {
  const std::string skey = statement_key(r.period, r.partner_id, r.currency);
  const bool is_new = statements_.find(skey) == nullptr;
  StatementState& s = statements_.upsert(skey);
  if (is_new) {
    s.period_end = period_end;
    open_periods_[period_end].insert(r.period);
  }
  (r.reversal ? s.reversed_minor : s.accrued_minor) += r.attributed_minor;
  s.record_commission_minor += r.commission_minor.value_or(0);
  s.record_ids.insert(std::upper_bound(s.record_ids.begin(), s.record_ids.end(), r.record_id), r.record_id);
  s.digest.clear();
  dirty_.insert(skey);
  if (r.campaign_id) {
    CampaignVolume& v = volumes_.upsert(volume_key(r.period, r.currency, *r.campaign_id));
    v.revenue_minor += r.attributed_minor;
    v.by_partner[r.partner_id] += r.attributed_minor;
    mark_pool_members_dirty(r.period, r.currency, *r.campaign_id);
  }
}

void SettlementLedger::mark_pool_members_dirty(const std::string& period,
                                               const std::string& currency,
                                               const std::string& campaign) {
  for (const PoolConfig& pool : topology_.pools) {
    if (pool.campaign_id != campaign) continue;
    for (const PoolMember& m : pool.members) {
      const std::string skey = statement_key(period, m.partner_id, currency);
      if (statements_.find(skey) != nullptr) dirty_.insert(skey);
    }
  }
}

MinorUnits SettlementLedger::tiered_commission(const Contract& c, MinorUnits net) {
  std::int64_t rate = c.tiers.empty() ? 0 : c.tiers.front().rate_bp;
  // The highest tier the total reaches: tier k applies above tier k-1's bound.
  for (std::size_t i = 1; i < c.tiers.size(); ++i) {
    const auto& prev_bound = c.tiers[i - 1].up_to_minor;
    if (prev_bound && net > *prev_bound) rate = c.tiers[i].rate_bp;
  }
  return round_half_even_div(static_cast<__int128>(net) * rate, 10'000);
}

std::map<std::string, MinorUnits> SettlementLedger::pool_shares(const std::string& period,
                                                                const std::string& currency) const {
  std::map<std::string, MinorUnits> shares;
  for (const PoolConfig& pool : topology_.pools) {
    const CampaignVolume* v = volumes_.find(volume_key(period, currency, pool.campaign_id));
    if (v == nullptr || v->revenue_minor <= 0) continue;
    const MinorUnits amount =
        round_half_even_div(static_cast<__int128>(v->revenue_minor) * pool.pool_bp, 10'000);
    std::vector<__int128> weights;
    for (const PoolMember& m : pool.members) {
      auto it = v->by_partner.find(m.partner_id);
      const MinorUnits g = it == v->by_partner.end() ? 0 : std::max<MinorUnits>(it->second, 0);
      weights.push_back(static_cast<__int128>(m.weight) * g);
    }
    const std::vector<MinorUnits> split = split_by_integers(amount, weights);
    for (std::size_t i = 0; i < pool.members.size(); ++i)
      shares[pool.members[i].partner_id] += split[i];
  }
  return shares;
}

StatementRecord SettlementLedger::build(const std::string& skey, StatementState& s, bool final) const {
  const StatementKey k = split_key(skey);
  StatementRecord r;
  r.partner_id = k.partner;
  r.period = k.period;
  r.currency = k.currency;
  r.revision = s.revision;
  r.accrued_minor = s.accrued_minor;
  r.reversed_minor = s.reversed_minor;
  r.net_minor = s.accrued_minor + s.reversed_minor;
  const auto pools = pool_shares(k.period, k.currency);
  auto pit = pools.find(k.partner);
  r.pool_share_minor = pit == pools.end() ? 0 : pit->second;
  if (const PartnerConfig* p = topology_.partner(k.partner)) {
    MinorUnits c = r.pool_share_minor;
    if (p->contract) {
      c += p->contract->type == ContractType::kTiered ? tiered_commission(*p->contract, r.net_minor)
                                                      : s.record_commission_minor;
    }
    r.commission_minor = c;
  }
  r.records = static_cast<std::int64_t>(s.record_ids.size());
  // Running statements carry no digest (SPEC §5.3): hashing every record id
  // of a period at every emission was quadratic in the period's records.
  if (final) {
    if (s.digest.empty()) s.digest = record_digest(s.record_ids);
    r.digest = s.digest;
  }
  r.final = final;
  return r;
}

void SettlementLedger::close_periods(TimestampMs watermark, std::vector<OutputRecord>& out) {
  while (!open_periods_.empty() && open_periods_.begin()->first <= watermark) {
    for (const std::string& period : open_periods_.begin()->second) {
      const std::string prefix = period + '\0';
      for (auto it = statements_.map().lower_bound(prefix);
           it != statements_.map().end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
        if (it->second.closed) continue;
        StatementState& s = statements_.upsert(it->first);
        s.closed = true;
        out.push_back({statement_output_key(it->first), build(it->first, s, true)});
        dirty_.erase(it->first);
      }
    }
    open_periods_.erase(open_periods_.begin());
  }
}

void SettlementLedger::emit_running(std::vector<OutputRecord>& out, bool running) {
  for (const std::string& skey : dirty_) {
    StatementState* s = statements_.find(skey);
    if (s == nullptr) continue;
    if (s->closed) {
      s->revision += 1;
      statements_.upsert(skey);
      out.push_back({statement_output_key(skey), build(skey, *s, true)});
    } else if (running) {
      out.push_back({statement_output_key(skey), build(skey, *s, false)});
    }
  }
  dirty_.clear();
}

void SettlementLedger::expire(TimestampMs horizon) {
  std::vector<std::string> drop;
  std::set<std::string> live_periods;
  for (const auto& [k, s] : statements_.map()) {
    if (s.closed && s.period_end < horizon && dirty_.count(k) == 0) drop.push_back(k);
    else live_periods.insert(split_key(k).period);
  }
  for (const auto& k : drop) statements_.erase(k);
  drop.clear();
  for (const auto& [k, v] : volumes_.map())
    if (live_periods.count(k.substr(0, k.find('\0'))) == 0) drop.push_back(k);
  for (const auto& k : drop) volumes_.erase(k);
}

void SettlementLedger::reindex() {
  open_periods_.clear();
  for (const auto& [k, s] : statements_.map())
    if (!s.closed) open_periods_[s.period_end].insert(split_key(k).period);
}

}  // namespace alliance

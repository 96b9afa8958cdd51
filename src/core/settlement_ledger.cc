#include "alliance/core/settlement_ledger.h"

#include <algorithm>
#include <iterator>

#include "alliance/core/byte_codec.h"
#include "alliance/core/checked_money.h"
#include "alliance/core/digest.h"

namespace alliance {

std::string statement_key(const std::string& period, const std::string& partner,
                          const std::string& currency) {
  return composite_key(period, partner, currency);
}

std::string volume_key(const std::string& period, const std::string& currency,
                       const std::string& campaign) {
  return composite_key(period, currency, campaign);
}

StatementKey split_statement_key(const std::string& key) {
  KeyPartReader r(key);
  StatementKey k;
  k.period = r.next();
  k.partner = r.next();
  k.currency = r.next();
  if (!r.done()) throw CorruptState("statement key with trailing bytes");
  return k;
}

namespace {

// The Kafka key of SPEC §5.3: partner_id|period|currency.
std::string statement_output_key(const std::string& skey) {
  const StatementKey k = split_statement_key(skey);
  return k.partner + '|' + k.period + '|' + k.currency;
}

/// A statement's digest: of its record ids, or after compaction of the
/// digest they had followed by the ids booked since (docs/SEMANTICS.md).
std::string statement_digest(const StatementState& s, const std::vector<std::string>& ids) {
  if (s.base_digest.empty()) return record_digest(ids);
  if (ids.empty()) return s.base_digest;
  std::string joined = s.base_digest + '\n';
  for (const auto& id : ids) joined.append(id).push_back('\n');
  return sha256_hex(joined);
}

/// The sums one statement would have after an event, for would_overflow.
struct StatementTotals {
  MinorUnits accrued = 0;
  MinorUnits reversed = 0;
  MinorUnits record_commission = 0;
};

}  // namespace

std::string record_digest(const std::vector<std::string>& sorted_ids) {
  const auto& ids = sorted_ids;
  std::string joined;
  for (const auto& id : ids) joined.append(id).push_back('\n');
  return sha256_hex(joined);
}

SettlementLedger::SettlementLedger(const Topology& topology)
    : topology_(topology), balances_(topology), risk_(topology) {
  // Holds (SPEC §3.9): booked commission asks whether its period is held;
  // a hold that starts or ends moves the period's pending buckets.
  balances_.set_hold_query(
      [this](const std::string& partner, const std::string& period) { return risk_.held(partner, period); });
  risk_.set_hold_listener([this](const std::string& partner, const std::string& period, bool held) {
    balances_.set_hold(partner, period, held);
  });
}

std::string SettlementLedger::carried_from(const SettlementRecord& r) const {
  if (!r.reversal || r.accrual_ts <= 0) return {};
  const std::string period = period_of(r.accrual_ts, topology_.settlement_offset, topology_.settlement_period);
  if (period == r.period) return {};
  std::string key = statement_key(period, r.partner_id, r.currency);
  return statements_.find(key) != nullptr ? key : std::string();
}

bool SettlementLedger::would_overflow(const std::vector<SettlementRecord>& records) const {
  std::map<std::string, StatementTotals> statements;  // after the event
  std::map<std::string, CampaignVolume> volumes;      // after the event
  std::set<std::string> affected;                     // statements whose commission changes
  for (const SettlementRecord& r : records) {
    const std::string skey = statement_key(r.period, r.partner_id, r.currency);
    auto [st, fresh] = statements.try_emplace(skey);
    if (fresh) {
      if (const StatementState* s = statements_.find(skey))
        st->second = {s->accrued_minor, s->reversed_minor, s->record_commission_minor};
    }
    StatementTotals& t = st->second;
    if (!try_add(r.reversal ? t.reversed : t.accrued, r.attributed_minor)) return true;
    if (!try_add(t.record_commission, r.commission_minor.value_or(0))) return true;
    if (add_overflows(t.accrued, t.reversed)) return true;  // net_minor
    affected.insert(skey);
    // The balances: the commission this record can move (its own, its
    // tier's and its pool's: rates are at most 10000 bp each) stays in int64.
    if (const PartnerConfig* pc = topology_.partner(r.partner_id); pc != nullptr) {
      const MinorUnits a = r.attributed_minor < 0 ? -r.attributed_minor : r.attributed_minor;
      const MinorUnits c = r.commission_minor.value_or(0) < 0 ? -*r.commission_minor : r.commission_minor.value_or(0);
      bool pooled = false;
      for (const PoolConfig& pool : topology_.pools) pooled = pooled || (r.campaign_id && pool.campaign_id == *r.campaign_id);
      const bool tiered = pc->contract && pc->contract->type == ContractType::kTiered;
      MinorUnits bound = 0;
      if (!try_add(bound, c) || (tiered && !try_add(bound, a)) || (pooled && !try_add(bound, a))) return true;
      if (bound > 0 && balances_.would_overflow(r.partner_id, r.currency, bound)) return true;
      for (const PoolConfig& pool : topology_.pools)
        if (pooled && pool.campaign_id == *r.campaign_id)
          for (const PoolMember& m : pool.members)
            if (balances_.would_overflow(m.partner_id, r.currency, bound)) return true;
    }
    if (!r.campaign_id || topology_.partner(r.partner_id) == nullptr) continue;
    const std::string vkey = volume_key(r.period, r.currency, *r.campaign_id);
    auto [vt, vfresh] = volumes.try_emplace(vkey);
    if (vfresh) {
      if (const CampaignVolume* v = volumes_.find(vkey)) vt->second = *v;
    }
    if (!try_add(vt->second.revenue_minor, r.attributed_minor)) return true;
    if (!try_add(vt->second.by_partner[r.partner_id], r.attributed_minor)) return true;
    for (const PoolConfig& pool : topology_.pools) {
      if (pool.campaign_id != *r.campaign_id) continue;
      for (const PoolMember& m : pool.members) {
        const std::string mkey = statement_key(r.period, m.partner_id, r.currency);
        if (statements_.find(mkey) != nullptr) affected.insert(mkey);
      }
    }
  }
  // Pool shares per (period, currency), computed once however many members.
  std::map<std::pair<std::string, std::string>, std::optional<std::map<std::string, MinorUnits>>> pool_cache;
  for (const std::string& skey : affected) {
    const StatementKey k = split_statement_key(skey);
    const PartnerConfig* p = topology_.partner(k.partner);
    if (p == nullptr) continue;  // unknown partner: commission null
    auto [cached, fresh] = pool_cache.try_emplace({k.period, k.currency});
    if (fresh) {
      cached->second = shares_of_pools(k.period, k.currency, [&](const std::string& vkey) -> const CampaignVolume* {
        auto it = volumes.find(vkey);
        return it != volumes.end() ? &it->second : volumes_.find(vkey);
      });
    }
    const auto& pools = cached->second;
    if (!pools) return true;
    StatementTotals t;
    if (auto it = statements.find(skey); it != statements.end()) {
      t = it->second;
    } else if (const StatementState* s = statements_.find(skey)) {
      t = {s->accrued_minor, s->reversed_minor, s->record_commission_minor};
    }
    auto pit = pools->find(k.partner);
    MinorUnits commission = pit == pools->end() ? 0 : pit->second;
    const std::optional<MinorUnits> net = checked_add(t.accrued, t.reversed);
    if (!net) return true;
    if (p->contract) {
      const MinorUnits contract = p->contract->type == ContractType::kTiered
                                      ? tiered_commission(*p->contract, *net)
                                      : t.record_commission;
      if (!try_add(commission, contract)) return true;
    }
  }
  return false;
}

void SettlementLedger::add(const SettlementRecord& r, TimestampMs period_end) {
  const std::string skey = statement_key(r.period, r.partner_id, r.currency);
  const bool is_new = statements_.find(skey) == nullptr;
  StatementState& s = statements_.upsert(skey);
  if (is_new) {
    s.period_end = period_end;
    open_periods_[period_end].insert(r.period);
  }
  MinorUnits& total = r.reversal ? s.reversed_minor : s.accrued_minor;
  total = add_exact(total, r.attributed_minor);
  s.record_commission_minor = add_exact(s.record_commission_minor, r.commission_minor.value_or(0));
  s.record_count += 1;
  s.record_ids.insert(std::upper_bound(s.record_ids.begin(), s.record_ids.end(), r.record_id), r.record_id);
  s.digest.clear();
  dirty_.insert(skey);
  // A reversal of an accrual from another period undoes its commission at
  // that period's tier rate and pool shares (SPEC §3.6): the accrual's
  // statement carries it out (and publishes a revision once closed).
  const std::string from = carried_from(r);
  if (!from.empty()) {
    s.carried_in_minor = add_exact(s.carried_in_minor, r.attributed_minor);
    StatementState& origin = statements_.upsert(from);
    origin.carried_out_minor = add_exact(origin.carried_out_minor, r.attributed_minor);
    // Only a tiered commission depends on it (pools: through the volume below).
    const PartnerConfig* pc = topology_.partner(r.partner_id);
    if (pc != nullptr && pc->contract && pc->contract->type == ContractType::kTiered) dirty_.insert(from);
  }
  // Only partners the topology knows count in a pool (SPEC §3.5): an
  // invented partner id must not move what pool members are paid.
  const PartnerConfig* partner = topology_.partner(r.partner_id);
  if (r.campaign_id && partner != nullptr) {
    const std::string origin_period = from.empty() ? std::string() : split_statement_key(from).period;
    CampaignVolume* paid = from.empty() ? nullptr : volumes_.find(volume_key(origin_period, r.currency, *r.campaign_id));
    if (paid != nullptr) {
      CampaignVolume& v = volumes_.upsert(volume_key(origin_period, r.currency, *r.campaign_id));
      v.carried_out_minor = add_exact(v.carried_out_minor, r.attributed_minor);
      mark_pool_members_dirty(origin_period, r.currency, *r.campaign_id);
    } else {
      CampaignVolume& v = volumes_.upsert(volume_key(r.period, r.currency, *r.campaign_id));
      v.revenue_minor = add_exact(v.revenue_minor, r.attributed_minor);
      MinorUnits& mine = v.by_partner[r.partner_id];
      mine = add_exact(mine, r.attributed_minor);
      mark_pool_members_dirty(r.period, r.currency, *r.campaign_id);
    }
  }
  // Percent and flat commission enters the balance with its record; tiered
  // and pool commission at period close (book_closing).
  if (partner != nullptr && partner->contract && partner->contract->type != ContractType::kTiered &&
      r.commission_minor) {
    const TimestampMs accrual = r.reversal && r.accrual_ts > 0 ? r.accrual_ts : r.event_ts;
    balances_.book(r.partner_id, r.currency, *r.commission_minor, accrual,
                   period_of(accrual, topology_.settlement_offset, topology_.settlement_period));
  }
  risk_.book(r);
}

void SettlementLedger::book_closing(StatementState& s, const StatementRecord& r) {
  const PartnerConfig* p = topology_.partner(r.partner_id);
  if (p == nullptr || !r.commission_minor) return;
  const bool tiered = p->contract && p->contract->type == ContractType::kTiered;
  const MinorUnits closing = tiered ? *r.commission_minor : r.pool_share_minor;
  const MinorUnits delta = add_exact(closing, -s.balance_booked_minor);
  if (delta == 0) return;
  // Computed at period close: pending from the period end (SPEC §3.8).
  balances_.book(r.partner_id, r.currency, delta, s.period_end, r.period);
  s.balance_booked_minor = closing;
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

std::int64_t SettlementLedger::tier_rate(const Contract& c, MinorUnits net) {
  std::int64_t rate = c.tiers.empty() ? 0 : c.tiers.front().rate_bp;
  // The highest tier the total reaches: tier k applies above tier k-1's bound.
  for (std::size_t i = 1; i < c.tiers.size(); ++i) {
    const auto& prev_bound = c.tiers[i - 1].up_to_minor;
    if (prev_bound && net > *prev_bound) rate = c.tiers[i].rate_bp;
  }
  return rate;
}

MinorUnits SettlementLedger::tiered_commission(const Contract& c, MinorUnits net) {
  return round_half_even_div(static_cast<__int128>(net) * tier_rate(c, net), 10'000);
}

template <class VolumeOf>
std::optional<std::map<std::string, MinorUnits>> SettlementLedger::shares_of_pools(
    const std::string& period, const std::string& currency, VolumeOf volume_of) const {
  std::map<std::string, MinorUnits> shares;
  for (const PoolConfig& pool : topology_.pools) {
    const CampaignVolume* v = volume_of(volume_key(period, currency, pool.campaign_id));
    if (v == nullptr || v->revenue_minor <= 0) continue;
    // Reversals from later periods shrink the pool; its split keeps the
    // shares it was paid at (SPEC §3.6). pool_bp <= 10000, so the pool
    // never exceeds the revenue.
    const MinorUnits base = v->revenue_minor + v->carried_out_minor;  // 0 <= base <= revenue
    if (base <= 0) continue;
    const MinorUnits amount = round_half_even_div(static_cast<__int128>(base) * pool.pool_bp, 10'000);
    std::vector<__int128> weights;  // P_i·G_i < 2^63 · 2^63: split_by_integers is exact
    for (const PoolMember& m : pool.members) {
      auto it = v->by_partner.find(m.partner_id);
      const MinorUnits g = it == v->by_partner.end() ? 0 : std::max<MinorUnits>(it->second, 0);
      weights.push_back(static_cast<__int128>(std::max<std::int64_t>(m.weight, 0)) * g);
    }
    const std::vector<MinorUnits> split = split_by_integers(amount, weights);
    for (std::size_t i = 0; i < pool.members.size(); ++i)
      if (!try_add(shares[pool.members[i].partner_id], split[i])) return std::nullopt;
  }
  return shares;
}

std::map<std::string, MinorUnits> SettlementLedger::pool_shares(const std::string& period,
                                                                const std::string& currency) const {
  auto shares = shares_of_pools(period, currency, [&](const std::string& k) { return volumes_.find(k); });
  if (!shares) throw MoneyOverflow("pool shares of " + period + " " + currency + " leave int64 after their pre-check");
  return std::move(*shares);
}

StatementRecord SettlementLedger::build(const std::string& skey, StatementState& s, bool final) const {
  const StatementKey k = split_statement_key(skey);
  StatementRecord r;
  r.partner_id = k.partner;
  r.period = k.period;
  r.currency = k.currency;
  r.revision = s.revision;
  r.accrued_minor = s.accrued_minor;
  r.reversed_minor = s.reversed_minor;
  r.net_minor = add_exact(s.accrued_minor, s.reversed_minor);
  const auto pools = pool_shares(k.period, k.currency);
  auto pit = pools.find(k.partner);
  r.pool_share_minor = pit == pools.end() ? 0 : pit->second;
  if (const PartnerConfig* p = topology_.partner(k.partner)) {
    MinorUnits c = r.pool_share_minor;
    if (p->contract) {
      r.contract_id = p->contract->id;
      if (p->contract->type == ContractType::kTiered) {
        // The tier is reached by this period's own accruals net of their
        // own reversals; reversals of other periods' accruals are charged
        // there, and this period's accruals reversed later are taken out
        // at this period's rate (SPEC §3.6).
        const MinorUnits basis = r.net_minor - s.carried_in_minor;
        const MinorUnits effective = basis + s.carried_out_minor;
        const std::int64_t rate = tier_rate(*p->contract, basis);
        r.rate_bp = rate;
        c = add_exact(c, round_half_even_div(static_cast<__int128>(effective) * rate, 10'000));
      } else {
        c = add_exact(c, s.record_commission_minor);
      }
    }
    r.commission_minor = c;
  }
  r.period_end = s.period_end;
  r.period_start = period_start(s.period_end - 1, topology_.settlement_offset, topology_.settlement_period);
  r.records = s.record_count;
  // Running statements carry no digest (SPEC §5.3): hashing every record id
  // of a period at every emission was quadratic in the period's records.
  if (final) {
    if (s.digest.empty()) s.digest = digest_of(skey, s);
    r.digest = s.digest;
  }
  r.final = final;
  return r;
}

void SettlementLedger::close_periods(TimestampMs watermark, std::vector<OutputRecord>& out) {
  while (!open_periods_.empty() && open_periods_.begin()->first <= watermark) {
    for (const std::string& period : open_periods_.begin()->second) {
      const std::string prefix = composite_key(period);
      for (auto it = statements_.map().lower_bound(prefix);
           it != statements_.map().end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
        if (it->second.closed) continue;
        StatementState& s = statements_.upsert(it->first);
        s.closed = true;
        StatementRecord r = build(it->first, s, true);
        book_closing(s, r);
        out.push_back({statement_output_key(it->first), std::move(r)});
        dirty_.erase(it->first);
      }
    }
    open_periods_.erase(open_periods_.begin());
  }
  risk_.close_periods(watermark, out);
}

void SettlementLedger::emit_running(std::vector<OutputRecord>& out, bool running) {
  dirty_.for_each_sorted([&](const std::string& skey) {
    StatementState* s = statements_.find(skey);
    if (s == nullptr) return;
    if (s->closed) {
      s->revision += 1;
      statements_.upsert(skey);
      StatementRecord r = build(skey, *s, true);
      book_closing(*s, r);
      out.push_back({statement_output_key(skey), std::move(r)});
    } else if (running) {
      out.push_back({statement_output_key(skey), build(skey, *s, false)});
    }
  });
  dirty_.clear();
  // Risk before balances: a hold it starts or ends changes them.
  risk_.emit_running(out, running);
  // Balances are an upsert stream of current values in either emit mode.
  balances_.emit(out);
}

void SettlementLedger::expire(TimestampMs horizon) {
  // Compaction, not deletion: a statement's totals, count and revision must
  // outlive its record ids, or a very late record would restart revisions at
  // 1 with partial totals. The pool volumes of the period stay for the same
  // reason (a late record re-splits the pool over the full period).
  std::vector<std::string> compact;
  for (const auto& [k, s] : statements_.map())
    if (s.closed && s.period_end < horizon && (!s.record_ids.empty() || s.stored_ids > 0) && dirty_.count(k) == 0)
      compact.push_back(k);
  for (const auto& k : compact) {
    StatementState& s = statements_.upsert(k);
    std::vector<std::string> ids = all_ids(k, s);
    s.base_digest = statement_digest(s, ids);
    s.digest = s.base_digest;
    // The stored ones go from the store too; ids not yet written never reach it.
    if (id_loader_ && s.stored_ids > 0) s.dropped_ids = id_loader_(k);
    s.stored_ids = 0;
    s.record_ids.clear();
    s.record_ids.shrink_to_fit();
  }
}

std::vector<std::string> SettlementLedger::all_ids(const std::string& skey, const StatementState& s) const {
  if (!id_loader_ || s.stored_ids == 0) return s.record_ids;
  std::vector<std::string> stored = id_loader_(skey);
  std::vector<std::string> all;
  all.reserve(stored.size() + s.record_ids.size());
  std::merge(stored.begin(), stored.end(), s.record_ids.begin(), s.record_ids.end(), std::back_inserter(all));
  return all;
}

std::string SettlementLedger::digest_of(const std::string& skey, const StatementState& s) const {
  return statement_digest(s, all_ids(skey, s));
}

void SettlementLedger::reindex() {
  risk_.reindex();
  open_periods_.clear();
  for (const auto& [k, s] : statements_.map())
    if (!s.closed) open_periods_[s.period_end].insert(split_statement_key(k).period);
}

}  // namespace alliance

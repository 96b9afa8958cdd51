#include "alliance/core/partner_balances.h"

#include <algorithm>

#include "alliance/core/byte_codec.h"
#include "alliance/core/checked_money.h"

namespace alliance {

std::string balance_key(const std::string& partner, const std::string& currency) {
  return composite_key(partner, currency);
}

std::string balance_output_key(const std::string& key) {
  KeyPartReader r(key);
  std::string partner = r.next();
  std::string currency = r.next();
  if (!r.done()) throw CorruptState("balance key with trailing bytes");
  return partner + '|' + currency;
}

namespace {

/// accrual_ts + holding without leaving the time range.
TimestampMs maturity(TimestampMs accrual_ts, DurationMs holding) {
  TimestampMs m = 0;
  return __builtin_add_overflow(accrual_ts, holding, &m) ? kEndOfTime : m;
}

bool fits(MinorUnits total, MinorUnits bound) {
  return add_overflows(total, bound) == false && add_overflows(total, -bound) == false;
}

}  // namespace

PartnerBalances::PartnerBalances(const Topology& topology) : topology_(topology) {}

bool PartnerBalances::would_overflow(const std::string& partner, const std::string& currency,
                                     MinorUnits bound) const {
  if (bound < 0) return true;  // |amount| itself did not fit
  const BalanceState* b = balances_.find(balance_key(partner, currency));
  if (b == nullptr) return false;
  if (!fits(b->accrued_minor, bound) || !fits(b->reversed_minor, bound) || !fits(b->pending_minor, bound) ||
      !fits(b->payable_minor, bound))
    return true;
  // A pending bucket is a sum of some of the bookings: between the sum of
  // the negative ones (reversed) and of the positive ones (accrued), so the
  // two checks above bound it too; no walk over the buckets per event (it
  // was quadratic: 82 % of a 5 M-event replay).
  return false;
}

void PartnerBalances::book(const std::string& partner, const std::string& currency, MinorUnits amount,
                           TimestampMs accrual_ts, const std::string& period) {
  if (amount == 0) return;
  const std::string key = balance_key(partner, currency);
  BalanceState& b = balances_.upsert(key);
  dirty_.insert(key);
  if (amount > 0) b.accrued_minor = add_exact(b.accrued_minor, amount);
  else b.reversed_minor = add_exact(b.reversed_minor, amount);
  const DurationMs holding = topology_.holding_of(partner);
  const TimestampMs due = maturity(accrual_ts, holding);
  if (held_ && held_(partner, period)) {
    // Held by partner risk: pending whatever its maturity (SPEC §3.9).
    add_pending(b, b.held, MaturityKey{due, period}, amount);
    b.held_minor = add_exact(b.held_minor, amount);
    return;
  }
  // A reversal reduces pending while its accrual is pending, payable after
  // (SPEC §3.8); with a 0s holding period commission is payable at once.
  if (holding == 0 || due <= std::max(watermark_, b.matured_through)) {
    b.payable_minor = add_exact(b.payable_minor, amount);
    return;
  }
  add_pending(b, b.by_maturity, MaturityKey{due, period}, amount);
  next_due_ = std::min(next_due_, due);
}

void PartnerBalances::add_pending(BalanceState& b, PendingBuckets& buckets, const MaturityKey& mk,
                                  MinorUnits amount) {
  MinorUnits& bucket = buckets.upsert(mk);
  bucket = add_exact(bucket, amount);
  if (bucket == 0) buckets.erase(mk);
  if (balances_.tracking()) b.changed_dues.insert(mk);
  b.pending_minor = add_exact(b.pending_minor, amount);
}

void PartnerBalances::set_hold(const std::string& partner, const std::string& period, bool held) {
  const std::string prefix = composite_key(partner);
  std::vector<std::string> keys;
  for (auto it = balances_.map().lower_bound(prefix);
       it != balances_.map().end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it)
    keys.push_back(it->first);
  for (const std::string& key : keys) {
    BalanceState& b = balances_.upsert(key);
    PendingBuckets& from = held ? b.by_maturity : b.held;
    const std::vector<PendingBucket> moving = from.take_period(period);
    const bool moved = !moving.empty();
    for (const auto& [mk, amount] : moving) {
      if (balances_.tracking()) b.changed_dues.insert(mk);
      if (held) {
        MinorUnits& to = b.held.upsert(mk);
        to = add_exact(to, amount);
        b.held_minor = add_exact(b.held_minor, amount);
        continue;
      }
      // Released: it matures by its normal rule, at once if already due.
      b.held_minor = add_exact(b.held_minor, -amount);
      if (mk.first <= std::max(watermark_, b.matured_through)) {
        b.pending_minor = add_exact(b.pending_minor, -amount);
        b.payable_minor = add_exact(b.payable_minor, amount);
      } else {
        MinorUnits& to = b.by_maturity.upsert(mk);
        to = add_exact(to, amount);
        next_due_ = std::min(next_due_, mk.first);
      }
    }
    if (moved) dirty_.insert(key);
  }
}

void PartnerBalances::release(BalanceState& b, TimestampMs through) {
  for (const PendingBucket* first = b.by_maturity.first(); first != nullptr && first->key.first <= through;
       first = b.by_maturity.first()) {
    const MinorUnits amount = first->amount;
    // Moving within one balance: both totals stay between 0 and the sum of its bookings.
    b.pending_minor = add_exact(b.pending_minor, -amount);
    b.payable_minor = add_exact(b.payable_minor, amount);
    if (balances_.tracking()) b.changed_dues.insert(first->key);
    b.by_maturity.erase_first();
  }
}

void PartnerBalances::mature(TimestampMs watermark) {
  watermark_ = std::max(watermark_, watermark);
  if (watermark_ < next_due_) return;
  next_due_ = INT64_MAX;
  std::vector<std::string> due;
  for (const auto& [key, b] : balances_.map()) {
    const PendingBucket* first = b.by_maturity.first();
    if (first == nullptr) continue;
    if (first->key.first <= watermark_) due.push_back(key);
    else next_due_ = std::min(next_due_, first->key.first);
  }
  for (const std::string& key : due) {
    BalanceState& b = balances_.upsert(key);
    dirty_.insert(key);
    release(b, watermark_);
    if (const PendingBucket* first = b.by_maturity.first()) next_due_ = std::min(next_due_, first->key.first);
  }
}

std::optional<PayoutRefusal> PartnerBalances::pay(const Payout& p, TimestampMs ts) {
  if (topology_.partner(p.partner_id) == nullptr)
    return PayoutRefusal{"unknown_partner", "payout " + p.payout_id + ": the topology has no partner " + p.partner_id};
  if (const std::string* seen = payouts_.find(p.payout_id))
    return PayoutRefusal{"duplicate_payout", "payout " + p.payout_id + " was already applied (to " +
                                                 balance_output_key(*seen) + ")"};
  const std::string key = balance_key(p.partner_id, p.currency);
  const BalanceState* current = balances_.find(key);
  // What is payable at the payout's own time: commission whose holding
  // period ended by then, but a payout's time matures nothing beyond the
  // watermark: one dated in the future (9999-12-31) does not pay
  // commission the stream has not matured (docs/FINANCE.md).
  const TimestampMs through = std::min(ts, watermark_);
  MinorUnits payable = current != nullptr ? current->payable_minor : 0;
  if (current != nullptr) {
    bool fits = true;
    current->by_maturity.for_each([&](const PendingBucket& due) {
      if (due.key.first > through) return false;
      fits = try_add(payable, due.amount);
      return fits;
    });
    if (!fits) return PayoutRefusal{"amount_overflow", "payout " + p.payout_id + ": payable leaves int64"};
  }
  if (p.amount_minor > payable)
    return PayoutRefusal{"payout_exceeds_payable", "payout " + p.payout_id + " of " + std::to_string(p.amount_minor) +
                                                       " " + p.currency + " to " + p.partner_id + " exceeds payable " +
                                                       std::to_string(payable)};
  if (current != nullptr && add_overflows(current->paid_minor, p.amount_minor))
    return PayoutRefusal{"amount_overflow", "payout " + p.payout_id + ": paid would leave int64"};
  BalanceState& b = balances_.upsert(key);
  release(b, through);
  b.matured_through = std::max(b.matured_through, through);
  b.payable_minor = add_exact(b.payable_minor, -p.amount_minor);
  b.paid_minor = add_exact(b.paid_minor, p.amount_minor);
  b.last_payout_id = p.payout_id;
  payouts_.upsert(p.payout_id) = key;
  dirty_.insert(key);
  return std::nullopt;
}

BalanceRecord PartnerBalances::record(const std::string& key, const BalanceState& b) const {
  KeyPartReader r(key);
  BalanceRecord out;
  out.partner_id = r.next();
  out.currency = r.next();
  out.accrued_minor = b.accrued_minor;
  out.reversed_minor = b.reversed_minor;
  out.pending_minor = b.pending_minor;
  out.payable_minor = b.payable_minor;
  out.paid_minor = b.paid_minor;
  out.held_minor = b.held_minor;
  out.last_payout_id = b.last_payout_id;
  // A real time, never a sentinel: before the first event (or while the
  // largest event time is within the grace of 1970) it is 0 (SPEC §5.5,
  // docs/FINANCE.md).
  out.watermark = std::clamp<TimestampMs>(watermark_, 0, kMaxTimestampMs);
  return out;
}

void PartnerBalances::emit(std::vector<OutputRecord>& out) {
  dirty_.for_each_sorted([&](const std::string& key) {
    if (const BalanceState* b = balances_.find(key)) out.push_back({balance_output_key(key), record(key, *b)});
  });
  dirty_.clear();
}

void PartnerBalances::reindex() {
  next_due_ = INT64_MAX;
  for (const auto& [key, b] : balances_.map())
    if (const PendingBucket* first = b.by_maturity.first()) next_due_ = std::min(next_due_, first->key.first);
}

}  // namespace alliance

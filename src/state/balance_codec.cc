#include "alliance/state/balance_codec.h"

#include <string>

#include "alliance/state/state_codec.h"
#include "alliance/state/state_tables.h"

namespace alliance {


std::string encode_balance(const BalanceState& b) {
  ByteWriter w = value_writer(Cf::kBalances);
  w.i64(b.accrued_minor).i64(b.reversed_minor).i64(b.pending_minor).i64(b.payable_minor).i64(b.paid_minor);
  // The pending buckets are the maturities table's keys.
  w.i64(b.matured_through).str(b.last_payout_id);
  return w.take();
}

BalanceState decode_balance(std::string_view v) {
  ByteReader r(value_payload(Cf::kBalances, v));
  BalanceState b;
  b.accrued_minor = r.i64();
  b.reversed_minor = r.i64();
  b.pending_minor = r.i64();
  b.payable_minor = r.i64();
  b.paid_minor = r.i64();
  b.matured_through = r.i64();
  b.last_payout_id = r.str();
  if (!r.done()) throw CorruptState("balance with trailing bytes");
  return b;
}

void collect_balance_changes(PartnerBalances& balances, StateChanges& out) {
  balances.balances().drain_changes([&](const std::string& k, BalanceState* b) {
    out.push_back(StateChange{Cf::kBalances, k, b ? std::optional<std::string>(encode_balance(*b)) : std::nullopt});
    if (b == nullptr) return;
    // One key per pending bucket (balance key, be64 due, period): a commit
    // writes the buckets it changed; a held one carries a 1 after its amount.
    for (const MaturityKey& due : b->changed_dues) {
      std::string mk = k;
      put_be64(mk, due.first);
      mk.append(due.second);
      std::optional<std::string> v;
      if (const MinorUnits* amount = b->by_maturity.find(due))
        v = value_writer(Cf::kMaturities).i64(*amount).take();
      else if (const MinorUnits* held = b->held.find(due))
        v = value_writer(Cf::kMaturities).i64(*held).u8(1).take();
      out.push_back(StateChange{Cf::kMaturities, std::move(mk), std::move(v)});
    }
    b->changed_dues.clear();
  });
  balances.payouts().drain_changes([&](const std::string& k, const std::string* v) {
    out.push_back(StateChange{Cf::kPayouts, k, v ? std::optional<std::string>(value_writer(Cf::kPayouts).take() + *v) : std::nullopt});
  });
  out.push_back(StateChange{Cf::kMeta, std::string(kDirtyBalancesKey), encode_key_set(balances.dirty())});
}

void restore_balance_entry(PartnerBalances& balances, Cf cf, const std::string& key, std::string_view v) {
  if (cf == Cf::kBalances) {
    balances.balances().restore(key, decode_balance(v));
  } else if (cf == Cf::kMaturities) {
    // Balances are restored before their buckets (column family order).
    KeyPartReader kr(key);
    kr.next();
    kr.next();
    const std::string_view rest = kr.rest();
    if (rest.size() < 8) throw CorruptState("maturity key without its due time");
    BalanceState* b = balances.balances().find(key.substr(0, key.size() - rest.size()));
    if (b == nullptr) throw CorruptState("pending bucket of a balance that does not exist");
    ByteReader r(value_payload(Cf::kMaturities, v));
    const MinorUnits amount = r.i64();
    const bool held = !r.done() && r.u8() == 1;
    if (!r.done()) throw CorruptState("pending bucket with trailing bytes");
    const MaturityKey mk{get_be64(rest), std::string(rest.substr(8))};
    if (held) {
      b->held.upsert(mk) = amount;
      // Restored from a store: sums of restored int64 buckets may not fit.
      if (__builtin_add_overflow(b->held_minor, amount, &b->held_minor))
        throw CorruptState("held commission outside int64");
    } else {
      b->by_maturity.upsert(mk) = amount;
    }
  } else {
    balances.payouts().restore(key, std::string(value_payload(Cf::kPayouts, v)));
  }
}

void append_statement_finance(ByteWriter& w, const StatementState& s) {
  w.i64(s.carried_in_minor).i64(s.carried_out_minor).i64(s.balance_booked_minor);
}

void read_statement_finance(ByteReader& r, StatementState& s) {
  if (r.done()) return;
  s.carried_in_minor = r.i64();
  s.carried_out_minor = r.i64();
  s.balance_booked_minor = r.i64();
}

void append_volume_finance(ByteWriter& w, const CampaignVolume& v) { w.i64(v.carried_out_minor); }

void read_volume_finance(ByteReader& r, CampaignVolume& v) {
  if (!r.done()) v.carried_out_minor = r.i64();
}

}  // namespace alliance

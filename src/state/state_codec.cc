#include "alliance/state/state_codec.h"

#include <map>
#include <unordered_set>

#include "alliance/core/byte_codec.h"
#include "alliance/core/forward_record.h"
#include "alliance/state/balance_codec.h"
#include "alliance/state/risk_codec.h"
#include "alliance/state/state_tables.h"
#include "alliance/state/user_codec.h"

namespace alliance {

std::string_view cf_name(Cf cf) { return table_spec(cf).name; }

std::string merge_values(Cf cf, const std::string_view* base, const std::string_view* appends, std::size_t n) {
  if (cf != Cf::kUsers) throw CorruptState("an append to state table " + std::string(cf_name(cf)) + ", which has none");
  return merge_user(base, appends, n);
}

std::string unknown_format_message(Cf cf, std::uint8_t found) {
  const TableSpec& t = table_spec(cf);
  return "state table \"" + std::string(t.name) + "\" holds a value of format " + std::to_string(found) +
         "; this alliance reads format " + std::to_string(t.format) +
         ": the state was written by another version of alliance. Move the state directory away and let "
         "alliance rebuild it (from the changelog in `alliance run`, from the input in replay)";
}

ByteWriter value_writer(Cf cf) {
  ByteWriter w;
  w.u8(table_spec(cf).format);
  return w;
}

std::string_view value_payload(Cf cf, std::string_view v) {
  if (v.empty()) throw CorruptState("an empty value in state table " + std::string(cf_name(cf)));
  const auto found = static_cast<std::uint8_t>(v[0]);
  if (found != table_spec(cf).format) throw CorruptState(unknown_format_message(cf, found));
  return v.substr(1);
}

StateError corrupt_value_error(Cf cf, const CorruptState& e) {
  return StateError("state table \"" + std::string(cf_name(cf)) + "\" holds a value it cannot decode (" + e.what() +
                    "); the state directory is corrupt or from another version");
}

namespace {
ByteReader value_reader(Cf cf, std::string_view v) { return ByteReader(value_payload(cf, v)); }
}  // namespace

std::string encode_key_set(const DirtyKeys& s) {
  // The bytes a std::set<std::string> gave: count, then the keys in sorted order.
  ByteWriter w;
  w.i64(static_cast<std::int64_t>(s.size()));
  s.for_each_sorted([&](const std::string& k) { w.str(k); });
  return w.take();
}

void decode_key_set(std::string_view v, DirtyKeys& out) {
  ByteReader r(v);
  out.clear();
  for (std::int64_t i = 0, n = r.i64(); i < n; ++i) out.insert(r.str());
}

std::string encode_changelog(const StateChanges& changes) {
  ByteWriter w;
  w.i64(static_cast<std::int64_t>(changes.size()));
  // Per change: column family, key, then 0 (delete), 1 and the value, or 2
  // and an append.
  for (const auto& c : changes) {
    w.u8(static_cast<std::uint8_t>(c.cf)).str(c.key).u8(c.value ? (c.merge ? 2 : 1) : 0);
    if (c.value) w.str(*c.value);
  }
  return w.take();
}

StateChanges decode_changelog(std::string_view bytes) {
  ByteReader r(bytes);
  StateChanges out;
  const std::int64_t n = r.i64();
  for (std::int64_t i = 0; i < n; ++i) {
    StateChange c{};
    const std::uint8_t cf = r.u8();
    if (cf >= kCfCount) throw CorruptState("unknown column family in changelog");
    c.cf = static_cast<Cf>(cf);
    c.key = r.str();
    const std::uint8_t op = r.u8();
    if (op > 2 || (op == 2 && cf != static_cast<std::uint8_t>(Cf::kUsers)))
      throw CorruptState("unknown change kind in changelog");
    if (op != 0) c.value = r.str();
    c.merge = op == 2;
    out.push_back(std::move(c));
  }
  return out;
}

namespace {

// ---- value encodings ----------------------------------------------------

std::string encode(const OrderState& o) {
  ByteWriter w = value_writer(Cf::kOrders);
  w.i64(o.last_ts);  // the expiry time first (compaction filter)
  w.u8(static_cast<std::uint8_t>(o.phase)).str(o.user_id).i64(static_cast<std::int64_t>(o.event_ids.size()));
  for (const auto& id : o.event_ids) w.str(id);
  w.str(o.currency).i64(o.amount_minor).i64(o.completed_ts)
      .str(o.model).i64(o.refunded_minor).i64(o.applied_reversals)
      .i64(static_cast<std::int64_t>(o.partners.size()));
  for (const auto& p : o.partners)
    w.str(p.partner_id).opt_str(p.campaign_id).opt_str(p.contract_id).i64(p.weight_micros)
        .i64(p.attributed_minor).opt_i64(p.commission_minor).i64(p.reversed_minor)
        .i64(p.commission_reversed_minor).i64(static_cast<std::int64_t>(p.touchpoint_ids.size()));
  for (const auto& p : o.partners)
    for (const auto& id : p.touchpoint_ids) w.str(id);
  w.i64(static_cast<std::int64_t>(o.dims.size()));
  for (const auto& d : o.dims)
    w.u8(static_cast<std::uint8_t>(d.dim)).str(d.key).i64(d.amount_minor).i64(d.reversed_minor);
  return w.take();
}

OrderState decode_order(std::string_view v) {
  ByteReader r = value_reader(Cf::kOrders, v);
  OrderState o;
  o.last_ts = r.i64();
  o.phase = static_cast<OrderPhase>(r.u8());
  o.user_id = r.str();
  for (std::int64_t i = 0, n = r.i64(); i < n; ++i) o.event_ids.push_back(r.str());
  o.currency = r.str();
  o.amount_minor = r.i64();
  o.completed_ts = r.i64();
  o.model = r.str();
  o.refunded_minor = r.i64();
  o.applied_reversals = r.i64();
  for (std::int64_t i = 0, n = r.i64(); i < n; ++i) {
    PartnerShare p;
    p.partner_id = r.str();
    p.campaign_id = r.opt_str();
    p.contract_id = r.opt_str();
    p.weight_micros = r.i64();
    p.attributed_minor = r.i64();
    p.commission_minor = r.opt_i64();
    p.reversed_minor = r.i64();
    p.commission_reversed_minor = r.i64();
    // Each id takes at least its 8-byte length: a larger count is corrupt
    // (not a length_error or a huge allocation; found by fuzz_state_restore).
    const std::int64_t ids = r.i64();
    if (ids < 0 || static_cast<std::uint64_t>(ids) > r.remaining() / 8)
      throw CorruptState("touchpoint id count " + std::to_string(ids) + " beyond the value");
    p.touchpoint_ids.resize(static_cast<std::size_t>(ids));
    o.partners.push_back(std::move(p));
  }
  for (auto& p : o.partners)
    for (auto& id : p.touchpoint_ids) id = r.str();
  for (std::int64_t i = 0, n = r.i64(); i < n; ++i) {
    DimShare d;
    d.dim = static_cast<Dim>(r.u8());
    d.key = r.str();
    d.amount_minor = r.i64();
    d.reversed_minor = r.i64();
    o.dims.push_back(std::move(d));
  }
  return o;
}

std::string encode(const WindowAggregate& a, Cf cf) {
  ByteWriter w = value_writer(cf);
  w.i64(a.clicks).i64(a.referrals).i64(a.orders).i64(a.conversions_micros).i64(a.late_events)
      .i64(a.unique_users).i64(a.buyers).i64(a.repeat_buyers).i64(a.as_of)
      ;
  w.i64(static_cast<std::int64_t>(a.money.size()));
  for (const auto& [c, m] : a.money) w.str(c).i64(m.revenue_minor).i64(m.refunds_minor);
  return w.take();
}

WindowAggregate decode_window(std::string_view v, Cf cf) {
  ByteReader r = value_reader(cf, v);
  WindowAggregate a;
  a.clicks = r.i64();
  a.referrals = r.i64();
  a.orders = r.i64();
  a.conversions_micros = r.i64();
  a.late_events = r.i64();
  a.unique_users = r.i64();
  a.buyers = r.i64();
  a.repeat_buyers = r.i64();
  a.as_of = r.i64();
  for (std::int64_t i = 0, n = r.i64(); i < n; ++i) {
    std::string c = r.str();
    MoneyTotals m;
    m.revenue_minor = r.i64();
    m.refunds_minor = r.i64();
    a.money.emplace(std::move(c), m);
  }
  return a;
}

/// The statement without its record ids (one key each in statement_ids).
std::string encode(const StatementState& s) {
  ByteWriter w = value_writer(Cf::kStatements);
  w.i64(s.period_end).i64(s.accrued_minor).i64(s.reversed_minor).i64(s.record_commission_minor)
      .i64(s.revision).u8(s.closed ? 1 : 0).i64(s.record_count).str(s.base_digest).i64(s.stored_ids);
  append_statement_finance(w, s);
  return w.take();
}

StatementState decode_statement(std::string_view v) {
  ByteReader r = value_reader(Cf::kStatements, v);
  StatementState s;
  s.period_end = r.i64();
  s.accrued_minor = r.i64();
  s.reversed_minor = r.i64();
  s.record_commission_minor = r.i64();
  s.revision = r.i64();
  s.closed = r.u8() != 0;
  s.record_count = r.i64();
  s.base_digest = r.str();
  s.stored_ids = r.i64();
  read_statement_finance(r, s);
  return s;
}

std::string encode(const CampaignVolume& v) {
  ByteWriter w = value_writer(Cf::kVolumes);
  w.i64(v.revenue_minor).i64(static_cast<std::int64_t>(v.by_partner.size()));
  for (const auto& [p, a] : v.by_partner) w.str(p).i64(a);
  append_volume_finance(w, v);
  return w.take();
}

CampaignVolume decode_volume(std::string_view v) {
  ByteReader r = value_reader(Cf::kVolumes, v);
  CampaignVolume c;
  c.revenue_minor = r.i64();
  for (std::int64_t i = 0, n = r.i64(); i < n; ++i) {
    std::string p = r.str();
    c.by_partner[p] = r.i64();
  }
  read_volume_finance(r, c);
  return c;
}

/// be64(len(window key)) · window key · the user's 128-bit fingerprint.
std::string window_user_key(const std::string& wkey, const UserFingerprint& f) {
  std::string k;
  put_be64(k, static_cast<std::int64_t>(wkey.size()));
  k.append(wkey);
  put_be64(k, static_cast<std::int64_t>(f.hi));
  put_be64(k, static_cast<std::int64_t>(f.lo));
  return k;
}

std::string encode_i64(Cf cf, std::int64_t v) { return value_writer(cf).i64(v).take(); }
std::int64_t decode_i64(Cf cf, std::string_view v) {
  ByteReader r = value_reader(cf, v);
  const std::int64_t x = r.i64();
  if (!r.done()) throw CorruptState("trailing bytes in a " + std::string(cf_name(cf)) + " value");
  return x;
}

std::string encode(const CampaignUser& c) {
  return value_writer(Cf::kCampaignUsers).i64(c.completed_orders).i64(c.last_order_ts).take();
}
CampaignUser decode_campaign_user(std::string_view v) {
  ByteReader r = value_reader(Cf::kCampaignUsers, v);
  CampaignUser c;
  c.completed_orders = r.i64();
  c.last_order_ts = r.i64();
  return c;
}

std::string encode(const ProcessorClock& c) {
  return ByteWriter().i64(c.stream_time).i64(c.emit_tick).i64(c.sweep_tick).u8(c.finished ? 1 : 0).i64(c.swept_at).take();
}


template <class Table, class Encode>
void drain(Table& t, Cf cf, StateChanges& out, Encode enc) {
  t.drain_changes([&](const std::string& k, const auto* v) {
    out.push_back(StateChange{cf, k, v ? std::optional<std::string>(enc(*v)) : std::nullopt});
  });
}

}  // namespace

void collect_changes(Processor& p, StateChanges& out) {
  auto by_encode = [](const auto& v) { return encode(v); };
  // A user's list is written whole when the store's copy is unknown or was
  // written whole more than user_rewrite_interval() before its newest
  // event; otherwise as an append of what changed (docs/STATE.md "Users:
  // appends").
  const Topology& topo = p.topology();
  const DurationMs rewrite = user_rewrite_interval(topo.lookback, topo.grace);
  p.users().drain_changes([&](const std::string& k, UserTouchpoints* u) {
    if (u == nullptr) {
      out.push_back(StateChange{Cf::kUsers, k, std::nullopt});
    } else if (u->anchor() == UserTouchpoints::kNoAnchor || u->newest_ts() - u->anchor() > rewrite) {
      u->shipped_whole();
      out.push_back(StateChange{Cf::kUsers, k, encode_user(*u)});
    } else {
      out.push_back(StateChange{Cf::kUsers, k, encode_user_append(*u, topo.max_touchpoints, topo.lookback), true});
      u->shipped_append();
    }
  });
  drain(p.orders(), Cf::kOrders, out, by_encode);
  drain(p.dedupe(), Cf::kDedupe, out, [](TimestampMs ts) { return encode_i64(Cf::kDedupe, ts); });
  drain(p.learned_codes(), Cf::kCodes, out, [](const std::string& s) { return value_writer(Cf::kCodes).take() + s; });
  // New members of a window are written as one chunk per commit (key: the
  // chunk's first member; value: the members' fingerprints, 16 bytes each);
  // closing a window deletes its chunks. A window opened and closed within
  // one commit never reaches the store (nor do its members).
  StateChanges chunks;
  p.metrics().windows().drain_changes([&](const std::string& k, WindowAggregate* a) {
    out.push_back(StateChange{Cf::kWindows, k, a ? std::optional<std::string>(encode(*a, Cf::kWindows)) : std::nullopt});
    if (a == nullptr || a->new_members.empty()) return;
    std::string members = value_writer(Cf::kWindowUsers).take();
    members.reserve(1 + 16 * a->new_members.size());
    for (const UserFingerprint& f : a->new_members) {
      put_be64(members, static_cast<std::int64_t>(f.hi));
      put_be64(members, static_cast<std::int64_t>(f.lo));
    }
    const UserFingerprint first = a->new_members.front();
    a->user_chunks.push_back(first);
    a->new_members.clear();
    chunks.push_back(StateChange{Cf::kWindowUsers, window_user_key(k, first), std::move(members)});
  });
  drain(p.metrics().campaigns(), Cf::kCampaigns, out, [](const WindowAggregate& a) { return encode(a, Cf::kCampaigns); });
  for (auto& c : chunks) out.push_back(std::move(c));
  for (const auto& [wkey, ids] : p.metrics().dropped_window_users())
    for (const UserFingerprint& id : ids) out.push_back(StateChange{Cf::kWindowUsers, window_user_key(wkey, id), std::nullopt});
  p.metrics().dropped_window_users().clear();
  drain(p.metrics().campaign_users(), Cf::kCampaignUsers, out, by_encode);
  drain(p.metrics().churn_index(), Cf::kChurn, out, [](std::int64_t n) { return encode_i64(Cf::kChurn, n); });
  // A statement's value is its header; its record ids are one key each,
  // written when booked and deleted when the statement is compacted.
  p.ledger().statements().drain_changes([&](const std::string& k, StatementState* s) {
    if (s == nullptr) {
      out.push_back(StateChange{Cf::kStatements, k, std::nullopt});
      return;
    }
    for (const auto& id : s->dropped_ids) out.push_back(StateChange{Cf::kStatementIds, k + id, std::nullopt});
    s->dropped_ids.clear();
    // With the ledger reading stored ids back (a state session), the ids
    // leave memory once written; they are written when booked.
    if (p.ledger().ids_stored()) {
      for (const auto& id : s->record_ids) out.push_back(StateChange{Cf::kStatementIds, k + id, value_writer(Cf::kStatementIds).take()});
      s->stored_ids += static_cast<std::int64_t>(s->record_ids.size());
      s->record_ids.clear();
    }
    out.push_back(StateChange{Cf::kStatements, k, encode(*s)});
  });
  drain(p.ledger().volumes(), Cf::kVolumes, out, by_encode);
  out.push_back(StateChange{Cf::kMeta, "clock", encode(p.clock())});
  out.push_back(StateChange{Cf::kMeta, "dirty_windows", encode_key_set(p.metrics().dirty_windows())});
  out.push_back(StateChange{Cf::kMeta, "dirty_campaigns", encode_key_set(p.metrics().dirty_campaigns())});
  out.push_back(StateChange{Cf::kMeta, "dirty_statements", encode_key_set(p.ledger().dirty())});
  collect_balance_changes(p.ledger().balances(), out);
  collect_risk_changes(p.ledger().risk(), out);
  drain(p.risk_users(), Cf::kRiskUsers, out, [](TimestampMs end) { return encode_i64(Cf::kRiskUsers, end); });
  out.push_back(StateChange{Cf::kMeta, std::string(kRiskClicksKey), encode_risk_clicks(p.risk_clicks())});
  if (p.partitioning().split()) {
    drain(p.aggregate().partials(), Cf::kPartials, out, [](const MetricRecord& m) {
      ByteWriter w = value_writer(Cf::kPartials);
      write_metric(w, m);
      return w.take();
    });
    out.push_back(StateChange{Cf::kMeta, "stage2", p.aggregate().encode_progress()});
  }
}

void restore_entry(Processor& p, Cf cf, const std::string& key, std::string_view v) {
  switch (cf) {
    case Cf::kUsers: p.users().restore(key, decode_user(v, p.touch_labels())); break;
    case Cf::kOrders: p.orders().restore(key, decode_order(v)); break;
    case Cf::kDedupe: p.dedupe().restore(key, decode_i64(Cf::kDedupe, v)); break;
    case Cf::kCodes: {
      value_reader(Cf::kCodes, v);
      p.learned_codes().restore(key, std::string(v.substr(1)));
      break;
    }
    case Cf::kWindows: p.metrics().windows().restore(key, decode_window(v, Cf::kWindows)); break;
    case Cf::kCampaigns: p.metrics().campaigns().restore(key, decode_window(v, Cf::kCampaigns)); break;
    case Cf::kCampaignUsers: p.metrics().campaign_users().restore(key, decode_campaign_user(v)); break;
    case Cf::kChurn:
      if (key.size() < 8) throw CorruptState("churn index key of " + std::to_string(key.size()) + " bytes");
      p.metrics().churn_index().restore(key, decode_i64(Cf::kChurn, v));
      break;
    case Cf::kStatements: p.ledger().statements().restore(key, decode_statement(v)); break;
    case Cf::kStatementIds: {
      // Statements are restored before their ids (column family order); the
      // ids of one statement arrive sorted bytewise (RocksDB key order).
      value_reader(Cf::kStatementIds, v);
      KeyPartReader kr(key);
      kr.next();
      kr.next();
      kr.next();
      const std::string_view id = kr.rest();
      // (Restored only without a state session binding the ledger: the
      // fuzz target, tests.)
      StatementState* s = p.ledger().statements().find(key.substr(0, key.size() - id.size()));
      if (s == nullptr) throw CorruptState("record id of a statement that does not exist");
      s->record_ids.emplace_back(id);
      break;
    }
    case Cf::kVolumes: p.ledger().volumes().restore(key, decode_volume(v)); break;
    case Cf::kMeta:
      if (key == "clock") {
        ByteReader r(v);
        ProcessorClock& c = p.mutable_clock();
        c.stream_time = r.i64();
        // Event times are 0..kMaxTimestampMs (SPEC §2); anything else would
        // overflow the watermark arithmetic (found by fuzz_state_restore).
        if (c.stream_time < 0 || c.stream_time > kMaxTimestampMs)
          throw CorruptState("stream time " + std::to_string(c.stream_time) + " out of range");
        c.emit_tick = r.i64();
        c.sweep_tick = r.i64();
        c.finished = r.u8() != 0;
        c.swept_at = r.i64();
        // The last sweep's stream time, or INT64_MIN before the first one;
        // the expiry horizons subtract retentions from it (set_horizons).
        if (c.swept_at != INT64_MIN && (c.swept_at < 0 || c.swept_at > kMaxTimestampMs))
          throw CorruptState("expiry sweep time " + std::to_string(c.swept_at) + " out of range");
      } else if (key == "dirty_windows") {
        decode_key_set(v, p.metrics().dirty_windows());
      } else if (key == "dirty_campaigns") {
        decode_key_set(v, p.metrics().dirty_campaigns());
      } else if (key == "dirty_statements") {
        decode_key_set(v, p.ledger().dirty());
      } else if (key == kDirtyBalancesKey) {
        decode_key_set(v, p.ledger().balances().dirty());
      } else if (key == kDirtyRiskKey) {
        decode_key_set(v, p.ledger().risk().dirty());
      } else if (key == kRiskClicksKey) {
        decode_risk_clicks(v, p.risk_clicks());
      } else if (key == "stage2") {
        p.aggregate().decode_progress(v);
      }
      break;
    case Cf::kWindowUsers: {
      // Windows are restored before their users (column family order).
      const auto len = static_cast<std::size_t>(get_be64(key));
      if (key.size() != 8 + len + 16) throw CorruptState("window user key of the wrong size");
      WindowAggregate* agg = p.metrics().windows().find(key.substr(8, len));
      if (agg == nullptr) throw CorruptState("user of a window that does not exist");
      const std::string_view id = std::string_view(key).substr(8 + len);
      value_reader(Cf::kWindowUsers, v);
      v.remove_prefix(1);
      agg->user_chunks.push_back(UserFingerprint{static_cast<std::uint64_t>(get_be64(id)),
                                                 static_cast<std::uint64_t>(get_be64(id.substr(8)))});
      if (v.size() % 16 != 0) throw CorruptState("window member chunk of " + std::to_string(v.size()) + " bytes");
      for (std::size_t i = 0; i < v.size(); i += 16)
        agg->users.insert(UserFingerprint{static_cast<std::uint64_t>(get_be64(v.substr(i))),
                                          static_cast<std::uint64_t>(get_be64(v.substr(i + 8)))});
      break;
    }
    case Cf::kPartials: {
      ByteReader r = value_reader(Cf::kPartials, v);
      p.aggregate().partials().restore(key, read_metric(r));
      break;
    }
    case Cf::kBalances:
    case Cf::kPayouts:
    case Cf::kMaturities: restore_balance_entry(p.ledger().balances(), cf, key, v); break;
    case Cf::kRisk:
    case Cf::kReleases: restore_risk_entry(p.ledger().risk(), cf, key, v); break;
    case Cf::kRiskUsers: p.risk_users().restore(key, decode_i64(Cf::kRiskUsers, v)); break;
    case Cf::kOutbox: break;
  }
}

}  // namespace alliance

namespace alliance {

namespace {

template <class V, class Decode>
void bind(CachedTable<V>& t, Cf cf, const std::function<std::optional<std::string>(Cf, const std::string&)>& read,
          Decode decode) {
  t.set_loader([cf, read, decode](const std::string& key) -> std::optional<V> {
    std::optional<std::string> v = read(cf, key);
    if (!v) return std::nullopt;
    try {
      return decode(*v);
    } catch (const CorruptState& e) {
      throw corrupt_value_error(cf, e);
    }
  });
}

}  // namespace

void bind_cached_tables(Processor& p, const std::function<std::optional<std::string>(Cf, const std::string&)>& read) {
  TouchLabelPool* labels = &p.touch_labels();
  bind(p.users(), Cf::kUsers, read, [labels](std::string_view v) { return decode_user(v, *labels); });
  bind(p.orders(), Cf::kOrders, read, [](std::string_view v) { return decode_order(v); });
  bind(p.dedupe(), Cf::kDedupe, read, [](std::string_view v) { return decode_i64(Cf::kDedupe, v); });
  bind(p.metrics().campaign_users(), Cf::kCampaignUsers, read, [](std::string_view v) { return decode_campaign_user(v); });
  bind(p.risk_users(), Cf::kRiskUsers, read, [](std::string_view v) { return decode_i64(Cf::kRiskUsers, v); });
}

void preload_entry(Processor& p, Cf cf, const std::string& key, const std::optional<std::string>& v) {
  switch (cf) {
    case Cf::kUsers:
      p.users().preload(key, v ? std::optional(decode_user(*v, p.touch_labels())) : std::nullopt);
      break;
    case Cf::kOrders: p.orders().preload(key, v ? std::optional(decode_order(*v)) : std::nullopt); break;
    case Cf::kDedupe: p.dedupe().preload(key, v ? std::optional(decode_i64(Cf::kDedupe, *v)) : std::nullopt); break;
    case Cf::kCampaignUsers:
      p.metrics().campaign_users().preload(key, v ? std::optional(decode_campaign_user(*v)) : std::nullopt);
      break;
    case Cf::kRiskUsers:
      p.risk_users().preload(key, v ? std::optional(decode_i64(Cf::kRiskUsers, *v)) : std::nullopt);
      break;
    default: break;
  }
}

}  // namespace alliance

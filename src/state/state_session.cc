#include "alliance/state/state_session.h"

#include <malloc.h>

#include <algorithm>
#include <atomic>

#include "alliance/core/byte_codec.h"
#include "alliance/state/state_codec.h"
#include "alliance/state/state_tables.h"

namespace alliance {

namespace {

std::string outbox_key(std::int64_t seq) {
  std::string k;
  put_be64(k, seq);
  return k;
}

}  // namespace

StateSession::StateSession(StateStore& store, Processor& p, std::size_t cache_bytes)
    : store_(store), processor_(p), cache_bytes_(cache_bytes) {
  // Tables bounded by what is open are loaded whole; the ones that grow with
  // users, orders and events stay in RocksDB and are read on demand
  // (docs/STATE.md "The table registry").
  for (const TableSpec& t : kStateTables) {
    const Cf cf = t.cf;
    if (t.residency == Residency::kCached || cf == Cf::kOutbox) continue;
    store_.scan(cf, [&](const std::string& k, std::string_view v) {
      try {
        restore_entry(p, cf, k, v);
      } catch (const CorruptState& e) {
        throw corrupt_value_error(cf, e);
      }
    });
  }
  bind_cached_tables(p, [&store](Cf cf, const std::string& key) { return store.get(cf, key); });
  // A statement's record ids are read when a digest needs them (a final
  // statement, a revision, a compaction): one prefix scan.
  p.ledger().set_id_loader([&store](const std::string& skey) {
    std::vector<std::string> ids;
    store.scan_from(Cf::kStatementIds, skey, [&](const std::string& k, std::string_view v) {
      if (k.compare(0, skey.size(), skey) != 0) return false;
      try {
        value_payload(Cf::kStatementIds, v);
      } catch (const CorruptState& e) {
        throw StateError(e.what());
      }
      ids.push_back(k.substr(skey.size()));
      return true;
    });
    return ids;
  });
  try {
    p.after_restore();  // rebuilds indexes from the keys: a corrupt key throws here (found by fuzz_state_restore)
  } catch (const CorruptState& e) {
    throw StateError(std::string("the state holds a key it cannot decode (") + e.what() +
                     "); the state directory is corrupt or from another version");
  }
  discard_changes(p);
  // The outbox is read once; afterwards only this session changes it, so
  // pending() never scans the deletions piling up in the column family.
  store_.scan(Cf::kOutbox, [&](const std::string& k, std::string_view v) {
    std::string_view payload;
    try {
      payload = value_payload(Cf::kOutbox, v);
    } catch (const CorruptState& e) {
      throw StateError(e.what());
    }
    ByteReader r(payload);
    OutboxEntry e;
    e.seq = get_be64(k);
    e.kind = static_cast<OutputKind>(r.u8());
    e.key = r.str();
    e.body = r.str();
    e.partition = static_cast<std::int32_t>(r.i64());
    pending_.emplace(e.seq, std::move(e));
  });
  if (auto s = store_.get(Cf::kMeta, "outbox_seq")) next_seq_ = ByteReader(*s).i64();
  publish_horizons();
}

void StateSession::publish_horizons() {
  // Only horizons of state that is written: a crash never resumes from a
  // state older than what the compaction filter already deleted.
  // A user's stored list is kept user_rewrite_interval() past its logical
  // expiry: appends written while the user was live never land on a list
  // the filter already dropped (docs/STATE.md "Users: appends").
  const TimestampMs users = processor_.users().horizon();
  const Topology& topo = processor_.topology();
  store_.set_expiry_horizon(Cf::kUsers,
                            users == INT64_MIN ? INT64_MIN : users - user_rewrite_interval(topo.lookback, topo.grace));
  store_.set_expiry_horizon(Cf::kOrders, processor_.orders().horizon());
  store_.set_expiry_horizon(Cf::kDedupe, processor_.dedupe().horizon());
  store_.set_expiry_horizon(Cf::kRiskUsers, processor_.risk_users().horizon());
}

void StateSession::prefetch(const TableReads& reads) {
  const std::pair<Cf, const std::vector<std::string>*> tables[] = {
      {Cf::kDedupe, &reads.dedupe}, {Cf::kUsers, &reads.users}, {Cf::kOrders, &reads.orders},
      {Cf::kCampaignUsers, &reads.campaign_users}, {Cf::kRiskUsers, &reads.risk_users}};
  for (const auto& [cf, table_keys] : tables) {
    const std::vector<std::string>& keys = *table_keys;
    if (keys.empty()) continue;
    std::vector<std::optional<std::string>> values = store_.multi_get(cf, keys);
    for (std::size_t i = 0; i < keys.size(); ++i) {
      try {
        preload_entry(processor_, cf, keys[i], values[i]);
      } catch (const CorruptState& e) {
        throw corrupt_value_error(cf, e);
      }
    }
  }
}

std::vector<OutboxEntry> encode_outbox(std::vector<OutputRecord>& outputs, std::int64_t& next_seq) {
  std::vector<OutboxEntry> entries;
  entries.reserve(outputs.size());
  for (auto& r : outputs) {
    OutboxEntry& e = entries.emplace_back();
    e.seq = next_seq++;
    e.kind = output_kind(r);
    e.key = std::move(r.key);
    if (auto* f = std::get_if<ForwardedRecord>(&r.body)) {
      e.partition = f->target;
      e.body = std::move(f->payload);  // forwards travel as they are
    } else {
      e.body = encode_record(r);
      e.record = std::make_shared<const OutputRecord>(std::move(r));
    }
  }
  return entries;
}

std::vector<OutboxEntry> StateSession::commit(std::vector<OutputRecord> outputs, const MetaUpdates& meta) {
  PreparedCommit c = prepare(std::move(outputs), meta);
  if (changelog_) changelog_(c.batch);
  return apply(std::move(c));
}

PreparedCommit StateSession::prepare(std::vector<OutputRecord> outputs, const MetaUpdates& meta) {
  StateChanges batch = std::move(unshipped_acks_);
  unshipped_acks_.clear();
  collect_changes(processor_, batch);
  std::vector<OutboxEntry> entries = encode_outbox(outputs, next_seq_);
  for (const auto& e : entries)
    batch.push_back(StateChange{Cf::kOutbox, outbox_key(e.seq),
                                value_writer(Cf::kOutbox).u8(static_cast<std::uint8_t>(e.kind)).str(e.key).str(e.body).i64(e.partition).take()});
  batch.push_back(StateChange{Cf::kMeta, "outbox_seq", ByteWriter().i64(next_seq_).take()});
  for (const auto& [k, v] : meta) batch.push_back(StateChange{Cf::kMeta, k, v});
  return PreparedCommit{std::move(batch), std::move(entries)};
}

std::vector<OutboxEntry> StateSession::apply(PreparedCommit c, const std::vector<StateChange>& extra) {
  c.batch.insert(c.batch.end(), extra.begin(), extra.end());
  store_.write(c.batch);
  for (const auto& e : c.entries) pending_.emplace(e.seq, e);
  // Everything drained is in the store now: clean entries may go.
  // Evicted entries are many small blocks spread over the heap: now and
  // then hand the pages they leave free back to the system (glibc keeps
  // freed memory). malloc_trim walks the whole heap, so once per 64 MiB
  // evicted by any partition of the process, not after every eviction.
  const std::size_t before = processor_.cache_bytes();
  if (processor_.trim_caches(cache_bytes_)) {
    static std::atomic<std::size_t> evicted_since_trim{0};
    const std::size_t freed = before - std::min(before, processor_.cache_bytes());
    if (evicted_since_trim.fetch_add(freed) + freed >= (std::size_t{64} << 20)) {
      evicted_since_trim = 0;
      ::malloc_trim(0);
    }
  }
  publish_horizons();
  return std::move(c.entries);
}

std::vector<OutboxEntry> StateSession::pending() {
  std::vector<OutboxEntry> out;
  out.reserve(pending_.size());
  for (const auto& [seq, e] : pending_) out.push_back(e);
  return out;
}

void StateSession::acknowledge(const std::vector<OutboxEntry>& published, const MetaUpdates& meta) {
  StateChanges batch;
  for (const auto& e : published) batch.push_back(StateChange{Cf::kOutbox, outbox_key(e.seq), std::nullopt});
  for (const auto& [k, v] : meta) batch.push_back(StateChange{Cf::kMeta, k, v});
  store_.write(batch, /*sync=*/false);
  if (changelog_) unshipped_acks_.insert(unshipped_acks_.end(), batch.begin(), batch.end());
  for (const auto& e : published) pending_.erase(e.seq);
}

void discard_changes(Processor& p) { p.discard_changes(); }

}  // namespace alliance

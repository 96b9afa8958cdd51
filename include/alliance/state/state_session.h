// Binds a Processor to a StateStore (SPEC §4, §6): restores the state, then
// commits each batch — state changes, input positions and the batch's output
// records (the outbox) — in one atomic write, and deletes outbox records once
// the sink has acknowledged them. Single thread, the core's.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "alliance/codec/record_encoder.h"
#include "alliance/core/processor.h"
#include "alliance/runtime/outbox_entry.h"
#include "alliance/state/state_store.h"

namespace alliance {

/// A commit between its two halves: the batch is built (and may be on its
/// way to the changelog) but not yet written to the store.
struct PreparedCommit {
  StateChanges batch;
  std::vector<OutboxEntry> entries;
};

class StateSession {
 public:
  /// Default write-back cache budget (topology state.cache_mb).
  static constexpr std::size_t kDefaultCacheBytes = std::size_t{128} << 20;
  /// Restores the tables of `p` loaded whole and backs its cached tables
  /// with `store`, their caches bounded to about `cache_bytes`.
  StateSession(StateStore& store, Processor& p, std::size_t cache_bytes = kDefaultCacheBytes);
  /// Reads `reads` (Processor::reads_for) into the caches of their tables,
  /// one MultiGet per table.
  void prefetch(const TableReads& reads);

  /// Commits the Processor's changes, `meta` (input positions) and `outputs`
  /// atomically; returns the outputs as outbox entries to publish.
  /// prepare() then apply(), with the changelog hook in between.
  std::vector<OutboxEntry> commit(std::vector<OutputRecord> outputs, const MetaUpdates& meta);
  /// The first half of a commit: drains the Processor's changes into one
  /// batch with `meta` and the outbox entries of `outputs`.
  PreparedCommit prepare(std::vector<OutputRecord> outputs, const MetaUpdates& meta);
  /// The second half: `extra` (the changelog offset) joins the batch, which
  /// is written to the store atomically and durably; returns the entries.
  std::vector<OutboxEntry> apply(PreparedCommit prepared, const std::vector<StateChange>& extra = {});
  /// Outbox entries committed but not acknowledged (resend after a restart).
  std::vector<OutboxEntry> pending();
  [[nodiscard]] std::size_t pending_count() const { return pending_.size(); }
  /// The write-back cache budget of this session's tables.
  [[nodiscard]] std::size_t cache_budget() const { return cache_bytes_; }
  /// Removes published entries from the outbox, with `meta` (sink positions),
  /// atomically but without waiting for the disk: losing it only resends
  /// identical records. The deletions reach the changelog with the next
  /// commit (one changelog write per cycle).
  void acknowledge(const std::vector<OutboxEntry>& published, const MetaUpdates& meta);

  [[nodiscard]] std::optional<std::string> meta(const std::string& key) { return store_.get(Cf::kMeta, key); }
  /// Every batch about to be written (commits and acknowledgements) is handed
  /// here first: the changelog hook ships it elsewhere and may append meta
  /// entries (its changelog offset) to the same atomic write.
  void set_changelog(std::function<void(StateChanges&)> fn) { changelog_ = std::move(fn); }

 private:
  /// Hands the store the expiry horizons of the state it holds (compaction filter).
  void publish_horizons();

  StateStore& store_;
  Processor& processor_;
  std::size_t cache_bytes_;
  std::int64_t next_seq_ = 0;
  std::map<std::int64_t, OutboxEntry> pending_;  // the outbox column family, by sequence
  std::function<void(StateChanges&)> changelog_;
  StateChanges unshipped_acks_;  // outbox deletions not yet in the changelog
};

/// Output records as outbox entries numbered from `next_seq` on (advanced).
std::vector<OutboxEntry> encode_outbox(std::vector<OutputRecord>& outputs, std::int64_t& next_seq);

/// Drops the Processor's change tracking (runs without a state store).
void discard_changes(Processor& p);

}  // namespace alliance

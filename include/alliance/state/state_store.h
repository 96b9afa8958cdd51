// The key-value store under the core's state: column families of
// StateChanges, written in atomic batches. Two implementations: memory
// (tests) and RocksDB (product). An instance is used by one thread.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <memory>
#include <vector>

#include "alliance/state/state_changes.h"

namespace alliance {

/// A state directory that cannot be used: corrupt, foreign, written by
/// another topology, or a failed write (disk full). what() says which
/// directory, what is wrong and how to fix it.
class StateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class StateStore {
 public:
  virtual ~StateStore() = default;
  /// Applies every change of `batch` atomically, or none (throws
  /// StateError); `sync`: durably (WAL fsync'd) before it returns.
  virtual void write(const StateChanges& batch, bool sync) = 0;
  void write(const StateChanges& batch) { write(batch, true); }
  [[nodiscard]] virtual std::optional<std::string> get(Cf cf, const std::string& key) = 0;
  /// Visits every entry of `cf` in key order.
  virtual void scan(Cf cf, const std::function<void(const std::string&, std::string_view)>& fn) = 0;
  /// Visits the entries of `cf` from key `from` on, in key order, while
  /// `fn` returns true.
  virtual void scan_from(Cf cf, const std::string& from,
                         const std::function<bool(const std::string&, std::string_view)>& fn) = 0;
  /// get() of each key (RocksDB: one MultiGet).
  virtual std::vector<std::optional<std::string>> multi_get(Cf cf, const std::vector<std::string>& keys) {
    std::vector<std::optional<std::string>> out;
    out.reserve(keys.size());
    for (const auto& k : keys) out.push_back(get(cf, k));
    return out;
  }
  /// Values of `cf` (an Expiry::kEventTime table) whose expiry time is
  /// before `horizon` may be deleted by the store (RocksDB: compaction filter).
  virtual void set_expiry_horizon(Cf /*cf*/, std::int64_t /*horizon*/) {}
  /// Compacts every table now (RocksDB: its compaction filter and merges
  /// run); for tests and tools, a running store compacts in the background.
  virtual void compact() {}
};

/// std::map per column family. For tests and for replay without --state.
class MemoryStateStore final : public StateStore {
 public:
  using StateStore::write;
  void write(const StateChanges& batch, bool sync) override;
  [[nodiscard]] std::optional<std::string> get(Cf cf, const std::string& key) override;
  void scan(Cf cf, const std::function<void(const std::string&, std::string_view)>& fn) override;
  void scan_from(Cf cf, const std::string& from,
                 const std::function<bool(const std::string&, std::string_view)>& fn) override;

 private:
  std::array<std::map<std::string, std::string>, kCfCount> cfs_;
};

/// The memory RocksDB may use in one process, shared by every store opened
/// with it (all partitions of a run): one LRU block cache and one
/// write-buffer manager charged to it (topology `state:`, SPEC §4).
struct RocksMemory {
  RocksMemory(std::size_t block_cache_bytes, std::size_t write_buffer_bytes);
  std::shared_ptr<void> cache;           // rocksdb::Cache
  std::shared_ptr<void> write_buffers;   // rocksdb::WriteBufferManager
  std::size_t write_buffer_bytes;
};

struct RocksOptions {
  std::size_t block_cache_bytes = 64u << 20;   // one LRU cache shared by all column families
  std::size_t write_buffer_bytes = 64u << 20;  // memtables of all column families together
  /// fsync the WAL on every batch. A Kafka run writes each batch to the
  /// changelog topic first, which restores what a power loss could take
  /// from the local store, so it does not wait for the disk (as Kafka
  /// Streams' RocksDB stores do not); replay has no changelog and syncs.
  bool sync = true;
  /// Shared with other stores of the process; null: this store's own.
  std::shared_ptr<RocksMemory> memory;
};

/// Opens (or creates) a RocksDB state directory. `fingerprint` identifies
/// the topology (name and content digest); a directory written under another
/// fingerprint is refused with a StateError.
std::unique_ptr<StateStore> open_rocks_store(const std::string& dir, const std::string& fingerprint,
                                             const RocksOptions& options = {});

/// Size figures of a RocksDB store (for benchmarks and metrics).
struct RocksStats {
  std::uint64_t live_sst_bytes = 0;
  std::uint64_t memtable_bytes = 0;
  std::uint64_t block_cache_usage = 0;
  std::uint64_t pending_compaction_bytes = 0;
  // RocksDB's own statistics (counters since the store was opened).
  std::uint64_t block_cache_hits = 0;
  std::uint64_t block_cache_misses = 0;
  std::uint64_t stall_micros = 0;  // writes delayed or stopped by RocksDB
  std::uint64_t expired_values_dropped = 0;  // by the compaction filter (users, orders, dedupe)
  /// Keys looked up in RocksDB (Get and MultiGet): the reads the core's
  /// write-back cache did not answer. The sum of keys_read_by_table.
  std::uint64_t keys_read = 0;
  /// The same per table (column family, by Cf): which tables the cache misses.
  std::array<std::uint64_t, kCfCount> keys_read_by_table{};
  // Write stalls right now (rocksdb.actual-delayed-write-rate, rocksdb.is-write-stopped).
  std::uint64_t delayed_write_rate = 0;  // bytes/s writes are held to; 0: not delayed
  bool write_stopped = false;
};
RocksStats rocks_stats(StateStore& store);

}  // namespace alliance

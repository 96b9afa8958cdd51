#include <rocksdb/cache.h>
#include <rocksdb/compaction_filter.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/table.h>
#include <rocksdb/statistics.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <atomic>
#include <cstring>

#include "alliance/state/state_store.h"
#include "alliance/state/state_tables.h"

namespace alliance {

void MemoryStateStore::write(const StateChanges& batch, bool /*sync*/) {
  for (const auto& c : batch) {
    auto& m = cfs_[static_cast<std::size_t>(c.cf)];
    if (!c.value) {
      m.erase(c.key);
    } else if (c.merge) {
      const std::string_view append = *c.value;
      auto it = m.find(c.key);
      std::string_view base;
      if (it != m.end()) base = it->second;
      std::string merged = merge_values(c.cf, it != m.end() ? &base : nullptr, &append, 1);
      m.insert_or_assign(c.key, std::move(merged));
    } else {
      m.insert_or_assign(c.key, *c.value);
    }
  }
}

std::optional<std::string> MemoryStateStore::get(Cf cf, const std::string& key) {
  const auto& m = cfs_[static_cast<std::size_t>(cf)];
  auto it = m.find(key);
  if (it == m.end()) return std::nullopt;
  return it->second;
}

void MemoryStateStore::scan(Cf cf, const std::function<void(const std::string&, std::string_view)>& fn) {
  for (const auto& [k, v] : cfs_[static_cast<std::size_t>(cf)]) fn(k, v);
}

void MemoryStateStore::scan_from(Cf cf, const std::string& from,
                                 const std::function<bool(const std::string&, std::string_view)>& fn) {
  const auto& m = cfs_[static_cast<std::size_t>(cf)];
  for (auto it = m.lower_bound(from); it != m.end(); ++it)
    if (!fn(it->first, it->second)) return;
}

namespace {

constexpr const char* kFingerprintKey = "fingerprint";

bool lz4_supported() {
  for (auto c : rocksdb::GetSupportedCompressions())
    if (c == rocksdb::kLZ4Compression) return true;
  return false;
}
constexpr const char* kStateFormatKey = "state_format";

/// Deletes values of an Expiry::kEventTime table whose expiry time (the i64
/// after the format byte) is before the horizon the state session published
/// after its last write. The core treats such values as absent already
/// (CachedTable's horizon), so when compaction runs changes no result.
/// Called from RocksDB's compaction threads: the horizon is atomic.
class ExpiredValueFilter final : public rocksdb::CompactionFilter {
 public:
  explicit ExpiredValueFilter(Cf cf) : cf_(cf) {}
  bool Filter(int /*level*/, const rocksdb::Slice& /*key*/, const rocksdb::Slice& value, std::string* /*new_value*/,
              bool* /*value_changed*/) const override {
    const std::int64_t horizon = horizon_.load(std::memory_order_relaxed);
    if (horizon == INT64_MIN || value.size() < 9 ||
        static_cast<std::uint8_t>(value.data()[0]) != table_spec(cf_).format)
      return false;  // no horizon yet, or a value this filter does not know: keep
    std::int64_t ts = 0;
    std::memcpy(&ts, value.data() + 1, 8);  // ByteWriter::i64's layout
    if (ts >= horizon) return false;
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  const char* Name() const override { return "alliance.ExpiredValueFilter"; }
  void set_horizon(std::int64_t h) { horizon_.store(h, std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  Cf cf_;
  std::atomic<std::int64_t> horizon_{INT64_MIN};
  mutable std::atomic<std::uint64_t> dropped_{0};
};

/// The users table's merge (merge_values(), docs/STATE.md "Users:
/// appends"): RocksDB calls it when it reads a key with appends on top and
/// when a compaction meets them. A value it cannot decode fails the read
/// (RocksDB reports corruption) rather than losing touchpoints. Any thread.
class AppendMerge final : public rocksdb::MergeOperator {
 public:
  explicit AppendMerge(Cf cf) : cf_(cf) {}
  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    std::string_view base;
    if (in.existing_value != nullptr) base = std::string_view(in.existing_value->data(), in.existing_value->size());
    std::vector<std::string_view> appends;
    appends.reserve(in.operand_list.size());
    for (const rocksdb::Slice& s : in.operand_list) appends.emplace_back(s.data(), s.size());
    try {
      out->new_value = merge_values(cf_, in.existing_value != nullptr ? &base : nullptr, appends.data(), appends.size());
      return true;
    } catch (const CorruptState& e) {
      std::fprintf(stderr, "alliance: cannot merge a %s value: %s\n", std::string(cf_name(cf_)).c_str(), e.what());
      return false;
    }
  }
  const char* Name() const override { return "alliance.AppendMerge"; }

 private:
  Cf cf_;
};

}  // namespace

RocksMemory::RocksMemory(std::size_t block_cache_bytes, std::size_t write_buffer_bytes_)
    : write_buffer_bytes(write_buffer_bytes_) {
  // Half of it reserved for index and filter blocks (high priority).
  auto c = rocksdb::NewLRUCache(block_cache_bytes, /*num_shard_bits=*/-1, /*strict_capacity_limit=*/false,
                                /*high_pri_pool_ratio=*/0.5);
  cache = c;
  write_buffers = std::make_shared<rocksdb::WriteBufferManager>(write_buffer_bytes_, c);
}

namespace {

/// RocksDB's info log goes to stderr (warnings and above) instead of a LOG
/// file in the state directory: on a full disk that file's writer aborts the
/// process (an assertion in Debian's build), and operators read stderr.
/// Called from RocksDB's threads; fprintf is thread-safe.
class StderrLogger : public rocksdb::Logger {
 public:
  StderrLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char buf[1024];
    std::vsnprintf(buf, sizeof buf, format, ap);
    std::fprintf(stderr, "rocksdb: %s\n", buf);
  }
};

/// RocksDB with one column family per Cf. Owns the DB and its handles.
class RocksStateStore final : public StateStore {
 public:
  RocksStateStore(const std::string& dir, const std::string& fingerprint, const RocksOptions& o)
      : dir_(dir), sync_(o.sync) {
    std::shared_ptr<RocksMemory> memory = o.memory ? o.memory : std::make_shared<RocksMemory>(o.block_cache_bytes, o.write_buffer_bytes);
    memory_ = memory;
    cache_ = std::static_pointer_cast<rocksdb::Cache>(memory->cache);
    rocksdb::BlockBasedTableOptions table;
    table.block_cache = cache_;
    table.cache_index_and_filter_blocks = true;
    // Most reads of the cached tables are for keys that do not exist (a new
    // event id, a new user): a bloom filter answers them without a data block.
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    table.optimize_filters_for_memory = true;
    // Index and filters partitioned into block-sized pieces, kept in the
    // cache's high-priority pool: with state larger than the block cache, a
    // whole-file filter or index evicted by data blocks had to be read again
    // for the next lookup (measured at 2.5 M users: 26 % of the time copying
    // file data, the run slowing down to ~6 k events/s as the state grew).
    table.index_type = rocksdb::BlockBasedTableOptions::IndexType::kTwoLevelIndexSearch;
    table.partition_filters = true;
    table.metadata_block_size = 4096;
    table.cache_index_and_filter_blocks_with_high_priority = true;
    table.pin_top_level_index_and_filter = true;
    table.pin_l0_filter_and_index_blocks_in_cache = true;
    rocksdb::ColumnFamilyOptions cf_opts;
    cf_opts.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    cf_opts.write_buffer_size = std::max<std::size_t>(o.write_buffer_bytes / 4, 1u << 20);
    // A replay cycle writes 100 000 records at once: room for memtables
    // waiting for their flush instead of a write stall (the manager still
    // caps their total).
    cf_opts.max_write_buffer_number = 4;
    // A bloom filter over each memtable's whole keys: most reads ask for a
    // key nobody wrote (a new event id, a new user's campaign), which the
    // filter answers without a search of the memtable's skip list.
    cf_opts.memtable_whole_key_filtering = true;
    cf_opts.memtable_prefix_bloom_size_ratio = 0.05;
    // LZ4 decompresses several times faster than Snappy: random reads of
    // the cached tables decompress a block each.
    if (lz4_supported()) cf_opts.compression = rocksdb::kLZ4Compression;

    rocksdb::DBOptions db_opts;
    db_opts.create_if_missing = true;
    db_opts.create_missing_column_families = true;
    db_opts.write_buffer_manager = std::static_pointer_cast<rocksdb::WriteBufferManager>(memory->write_buffers);
    db_opts.max_background_jobs = 2;
    // 13 column families, several written rarely (meta, codes, campaigns):
    // without a cap, WAL files are kept until each of them fills a memtable
    // (measured: ~400 MB of WAL next to 43 MB of SST after 1 M events).
    // Past this size RocksDB flushes the column families holding the oldest WAL.
    db_opts.max_total_wal_size = memory->write_buffer_bytes;
    db_opts.info_log = std::make_shared<StderrLogger>();
    statistics_ = rocksdb::CreateDBStatistics();
    statistics_->set_stats_level(rocksdb::StatsLevel::kExceptTimeForMutex);
    db_opts.statistics = statistics_;

    const bool exists = std::filesystem::exists(dir + "/CURRENT");
    if (!exists && std::filesystem::exists(dir) && !std::filesystem::is_empty(dir))
      throw StateError(dir + ": not an alliance state directory (it has files but no RocksDB "
                       "database); pass an empty or new --state directory");
    std::vector<rocksdb::ColumnFamilyDescriptor> descs;
    descs.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_opts);
    for (const TableSpec& t : kStateTables) {
      rocksdb::ColumnFamilyOptions o = cf_opts;
      if (t.cf == Cf::kUsers) o.merge_operator = std::make_shared<AppendMerge>(t.cf);
      if (t.expiry == Expiry::kEventTime) {
        filters_[static_cast<std::size_t>(t.cf)] = std::make_unique<ExpiredValueFilter>(t.cf);
        o.compaction_filter = filters_[static_cast<std::size_t>(t.cf)].get();
      }
      descs.emplace_back(std::string(t.name), o);
    }
    if (!exists) create_whole(dir, db_opts, descs, fingerprint);
    {
      std::vector<std::string> names;
      auto s = rocksdb::DB::ListColumnFamilies(db_opts, dir, &names);
      if (!s.ok()) throw StateError(dir + ": cannot read the state directory: " + s.ToString() +
                                    "; if it is corrupt, move it away and let alliance rebuild");
      for (std::size_t i = 0; i < kCfCount; ++i)
        if (std::find(names.begin(), names.end(), std::string(cf_name(static_cast<Cf>(i)))) == names.end())
          // A foreign RocksDB database and one whose MANIFEST is corrupt
          // (RocksDB then lists only the families it could read) look alike
          // here: say both (found by tests/chaos/disk_full.py).
          throw StateError(dir + ": a RocksDB database without alliance's column family \"" +
                           std::string(cf_name(static_cast<Cf>(i))) +
                           "\": either another program's database (pass another --state directory) or a "
                           "corrupt alliance store (its MANIFEST is damaged: move the directory away to rebuild it, "
                           "from the changelog in `alliance run`)");
    }
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    auto s = rocksdb::DB::Open(db_opts, dir, descs, &handles, &db);
    if (!s.ok())
      throw StateError(dir + ": cannot open the state store: " + s.ToString() +
                       (s.IsCorruption() ? "; the directory is corrupt: move it away to rebuild" : ""));
    db_.reset(db);
    default_.reset(handles[0]);
    for (std::size_t i = 0; i < kCfCount; ++i) handles_[i].reset(handles[i + 1]);

    const auto have = get(Cf::kMeta, kFingerprintKey);
    const auto format = get(Cf::kMeta, kStateFormatKey);
    const std::string want_format = std::to_string(kStateFormat);
    if (have && format != want_format)
      throw StateError(dir + ": this state directory has state format " + format.value_or("1") +
                       "; this alliance reads format " + want_format +
                       ". Move the directory away and let alliance rebuild it (from the changelog in `alliance run`, "
                       "from the input in replay)");
    if (!have) {
      write({StateChange{Cf::kMeta, kFingerprintKey, fingerprint}, StateChange{Cf::kMeta, kStateFormatKey, want_format}});
    } else if (*have != fingerprint) {
      throw StateError(dir + ": this state was written by topology \"" + *have +
                       "\", not \"" + fingerprint + "\"; use a new --state directory for a changed topology");
    }
  }

  /// A new state directory appears whole or not at all: it is built (column
  /// families, fingerprint) beside `dir` and renamed into place, so a kill
  /// during creation never leaves a database without its column families.
  static void create_whole(const std::string& dir, const rocksdb::DBOptions& db_opts,
                           const std::vector<rocksdb::ColumnFamilyDescriptor>& descs, const std::string& fingerprint) {
    const std::string tmp = dir + ".creating";
    std::error_code ec;
    std::filesystem::remove_all(tmp, ec);
    std::filesystem::create_directories(tmp, ec);
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    auto s = rocksdb::DB::Open(db_opts, tmp, descs, &handles, &db);
    if (!s.ok()) throw StateError(dir + ": cannot create the state store: " + s.ToString());
    rocksdb::WriteOptions wo;
    wo.sync = true;
    s = db->Put(wo, handles[1 + static_cast<std::size_t>(Cf::kMeta)], kFingerprintKey, fingerprint);
    if (s.ok())
      s = db->Put(wo, handles[1 + static_cast<std::size_t>(Cf::kMeta)], kStateFormatKey, std::to_string(kStateFormat));
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    db->Close().PermitUncheckedError();
    delete db;
    if (!s.ok()) throw StateError(dir + ": cannot create the state store: " + s.ToString());
    std::filesystem::remove(dir, ec);  // an empty directory given as --state
    std::filesystem::rename(tmp, dir, ec);
    if (ec) throw StateError(dir + ": cannot move the new state store into place: " + ec.message());
  }

  ~RocksStateStore() override {
    if (failed_) {
      // After a failed write (disk full) RocksDB's Close() syncs the broken
      // WAL writer and aborts on an assertion in Debian's build. The process
      // is exiting with the error already reported: leave the handles open.
      // The last complete batch is durable; the torn WAL tail is dropped by
      // point-in-time recovery on the next open.
      for (auto& h : handles_) (void)h.release();
      for (auto& f : filters_) (void)f.release();  // compaction threads may still hold them
      (void)default_.release();
      (void)db_.release();
      return;
    }
    // ALLIANCE_ROCKSDB_STATS=1: each column family's flush and compaction
    // statistics on stderr at close (docs/OPERATIONS.md), to see which table
    // the write and compaction load comes from.
    if (std::getenv("ALLIANCE_ROCKSDB_STATS") != nullptr) {
      for (std::size_t i = 0; i < kCfCount; ++i) {
        std::string v;
        if (db_->GetProperty(handles_[i].get(), "rocksdb.cfstats-no-file-histogram", &v))
          std::fprintf(stderr, "rocksdb stats of %s:\n%s\n", std::string(cf_name(static_cast<Cf>(i))).c_str(), v.c_str());
      }
    }
    for (auto& h : handles_) h.reset();
    default_.reset();
    if (db_) db_->Close().PermitUncheckedError();
  }

  using StateStore::write;
  void write(const StateChanges& batch, bool sync) override {
    // In key order per column family: the memtable's skip list then inserts
    // next to the previous key (its cached splice) instead of searching from
    // the top for every key — the write of a cycle's batch was 55 % of a
    // replay with --state. Stable: of two changes to one key the later wins.
    std::vector<const StateChange*> order;
    order.reserve(batch.size());
    for (const auto& c : batch) order.push_back(&c);
    std::stable_sort(order.begin(), order.end(), [](const StateChange* a, const StateChange* b) {
      return a->cf != b->cf ? a->cf < b->cf : a->key < b->key;
    });
    // Reserved whole: growing the batch by doubling held up to twice its
    // size at once (a replay cycle's batch is tens of MB).
    std::size_t bytes = 64;
    for (const auto& c : batch) bytes += c.key.size() + (c.value ? c.value->size() : 0) + 16;
    rocksdb::WriteBatch wb(bytes);
    for (const StateChange* cp : order) {
      const StateChange& c = *cp;
      auto* h = handle(c.cf);
      auto s = !c.value ? wb.Delete(h, c.key) : c.merge ? wb.Merge(h, c.key, *c.value) : wb.Put(h, c.key, *c.value);
      if (!s.ok()) throw StateError(dir_ + ": cannot build a write batch: " + s.ToString());
    }
    rocksdb::WriteOptions wo;
    wo.sync = sync_ && sync;
    auto s = db_->Write(wo, &wb);
    if (!s.ok()) failed_ = true;
    if (!s.ok())
      throw StateError(dir_ + ": state write failed (" + s.ToString() +
                       "); nothing of this batch was applied. Free disk space and restart.");
  }

  void compact() override {
    for (std::size_t i = 0; i < kCfCount; ++i) {
      auto s = db_->CompactRange(rocksdb::CompactRangeOptions(), handle(static_cast<Cf>(i)), nullptr, nullptr);
      if (!s.ok()) throw StateError(dir_ + ": compaction failed: " + s.ToString());
    }
  }

  std::optional<std::string> get(Cf cf, const std::string& key) override {
    std::string v;
    count_read(cf, 1);
    auto s = db_->Get(rocksdb::ReadOptions(), handle(cf), key, &v);
    if (s.IsNotFound()) return std::nullopt;
    if (!s.ok()) throw StateError(dir_ + ": state read failed: " + s.ToString());
    return v;
  }

  void scan_from(Cf cf, const std::string& from,
                 const std::function<bool(const std::string&, std::string_view)>& fn) override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handle(cf)));
    for (it->Seek(from); it->Valid(); it->Next())
      if (!fn(it->key().ToString(), std::string_view(it->value().data(), it->value().size()))) break;
    if (!it->status().ok()) throw StateError(dir_ + ": state scan failed: " + it->status().ToString());
  }

  std::vector<std::optional<std::string>> multi_get(Cf cf, const std::vector<std::string>& keys) override {
    std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
    std::vector<rocksdb::PinnableSlice> values(keys.size());
    std::vector<rocksdb::Status> statuses(keys.size());
    count_read(cf, keys.size());
    // Keys are sorted by the caller (PartitionTask::prefetch).
    db_->MultiGet(rocksdb::ReadOptions(), handle(cf), keys.size(), slices.data(), values.data(), statuses.data(),
                  /*sorted_input=*/true);
    std::vector<std::optional<std::string>> out(keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (statuses[i].IsNotFound()) continue;
      if (!statuses[i].ok()) throw StateError(dir_ + ": state read failed: " + statuses[i].ToString());
      out[i] = values[i].ToString();
    }
    return out;
  }

  void set_expiry_horizon(Cf cf, std::int64_t horizon) override {
    if (auto& f = filters_[static_cast<std::size_t>(cf)]) f->set_horizon(horizon);
  }

  void scan(Cf cf, const std::function<void(const std::string&, std::string_view)>& fn) override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handle(cf)));
    for (it->SeekToFirst(); it->Valid(); it->Next())
      fn(it->key().ToString(), std::string_view(it->value().data(), it->value().size()));
    if (!it->status().ok()) throw StateError(dir_ + ": state scan failed: " + it->status().ToString());
  }

  RocksStats stats() {
    RocksStats st;
    for (auto& h : handles_) {
      std::uint64_t v = 0;
      if (db_->GetIntProperty(h.get(), rocksdb::DB::Properties::kLiveSstFilesSize, &v)) st.live_sst_bytes += v;
      if (db_->GetIntProperty(h.get(), rocksdb::DB::Properties::kCurSizeAllMemTables, &v)) st.memtable_bytes += v;
      if (db_->GetIntProperty(h.get(), rocksdb::DB::Properties::kEstimatePendingCompactionBytes, &v))
        st.pending_compaction_bytes += v;
    }
    st.block_cache_usage = cache_->GetUsage();
    st.block_cache_hits = statistics_->getTickerCount(rocksdb::BLOCK_CACHE_HIT);
    st.block_cache_misses = statistics_->getTickerCount(rocksdb::BLOCK_CACHE_MISS);
    st.stall_micros = statistics_->getTickerCount(rocksdb::STALL_MICROS);
    for (std::size_t i = 0; i < kCfCount; ++i) {
      st.keys_read_by_table[i] = keys_read_by_cf_[i].load(std::memory_order_relaxed);
      st.keys_read += st.keys_read_by_table[i];
    }
    std::uint64_t v = 0;  // DB-wide properties: any column family answers
    if (db_->GetIntProperty(rocksdb::DB::Properties::kActualDelayedWriteRate, &v)) st.delayed_write_rate = v;
    if (db_->GetIntProperty(rocksdb::DB::Properties::kIsWriteStopped, &v)) st.write_stopped = v != 0;
    for (const auto& f : filters_)
      if (f) st.expired_values_dropped += f->dropped();
    return st;
  }

 private:
  rocksdb::ColumnFamilyHandle* handle(Cf cf) { return handles_[static_cast<std::size_t>(cf)].get(); }
  /// Keys read per table, by get() and multi_get() (every read of the store
  /// goes through them); the core's thread counts, stats() may read from another.
  void count_read(Cf cf, std::size_t n) {
    keys_read_by_cf_[static_cast<std::size_t>(cf)].fetch_add(n, std::memory_order_relaxed);
  }
  std::array<std::atomic<std::uint64_t>, kCfCount> keys_read_by_cf_{};

  std::string dir_;
  bool sync_;
  bool failed_ = false;  // a write failed: never Close() (see the destructor)
  std::shared_ptr<RocksMemory> memory_;
  std::shared_ptr<rocksdb::Statistics> statistics_;
  std::shared_ptr<rocksdb::Cache> cache_;
  // Declared before db_ so they outlive the DB (the column families'
  // options point at them).
  std::array<std::unique_ptr<ExpiredValueFilter>, kCfCount> filters_;
  std::unique_ptr<rocksdb::DB> db_;
  std::unique_ptr<rocksdb::ColumnFamilyHandle> default_;
  std::array<std::unique_ptr<rocksdb::ColumnFamilyHandle>, kCfCount> handles_;
};

}  // namespace

std::unique_ptr<StateStore> open_rocks_store(const std::string& dir, const std::string& fingerprint,
                                             const RocksOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw StateError(dir + ": cannot create the state directory: " + ec.message());
  return std::make_unique<RocksStateStore>(dir, fingerprint, options);
}

RocksStats rocks_stats(StateStore& store) {
  if (auto* r = dynamic_cast<RocksStateStore*>(&store)) return r->stats();
  return {};
}

}  // namespace alliance

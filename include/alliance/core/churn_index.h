// The churn index (SPEC §5.2 churned buyers, docs/SEMANTICS.md customer
// measures): how many buyers of each "all" record had their last completed
// order at each time, in time order, so that moving the churn cutoff visits
// only the entries it passes. It grows with every buyer for churn_after (90
// days by default), so an entry is 16 bytes (time, interned key number,
// buyers) in sorted chunks of up to kChunkMax entries, one map node per
// chunk; a std::map node per entry with a string key cost ~110 bytes. Its
// stored key (the kChurn column family) is be64(time) · all_record_key, and
// entries are visited in that key's order: time, then key bytes.
// Owned by MetricWindows; single thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>
#include <boost/unordered/unordered_flat_set.hpp>

#include "alliance/core/event_time.h"
#include "alliance/core/key_hash.h"

namespace alliance {

class ChurnIndex {
 public:
  ChurnIndex();
  // The chunks' order looks keys up in this object: not copied or moved.
  ChurnIndex(const ChurnIndex&) = delete;
  ChurnIndex& operator=(const ChurnIndex&) = delete;

  /// Adds one buyer at (ts, all_key).
  void add(TimestampMs ts, std::string_view all_key);
  /// Removes one buyer at (ts, all_key), erasing the entry at zero; nothing
  /// when there is no such entry.
  void remove_one(TimestampMs ts, std::string_view all_key);
  /// Restores a persisted entry (key be64(time) · all_record_key) without
  /// marking it changed. CorruptState when the key is shorter than its
  /// 8-byte time or `buyers` is not in 1..2³²-1.
  void restore(std::string_view stored_key, std::int64_t buyers);

  /// Calls f(ts, all_key, buyers) for every entry with from <= ts < to, in
  /// (time, key bytes) order. f must not change the index.
  template <class F>
  void for_each_between(TimestampMs from, TimestampMs to, F&& f) const {
    for (auto c = chunk_of(Pos{from, kLowest}); c != chunks_.end(); ++c) {
      for (const Entry& e : c->second) {
        if (e.ts < from) continue;
        if (e.ts >= to) return;
        f(e.ts, std::string_view(keys_[e.key]), static_cast<std::int64_t>(e.buyers));
      }
    }
  }
  /// The time of the first entry at or after `ts`; INT64_MAX when none.
  [[nodiscard]] TimestampMs first_at_or_after(TimestampMs ts) const;
  /// Buyers at (ts, all_key); 0 when none.
  [[nodiscard]] std::int64_t buyers_at(TimestampMs ts, std::string_view all_key) const;
  /// Entries (distinct (time, key) with buyers).
  [[nodiscard]] std::size_t size() const { return size_; }

  /// Without a state store nobody drains the changes (see StateTable).
  void track_changes(bool on);
  /// Calls f(stored key, buyers or nullptr when erased) for every entry
  /// changed since the last drain, in key order, then forgets them.
  template <class F>
  void drain_changes(F&& f) {
    std::vector<Pos> changed(changed_.begin(), changed_.end());
    std::sort(changed.begin(), changed.end(), [this](const Pos& a, const Pos& b) { return less(a, b); });
    std::string k;
    for (const Pos& p : changed) {
      stored_key_to(k, p);
      const std::int64_t n = buyers_at(p);
      f(k, n > 0 ? &n : nullptr);
    }
    changed_.clear();
  }
  /// Forgets the changed entries without visiting them.
  void clear_changes() { changed_.clear(); }

  /// Entries a chunk holds at most; one of more is split in two.
  static constexpr std::size_t kChunkMax = 128;

 private:
  static constexpr std::uint32_t kLowest = UINT32_MAX;  // sorts before every key of its time
  /// An entry's place: the time, then the key's bytes (keys_[key]).
  struct Pos {
    TimestampMs ts;
    std::uint32_t key;
    friend bool operator==(const Pos&, const Pos&) = default;
  };
  struct Entry {
    TimestampMs ts;
    std::uint32_t key;
    std::uint32_t buyers;
    [[nodiscard]] Pos pos() const { return {ts, key}; }
  };
  static_assert(sizeof(Entry) == 16);
  struct PosLess {
    const ChurnIndex* index;
    bool operator()(const Pos& a, const Pos& b) const { return index->less(a, b); }
  };
  struct PosHash {
    std::size_t operator()(const Pos& p) const noexcept {
      const std::uint64_t h = (static_cast<std::uint64_t>(p.ts) ^ (std::uint64_t{p.key} << 40)) * 0x9E3779B97F4A7C15ULL;
      return static_cast<std::size_t>(h ^ (h >> 29));
    }
  };
  /// A chunk holds the entries from its map key (its lower fence, fixed when
  /// it is made) up to the next chunk's, sorted. The first chunk's fence is
  /// the lowest place; only it may be empty.
  using Chunks = std::map<Pos, std::vector<Entry>, PosLess>;

  [[nodiscard]] bool less(const Pos& a, const Pos& b) const {
    if (a.ts != b.ts) return a.ts < b.ts;
    if (a.key == b.key) return false;
    if (a.key == kLowest || b.key == kLowest) return a.key == kLowest;
    return keys_[a.key] < keys_[b.key];
  }
  [[nodiscard]] Chunks::const_iterator chunk_of(const Pos& p) const { return std::prev(chunks_.upper_bound(p)); }
  [[nodiscard]] Chunks::iterator chunk_of(const Pos& p) { return std::prev(chunks_.upper_bound(p)); }
  /// The first entry of `chunk` not before `p`.
  std::vector<Entry>::iterator place_in(std::vector<Entry>& chunk, const Pos& p);
  [[nodiscard]] std::int64_t buyers_at(const Pos& p) const;
  /// The key's number, interning it when new (keys are never dropped).
  std::uint32_t key_number(std::string_view all_key);
  void mark(const Pos& p) {
    if (tracking_) changed_.insert(p);
  }
  /// Splits `c` when it is over kChunkMax (`newest`: its last entry was
  /// just appended, the newest of the index); merges it with a neighbour
  /// when it is under a quarter full and both fit in one chunk.
  void rebalance(Chunks::iterator c, bool newest);
  void stored_key_to(std::string& out, const Pos& p) const;

  std::vector<std::string> keys_;  // by key number
  boost::unordered_flat_map<std::string, std::uint32_t, KeyHash, std::equal_to<>> numbers_;
  Chunks chunks_;
  std::size_t size_ = 0;
  boost::unordered_flat_set<Pos, PosHash> changed_;
  bool tracking_ = true;
};

}  // namespace alliance

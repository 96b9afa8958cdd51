// The churn index (SPEC §5.2 churned buyers, docs/SEMANTICS.md customer
// measures): how many buyers of each "all" record had their last completed
// order at each time, in time order, so that moving the churn cutoff visits
// only the entries it passes. It grows with every buyer for churn_after (90
// days by default), so an entry is 16 bytes (time, interned key number,
// buyers) in SortedChunks; a std::map node per entry with a string key
// cost ~110 bytes. Its stored key (the kChurn column family) is
// be64(time) · all_record_key, and entries are visited in that key's
// order: time, then key bytes.
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
#include "alliance/core/sorted_chunks.h"

namespace alliance {

class ChurnIndex {
 public:
  ChurnIndex() = default;
  // The entries' order looks keys up in this object: not copied or moved.
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
    entries_.for_each_from(Entry{from, kLowest, 0}, [&](const Entry& e) {
      if (e.ts >= to) return false;
      f(e.ts, std::string_view(keys_[e.key]), static_cast<std::int64_t>(e.buyers));
      return true;
    });
  }
  /// The time of the first entry at or after `ts`; INT64_MAX when none.
  [[nodiscard]] TimestampMs first_at_or_after(TimestampMs ts) const;
  /// Buyers at (ts, all_key); 0 when none.
  [[nodiscard]] std::int64_t buyers_at(TimestampMs ts, std::string_view all_key) const;
  /// Entries (distinct (time, key) with buyers).
  [[nodiscard]] std::size_t size() const { return entries_.size(); }

  /// Without a state store nobody drains the changes (see StateTable).
  void track_changes(bool on);
  /// Calls f(stored key, buyers or nullptr when erased) for every entry
  /// changed since the last drain, in key order, then forgets them.
  template <class F>
  void drain_changes(F&& f) {
    std::vector<Entry> changed(changed_.begin(), changed_.end());
    std::sort(changed.begin(), changed.end(), EntryOrder{this});
    std::string k;
    for (const Entry& p : changed) {
      stored_key_to(k, p);
      const Entry* e = entries_.find(p);
      const std::int64_t n = e != nullptr ? static_cast<std::int64_t>(e->buyers) : 0;
      f(k, e != nullptr ? &n : nullptr);
    }
    changed_.clear();
  }
  /// Forgets the changed entries without visiting them.
  void clear_changes() { changed_.clear(); }

 private:
  static constexpr std::uint32_t kLowest = UINT32_MAX;  // sorts before every key of its time
  /// An entry: the time and key number are its place, buyers its value.
  struct Entry {
    TimestampMs ts;
    std::uint32_t key;
    std::uint32_t buyers;
  };
  static_assert(sizeof(Entry) == 16);
  /// Time, then the key's bytes (keys_[key]); kLowest before any key.
  struct EntryOrder {
    const ChurnIndex* index;
    bool operator()(const Entry& a, const Entry& b) const {
      if (a.ts != b.ts) return a.ts < b.ts;
      if (a.key == b.key) return false;
      if (a.key == kLowest || b.key == kLowest) return a.key == kLowest;
      return index->keys_[a.key] < index->keys_[b.key];
    }
  };
  struct PlaceHash {
    std::size_t operator()(const Entry& e) const noexcept {
      const std::uint64_t h = (static_cast<std::uint64_t>(e.ts) ^ (std::uint64_t{e.key} << 40)) * 0x9E3779B97F4A7C15ULL;
      return static_cast<std::size_t>(h ^ (h >> 29));
    }
  };
  struct SamePlace {
    bool operator()(const Entry& a, const Entry& b) const { return a.ts == b.ts && a.key == b.key; }
  };

  /// The key's number, interning it when new (keys are never dropped).
  std::uint32_t key_number(std::string_view all_key);
  void mark(const Entry& place) {
    if (tracking_) changed_.insert(Entry{place.ts, place.key, 0});
  }
  void stored_key_to(std::string& out, const Entry& place) const;

  std::vector<std::string> keys_;  // by key number
  boost::unordered_flat_map<std::string, std::uint32_t, KeyHash, std::equal_to<>> numbers_;
  SortedChunks<Entry, EntryOrder> entries_{EntryOrder{this}};
  boost::unordered_flat_set<Entry, PlaceHash, SamePlace> changed_;  // places, buyers 0
  bool tracking_ = true;
};

}  // namespace alliance

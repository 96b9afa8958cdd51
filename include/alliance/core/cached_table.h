// A keyed table of core state that may be larger than memory: the core
// reads and writes it like a map, and with a state store behind it (a
// loader) it is a bounded write-back cache of that store. A key the cache
// does not hold is read through the loader (or was prefetched for the
// batch); a changed key stays in the cache until the state adapter has
// drained and written it; clean keys not used in the current cycle are
// evicted when the cache is over its byte budget. Without a loader the
// table holds the whole state (replay in memory) and never evicts.
//
// Expiry is logical: a value whose expiry time (`expiry_ts`, e.g. a user's
// newest event) is before the table's horizon is absent for the core,
// whether or not a sweep or RocksDB's compaction filter removed it yet, so
// results never depend on when the physical deletion happens.
//
// Owned by one core component; single thread (the core's).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "alliance/core/event_time.h"

namespace alliance {

template <class V>
class CachedTable {
 public:
  /// Reads a key the cache does not hold from the store (nullopt: absent).
  using Loader = std::function<std::optional<V>(const std::string&)>;
  /// The event time a value expires by; null: the table never expires.
  using ExpiryTs = TimestampMs (*)(const V&);
  /// Approximate heap bytes of a value beyond sizeof(V), for the budget.
  using Weigh = std::size_t (*)(const V&);

  explicit CachedTable(ExpiryTs expiry_ts = nullptr, Weigh weigh = nullptr) : expiry_ts_(expiry_ts), weigh_(weigh) {}

  /// The live value of `k`, or null (absent or expired).
  V* find(const std::string& k) {
    Slot* s = lookup(k);
    return s != nullptr && s->present && live(s->value) ? &s->value : nullptr;
  }
  /// The value the cache holds for `k`, expired or not (never loads).
  [[nodiscard]] const V* peek(const std::string& k) const {
    auto it = map_.find(k);
    return it != map_.end() && it->second.present ? &it->second.value : nullptr;
  }
  /// The live value of `k` (a new default one if absent or expired), marked changed.
  V& upsert(const std::string& k) {
    Slot* s = lookup(k);
    if (s == nullptr) s = &insert(k, std::nullopt);
    if (!s->present || !live(s->value)) {
      s->value = V{};
      s->present = true;
    }
    mark(k, *s);
    return s->value;
  }
  /// Deletes `k` (a delete reaches the store even if the cache never held it).
  void erase(const std::string& k) {
    auto it = map_.find(k);
    if (!loader_) {
      if (it == map_.end() || !it->second.present) return;
      if (!tracking_) {
        bytes_ -= it->second.bytes;
        map_.erase(it);
        return;
      }
    }
    Slot& s = it == map_.end() ? insert(k, std::nullopt) : it->second;
    s.present = false;
    s.value = V{};
    mark(k, s);
  }
  /// Restores a persisted entry without marking it changed.
  void restore(std::string k, V v) {
    auto it = map_.find(k);
    if (it != map_.end()) {
      bytes_ -= it->second.bytes;
      map_.erase(it);
    }
    insert(k, std::move(v));
  }
  /// Hands the cache what the store holds for `k` (a prefetch); ignored when
  /// the cache already holds the key (its copy may be newer).
  void preload(const std::string& k, std::optional<V> v) {
    if (map_.count(k) == 0) insert(k, std::move(v));
  }
  /// Whether the cache holds `k` (present, absent or expired): a read would not reach the store.
  [[nodiscard]] bool cached(const std::string& k) const { return map_.count(k) != 0; }

  /// Calls f(key, value or nullptr when erased) for every changed key, then forgets them.
  template <class F>
  void drain_changes(F&& f) {
    for (const auto& k : changed_) {
      auto it = map_.find(k);
      if (it == map_.end()) continue;
      Slot& s = it->second;
      s.dirty = false;
      f(k, s.present ? &s.value : nullptr);
      bytes_ -= s.bytes;
      if (!s.present && !loader_) {  // the whole table: no absent markers
        map_.erase(it);
        continue;
      }
      s.bytes = weight(k, s);
      bytes_ += s.bytes;
    }
    changed_.clear();
  }
  /// Forgets the changed keys without visiting them (no state store).
  void clear_changes() {
    for (const auto& k : changed_)
      if (auto it = map_.find(k); it != map_.end()) it->second.dirty = false;
    changed_.clear();
  }
  /// Without a state store nobody drains the changes: not tracking them
  /// saves a key copy on every upsert.
  void track_changes(bool on) {
    tracking_ = on;
    if (!on) clear_changes();
  }

  /// A state store backs the table from now on: misses are read through `loader`.
  void set_loader(Loader loader) { loader_ = std::move(loader); }
  [[nodiscard]] bool backed() const { return static_cast<bool>(loader_); }
  /// Values whose expiry time is before `horizon` are absent from now on.
  void set_horizon(TimestampMs horizon) { horizon_ = horizon; }
  [[nodiscard]] TimestampMs horizon() const { return horizon_; }

  /// Starts a new cycle: keys used before it are eviction candidates.
  void next_cycle() { ++epoch_; }
  /// Evicts clean keys not used in the current cycle until the cache holds
  /// at most `target_bytes` (never a changed key: it is not in the store yet).
  /// `even_used`: clean keys used in this cycle go too (a miss reads them
  /// again; the bound matters more). Only when backed: without a store the
  /// table is the state.
  void evict_to(std::size_t target_bytes, bool even_used = false) {
    if (!loader_ || bytes_ <= target_bytes) return;
    for (auto it = map_.begin(); it != map_.end() && bytes_ > target_bytes;) {
      const Slot& s = it->second;
      if (!s.dirty && (even_used || s.used != epoch_)) {
        bytes_ -= s.bytes;
        it = map_.erase(it);
      } else {
        ++it;
      }
    }
  }
  /// Approximate bytes the cache holds (keys, values, node overhead).
  [[nodiscard]] std::size_t bytes() const { return bytes_; }
  /// Present values the cache holds (the table's size when not backed); O(n).
  [[nodiscard]] std::size_t size() const {
    std::size_t n = 0;
    for (const auto& [k, s] : map_) n += s.present ? 1 : 0;
    return n;
  }
  /// Keys the cache holds: present values, absent markers, expired values.
  [[nodiscard]] std::size_t slots() const { return map_.size(); }

  /// Visits the key of every present value the cache holds that has expired.
  template <class F>
  void for_each_expired(F&& f) const {
    for (const auto& [k, s] : map_)
      if (s.present && !live(s.value)) f(k);
  }
  /// Visits every live value the cache holds (the whole table when not backed).
  template <class F>
  void for_each(F&& f) const {
    for (const auto& [k, s] : map_)
      if (s.present && live(s.value)) f(k, s.value);
  }

 private:
  struct Slot {
    V value{};
    bool present = false;
    bool dirty = false;
    std::uint32_t used = 0;   // epoch of the last use
    std::uint32_t bytes = 0;  // weight when last measured
  };

  [[nodiscard]] bool live(const V& v) const { return expiry_ts_ == nullptr || expiry_ts_(v) >= horizon_; }

  /// The slot of `k`, read through the loader on a miss; null when the
  /// table is not backed and does not hold `k`.
  Slot* lookup(const std::string& k) {
    auto it = map_.find(k);
    if (it != map_.end()) {
      it->second.used = epoch_;
      return &it->second;
    }
    if (!loader_) return nullptr;
    return &insert(k, loader_(k));
  }

  Slot& insert(const std::string& k, std::optional<V> v) {
    Slot& s = map_.try_emplace(k).first->second;
    s.present = v.has_value();
    if (v) s.value = std::move(*v);
    s.used = epoch_;
    s.bytes = weight(k, s);
    bytes_ += s.bytes;
    return s;
  }

  void mark(const std::string& k, Slot& s) {
    if (!tracking_ || s.dirty) return;
    s.dirty = true;
    changed_.push_back(k);
  }

  [[nodiscard]] std::uint32_t weight(const std::string& k, const Slot& s) const {
    // Key, slot and an unordered_map node with its cached hash.
    std::size_t b = k.capacity() + sizeof(std::pair<const std::string, Slot>) + 2 * sizeof(void*) + sizeof(std::size_t);
    if (s.present && weigh_ != nullptr) b += weigh_(s.value);
    return static_cast<std::uint32_t>(std::min<std::size_t>(b, UINT32_MAX));
  }

  std::unordered_map<std::string, Slot> map_;
  std::vector<std::string> changed_;
  Loader loader_;
  ExpiryTs expiry_ts_;
  Weigh weigh_;
  TimestampMs horizon_ = INT64_MIN;
  std::uint32_t epoch_ = 0;
  std::size_t bytes_ = 0;
  bool tracking_ = true;
};

}  // namespace alliance

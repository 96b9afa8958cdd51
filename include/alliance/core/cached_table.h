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
// Layout (issue 21): entries live in a pool of slots whose addresses never
// change (a deque with a free list), so a V& stays valid while other keys
// come and go; a flat open-addressing index (Boost's unordered_flat_map)
// maps each key, held once in its slot, to the slot. Lookups take a
// string_view: no key is copied to look it up, and the changed keys are
// slot numbers, not key copies.
//
// Owned by one core component; single thread (the core's).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <deque>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>

#include "alliance/core/event_time.h"
#include "alliance/core/key_hash.h"

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
  CachedTable(const CachedTable&) = delete;
  CachedTable& operator=(const CachedTable&) = delete;

  /// The live value of `k`, or null (absent or expired).
  V* find(std::string_view k) {
    Slot* s = lookup(k);
    return s != nullptr && s->present && live(s->value) ? &s->value : nullptr;
  }
  /// The value the cache holds for `k`, expired or not (never loads).
  [[nodiscard]] const V* peek(std::string_view k) const {
    const Slot* s = held(k);
    return s != nullptr && s->present ? &s->value : nullptr;
  }
  /// The live value of `k` (a new default one if absent or expired), marked changed.
  V& upsert(std::string_view k) {
    Slot* s = lookup(k);
    if (s == nullptr) s = &insert(k, std::nullopt);
    if (!s->present || !live(s->value)) {
      s->value = V{};
      s->present = true;
    }
    mark(*s);
    return s->value;
  }
  /// The live value of `k` and false; or, when it is absent or expired, a
  /// new default value, marked changed, and true: find() then upsert() of
  /// a new key with one lookup.
  std::pair<V*, bool> find_or_create(std::string_view k) {
    Slot* s = lookup(k);
    if (s != nullptr && s->present && live(s->value)) return {&s->value, false};
    if (s == nullptr) s = &insert(k, std::nullopt);
    s->value = V{};
    s->present = true;
    mark(*s);
    return {&s->value, true};
  }
  /// Deletes `k` (a delete reaches the store even if the cache never held it).
  void erase(std::string_view k) {
    Slot* s = held(k);
    if (!loader_) {
      if (s == nullptr || !s->present) return;
      if (!tracking_) {
        release(*s);
        return;
      }
    }
    if (s == nullptr) s = &insert(k, std::nullopt);
    s->present = false;
    s->value = V{};
    mark(*s);
  }
  /// Restores a persisted entry without marking it changed.
  void restore(std::string_view k, V v) {
    if (Slot* s = held(k)) release(*s);
    insert(k, std::move(v));
  }
  /// Hands the cache what the store holds for `k` (a prefetch); ignored when
  /// the cache already holds the key (its copy may be newer).
  void preload(std::string_view k, std::optional<V> v) {
    if (held(k) == nullptr) insert(k, std::move(v));
  }
  /// Whether the cache holds `k` (present, absent or expired): a read would not reach the store.
  [[nodiscard]] bool cached(std::string_view k) const { return index_.contains(k); }

  /// Calls f(key, value or nullptr when erased) for every changed key, in
  /// the order they first changed, then forgets them.
  template <class F>
  void drain_changes(F&& f) {
    for (const std::uint32_t i : changed_) {
      Slot& s = slots_[i];
      if (!s.dirty) continue;  // released meanwhile (no store: it was erased)
      s.dirty = false;
      f(s.key, s.present ? &s.value : nullptr);
      bytes_ -= s.bytes;
      if (!s.present && !loader_) {  // the whole table: no absent markers
        release_measured(s);
        continue;
      }
      s.bytes = weight(s);
      bytes_ += s.bytes;
    }
    changed_.clear();
  }
  /// Forgets the changed keys without visiting them (no state store).
  void clear_changes() {
    for (const std::uint32_t i : changed_) slots_[i].dirty = false;
    changed_.clear();
  }
  /// Without a state store nobody drains the changes: not tracking them
  /// saves the bookkeeping on every upsert.
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
  ///
  /// A clock hand goes round the slots and carries on where the last
  /// eviction stopped, so every key gets a turn: a scan from the first slot
  /// each time evicted the same low slots again and again — the free list
  /// hands them to the newest keys, so the keys loaded last went first.
  void evict_to(std::size_t target_bytes, bool even_used = false) {
    if (!loader_ || bytes_ <= target_bytes || slots_.empty()) return;
    for (std::size_t n = 0; n < slots_.size() && bytes_ > target_bytes; ++n) {
      if (hand_ >= slots_.size()) hand_ = 0;
      Slot& s = slots_[hand_++];
      if (s.occupied && !s.dirty && (even_used || s.used != epoch_)) release(s);
    }
  }
  /// Approximate bytes the cache holds (keys, values, index and slot overhead).
  [[nodiscard]] std::size_t bytes() const { return bytes_; }
  /// Present values the cache holds (the table's size when not backed); O(n).
  [[nodiscard]] std::size_t size() const {
    std::size_t n = 0;
    for (const Slot& s : slots_) n += s.occupied && s.present ? 1 : 0;
    return n;
  }
  /// Keys the cache holds: present values, absent markers, expired values.
  [[nodiscard]] std::size_t slots() const { return index_.size(); }

  /// Visits the key of every present value the cache holds that has expired.
  template <class F>
  void for_each_expired(F&& f) const {
    for (const Slot& s : slots_)
      if (s.occupied && s.present && !live(s.value)) f(s.key);
  }
  /// Visits every live value the cache holds (the whole table when not backed).
  template <class F>
  void for_each(F&& f) const {
    for (const Slot& s : slots_)
      if (s.occupied && s.present && live(s.value)) f(s.key, s.value);
  }

 private:
  struct Slot {
    std::string key;  // the index's key views point here: a slot never moves
    V value{};
    bool occupied = false;  // in the index (else on the free list)
    bool present = false;
    bool dirty = false;
    std::uint32_t used = 0;   // epoch of the last use
    std::uint32_t bytes = 0;  // weight when last measured
    std::uint32_t number = 0;  // its place in slots_
  };
  using Index = boost::unordered_flat_map<std::string_view, std::uint32_t, KeyHash>;

  [[nodiscard]] bool live(const V& v) const { return expiry_ts_ == nullptr || expiry_ts_(v) >= horizon_; }

  [[nodiscard]] Slot* held(std::string_view k) {
    auto it = index_.find(k);
    return it == index_.end() ? nullptr : &slots_[it->second];
  }
  [[nodiscard]] const Slot* held(std::string_view k) const {
    auto it = index_.find(k);
    return it == index_.end() ? nullptr : &slots_[it->second];
  }

  /// The slot of `k`, read through the loader on a miss; null when the
  /// table is not backed and does not hold `k`.
  Slot* lookup(std::string_view k) {
    if (Slot* s = held(k)) {
      s->used = epoch_;
      return s;
    }
    if (!loader_) return nullptr;
    return &insert(k, loader_(std::string(k)));
  }

  Slot& insert(std::string_view k, std::optional<V> v) {
    std::uint32_t i = 0;
    if (!free_.empty()) {
      i = free_.back();
      free_.pop_back();
    } else {
      i = static_cast<std::uint32_t>(slots_.size());
      slots_.emplace_back();
    }
    Slot& s = slots_[i];
    s.number = i;
    s.key.assign(k.data(), k.size());
    s.occupied = true;
    s.present = v.has_value();
    if (v) s.value = std::move(*v);
    s.dirty = false;
    s.used = epoch_;
    index_.emplace(std::string_view(s.key), i);
    s.bytes = weight(s);
    bytes_ += s.bytes;
    return s;
  }

  /// Takes a slot out of the index and onto the free list (its weight still counted).
  void release(Slot& s) {
    bytes_ -= s.bytes;
    release_measured(s);
  }
  /// As release(), for a slot whose weight was already taken off bytes_.
  void release_measured(Slot& s) {
    index_.erase(std::string_view(s.key));
    s.key.clear();
    s.value = V{};
    s.occupied = s.present = s.dirty = false;
    s.bytes = 0;
    free_.push_back(s.number);
  }

  void mark(Slot& s) {
    if (!tracking_ || s.dirty) return;
    s.dirty = true;
    changed_.push_back(s.number);
  }

  [[nodiscard]] std::uint32_t weight(const Slot& s) const {
    // Key beyond its inline buffer, the slot, and the index entry with its
    // metadata byte at the flat map's maximum load (7/8).
    std::size_t b = sizeof(Slot) + (s.key.capacity() > 15 ? s.key.capacity() + 1 : 0) +
                    (sizeof(typename Index::value_type) + 1) * 8 / 7;
    if (s.present && weigh_ != nullptr) b += weigh_(s.value);
    return static_cast<std::uint32_t>(std::min<std::size_t>(b, UINT32_MAX));
  }

  Index index_;
  std::deque<Slot> slots_;
  std::vector<std::uint32_t> free_;
  std::vector<std::uint32_t> changed_;  // slots changed since the last drain, in order
  Loader loader_;
  ExpiryTs expiry_ts_;
  Weigh weigh_;
  TimestampMs horizon_ = INT64_MIN;
  std::uint32_t epoch_ = 0;
  std::size_t hand_ = 0;  // evict_to's clock hand: the next slot it looks at
  std::size_t bytes_ = 0;
  bool tracking_ = true;
};

}  // namespace alliance

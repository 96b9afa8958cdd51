// A keyed table of core state that remembers which keys changed since the
// state store last drained it. Owned by one core component; single thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>

#include "alliance/core/dirty_keys.h"

namespace alliance {

/// `Map` is std::map where iteration order matters (windows, ledgers: output
/// order must be deterministic) and std::unordered_map for point lookups.
template <class V, class Map = std::map<std::string, V>>
class StateTable {
 public:
  V* find(const std::string& k) {
    auto it = map_.find(k);
    return it == map_.end() ? nullptr : &it->second;
  }
  const V* find(const std::string& k) const {
    auto it = map_.find(k);
    return it == map_.end() ? nullptr : &it->second;
  }
  /// Returns the value for `k` (default-constructed if new), marked changed.
  V& upsert(const std::string& k) {
    if (tracking_) changed_.insert(k);
    return map_[k];
  }
  /// Marks `k` changed: its value was changed through a reference kept
  /// from upsert() (see change_generation()).
  void mark_changed(const std::string& k) {
    if (tracking_ && !changed_.contains(k)) changed_.insert(k);
  }
  /// Changes whenever the changed keys are drained or forgotten: a caller
  /// that marked its key at generation G need not mark it again while
  /// change_generation() == G.
  [[nodiscard]] std::uint64_t change_generation() const { return generation_; }
  void erase(const std::string& k) {
    if (map_.erase(k) != 0 && tracking_) changed_.insert(k);
  }
  typename Map::iterator erase(typename Map::iterator it) {
    if (tracking_) changed_.insert(it->first);
    return map_.erase(it);
  }
  /// Without a state store nobody drains the changes: not tracking them
  /// saves a set insert (a key copy) on every upsert.
  void track_changes(bool on) {
    tracking_ = on;
    ++generation_;
    if (!on) changed_.clear();
  }
  [[nodiscard]] bool tracking() const { return tracking_; }
  /// Restores a persisted entry without marking it changed.
  void restore(std::string k, V v) { map_.insert_or_assign(std::move(k), std::move(v)); }

  /// Calls f(key, value or nullptr when erased) for every changed key (in the
  /// flat set's order: deterministic, not sorted), then forgets them.
  template <class F>
  void drain_changes(F&& f) {
    for (const auto& k : changed_) f(k, find(k));
    changed_.clear();
    ++generation_;
  }

  /// Forgets the changed keys without visiting them (no state store).
  void clear_changes() {
    changed_.clear();
    ++generation_;
  }

  [[nodiscard]] const Map& map() const { return map_; }
  [[nodiscard]] std::size_t size() const { return map_.size(); }
  [[nodiscard]] auto begin() { return map_.begin(); }
  [[nodiscard]] auto end() { return map_.end(); }

 private:
  Map map_;
  // A flat hash set: a key already changed this cycle costs one hash and
  // compare, a new one a copy but no node allocation.
  DirtyKeys::Set changed_;
  std::uint64_t generation_ = 1;
  bool tracking_ = true;
};

}  // namespace alliance

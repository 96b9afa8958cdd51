// A set of keys whose membership is cheap to test and grow (a flat hash set:
// no node allocation, one hash and usually one compare per insert) and which
// is visited in sorted (std::less<std::string>, bytewise) order — the order
// a std::set<std::string> had, so outputs and persisted bytes keep it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/unordered/unordered_flat_set.hpp>

#include "alliance/core/key_hash.h"

namespace alliance {

class DirtyKeys {
 public:
  using Set = boost::unordered_flat_set<std::string, KeyHash, std::equal_to<>>;

  /// Adds `k`; copies it only when it is new.
  void insert(std::string_view k) {
    if (!set_.contains(k)) set_.emplace(k);
  }
  void insert(std::string&& k) { set_.insert(std::move(k)); }
  std::size_t erase(std::string_view k) {
    ++generation_;
    return set_.erase(k);
  }
  [[nodiscard]] bool contains(std::string_view k) const { return set_.contains(k); }
  [[nodiscard]] std::size_t count(std::string_view k) const { return set_.contains(k) ? 1 : 0; }
  [[nodiscard]] std::size_t size() const { return set_.size(); }
  [[nodiscard]] bool empty() const { return set_.empty(); }
  void clear() {
    ++generation_;
    set_.clear();
  }
  /// Changes whenever a key may have left the set: a caller that saw its key
  /// inserted at generation G knows it is still in while generation() == G.
  [[nodiscard]] std::uint64_t generation() const { return generation_; }

  /// The keys in sorted order. Valid until the set changes.
  const std::vector<const std::string*>& sorted() const {
    sorted_.clear();
    sorted_.reserve(set_.size());
    for (const std::string& k : set_) sorted_.push_back(&k);
    std::sort(sorted_.begin(), sorted_.end(), [](const std::string* a, const std::string* b) { return *a < *b; });
    return sorted_;
  }
  /// Calls f(key) for every key in sorted order; f must not change the set.
  template <class F>
  void for_each_sorted(F&& f) const {
    for (const std::string* k : sorted()) f(*k);
  }

 private:
  Set set_;
  std::uint64_t generation_ = 1;
  mutable std::vector<const std::string*> sorted_;  // reused by sorted()
};

}  // namespace alliance

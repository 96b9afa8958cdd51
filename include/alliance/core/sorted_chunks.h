// An ordered set of entries kept in sorted chunks of up to kChunkMax, one
// std::map node per chunk: for the core's tables that grow with business
// for weeks (the churn index, pending commission buckets), where a
// std::map node per entry costs its entry plus ~50 bytes of node and
// malloc header. An entry holds its key and its value; `Order` compares
// entries by key only, and a look-up takes a probe entry with the key set.
// Inserting or erasing costs O(log chunks + kChunkMax); entries arriving in
// order (the newest time) fill chunks completely.
// Plain value (copyable when Order is); single thread.
#pragma once

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <map>
#include <utility>
#include <vector>

namespace alliance {

/// Entries a chunk of SortedChunks holds at most; one of more is split in two.
inline constexpr std::size_t kSortedChunkMax = 128;

template <class Entry, class Order>
class SortedChunks {
 public:
  static constexpr std::size_t kChunkMax = kSortedChunkMax;

  explicit SortedChunks(Order order = Order{}) : order_(order), chunks_(FenceLess{order}) {}

  /// The entry with `probe`'s key, or nullptr. Good until the next change;
  /// the caller may change its value, never its key.
  Entry* find(const Entry& probe) {
    if (chunks_.empty()) return nullptr;
    std::vector<Entry>& c = chunk_of(probe)->second;
    auto it = place_in(c, probe);
    return it != c.end() && !order_(probe, *it) ? &*it : nullptr;
  }
  const Entry* find(const Entry& probe) const { return const_cast<SortedChunks*>(this)->find(probe); }

  /// The entry with `e`'s key, inserted as `e` when there is none; true
  /// when inserted. The pointer is good until the next change.
  std::pair<Entry*, bool> insert(const Entry& e) {
    if (chunks_.empty()) {
      auto c = chunks_.emplace(e, std::vector<Entry>{e}).first;
      ++size_;
      return {&c->second.front(), true};
    }
    auto c = chunk_of(e);
    std::vector<Entry>& v = c->second;
    auto it = place_in(v, e);
    if (it != v.end() && !order_(e, *it)) return {&*it, false};
    const bool newest = it == v.end() && std::next(c) == chunks_.end();
    const auto at = static_cast<std::size_t>(it - v.begin());
    v.insert(it, e);
    ++size_;
    if (at == 0 && c == chunks_.begin()) {
      // A new first entry: the first chunk's fence moves down to it (the
      // node is re-keyed, not copied), so every fence is its chunk's least.
      auto node = chunks_.extract(c);
      node.key() = e;
      c = chunks_.insert(std::move(node)).position;
    }
    std::vector<Entry>& w = c->second;
    if (w.size() <= kChunkMax) return {&w[at], true};
    // Split. A last chunk overflowed by a new newest entry stays full and
    // the entry starts the next chunk; any other is halved.
    const std::size_t keep = newest ? kChunkMax : w.size() / 2;
    std::vector<Entry> upper(std::make_move_iterator(w.begin() + static_cast<std::ptrdiff_t>(keep)),
                             std::make_move_iterator(w.end()));
    w.resize(keep);
    w.shrink_to_fit();
    auto next = chunks_.emplace_hint(std::next(c), upper.front(), std::move(upper));
    return {at < keep ? &w[at] : &next->second[at - keep], true};
  }

  /// Erases the entry with `probe`'s key; false when there is none.
  bool erase(const Entry& probe) {
    if (chunks_.empty()) return false;
    auto c = chunk_of(probe);
    std::vector<Entry>& v = c->second;
    auto it = place_in(v, probe);
    if (it == v.end() || order_(probe, *it)) return false;
    v.erase(it);
    --size_;
    shrink(c);
    return true;
  }

  /// The first entry, or nullptr when empty.
  Entry* first() { return chunks_.empty() ? nullptr : &chunks_.begin()->second.front(); }
  const Entry* first() const { return chunks_.empty() ? nullptr : &chunks_.begin()->second.front(); }
  void erase_first() {
    if (chunks_.empty()) return;
    auto c = chunks_.begin();
    c->second.erase(c->second.begin());
    --size_;
    shrink(c);
  }

  /// Calls f(entry) for every entry not before `probe`'s key (every entry
  /// without a probe), in order, while f returns true. f may change values,
  /// not keys, and must not insert or erase.
  template <class F>
  void for_each_from(const Entry& probe, F&& f) {
    if (chunks_.empty()) return;
    for (auto c = chunk_of(probe); c != chunks_.end(); ++c)
      for (auto it = place_in(c->second, probe); it != c->second.end(); ++it)
        if (!f(*it)) return;
  }
  template <class F>
  void for_each_from(const Entry& probe, F&& f) const {
    const_cast<SortedChunks*>(this)->for_each_from(probe, [&](Entry& e) { return f(std::as_const(e)); });
  }
  template <class F>
  void for_each(F&& f) const {
    for (const auto& [fence, v] : chunks_)
      for (const Entry& e : v)
        if (!f(e)) return;
  }

  /// Erases every entry for which pred(entry) holds; returns how many.
  template <class P>
  std::size_t erase_if(P&& pred) {
    std::size_t n = 0;
    for (auto c = chunks_.begin(); c != chunks_.end();) {
      n += static_cast<std::size_t>(std::erase_if(c->second, pred));
      if (c->second.empty()) c = chunks_.erase(c);
      else ++c;
    }
    size_ -= n;
    return n;
  }

  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] bool empty() const { return size_ == 0; }
  void clear() {
    chunks_.clear();
    size_ = 0;
  }

 private:
  struct FenceLess {
    Order order;
    bool operator()(const Entry& a, const Entry& b) const { return order(a, b); }
  };
  /// A chunk holds the entries from its fence (an entry's key no greater
  /// than its first) up to the next chunk's fence. No chunk is empty.
  using Chunks = std::map<Entry, std::vector<Entry>, FenceLess>;

  typename Chunks::iterator chunk_of(const Entry& probe) {
    auto c = chunks_.upper_bound(probe);
    return c == chunks_.begin() ? c : std::prev(c);
  }
  typename std::vector<Entry>::iterator place_in(std::vector<Entry>& v, const Entry& probe) {
    return std::lower_bound(v.begin(), v.end(), probe, order_);
  }
  /// After an erase from `c`: an empty chunk goes; one under a quarter full
  /// joins a neighbour when both fit in one chunk.
  void shrink(typename Chunks::iterator c) {
    std::vector<Entry>& v = c->second;
    if (v.empty()) {
      // Its keys now belong to the chunk before it (or, when it was the
      // first, to the next: a new least entry re-keys the first chunk).
      chunks_.erase(c);
      return;
    }
    if (v.size() >= kChunkMax / 4) return;
    if (c != chunks_.begin()) {
      auto before = std::prev(c);
      if (before->second.size() + v.size() <= kChunkMax) {
        before->second.insert(before->second.end(), std::make_move_iterator(v.begin()), std::make_move_iterator(v.end()));
        chunks_.erase(c);
        return;
      }
    }
    auto after = std::next(c);
    if (after != chunks_.end() && after->second.size() + v.size() <= kChunkMax) {
      v.insert(v.end(), std::make_move_iterator(after->second.begin()), std::make_move_iterator(after->second.end()));
      chunks_.erase(after);
    }
  }

  Order order_;
  Chunks chunks_;
  std::size_t size_ = 0;
};

}  // namespace alliance

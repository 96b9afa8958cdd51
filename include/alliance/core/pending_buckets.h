// One balance's pending commission (SPEC §3.8): the amount per (time it
// becomes payable, settlement period), in that order. A partner accrues a
// bucket per distinct completion millisecond for its whole holding period
// (30 days by default), so the buckets are 48-byte entries in SortedChunks
// rather than a std::map node each (~100 bytes with the allocator's).
// Plain value, owned by its BalanceState; single thread.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "alliance/core/event_time.h"
#include "alliance/core/money.h"
#include "alliance/core/sorted_chunks.h"

namespace alliance {

/// A pending bucket: when it becomes payable, and the settlement period of
/// the commission in it (partner risk holds by period, SPEC §3.9).
using MaturityKey = std::pair<TimestampMs, std::string>;

struct PendingBucket {
  MaturityKey key;
  MinorUnits amount = 0;
  friend bool operator==(const PendingBucket&, const PendingBucket&) = default;
};

class PendingBuckets {
 public:
  /// The amount of bucket `mk`, made (at 0) when there is none. Good until
  /// the next change.
  MinorUnits& upsert(const MaturityKey& mk) { return buckets_.insert(PendingBucket{mk, 0}).first->amount; }
  [[nodiscard]] const MinorUnits* find(const MaturityKey& mk) const {
    const PendingBucket* b = buckets_.find(PendingBucket{mk, 0});
    return b != nullptr ? &b->amount : nullptr;
  }
  void erase(const MaturityKey& mk) { buckets_.erase(PendingBucket{mk, 0}); }
  /// The bucket due first, or nullptr.
  [[nodiscard]] const PendingBucket* first() const { return buckets_.first(); }
  void erase_first() { buckets_.erase_first(); }
  /// Calls f(bucket) in (due, period) order while f returns true.
  template <class F>
  void for_each(F&& f) const {
    buckets_.for_each(f);
  }
  /// Removes the buckets of settlement period `period`, returned in order.
  std::vector<PendingBucket> take_period(const std::string& period);
  [[nodiscard]] bool empty() const { return buckets_.empty(); }
  [[nodiscard]] std::size_t size() const { return buckets_.size(); }
  friend bool operator==(const PendingBuckets& a, const PendingBuckets& b);

 private:
  struct ByKey {
    bool operator()(const PendingBucket& a, const PendingBucket& b) const { return a.key < b.key; }
  };
  SortedChunks<PendingBucket, ByKey> buckets_;
};

}  // namespace alliance

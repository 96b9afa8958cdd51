#include "alliance/core/pending_buckets.h"

namespace alliance {

std::vector<PendingBucket> PendingBuckets::take_period(const std::string& period) {
  std::vector<PendingBucket> taken;
  buckets_.for_each([&](const PendingBucket& b) {
    if (b.key.second == period) taken.push_back(b);
    return true;
  });
  if (!taken.empty()) buckets_.erase_if([&](const PendingBucket& b) { return b.key.second == period; });
  return taken;
}

bool operator==(const PendingBuckets& a, const PendingBuckets& b) {
  if (a.size() != b.size()) return false;
  std::vector<PendingBucket> left;
  left.reserve(a.size());
  a.for_each([&](const PendingBucket& x) {
    left.push_back(x);
    return true;
  });
  std::size_t i = 0;
  bool same = true;
  b.for_each([&](const PendingBucket& y) {
    same = left[i++] == y;
    return same;
  });
  return same;
}

}  // namespace alliance

#include "alliance/core/touchpoints.h"

#include <algorithm>

namespace alliance {

void UserTouchpoints::observe(TimestampMs ts, std::size_t max_touchpoints, DurationMs lookback) {
  newest_ts_ = std::max(newest_ts_, ts);
  prune(max_touchpoints, lookback);
}

void UserTouchpoints::add(Touchpoint tp, std::size_t max_touchpoints, DurationMs lookback) {
  newest_ts_ = std::max(newest_ts_, tp.ts);
  auto pos = std::find_if(items_.begin(), items_.end(), [&](const Touchpoint& have) {
    return chronologically_before(have, tp);
  });
  const auto at = static_cast<std::size_t>(pos - items_.begin());
  items_.insert(pos, std::move(tp));
  // The unshipped marks follow their touchpoints; one that cannot be marked
  // (past the 64th place, or pushed out of it) makes the next write whole.
  if (at >= 64 || (unshipped_ >> 63) != 0) {
    anchor_ = kNoAnchor;
  } else {
    const std::uint64_t below = (std::uint64_t{1} << at) - 1;
    unshipped_ = (unshipped_ & below) | ((unshipped_ & ~below) << 1) | (std::uint64_t{1} << at);
  }
  prune(max_touchpoints, lookback);
}

void UserTouchpoints::prune(std::size_t max_touchpoints, DurationMs lookback) {
  if (items_.size() > max_touchpoints) items_.resize(max_touchpoints);
  const TimestampMs horizon = newest_ts_ - lookback;
  while (!items_.empty() && items_.back().ts < horizon) items_.pop_back();
  // A pruned touchpoint need not be shipped: the merge prunes it too.
  if (items_.size() < 64) unshipped_ &= (std::uint64_t{1} << items_.size()) - 1;
}

void UserTouchpoints::eligible(TimestampMs t, DurationMs lookback, std::vector<const Touchpoint*>& out) const {
  for (auto it = items_.rbegin(); it != items_.rend(); ++it)
    if (it->ts >= t - lookback && it->ts <= t) out.push_back(&*it);
}

}  // namespace alliance

#include "alliance/runtime/partition_group.h"

#include <algorithm>

namespace alliance {

namespace {

constexpr std::array<InputStream, 3> kEventStreams{InputStream::kClicks, InputStream::kReferrals,
                                                   InputStream::kOrders};

}  // namespace

std::optional<InputStream> PartitionGroup::next(std::int64_t now_ms, std::int64_t idle_wait_ms,
                                                const std::function<bool(InputStream)>& at_end) const {
  std::optional<InputStream> pick;
  bool all_have = true;
  bool behind = false;  // an empty input still has data on the broker
  std::int64_t oldest_arrival = INT64_MAX;
  for (InputStream s : kEventStreams) {
    const auto& q = queues_[static_cast<std::size_t>(s)];
    if (q.empty()) {
      all_have = false;
      behind = behind || !at_end(s);
      continue;
    }
    const Item& head = q.front();
    oldest_arrival = std::min(oldest_arrival, head.arrival_ms);
    if (!head.event) {  // a reject has no event time: it goes first
      pick = s;
      break;
    }
    // Smallest head time first; equal times keep click < referral < order.
    if (!pick || head.event->ts < queues_[static_cast<std::size_t>(*pick)].front().event->ts) pick = s;
  }
  // Payouts join the merge by their time (after user events of the same
  // time), but an empty payouts topic never holds it back: it is quiet
  // most of the time (docs/FINANCE.md).
  if (const auto& pq = queues_[static_cast<std::size_t>(InputStream::kPayouts)]; !pq.empty()) {
    const Item& head = pq.front();
    const bool reject_first = pick && !queues_[static_cast<std::size_t>(*pick)].front().event;
    if (!head.event) {
      if (!reject_first) pick = InputStream::kPayouts;
    } else if (!reject_first && (!pick || head.event->ts < queues_[static_cast<std::size_t>(*pick)].front().event->ts)) {
      pick = InputStream::kPayouts;
    }
    oldest_arrival = std::min(oldest_arrival, head.arrival_ms);
  }
  if (!pick) return std::nullopt;
  const bool head_is_reject = !queues_[static_cast<std::size_t>(*pick)].front().event;
  if (!all_have && !head_is_reject) {
    // Kafka Streams (KIP-695): while the broker holds more of an empty
    // input, wait for it however long that takes; give up only on an
    // input that is at its end, after idle_wait_ms.
    if (behind) return std::nullopt;
    if (now_ms - oldest_arrival < idle_wait_ms) return std::nullopt;
  }
  return pick;
}

std::size_t PartitionGroup::buffered() const {
  std::size_t n = 0;
  for (const auto& q : queues_) n += q.size();
  return n;
}

std::size_t PartitionGroup::buffered(InputStream s) const {
  const auto i = static_cast<std::size_t>(s);
  return i < queues_.size() ? queues_[i].size() : 0;
}

}  // namespace alliance

// The input buffers of one partition task and the event-time merge over
// them (Kafka Streams' PartitionGroup): which buffered record is processed
// next. Plain logic over in-memory queues, no broker and no clock (times
// are passed in). Owned by its PartitionTask and used on its thread only.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>

#include "alliance/core/dead_letter.h"
#include "alliance/core/event.h"
#include "alliance/runtime/input_record.h"

namespace alliance {

class PartitionGroup {
 public:
  /// One buffered input record: a decoded event, or the reject its decoding
  /// made (its reason and detail; the dead letter is made when processed).
  struct Item {
    std::int64_t arrival_ms = 0;
    TopicName topic;
    std::int64_t offset = 0;
    std::optional<Event> event;  // nullopt: a reject, processed at the head
    std::string reason;
    std::string detail;
    std::string raw;
    ResumePosition resume;
    std::int64_t append_ms = -1;
  };

  void push(InputStream s, Item item) { queues_[static_cast<std::size_t>(s)].push_back(std::move(item)); }
  /// A new empty record at the back of `s`, to be filled in place.
  Item& emplace(InputStream s) { return queues_[static_cast<std::size_t>(s)].emplace_back(); }
  [[nodiscard]] bool empty(InputStream s) const { return queues_[static_cast<std::size_t>(s)].empty(); }
  /// The oldest record of `s` (not empty).
  Item& head(InputStream s) { return queues_[static_cast<std::size_t>(s)].front(); }
  void pop(InputStream s) { queues_[static_cast<std::size_t>(s)].pop_front(); }

  /// The event stream (clicks, referrals, orders, payouts) whose head goes
  /// next in event time, or nullopt to stop for now: smallest head time
  /// first, ties click < referral < order, a reject at once, payouts after
  /// user events of the same time. An empty event stream holds the others
  /// back while `at_end(stream)` is false (the broker has more of it) and
  /// for `idle_wait_ms` after the oldest buffered arrival once it is at its
  /// end (KIP-695, max.task.idle.ms); an empty payouts stream never does.
  [[nodiscard]] std::optional<InputStream> next(std::int64_t now_ms, std::int64_t idle_wait_ms,
                                                const std::function<bool(InputStream)>& at_end) const;

  /// Records buffered in all streams, or in `s`.
  [[nodiscard]] std::size_t buffered() const;
  [[nodiscard]] std::size_t buffered(InputStream s) const;

 private:
  std::array<std::deque<Item>, kInputStreams> queues_;  // by InputStream (repartition: unused)
};

}  // namespace alliance

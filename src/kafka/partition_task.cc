#include "alliance/kafka/partition_task.h"

#include "alliance/core/byte_codec.h"

namespace alliance {

namespace {

std::string position_key(EventKind kind) { return "input:" + std::string(to_string(kind)); }
constexpr const char* kRepartitionPositionKey = "input:repartition";

}  // namespace

PartitionTask::PartitionTask(const Topology& topology, std::int32_t partition, std::int32_t partitions,
                             std::unique_ptr<StateStore> store)
    : topology_(topology),
      partition_(partition),
      store_(std::move(store)),
      processor_(topology, partitions > 1 ? Partitioning{partition, partitions} : Partitioning{}),
      session_(*store_, processor_) {
  topics_ = {topology.inputs.clicks, topology.inputs.referrals, topology.inputs.orders};
  for (auto kind : {EventKind::kClick, EventKind::kReferral, EventKind::kOrder})
    if (auto off = resume_offset(kind)) next_offset_[static_cast<std::size_t>(kind)] = *off;
  if (auto off = resume_repartition()) repartition_next_ = *off;
}

std::optional<std::int64_t> PartitionTask::stored_position(const std::string& key) {
  auto v = session_.meta(key);
  if (!v) return std::nullopt;
  return ByteReader(*v).i64();
}

std::optional<std::int64_t> PartitionTask::resume_repartition() { return stored_position(kRepartitionPositionKey); }

void PartitionTask::accept_forward(const std::string& topic, std::int64_t offset, std::string_view payload) {
  const SourcePosition pos{topic, partition_, offset};
  if (payload.size() < 8) {
    processor_.reject(DeadLetter{"bad_forwarded_record", "shorter than its sequence number", std::string(payload), pos});
  } else {
    processor_.accept_forward(get_be64(payload), payload.substr(8), pos);
  }
  repartition_next_ = offset + 1;
  changed_ = true;
}

std::optional<std::int64_t> PartitionTask::resume_offset(EventKind kind) { return stored_position(position_key(kind)); }

void PartitionTask::enqueue(EventKind kind, const std::string& topic, std::int64_t offset, const std::string* key,
                            std::string_view payload, std::int64_t now_ms) {
  auto& q = queues_[static_cast<std::size_t>(kind)];
  Item item{offset, now_ms, std::nullopt, std::nullopt, std::string(payload)};
  const SourcePosition pos{topic, partition_, offset};
  if (key == nullptr) {
    item.rejected = DeadLetter{"null_key", "input messages must be keyed by user_id", item.raw, pos};
  } else {
    DecodeResult d = decoder_.decode(payload, kind);
    if (d.ok()) item.event = std::move(d.event);
    else item.rejected = DeadLetter{std::move(d.reason), std::move(d.detail), item.raw, pos};
  }
  q.push_back(std::move(item));
  next_offset_[static_cast<std::size_t>(kind)] = offset + 1;
}

void PartitionTask::process(EventKind kind) {
  auto& q = queues_[static_cast<std::size_t>(kind)];
  Item item = std::move(q.front());
  q.pop_front();
  if (item.event) processor_.process(*item.event, {topics_[static_cast<std::size_t>(kind)], partition_, item.offset}, item.raw);
  else processor_.reject(std::move(*item.rejected));
  changed_ = true;
}

std::size_t PartitionTask::drain(std::int64_t now_ms, std::int64_t idle_wait_ms) {
  std::size_t n = 0;
  for (;;) {
    std::optional<EventKind> pick;
    bool all_have = true;
    bool behind = false;  // an empty input still has data on the broker
    std::int64_t oldest_arrival = INT64_MAX;
    for (auto kind : {EventKind::kClick, EventKind::kReferral, EventKind::kOrder}) {
      const auto& q = queues_[static_cast<std::size_t>(kind)];
      if (q.empty()) {
        all_have = false;
        behind = behind || !at_end_[static_cast<std::size_t>(kind)];
        continue;
      }
      const Item& head = q.front();
      oldest_arrival = std::min(oldest_arrival, head.arrival_ms);
      if (!head.event) {  // a reject has no event time: it goes first
        pick = kind;
        break;
      }
      // Smallest head time first; equal times keep click < referral < order.
      if (!pick || head.event->ts < queues_[static_cast<std::size_t>(*pick)].front().event->ts) pick = kind;
    }
    if (!pick) break;
    const bool head_is_reject = !queues_[static_cast<std::size_t>(*pick)].front().event;
    const std::int64_t hold = behind ? kMaxHoldMs : idle_wait_ms;
    if (!all_have && !head_is_reject && now_ms - oldest_arrival < hold) break;
    process(*pick);
    ++n;
  }
  return n;
}

void PartitionTask::finish() {
  drain(INT64_MAX, 0);
  processor_.finish();
  changed_ = true;
}

std::int64_t PartitionTask::position(EventKind kind) const {
  const auto& q = queues_[static_cast<std::size_t>(kind)];
  return q.empty() ? next_offset_[static_cast<std::size_t>(kind)] : q.front().offset;
}

std::int64_t PartitionTask::repartition_position() const { return repartition_next_; }

std::size_t PartitionTask::buffered() const {
  return queues_[0].size() + queues_[1].size() + queues_[2].size();
}

bool PartitionTask::commit() {
  if (!changed_) return false;
  MetaUpdates meta;
  for (auto kind : {EventKind::kClick, EventKind::kReferral, EventKind::kOrder}) {
    const std::int64_t pos = position(kind);
    if (pos >= 0) meta.emplace_back(position_key(kind), ByteWriter().i64(pos).take());
  }
  if (repartition_next_ >= 0) meta.emplace_back(kRepartitionPositionKey, ByteWriter().i64(repartition_next_).take());
  processor_.mark_progress();
  session_.commit(processor_.take_outputs(), meta);
  changed_ = false;
  return true;
}

}  // namespace alliance

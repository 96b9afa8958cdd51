// The work of one input partition number p — clicks-p, referrals-p and
// orders-p, co-partitioned by user_id: its Processor, state store and
// session, the event-time merge buffers and the input positions the state
// reflects. Owned by the KafkaRunner and used only on its poll thread.
#pragma once

#include <array>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "alliance/codec/event_decoder.h"
#include "alliance/core/processor.h"
#include "alliance/state/state_session.h"

namespace alliance {

class PartitionTask {
 public:
  /// `partitions` > 1: split mode, the task is stage 1 of user partition
  /// `partition` and stage 2 of repartition partition `partition`.
  PartitionTask(const Topology& topology, std::int32_t partition, std::int32_t partitions,
                std::unique_ptr<StateStore> store);

  /// The offset to resume input `kind` from, as recorded with the state;
  /// nullopt when the state has never seen that input.
  [[nodiscard]] std::optional<std::int64_t> resume_offset(EventKind kind);

  /// Decodes and buffers one input message (null key: dead-lettered).
  void enqueue(EventKind kind, const std::string& topic, std::int64_t offset, const std::string* key,
               std::string_view payload, std::int64_t now_ms);
  /// Split mode: applies one message of the repartition topic (8-byte
  /// big-endian source sequence number, then the forwarded record).
  void accept_forward(const std::string& topic, std::int64_t offset, std::string_view payload);
  /// Where to resume the repartition topic, as recorded with the state.
  [[nodiscard]] std::optional<std::int64_t> resume_repartition();
  /// Stage 1 has ended (bounded runs) and, in split mode, stage 2 too.
  [[nodiscard]] bool stage1_finished() const { return processor_.clock().finished; }
  [[nodiscard]] bool stage2_done() { return !processor_.partitioning().split() || processor_.aggregate().done(); }

  /// Processes buffered messages in event-time order (ties: click, referral,
  /// order). An input with nothing buffered holds the others back: while it
  /// is behind (the broker has more of it) for up to kMaxHoldMs, once it is
  /// at its end for `idle_wait_ms` (Kafka Streams' max.task.idle.ms).
  /// Returns the number processed.
  std::size_t drain(std::int64_t now_ms, std::int64_t idle_wait_ms);
  /// The runner reports whether an input partition reached its end (EOF).
  void set_at_end(EventKind kind, bool at_end) { at_end_[static_cast<std::size_t>(kind)] = at_end; }
  static constexpr std::int64_t kMaxHoldMs = 30'000;
  /// End of a bounded run: process everything, then watermark to +infinity.
  void finish();

  /// Commits state changes, input positions and new outputs (outbox) in one
  /// atomic write. Returns false when nothing changed since the last commit.
  bool commit();
  /// Outbox entries committed but not yet acknowledged by the broker.
  std::vector<OutboxEntry> pending() { return session_.pending(); }
  [[nodiscard]] std::size_t pending_count() const { return session_.pending_count(); }
  void acknowledge(const std::vector<OutboxEntry>& published) { session_.acknowledge(published, {}); }

  /// Next offset to consume per input, for the consumer-group commit: the
  /// first message not yet processed.
  [[nodiscard]] std::int64_t position(EventKind kind) const;
  [[nodiscard]] std::int64_t repartition_position() const;
  [[nodiscard]] std::int32_t partition() const { return partition_; }
  [[nodiscard]] std::size_t buffered() const;
  [[nodiscard]] const Processor& processor() const { return processor_; }
  StateStore& store() { return *store_; }
  [[nodiscard]] RocksStats rocks_stats() { return alliance::rocks_stats(*store_); }
  /// Every state write goes through `hook` first (the changelog).
  void set_changelog(std::function<void(StateChanges&)> hook) { session_.set_changelog(std::move(hook)); }

 private:
  struct Item {
    std::int64_t offset;
    std::int64_t arrival_ms;
    std::optional<Event> event;          // nullopt: a reject, processed at the head
    std::optional<DeadLetter> rejected;
    std::string raw;
  };
  void process(EventKind kind);
  /// An input position stored with the state under meta `key`.
  std::optional<std::int64_t> stored_position(const std::string& key);

  const Topology& topology_;
  std::int32_t partition_;
  std::unique_ptr<StateStore> store_;
  Processor processor_;
  StateSession session_;
  EventDecoder decoder_;
  std::array<std::deque<Item>, 3> queues_;
  std::array<std::int64_t, 3> next_offset_{-1, -1, -1};  // after the last enqueued message
  std::array<std::string, 3> topics_;
  std::array<bool, 3> at_end_{false, false, false};
  std::int64_t repartition_next_ = -1;
  bool changed_ = false;
};

}  // namespace alliance

// The work of one partition of a run — for Kafka the co-partitioned
// clicks-p, referrals-p and orders-p (and repartition-p in a partitioned
// run), for replay the input files: its Processor, its state store and
// session (none for an in-memory replay), its input buffers (PartitionGroup,
// which merges the event topics in event time), and the input positions its
// state reflects.
// Owned by the StreamDriver and used only on its thread.
#pragma once

#include <array>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "alliance/codec/event_decoder.h"
#include "alliance/core/processor.h"
#include "alliance/runtime/input_record.h"
#include "alliance/runtime/partition_group.h"
#include "alliance/state/state_session.h"

namespace alliance {

struct TaskConfig {
  std::int32_t partition = 0;
  /// > 1: split mode, the task is stage 1 of user partition `partition` and
  /// stage 2 of repartition partition `partition`.
  std::int32_t partitions = 1;
  /// Replay files: process in file order. Kafka: merge the three event
  /// topics in event time (SPEC §3.1).
  bool file_order = false;
};

/// What a commit does to the emit cycle (SPEC §5.2).
enum class CycleEnd : std::uint8_t {
  kRunning,   // the emit cycle ends: running records of every key changed in it
  kFinal,     // emit: final: the cycle ends without running records
  kContinue,  // the cycle goes on: changed keys stay marked (and are stored) for its end
};

/// One commit of a task: the outbox entries it made durable and the input
/// positions its state reflects once they are.
struct TaskCycle {
  std::int64_t id = 0;
  std::vector<OutboxEntry> entries;
  std::vector<std::pair<InputStream, std::string>> positions;
  std::size_t events = 0;  // input records processed in the cycle
  double process_seconds = 0;  // time the cycle's drains took (prefetch and core)
  std::int64_t oldest_append_ms = -1;  // broker append time of its oldest input (-1: unknown)
};

class PartitionTask {
 public:
  /// `store` may be null: state lives in memory only (replay without --state).
  PartitionTask(const Topology& topology, TaskConfig config, std::unique_ptr<StateStore> store);

  /// Where to resume `stream`, as stored with the state (nullopt: never read).
  [[nodiscard]] std::optional<std::string> resume(InputStream stream);

  /// Decodes and buffers one input record (an unkeyed event message is
  /// dead-lettered); a repartition record is applied at once.
  void enqueue(InputRecord record, std::int64_t now_ms);
  /// Processes buffered records: in file order, or merged in event time
  /// (PartitionGroup::next: smallest head first; ties click, referral,
  /// order). An empty event stream holds the others back while
  /// `at_end(stream)` is false (the broker has more of it) and for
  /// `idle_wait_ms` once it is at its end (Kafka Streams'
  /// max.task.idle.ms). Returns the number processed.
  std::size_t drain(std::int64_t now_ms, std::int64_t idle_wait_ms,
                    const std::function<bool(InputStream)>& at_end);
  /// Processes everything buffered, no stream waited for (the input ended).
  std::size_t drain_all();
  /// End of input: processes everything buffered, then the watermark jumps
  /// to +infinity (stage 1 ends).
  void finish();
  /// Replay with a store and a bounded Kafka run on one partition, at the
  /// end of input: finish(), then the emit cycle ends as `end` says, and the
  /// outputs of both are returned as outbox entries without being
  /// committed; the task commits nothing after
  /// (DriverOptions::end_uncommitted).
  std::vector<OutboxEntry> end_uncommitted(CycleEnd end);
  [[nodiscard]] bool stage1_finished() const { return processor_.clock().finished; }
  [[nodiscard]] bool stage2_done() { return !processor_.partitioning().split() || processor_.aggregate().done(); }

  /// Ends the emit cycle as `end` says (running records of changed keys when
  /// kRunning), then writes state changes, input positions and the new
  /// outputs (outbox) in one atomic write. Nullopt when nothing changed.
  /// prepare() + complete(), with the changelog flushed in between.
  std::optional<TaskCycle> commit(CycleEnd end, const MetaUpdates& meta = {});
  /// A commit in two halves, so the driver can send every task's changelog
  /// batch and wait for the broker once: prepare() ends the emit cycle and
  /// builds the batch (handing it to the changelog hook's send), complete()
  /// writes it with the changelog offset once the changelog has it.
  struct Prepared {
    TaskCycle cycle;
    PreparedCommit commit;
    std::vector<OutputRecord> outputs;  // without a store
  };
  /// `meta`: entries the driver stores with the commit (replay's emit cycle count).
  std::optional<Prepared> prepare(CycleEnd end, const MetaUpdates& meta = {});
  TaskCycle complete(Prepared prepared);
  /// Outbox entries committed but not yet acknowledged (resent at start).
  std::vector<OutboxEntry> pending();
  /// Removes published entries from the outbox (with sink `meta`).
  void acknowledge(const std::vector<OutboxEntry>& published, const MetaUpdates& meta);
  [[nodiscard]] std::size_t pending_count() const { return session_ ? session_->pending_count() : 0; }

  [[nodiscard]] std::int32_t partition() const { return config_.partition; }
  [[nodiscard]] std::size_t buffered() const;
  /// Input records processed since the last commit.
  [[nodiscard]] std::size_t records_in_cycle() const { return events_in_cycle_; }
  [[nodiscard]] std::size_t buffered(InputStream stream) const;
  /// The caches of the store-backed tables hold more than their budget
  /// (what changed since the last commit cannot be evicted before it).
  [[nodiscard]] bool cache_over_budget() const {
    return session_ && processor_.cache_bytes() > session_->cache_budget();
  }
  [[nodiscard]] const Processor& processor() const { return processor_; }
  [[nodiscard]] StateStore* store() { return store_.get(); }
  [[nodiscard]] std::optional<std::string> meta(const std::string& key);
  /// The changelog: `send` gets every commit's batch before it is written
  /// (asynchronously); `offset` the meta entry to write with it once sent.
  void set_changelog(std::function<void(const StateChanges&)> send, std::function<StateChange()> offset);
  /// Seconds this task has spent reading the state before processing (the
  /// prefetch part of drain()), in all.
  [[nodiscard]] double prefetch_seconds() const { return prefetch_seconds_; }

 private:
  using Item = PartitionGroup::Item;
  void process(InputStream stream);
  /// Reads the noted keys into the caches, one MultiGet per table.
  void prefetch();

  const Topology& topology_;
  TaskConfig config_;
  std::unique_ptr<StateStore> store_;
  Processor processor_;
  std::unique_ptr<StateSession> session_;
  TableReads reads_;  // cached-table keys of enqueued events (Processor::reads_for), not yet prefetched
  TableReads second_reads_;  // prefetch()'s second round (Processor::completion_reads)
  std::function<void(const StateChanges&)> changelog_send_;
  std::function<StateChange()> changelog_offset_;
  EventDecoder decoder_;
  PartitionGroup group_;  // the input buffers and their event-time merge
  std::array<std::optional<ResumePosition>, kInputStreams> processed_;  // resume position of the last processed record
  /// The position handed to the Processor, by stream: its topic string is
  /// assigned only when the record's topic is another one.
  std::array<SourcePosition, kInputStreams> position_;
  std::array<TopicName, kInputStreams> position_topic_;  // the name position_[s].topic holds
  std::int64_t next_cycle_ = 1;
  std::int64_t next_seq_ = 0;  // outbox sequence without a store
  std::size_t events_in_cycle_ = 0;
  double process_seconds_in_cycle_ = 0;
  double prefetch_seconds_ = 0;
  std::int64_t oldest_append_in_cycle_ = -1;
  bool changed_ = false;
  bool ended_uncommitted_ = false;
};

}  // namespace alliance

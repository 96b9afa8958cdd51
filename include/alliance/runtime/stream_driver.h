// The one runtime of alliance: drives partition tasks from a RecordSource to
// a RecordSink through the commit cycle, for `alliance replay` (files) and
// `alliance run` (Kafka) alike. A cycle: process what the source gave, end
// the emit cycle (running records once per changed key), make state, input
// positions and outputs durable in one atomic write (outbox), hand the
// outputs to the sink, and — without waiting — go on with the next batch;
// when the sink acknowledges a cycle its outbox entries are deleted and the
// source may commit its positions. Runs on the thread that calls run();
// nothing here is called from a library callback.
#pragma once

#include <atomic>
#include <chrono>
#include <vector>
#include <functional>
#include <map>
#include <set>
#include <memory>

#include "alliance/runtime/partition_task.h"
#include "alliance/runtime/record_sink.h"
#include "alliance/runtime/record_source.h"

namespace alliance {

/// Replay: the meta entry holding the records read in the current emit cycle.
inline constexpr const char* kEmitCycleRecordsKey = "emit_cycle_records";
/// The cycle id of an end-of-input flush that is published but not committed.
inline constexpr std::int64_t kUncommittedCycle = -1;

struct DriverOptions {
  /// Replay: a cycle after exactly this many input records (SPEC §5.2
  /// `replay_batch`), so the outputs are a function of the input. 0: cycles
  /// are cut by processing time (Kafka).
  std::size_t cycle_records = 0;
  /// Replay: a commit every this many input records within an emit cycle
  /// (0: only at its end). A commit holds what changed since the last one,
  /// so state batches and dirty cache entries stay small while emit cycles
  /// keep the length SPEC §5.2 gives them; the records read since the
  /// emission are stored with the commit, so a restarted replay emits at
  /// the same records as an uninterrupted one.
  std::size_t commit_records = 0;
  /// Replay with a store, and a bounded Kafka run on one partition: the end
  /// of input is not committed. What was read is (a commit inside the emit
  /// cycle, acknowledged before going on); the end-of-input flush
  /// (watermark to +infinity, the emit cycle's end) is published as cycle
  /// kUncommittedCycle, whose acknowledgement stores nothing. The state
  /// stays where the events left it, so a replay resumed over grown or new
  /// input continues from the last event's watermark (SPEC §3.8) and gives
  /// the records of one replay of it all, its sink cutting the flush's
  /// records off first (docs/STATE.md); a later `alliance run` goes on from
  /// it as if the bounded run had just stopped, its records superseding the
  /// flush's under the same keys (docs/OPERATIONS.md "Bounded runs").
  bool end_uncommitted = false;
  /// Kafka: processing time between commits, and the most input records
  /// one cycle takes (batches grow with the backlog up to this).
  std::int64_t commit_interval_ms = 100;
  /// While the source reports a backlog (more than `backlog_records`
  /// waiting), commits come at most this often instead: a commit's fixed
  /// cost (a store write and a changelog batch per task) is spread over
  /// more records, and nobody waits for a record that is minutes old anyway.
  std::int64_t backlog_commit_interval_ms = 1000;
  std::int64_t backlog_records = 10'000;
  std::size_t max_cycle_records = 50'000;
  /// ... and the most one task takes: its cycle's batch goes to the
  /// changelog whole (~450 bytes a record), and the mock broker keeps only
  /// ~5 MB per partition (docs/KAFKA.md "Changelog passes").
  std::size_t max_task_cycle_records = 5'000;
  /// Running records at most this often (processing time; 0: every cycle).
  std::int64_t emit_interval_ms = 0;
  /// Topology `emit: final`: no running records at all.
  bool emit_final = false;
  /// Event-time merge: how long an input at its end may hold the others back.
  std::int64_t idle_wait_ms = 50;
  /// Cycles handed to the sink and not yet acknowledged before the driver
  /// stops reading input (back-pressure).
  std::size_t max_in_flight = 8;
  /// Kafka: records of one input stream a task may hold unprocessed (the
  /// event-time merge waiting for a stream the consumer is behind on)
  /// before that stream is paused; it is resumed below half of it. Bounds
  /// the queued events and the cache entries prefetched for them, however
  /// far the run lags (issue 20 item 4).
  std::size_t max_buffered_per_stream = 20'000;
  /// After the input ended, how long to wait for stage 2 to hear every
  /// source end and for the sink to acknowledge everything.
  std::int64_t finish_wait_ms = 120'000;
  std::atomic<bool>* stop = nullptr;
};

/// What the command around the driver plugs in: how a partition's task is
/// opened (state directory, changelog restore), and what it observes.
struct DriverHooks {
  std::function<std::unique_ptr<PartitionTask>(std::int32_t partition)> open_task;
  /// Between the two halves of a cycle's commits: every task's batch was
  /// handed to the changelog; wait until it has them all (one round trip
  /// per cycle, not one per task). False: the wait was abandoned (stopping
  /// during a broker outage): the batches are not written; a restart
  /// restores whatever the changelog got and redoes the rest.
  std::function<bool()> before_apply;
  /// Whether everything handed to the changelog is on the broker (no wait).
  /// Set: the driver goes on reading and processing while a cycle's
  /// changelog batches are in flight, and writes them when they arrived.
  std::function<bool()> changelog_delivered;
  /// A task's cycle was written to its store; `seconds`: from the start of
  /// the commit (prepare) until then (alliance_commit_seconds). The time the
  /// cycle spent in the core is `TaskCycle::process_seconds`.
  std::function<void(PartitionTask&, const TaskCycle&, double seconds)> on_commit;
  /// Meta entries to store with every commit of a partition (replay: what
  /// it consumed of each input, and its output directory).
  std::function<MetaUpdates(std::int32_t partition)> commit_meta;
  /// `oldest_append_ms`: broker append time of the cycle's oldest input (-1: unknown).
  std::function<void(const AcknowledgedCycle&, std::int64_t oldest_append_ms)> on_acknowledged;
  /// Called about every loop turn: readiness, gauges. `now` is wall-clock ms.
  std::function<void(std::int64_t now)> on_tick;
  /// A fatal condition the source or sink found (e.g. partitions added):
  /// returns the message that stops the run, or empty.
  std::function<std::string()> fatal;
};

/// Where a run's wall time went, in seconds (the driver's own thread).
struct DriverProfile {
  double idle = 0;       // polls that returned nothing (waiting for input or an assignment)
  double read = 0;       // polls that returned records, and enqueue (decode)
  double prefetch = 0;   // tasks' drain: the state reads before the core (one MultiGet per table)
  double process = 0;    // tasks' drain: the core
  double prepare = 0;    // end of emit cycles, state changes collected and encoded
  double changelog = 0;  // waiting for the changelog (before_apply)
  double write = 0;      // state batches written (complete)
  double publish = 0;    // handing cycles to the sink and collecting acknowledgements
  [[nodiscard]] std::string describe() const;
};

/// How a run ended.
struct DriverResult {
  DriverProfile profile;
  bool stopped = false;         // by the stop flag, not by the end of input
  bool stage2_incomplete = false;  // input ended but stage 2 did not hear every source end
  /// end_uncommitted (Kafka): the sink did not acknowledge what was read
  /// within finish_wait_ms, so the end-of-input flush was not published
  /// (the state is committed: the next run publishes it).
  bool end_unpublished = false;
  std::size_t unacknowledged = 0;  // outputs left in the outbox for the next start
  std::int64_t records = 0;     // input records processed
};

class StreamDriver {
 public:
  StreamDriver(RecordSource& source, RecordSink& sink, DriverOptions options, DriverHooks hooks);

  /// Runs until the input ended and every output is acknowledged, or the
  /// stop flag is set. Throws what the hooks, tasks or the sink throw.
  DriverResult run();

  [[nodiscard]] const std::map<std::int32_t, std::unique_ptr<PartitionTask>>& tasks() const { return tasks_; }

 private:
  void take_ownership_changes();
  /// Commits every task; `end` says whether the emit cycle ends with it.
  void commit_cycle(std::int64_t now, CycleEnd end);
  /// Writes and publishes the prepared cycle once its changelog batches
  /// arrived (or waits for them when `wait`).
  void complete_cycle(bool wait);
  void collect_acknowledgements(int timeout_ms);
  /// Pauses streams whose task holds max_buffered_per_stream of them, resumes them below half.
  void apply_backpressure();
  /// A task's write-back cache is over its budget: what it changed since the
  /// last commit cannot be evicted until it is written, so commit now.
  [[nodiscard]] bool cache_over_budget() const;
  /// DriverOptions::end_uncommitted: processes what the ended tasks hold,
  /// commits what was read, waits for its acknowledgement, then publishes
  /// each ended task's flush uncommitted. False: not ended (stopping, or
  /// the sink did not acknowledge in time: end_unpublished_).
  bool end_input_uncommitted(std::int64_t now);
  /// How a commit that is due ends the emit cycle (`emit_due`: SPEC §5.2 says it ends).
  [[nodiscard]] CycleEnd cycle_end(bool emit_due) const;
  [[nodiscard]] std::size_t outbox_size() const;
  [[nodiscard]] bool all_ended() const;

  RecordSource& source_;
  RecordSink& sink_;
  DriverOptions options_;
  DriverHooks hooks_;
  std::map<std::int32_t, std::unique_ptr<PartitionTask>> tasks_;
  /// What each published cycle reflects, until it is acknowledged.
  struct InFlight {
    std::vector<std::pair<InputStream, std::string>> positions;
    std::int64_t oldest_append_ms = -1;
  };
  std::map<std::pair<std::int32_t, std::int64_t>, InFlight> in_flight_;
  std::set<std::pair<std::int32_t, InputStream>> paused_;  // by apply_backpressure
  std::size_t records_in_cycle_ = 0;     // replay: read since the emit cycle began; Kafka: since the commit
  std::size_t records_since_commit_ = 0;  // replay: read since the last commit
  std::int64_t records_ = 0;
  std::int64_t last_commit_ms_ = 0;
  std::int64_t last_emit_ms_ = 0;
  bool end_unpublished_ = false;
  DriverProfile profile_;
  std::vector<std::pair<std::int32_t, PartitionTask::Prepared>> awaiting_changelog_;
  std::chrono::steady_clock::time_point prepared_at_;
};

}  // namespace alliance

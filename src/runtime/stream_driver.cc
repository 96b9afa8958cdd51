#include "alliance/runtime/stream_driver.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <thread>

namespace alliance {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string DriverProfile::describe() const {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "idle %.2f s, read %.2f s, prefetch %.2f s, process %.2f s, prepare %.2f s, changelog %.2f s, write %.2f s, "
                "publish %.2f s",
                idle, read, prefetch, process, prepare, changelog, write, publish);
  return buf;
}

StreamDriver::StreamDriver(RecordSource& source, RecordSink& sink, DriverOptions options, DriverHooks hooks)
    : source_(source), sink_(sink), options_(options), hooks_(std::move(hooks)) {}

void StreamDriver::take_ownership_changes() {
  for (std::int32_t p : source_.take_revoked()) {
    // What this task processed after its last commit is dropped: the next
    // owner restores the committed state and reads from its positions.
    tasks_.erase(p);
    sink_.forget(p);
    std::erase_if(paused_, [p = p](const auto& s) { return s.first == p; });
    // Its prepared batch is in the changelog; the next owner restores it.
    std::erase_if(awaiting_changelog_, [p = p](const auto& a) { return a.first == p; });
    for (auto it = in_flight_.begin(); it != in_flight_.end();)
      it = it->first.first == p ? in_flight_.erase(it) : std::next(it);
  }
  for (std::int32_t p : source_.take_assigned()) {
    if (tasks_.count(p) != 0) continue;
    std::unique_ptr<PartitionTask> task = hooks_.open_task(p);
    PartitionTask& t = *task;
    tasks_.emplace(p, std::move(task));
    // Outputs committed before a crash but never acknowledged: send them again.
    if (auto pending = t.pending(); !pending.empty()) {
      in_flight_[{p, 0}] = {};
      sink_.publish(p, 0, std::move(pending));
    }
    // Replay: the emit cycle goes on where the stored state left it.
    if (options_.cycle_records > 0)
      if (auto n = t.meta(kEmitCycleRecordsKey)) records_in_cycle_ = static_cast<std::size_t>(std::stoull(*n));
    source_.start(p, [&t](InputStream s) { return t.resume(s); });
  }
}

CycleEnd StreamDriver::cycle_end(bool emit_due) const {
  if (!emit_due) return CycleEnd::kContinue;
  return options_.emit_final ? CycleEnd::kFinal : CycleEnd::kRunning;
}

void StreamDriver::commit_cycle(std::int64_t now, CycleEnd end) {
  // The previous cycle's batches are written first: batches reach each
  // store in order.
  complete_cycle(/*wait=*/true);
  const auto t0 = Clock::now();
  const bool replay = options_.cycle_records > 0;
  if (replay && end != CycleEnd::kContinue) records_in_cycle_ = 0;
  MetaUpdates meta;
  if (replay) meta.emplace_back(kEmitCycleRecordsKey, std::to_string(records_in_cycle_));
  for (auto& [p, task] : tasks_) {
    MetaUpdates task_meta = meta;
    if (hooks_.commit_meta)
      for (auto& m : hooks_.commit_meta(p)) task_meta.push_back(std::move(m));
    if (auto c = task->prepare(end, task_meta)) awaiting_changelog_.emplace_back(p, std::move(*c));
  }
  profile_.prepare += since(t0);
  prepared_at_ = t0;
  // Without a changelog there is nothing to wait for.
  if (!hooks_.changelog_delivered) complete_cycle(/*wait=*/true);
  if (!replay) records_in_cycle_ = 0;
  records_since_commit_ = 0;
  last_commit_ms_ = now;
  if (end != CycleEnd::kContinue) last_emit_ms_ = now;
}

void StreamDriver::complete_cycle(bool wait) {
  if (awaiting_changelog_.empty()) return;
  // Pipelined: the changelog has the batches on their way while the next
  // batch is read and processed; only the next commit (or the end) waits.
  if (!wait && hooks_.changelog_delivered && !hooks_.changelog_delivered()) return;
  const auto t1 = Clock::now();
  const bool confirmed = !hooks_.before_apply || hooks_.before_apply();
  profile_.changelog += since(t1);
  if (!confirmed) {
    awaiting_changelog_.clear();
    return;
  }
  for (auto& [p, c] : awaiting_changelog_) {
    auto task_it = tasks_.find(p);
    if (task_it == tasks_.end()) continue;  // revoked: the changelog has its batch for the next owner
    PartitionTask* task = task_it->second.get();
    const auto t2 = Clock::now();
    TaskCycle cycle = task->complete(std::move(c));
    profile_.write += since(t2);
    if (hooks_.on_commit) hooks_.on_commit(*task, cycle, since(prepared_at_));
    in_flight_[{p, cycle.id}] = InFlight{std::move(cycle.positions), cycle.oldest_append_ms};
    const auto t3 = Clock::now();
    sink_.publish(p, cycle.id, std::move(cycle.entries));
    profile_.publish += since(t3);
  }
  awaiting_changelog_.clear();
}

void StreamDriver::apply_backpressure() {
  if (options_.max_buffered_per_stream == 0) return;
  for (const auto& [p, task] : tasks_) {
    for (InputStream s : kKafkaInputStreams) {
      const std::size_t held = task->buffered(s);
      const bool paused = paused_.count({p, s}) != 0;
      if (!paused && held >= options_.max_buffered_per_stream) {
        source_.set_paused(p, s, true);
        paused_.insert({p, s});
      } else if (paused && held < options_.max_buffered_per_stream / 2) {
        source_.set_paused(p, s, false);
        paused_.erase({p, s});
      }
    }
  }
}

bool StreamDriver::cache_over_budget() const {
  for (const auto& [p, task] : tasks_)
    if (task->cache_over_budget()) return true;
  return false;
}

void StreamDriver::collect_acknowledgements(int timeout_ms) {
  const auto t0 = Clock::now();
  std::vector<AcknowledgedCycle> acks = sink_.poll(timeout_ms);
  profile_.publish += since(t0);
  for (AcknowledgedCycle& ack : acks) {
    auto task = tasks_.find(ack.partition);
    if (task == tasks_.end()) continue;  // revoked meanwhile: the next owner resends
    if (ack.cycle == kUncommittedCycle) {  // never in the outbox: nothing to store
      if (hooks_.on_acknowledged) hooks_.on_acknowledged(ack, -1);
      continue;
    }
    task->second->acknowledge(ack.entries, sink_.acknowledged_meta());
    std::int64_t oldest_append = -1;
    if (auto f = in_flight_.find({ack.partition, ack.cycle}); f != in_flight_.end()) {
      if (!f->second.positions.empty()) source_.acknowledge(ack.partition, f->second.positions);
      oldest_append = f->second.oldest_append_ms;
      in_flight_.erase(f);
    }
    if (hooks_.on_acknowledged) hooks_.on_acknowledged(ack, oldest_append);
  }
}

bool StreamDriver::end_input_uncommitted(std::int64_t now) {
  std::vector<std::pair<std::int32_t, PartitionTask*>> ending;
  for (auto& [p, task] : tasks_)
    if (!task->stage1_finished() && source_.input_ended(p)) ending.emplace_back(p, task.get());
  // Kafka: what the event-time merge still holds is processed now, as
  // finish() would, so the commit below stores it with its positions.
  for (auto& [p, task] : ending) {
    const std::size_t n = task->drain_all();
    records_ += static_cast<std::int64_t>(n);
    if (options_.cycle_records == 0) records_in_cycle_ += n;
  }
  commit_cycle(now, CycleEnd::kContinue);
  complete_cycle(/*wait=*/true);
  // The sink's acknowledged positions (replay: file sizes; Kafka: the
  // outbox emptied) are stored before the flush is published, so they stop
  // short of it.
  const std::int64_t until = wall_ms() + options_.finish_wait_ms;
  for (;;) {
    // Stopped (the changelog wait too: its batches were not written): the
    // state is where the events left it, and the next run ends it again.
    if (options_.stop != nullptr && options_.stop->load()) return false;
    if (in_flight_.empty()) break;
    if (wall_ms() > until) {
      if (options_.cycle_records > 0)
        throw std::runtime_error("the sink did not acknowledge the records before the end of input");
      end_unpublished_ = true;  // Kafka: broker trouble; the next run publishes the end
      return false;
    }
    collect_acknowledgements(10);
  }
  for (auto& [p, task] : ending) sink_.publish(p, kUncommittedCycle, task->end_uncommitted(cycle_end(true)));
  return true;
}

std::size_t StreamDriver::outbox_size() const {
  std::size_t n = 0;
  for (const auto& [p, task] : tasks_) n += task->pending_count();
  return n;
}

bool StreamDriver::all_ended() const {
  if (tasks_.empty()) return false;
  for (const auto& [p, task] : tasks_)
    if (!task->stage1_finished() || !task->stage2_done()) return false;
  return true;
}

DriverResult StreamDriver::run() {
  DriverResult result;
  std::vector<InputRecord> batch;
  last_commit_ms_ = last_emit_ms_ = wall_ms();
  std::int64_t ended_at = 0;  // when every task's stage 1 ended (0: not yet)
  for (;;) {
    if (options_.stop != nullptr && options_.stop->load()) {
      result.stopped = true;
      break;
    }
    if (hooks_.fatal) {
      if (std::string why = hooks_.fatal(); !why.empty()) throw std::runtime_error(why);
    }
    take_ownership_changes();
    const std::int64_t now = wall_ms();

    // Read: as much as the cycle may still take, unless the sink lags behind.
    const bool replay = options_.cycle_records > 0;
    std::size_t budget = replay ? options_.cycle_records - records_in_cycle_
                                : options_.max_cycle_records - std::min(records_in_cycle_, options_.max_cycle_records);
    if (replay && options_.commit_records > 0)
      budget = std::min(budget, options_.commit_records - std::min(records_since_commit_, options_.commit_records));
    if (sink_.in_flight() < options_.max_in_flight && budget > 0) {
      const auto t0 = Clock::now();
      batch.clear();
      source_.poll(budget, replay ? 0 : 10, batch);
      for (InputRecord& r : batch) {
        auto it = tasks_.find(r.partition);
        if (it != tasks_.end()) it->second->enqueue(std::move(r), now);
      }
      (batch.empty() ? profile_.idle : profile_.read) += since(t0);
      if (replay) {
        records_in_cycle_ += batch.size();
        records_since_commit_ += batch.size();
      }
    } else {
      collect_acknowledgements(10);
    }
    std::size_t processed = 0;
    const auto t_process = Clock::now();
    double prefetched = 0;
    for (auto& [p, task] : tasks_) {
      const double before = task->prefetch_seconds();
      processed += task->drain(now, options_.idle_wait_ms, [&, p = p](InputStream s) { return source_.at_end(p, s); });
      prefetched += task->prefetch_seconds() - before;
    }
    profile_.prefetch += prefetched;
    profile_.process += since(t_process) - prefetched;
    records_ += static_cast<std::int64_t>(processed);
    if (!replay) records_in_cycle_ += processed;
    if (!replay) apply_backpressure();

    // End of input: stage 1 of a task ends once its source says so.
    bool ended_now = false;
    for (auto& [p, task] : tasks_) {
      if (!task->stage1_finished() && source_.input_ended(p)) {
        if (!options_.end_uncommitted) task->finish();
        ended_now = true;
      }
    }
    if (ended_now && options_.end_uncommitted && !end_input_uncommitted(now)) {
      // Not ended: stopping, or the sink never acknowledged what was read.
      result.stopped = !end_unpublished_;
      result.end_unpublished = end_unpublished_;
      break;
    }

    std::size_t most_in_a_task = 0;
    for (const auto& [p, task] : tasks_) most_in_a_task = std::max(most_in_a_task, task->records_in_cycle());
    bool interval_passed = now - last_commit_ms_ >= options_.commit_interval_ms;
    if (interval_passed && now - last_commit_ms_ < options_.backlog_commit_interval_ms &&
        source_.backlog() > options_.backlog_records)
      interval_passed = false;  // batches grow with the backlog
    // Over its cache budget a task commits at once, and the commit is
    // written before reading on: only written entries can be evicted, so
    // memory stays bounded however far the run lags (docs/STATE.md).
    const bool over_budget = cache_over_budget();
    if (replay) {
      const bool emit_due = records_in_cycle_ >= options_.cycle_records || ended_now;
      if (emit_due || over_budget || (options_.commit_records > 0 && records_since_commit_ >= options_.commit_records))
        commit_cycle(now, cycle_end(emit_due));
    } else if (interval_passed || records_in_cycle_ >= options_.max_cycle_records ||
               most_in_a_task >= options_.max_task_cycle_records || ended_now || over_budget) {
      // An emit cycle spans commits until emit_interval has passed: keys
      // changed in any of them get their running record at its end.
      const bool emit_due = options_.emit_interval_ms <= 0 || now - last_emit_ms_ >= options_.emit_interval_ms || ended_now;
      commit_cycle(now, cycle_end(emit_due));
    }
    if (over_budget) {
      const auto t_wait = Clock::now();
      complete_cycle(/*wait=*/true);
      profile_.changelog += since(t_wait);
    }
    complete_cycle(/*wait=*/false);
    collect_acknowledgements(0);
    if (hooks_.on_tick) hooks_.on_tick(now);

    bool stage1_ended = !tasks_.empty();
    for (const auto& [p, task] : tasks_) stage1_ended = stage1_ended && task->stage1_finished();
    if (stage1_ended && ended_at == 0) ended_at = now;
    if (!stage1_ended) ended_at = 0;
    if (all_ended() && sink_.in_flight() == 0) {
      // A last cycle for whatever stage 2 produced after its end.
      commit_cycle(now, cycle_end(true));
      complete_cycle(/*wait=*/true);
      if (sink_.in_flight() == 0) break;
    }
    if (ended_at != 0 && now - ended_at > options_.finish_wait_ms) {
      result.stage2_incomplete = !all_ended();
      break;
    }
  }
  // Everything committed should leave before the process does.
  commit_cycle(wall_ms(), cycle_end(true));
  complete_cycle(/*wait=*/true);
  const std::int64_t until = wall_ms() + options_.finish_wait_ms / 2;
  while (sink_.in_flight() > 0 && wall_ms() < until) collect_acknowledgements(100);
  result.unacknowledged = outbox_size();
  result.records = records_;
  result.profile = profile_;
  return result;
}

}  // namespace alliance

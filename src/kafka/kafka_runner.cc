#include "alliance/kafka/kafka_runner.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "alliance/codec/record_decoder.h"
#include "alliance/kafka/changelog.h"
#include "alliance/kafka/kafka_sink.h"
#include "alliance/kafka/kafka_source.h"
#include "alliance/metrics/run_metrics.h"
#include "alliance/runtime/stream_driver.h"

namespace alliance {

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void log(const std::string& line) { std::fprintf(stderr, "alliance run: %s\n", line.c_str()); }

/// What /readyz says: broker trouble, no partitions, records the broker
/// refuses. Fed by the source's and the sink's observers; driver thread.
class Readiness {
 public:
  explicit Readiness(RunMetrics& metrics) : metrics_(metrics) {}

  void trouble(const std::string& what, bool unreachable) {
    const std::int64_t now = now_ms();
    if (unreachable) {
      last_unreachable_ = now;
      last_trouble_what_ = what;
    }
    if (now - last_trouble_log_ > 5000) {
      log("broker trouble: " + what + " (waiting; nothing is lost)");
      last_trouble_log_ = now;
    }
  }
  void undeliverable(const std::string& topic, const std::string& error) {
    ++undeliverable_;
    last_undeliverable_ = now_ms();
    last_undeliverable_what_ = topic + ": " + error;
    log("an output record for " + topic + " cannot be produced (" + error +
        "); it is skipped so the partition goes on (alliance_output_undeliverable_total)");
  }
  void update(std::int64_t now, std::size_t assigned) {
    std::string why;
    if (last_unreachable_ > 0 && now - last_unreachable_ < kTroubleMs) why = "broker trouble: " + last_trouble_what_;
    else if (assigned == 0) why = "no partitions assigned (joining the group, rebalancing, or more instances than partitions)";
    else if (last_undeliverable_ > 0 && now - last_undeliverable_ < kUndeliverableMs)
      why = std::to_string(undeliverable_) + " output records could not be produced (last: " + last_undeliverable_what_ + ")";
    if (known_ && why == why_) return;
    known_ = true;
    why_ = why;
    metrics_.ready(why.empty(), why);
  }
  [[nodiscard]] const std::string& last_trouble() const { return last_trouble_what_; }

 private:
  static constexpr std::int64_t kTroubleMs = 10'000;
  static constexpr std::int64_t kUndeliverableMs = 60'000;
  RunMetrics& metrics_;
  std::string why_;
  bool known_ = false;
  std::int64_t last_unreachable_ = 0, last_trouble_log_ = 0, last_undeliverable_ = 0;
  std::int64_t undeliverable_ = 0;
  std::string last_trouble_what_, last_undeliverable_what_;
};

}  // namespace

int run_kafka(const Topology& t, const RunOptions& o) {
  try {
    std::filesystem::create_directories(o.state_dir);
    RunMetrics metrics(t, o.metrics_listen, o.metrics_security);
    if (const http::BoundAddress* a = metrics.http_address()) {
      log("serving " + a->text("metrics") + " (and /healthz, /readyz)" +
          (o.metrics_security.token.empty() ? "" : "; every path but /healthz needs the bearer token"));
      if (o.on_metrics_listening) o.on_metrics_listening(*a);
    }
    Readiness readiness(metrics);
    KafkaSource source(t,
                       KafkaSourceOptions{o.bootstrap, o.group, o.assignor, o.session_timeout_ms, o.stop_when_idle_ms, o.kafka},
                       KafkaSourceObserver{[&](const std::string& w, bool u) { readiness.trouble(w, u); },
                                           [&](const std::string& topic, std::int32_t p) { metrics.consumed(topic, p); },
                                           log});
    source.connect(o.stop);
    Changelog changelog(o.bootstrap, t.name + ".changelog", o.kafka);
    // A commit waits in the changelog flush while the broker is away: on_tick does not
    // run then, so readiness is updated from here (found by tests/chaos).
    changelog.on_waiting([&](const std::string& what) {
      source.note_trouble();
      readiness.trouble(what, true);
      readiness.update(now_ms(), source.assigned_count());
    });
    KafkaSink sink(t, o.bootstrap, o.kafka, o.guarantee == "exactly_once", o.group + "-" + std::to_string(::getpid()),
                   KafkaSinkObserver{[&](const std::string& w) {
                                       metrics.producer_error();
                                       readiness.trouble(w, false);
                                     },
                                     [&](const std::string& topic, const std::string& error) {
                                       metrics.undeliverable(topic, error);
                                       readiness.undeliverable(topic, error);
                                     }});

    DriverOptions options;
    options.commit_interval_ms = o.commit_interval_ms;
    options.emit_interval_ms = t.emit_interval;
    options.emit_final = t.emit == EmitMode::kFinal;
    options.idle_wait_ms = o.idle_wait_ms;
    options.stop = o.stop;
    // A bounded run on one partition ends like a replay with --state: the
    // end-of-input flush is published, not stored, so a later run (bounded
    // or not, any group) goes on from where the events left the state. With
    // several partitions stage 2 must hear every source end through the
    // repartition topic and stores it: that end is committed (and refused
    // below by an unbounded run).
    options.end_uncommitted = o.stop_when_idle_ms > 0 && source.partitions() == 1;
    DriverHooks hooks;
    // One block cache and one write-buffer budget for every partition's store.
    RocksOptions rocks;
    rocks.block_cache_bytes = static_cast<std::size_t>(t.state.block_cache_mb) << 20;
    rocks.write_buffer_bytes = static_cast<std::size_t>(t.state.write_buffer_mb) << 20;
    rocks.memory = std::make_shared<RocksMemory>(rocks.block_cache_bytes, rocks.write_buffer_bytes);
    rocks.sync = false;  // the changelog has every batch before the store does (RocksOptions::sync)
    hooks.open_task = [&](std::int32_t p) {
      auto store = open_rocks_store(o.state_dir + "/p-" + std::to_string(p), t.name, rocks);
      // The changelog may be ahead of the local store: another instance owned
      // the partition, or this one died between shipping and writing a batch.
      if (const std::size_t applied = changelog.catch_up(p, *store); applied > 0)
        log("partition " + std::to_string(p) + ": restored " + std::to_string(applied) + " batches (" +
            std::to_string(changelog.keys_restored()) + " keys) from " + changelog.topic());
      auto task = std::make_unique<PartitionTask>(t, TaskConfig{p, source.partitions(), false}, std::move(store));
      if (task->stage1_finished()) {
        // Ended by a bounded run that committed its end (several partitions,
        // or an earlier alliance on one): windows and periods are closed for good.
        const std::string why = "partition " + std::to_string(p) +
                                ": its state was ended by a bounded run (--stop-when-idle" +
                                (source.partitions() > 1 ? " with several partitions" : " of an earlier alliance") +
                                ": windows and statement periods closed for good, in " + changelog.topic() + ")";
        if (o.stop_when_idle_ms <= 0)
          throw KafkaSetupError(why + ", so this run would process nothing; to go on, start over under a new topology "
                                "`name` (create its .changelog and .repartition topics) with a new --group and an empty "
                                "--state: the inputs are read again from their start and the outputs repeat under the "
                                "same keys (docs/OPERATIONS.md \"Bounded runs\")");
        log(why + "; this bounded run processes nothing after that end");
      }
      task->set_changelog([&changelog, p, task = task.get()](const StateChanges& batch) { changelog.send(p, batch, *task->store()); },
                          [&changelog, p] { return changelog.offset_meta(p); });
      return task;
    };
    hooks.before_apply = [&] { return changelog.flush(o.stop); };
    hooks.changelog_delivered = [&] { return changelog.delivered(); };
    hooks.on_commit = [&](PartitionTask& task, const TaskCycle& cycle, double seconds) {
      metrics.observe(task.partition(), task.processor().stats());
      metrics.batch_events(cycle.events);
      metrics.batch_seconds(cycle.process_seconds);
      metrics.commit_seconds(seconds);
      metrics.outbox_depth(static_cast<double>(task.pending_count()));
    };
    hooks.on_acknowledged = [&](const AcknowledgedCycle& ack, std::int64_t oldest_append) {
      std::map<OutputKind, std::int64_t> counts;
      for (const auto& e : ack.entries) {
        counts[e.kind] += 1;
        if (e.record) {
          metrics.published(*e.record);
        } else if (e.kind == OutputKind::kSettlements || e.kind == OutputKind::kBalances ||
                   e.kind == OutputKind::kMetrics || e.kind == OutputKind::kRisk) {
          // Resent from the outbox after a restart: only the bytes exist.
          if (auto r = decode_record(e.kind, e.body)) metrics.published(*r);
        }
      }
      for (const auto& [kind, n] : counts) metrics.produced(std::string(to_string(kind)), n);
      if (oldest_append >= 0) metrics.end_to_end_seconds(static_cast<double>(now_ms() - oldest_append) / 1000.0);
      if (o.on_published) o.on_published(ack.entries);
    };
    std::int64_t last_sample = 0;
    StreamDriver* driver_ptr = nullptr;
    hooks.on_tick = [&](std::int64_t now) {
      readiness.update(now, source.assigned_count());
      if (now - last_sample < 2000 || driver_ptr == nullptr) return;
      last_sample = now;
      metrics.sample_process();
      for (const auto& [tp, lag] : source.lag()) metrics.consumer_lag(tp.first, tp.second, static_cast<double>(lag));
      for (const auto& [p, task] : driver_ptr->tasks()) {
        const TimestampMs stream_time = task->processor().clock().stream_time;
        if (stream_time > 0) metrics.event_time_lag(p, static_cast<double>(now - stream_time) / 1000.0);
        if (StateStore* store = task->store()) {
          metrics.rocksdb(p, rocks_stats(*store));
          metrics.state_cache(p, static_cast<double>(task->processor().cache_bytes()));
        }
      }
      metrics.changelog_bytes(changelog.batch_bytes_sent(), changelog.slice_bytes_sent());
    };
    hooks.fatal = [&] { return source.fatal(); };

    StreamDriver driver(source, sink, options, std::move(hooks));
    driver_ptr = &driver;
    const DriverResult result = driver.run();
    if (result.stage2_incomplete)
      log("stage 2 did not hear every partition end within " + std::to_string(options.finish_wait_ms / 1000) +
          " s (another instance still running?); stopping with the final records of those partitions unpublished");
    if (result.end_unpublished)
      log("the end of the input is not published: the broker did not acknowledge the last records within " +
          std::to_string(options.finish_wait_ms / 1000) + " s (last broker trouble: " + readiness.last_trouble() +
          "); the state holds them, and the next run publishes the end");
    if (result.unacknowledged > 0)
      log(std::to_string(result.unacknowledged) + " committed outputs are not acknowledged yet; they stay in the outbox and are "
          "sent on the next start (last broker trouble: " + readiness.last_trouble() + ")");
    source.close();
    if (source.consumed_total() > 0) {
      const double span = static_cast<double>(now_ms() - source.first_message_ms()) / 1000.0;
      char buf[200];
      std::snprintf(buf, sizeof buf,
                    "consumed %lld messages; %.3f s from the first message to the last acknowledgement (%.0f messages/s)",
                    static_cast<long long>(source.consumed_total()), span,
                    static_cast<double>(source.consumed_total()) / span);
      log(buf);
      log("where the time went: " + result.profile.describe());
    }
    log("stopped cleanly");
    return 0;
  } catch (const KafkaSetupError& e) {
    log(e.what());
    return 2;
  } catch (const StateError& e) {
    log(std::string("state: ") + e.what());
    return 2;
  } catch (const std::runtime_error& e) {
    log(e.what());
    return 2;
  }
}

}  // namespace alliance

#include "alliance/kafka/kafka_runner.h"

#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <algorithm>
#include <map>
#include <set>
#include <memory>
#include <thread>

#include "alliance/core/byte_codec.h"
#include "alliance/kafka/changelog.h"
#include "alliance/kafka/partition_task.h"
#include "alliance/metrics/run_metrics.h"

namespace alliance {

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void log(const std::string& line) { std::fprintf(stderr, "alliance run: %s\n", line.c_str()); }

class ConfigProblem : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::unique_ptr<RdKafka::Conf> make_conf(const std::map<std::string, std::string>& kv) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  for (const auto& [k, v] : kv)
    if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) throw ConfigProblem("librdkafka setting " + k + "=" + v + ": " + err);
  return conf;
}

/// Counts failed deliveries; served inside flush() on the runner's thread.
class DeliveryCounter : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& m) override {
    if (m.err() != RdKafka::ERR_NO_ERROR) {
      ++failed;
      last_error = m.errstr();
    }
  }
  int failed = 0;
  std::string last_error;
};

/// The runner's state, shared with the rebalance callback (same thread).
class Runner : public RdKafka::RebalanceCb, public RdKafka::EventCb {
 public:
  Runner(const Topology& t, const RunOptions& o) : t_(t), o_(o), metrics_(t, o.metrics_listen) {
    kinds_ = {{t.inputs.clicks, EventKind::kClick}, {t.inputs.referrals, EventKind::kReferral},
              {t.inputs.orders, EventKind::kOrder}};
    outputs_ = {t.outputs.settlements, t.outputs.metrics, t.outputs.statements, t.outputs.dlq};
  }

  int run() {
    auto cconf = make_conf({{"bootstrap.servers", o_.bootstrap},
                            {"group.id", o_.group},
                            {"enable.auto.commit", "false"},
                            {"enable.auto.offset.store", "false"},
                            {"auto.offset.reset", "earliest"},
                            {"partition.assignment.strategy", o_.assignor},
                            {"session.timeout.ms", std::to_string(o_.session_timeout_ms)},
                            {"heartbeat.interval.ms", std::to_string(std::max<std::int64_t>(o_.session_timeout_ms / 4, 100))},
                            {"fetch.max.bytes", "104857600"},
                            {"enable.partition.eof", "true"},
                            {"log_level", "3"}});
    std::string err;
    if (cconf->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(this), err) != RdKafka::Conf::CONF_OK)
      throw ConfigProblem(err);
    if (cconf->set("event_cb", static_cast<RdKafka::EventCb*>(this), err) != RdKafka::Conf::CONF_OK)
      throw ConfigProblem(err);
    consumer_.reset(RdKafka::KafkaConsumer::create(cconf.get(), err));
    if (!consumer_) throw ConfigProblem("cannot create the consumer: " + err);
    std::map<std::string, std::string> pconf{{"bootstrap.servers", o_.bootstrap},
                                             {"enable.idempotence", "true"},
                                             {"linger.ms", "5"},
                                             {"log_level", "3"}};
    if (o_.guarantee == "exactly_once") pconf["transactional.id"] = o_.group + "-" + std::to_string(::getpid());
    auto pc = make_conf(pconf);
    if (pc->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(&delivery_), err) != RdKafka::Conf::CONF_OK)
      throw ConfigProblem(err);
    producer_.reset(RdKafka::Producer::create(pc.get(), err));
    if (!producer_) throw ConfigProblem("cannot create the producer: " + err);
    if (o_.guarantee == "exactly_once") {
      std::unique_ptr<RdKafka::Error> e(producer_->init_transactions(30'000));
      if (e) throw ConfigProblem("init_transactions: " + e->str());
    }

    check_inputs();
    changelog_ = std::make_unique<Changelog>(o_.bootstrap, t_.name + ".changelog");
    std::vector<std::string> topics{t_.inputs.clicks, t_.inputs.referrals, t_.inputs.orders};
    if (split_) topics.push_back(repartition_);
    if (auto e = consumer_->subscribe(topics); e != RdKafka::ERR_NO_ERROR)
      throw ConfigProblem("cannot subscribe: " + RdKafka::err2str(e));
    log("consuming " + t_.inputs.clicks + ", " + t_.inputs.referrals + ", " + t_.inputs.orders +
        (split_ ? ", " + repartition_ : std::string()) + " as group " + o_.group + " (" +
        std::to_string(partitions_) + (split_ ? " partitions: two stages)" : " partition)"));

    std::int64_t last_commit = now_ms();
    std::int64_t last_message = now_ms();
    std::size_t since_commit = 0;  // events processed since the last commit
    bool finishing = false;  // bounded run: inputs idle, ending every stage
    std::int64_t finishing_since = 0;
    while (!(o_.stop != nullptr && o_.stop->load())) {
      if (!partition_count_changed_.empty()) {
        commit_all();
        consumer_->close();
        throw ConfigProblem(partition_count_changed_);
      }
      std::unique_ptr<RdKafka::Message> m(consumer_->consume(20));
      const std::int64_t now = now_ms();
      if (m->err() == RdKafka::ERR_NO_ERROR) {
        last_message = now;
        if (consumed_++ == 0) first_message_ = std::chrono::steady_clock::now();
        last_consumed_ = std::chrono::steady_clock::now();
        at_end_.erase({m->topic_name(), m->partition()});
        metrics_.consumed(m->topic_name(), m->partition());
        if (m->topic_name() == repartition_) task_for(m->partition()).accept_forward(repartition_, m->offset(), as_view(*m));
        else on_message(*m, now);
      } else if (m->err() == RdKafka::ERR__PARTITION_EOF) {
        at_end_.insert({m->topic_name(), m->partition()});
        if (auto it = kinds_.find(m->topic_name()); it != kinds_.end()) task_for(m->partition()).set_at_end(it->second, true);
      } else if (m->err() != RdKafka::ERR__TIMED_OUT) {
        transport_trouble(m->errstr());
      }
      const auto t0 = std::chrono::steady_clock::now();
      std::size_t processed = 0;
      for (auto& [p, task] : tasks_) processed += task->drain(now, o_.idle_wait_ms);
      if (processed > 0) metrics_.batch_seconds(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      since_commit += processed;
      // Also commit early when a batch gets large: changelog batches stay
      // small next to the broker's retention (docs/KAFKA.md).
      update_readiness(now);
      if (now - last_commit >= o_.commit_interval_ms || since_commit >= kMaxBatchEvents) {
        if (since_commit > 0) metrics_.batch_events(since_commit);
        commit_all();
        last_commit = now;
        since_commit = 0;
      }
      // A bounded run ends once every assigned input partition reached its
      // end and nothing arrived for stop_when_idle_ms.
      // Broker trouble is not silence: the idle clock restarts with it.
      if (!finishing && o_.stop_when_idle_ms > 0 && assigned_ > 0 && at_end_.size() >= assigned_ &&
          now - std::max({last_message, assigned_at_, last_trouble_}) >= o_.stop_when_idle_ms) {
        log("input idle: finishing (watermark to +infinity)");
        finishing = true;
        finishing_since = now;
      }
      if (finishing && finish_stages(now, finishing_since)) break;
    }
    commit_all();
    // Everything committed should leave before the process does: retry
    // publication for a while (the broker may just be coming back).
    const auto drain_until = std::chrono::steady_clock::now() + std::chrono::seconds(kDrainSeconds);
    while (outbox_size() > 0 && std::chrono::steady_clock::now() < drain_until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      commit_all();
    }
    if (const std::size_t left = outbox_size(); left > 0)
      log(std::to_string(left) + " committed outputs are not acknowledged yet; they stay in the outbox and are "
          "sent on the next start (last broker trouble: " + last_trouble_what_ + ")");
    consumer_->close();
    if (consumed_ > 0) {
      const double span = std::chrono::duration<double>(std::chrono::steady_clock::now() - first_message_).count();
      char buf[160];
      std::snprintf(buf, sizeof buf, "consumed %lld messages; %.3f s from the first message to the last commit (%.0f messages/s)",
                    static_cast<long long>(consumed_), span, static_cast<double>(consumed_) / span);
      log(buf);
    }
    log("stopped cleanly");
    return 0;
  }

  // Client errors and logs of the consumer; served inside consume().
  void event_cb(RdKafka::Event& e) override {
    if (e.type() == RdKafka::Event::EVENT_ERROR &&
        (e.err() == RdKafka::ERR__ALL_BROKERS_DOWN || e.err() == RdKafka::ERR__TRANSPORT ||
         e.err() == RdKafka::ERR__RESOLVE))
      transport_trouble(RdKafka::err2str(e.err()) + " (" + e.str() + ")");
    else if (e.type() == RdKafka::Event::EVENT_LOG && e.severity() <= RdKafka::Event::EVENT_SEVERITY_ERROR)
      std::fprintf(stderr, "librdkafka: %s: %s\n", e.fac().c_str(), e.str().c_str());
  }

  // Eager rebalance: revoke everything, then assign. Runs inside consume().
  void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& partitions) override {
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
      // Partitions added while running: state, co-partitioning and the
      // repartition routing all depend on the count fixed at start.
      for (auto* tp : partitions)
        if (tp->partition() >= partitions_) {
          partition_count_changed_ = "topic " + tp->topic() + " now has partition " + std::to_string(tp->partition()) +
                                     " but the inputs had " + std::to_string(partitions_) +
                                     " partitions at start; stop every instance, give all inputs, " + t_.name +
                                     ".changelog and " + repartition_ + " the same count, and start again";
          consumer->unassign();
          return;
        }
      for (auto* tp : partitions) {
        PartitionTask& task = task_for(tp->partition());
        if (tp->topic() == repartition_) {
          if (auto off = task.resume_repartition()) tp->set_offset(*off);
        } else if (auto off = task.resume_offset(kinds_.at(tp->topic()))) {
          tp->set_offset(*off);
        }
      }
      consumer->assign(partitions);
      assigned_ = partitions.size();
      assigned_at_ = now_ms();
      at_end_.clear();
      log("assigned " + std::to_string(partitions.size()) + " partitions");
    } else {
      commit_all();
      tasks_.clear();
      assigned_ = 0;
      consumer->unassign();
      log("revoked " + std::to_string(partitions.size()) + " partitions");
    }
  }

 private:
  void check_inputs() {
    for (int attempt = 0;; ++attempt) {
      if (o_.stop != nullptr && o_.stop->load()) throw ConfigProblem("stopped before the broker answered");
      RdKafka::Metadata* raw = nullptr;
      const auto e = consumer_->metadata(true, nullptr, &raw, 5000);
      std::unique_ptr<RdKafka::Metadata> md(raw);
      if (e != RdKafka::ERR_NO_ERROR) {
        const int wait = std::min(30, 1 << std::min(attempt, 5));
        log("broker " + o_.bootstrap + " unreachable (" + RdKafka::err2str(e) + "); retrying in " +
            std::to_string(wait) + " s");
        std::this_thread::sleep_for(std::chrono::seconds(wait));
        continue;
      }
      std::map<std::string, std::size_t> counts;
      std::size_t changelog_partitions = 0;
      std::size_t repartition_partitions = 0;
      for (const auto* topic : *md->topics()) {
        if (kinds_.count(topic->topic()) != 0 && topic->err() == RdKafka::ERR_NO_ERROR)
          counts[topic->topic()] = topic->partitions()->size();
        if (topic->topic() == t_.name + ".changelog" && topic->err() == RdKafka::ERR_NO_ERROR)
          changelog_partitions = topic->partitions()->size();
        if (topic->topic() == repartition_ && topic->err() == RdKafka::ERR_NO_ERROR)
          repartition_partitions = topic->partitions()->size();
      }
      std::string listing;
      for (const auto& [name, kind] : kinds_) {
        if (counts.count(name) == 0)
          throw ConfigProblem("input topic " + name + " does not exist; create it (with as many partitions as the other inputs) or fix inputs: in the topology");
        listing += name + "=" + std::to_string(counts[name]) + " ";
      }
      const std::size_t n = counts.begin()->second;
      for (const auto& [name, c] : counts)
        if (c != n)
          throw ConfigProblem("input topics are not co-partitioned (" + listing +
                              "); give all three the same partition count, keyed by user_id");
      if (changelog_partitions != n)
        throw ConfigProblem("changelog topic " + t_.name + ".changelog must exist with " + std::to_string(n) +
                            " partitions like the inputs (has " + std::to_string(changelog_partitions) +
                            "); create it (cleanup.policy=delete, retention.ms=-1)");
      partitions_ = static_cast<std::int32_t>(n);
      split_ = n > 1;
      if (split_) {
        if (repartition_partitions != n)
          throw ConfigProblem("repartition topic " + repartition_ + " must exist with " + std::to_string(n) +
                              " partitions like the inputs (has " + std::to_string(repartition_partitions) +
                              "); create it (cleanup.policy=delete, retention.ms=-1)");
        if (o_.assignor != "range")
          throw ConfigProblem("--assignor " + o_.assignor + " cannot run " + std::to_string(n) +
                              " partitions: partition p of the inputs and of " + repartition_ +
                              " must land on the same instance; use --assignor range");
      }
      return;
    }
  }

  std::string_view as_view(RdKafka::Message& m) { return {static_cast<const char*>(m.payload()), m.len()}; }

  PartitionTask& task_for(std::int32_t p) {
    auto it = tasks_.find(p);
    if (it != tasks_.end()) return *it->second;
    const std::string dir = o_.state_dir + "/p-" + std::to_string(p);
    auto store = open_rocks_store(dir, t_.name);
    // The changelog may be ahead of the local store: another instance owned
    // the partition, or this one died between shipping and writing a batch.
    const std::size_t applied = changelog_->catch_up(p, *store);
    if (applied > 0) log("partition " + std::to_string(p) + ": restored " + std::to_string(applied) + " batches from " + changelog_->topic());
    auto task = std::make_unique<PartitionTask>(t_, p, partitions_, std::move(store));
    task->set_changelog([this, p, t = task.get()](StateChanges& batch) { changelog_->ship(p, batch, t->store()); });
    auto& ref = *task;
    tasks_.emplace(p, std::move(task));
    return ref;
  }

  void on_message(RdKafka::Message& m, std::int64_t now) {
    auto kind = kinds_.find(m.topic_name());
    if (kind == kinds_.end()) return;
    PartitionTask& task = task_for(m.partition());
    task.set_at_end(kind->second, false);
    task.enqueue(kind->second, m.topic_name(), m.offset(), m.key(),
                 std::string_view(static_cast<const char*>(m.payload()), m.len()), now);
    if (m.timestamp().type != RdKafka::MessageTimestamp::MSG_TIMESTAMP_NOT_AVAILABLE)
      oldest_append_ = std::min(oldest_append_, m.timestamp().timestamp);
  }

  /// `unreachable`: an error saying the broker cannot be used (readiness);
  /// a slow acknowledgement only restarts the idle clock.
  void transport_trouble(const std::string& what, bool unreachable = true) {
    const std::int64_t now = now_ms();
    last_trouble_ = now;
    if (unreachable) {
      last_unreachable_ = now;
      last_trouble_what_ = what;
    }
    if (now - last_trouble_log_ > 5000) {
      log("broker trouble: " + what + " (waiting; nothing is lost)");
      last_trouble_log_ = now;
    }
  }

  /// Durable first, then published, then acknowledged and committed.
  void commit_all() {
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<RdKafka::TopicPartition*> offsets;
    for (auto& [p, task] : tasks_) {
      task->commit();
      metrics_.observe(p, task->processor().stats());
      auto pending = task->pending();
      metrics_.outbox_depth(static_cast<double>(pending.size()));
      if (!pending.empty() && !publish(pending)) continue;  // stays in the outbox; retried next time
      if (!pending.empty()) task->acknowledge(pending);
      for (const auto& [topic, kind] : kinds_) {
        const std::int64_t pos = task->position(kind);
        if (pos >= 0) offsets.push_back(RdKafka::TopicPartition::create(topic, p, pos));
      }
      if (split_ && task->repartition_position() >= 0)
        offsets.push_back(RdKafka::TopicPartition::create(repartition_, p, task->repartition_position()));
    }
    if (!offsets.empty()) {
      const auto e = consumer_->commitSync(offsets);
      if (e != RdKafka::ERR_NO_ERROR && e != RdKafka::ERR__NO_OFFSET) transport_trouble("offset commit: " + RdKafka::err2str(e));
    }
    for (auto* tp : offsets) delete tp;
    metrics_.commit_seconds(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    sample_gauges();
  }

  /// Consumer lag, RocksDB sizes and process figures, at most every 2 s.
  void sample_gauges() {
    const std::int64_t now = now_ms();
    if (now - last_sample_ < 2000) return;
    last_sample_ = now;
    metrics_.sample_process();
    for (auto& [p, task] : tasks_) {
      for (const auto& [topic, kind] : kinds_) {
        std::int64_t low = 0, high = 0;
        // Cached from fetch responses: no broker round-trip on the poll thread.
        if (consumer_->get_watermark_offsets(topic, p, &low, &high) == RdKafka::ERR_NO_ERROR && high >= 0) {
          const std::int64_t pos = std::max<std::int64_t>(task->position(kind), low);
          metrics_.consumer_lag(topic, p, static_cast<double>(std::max<std::int64_t>(high - pos, 0)));
        }
      }
      const TimestampMs stream_time = task->processor().clock().stream_time;
      if (stream_time > 0) metrics_.event_time_lag(p, static_cast<double>(now - stream_time) / 1000.0);
      const RocksStats rs = task->rocks_stats();
      metrics_.rocksdb(p, rs.live_sst_bytes, rs.block_cache_usage, rs.pending_compaction_bytes);
    }
  }

  bool publish(const std::vector<OutboxEntry>& entries) {
    delivery_.failed = 0;
    const bool txn = o_.guarantee == "exactly_once";
    if (txn) {
      std::unique_ptr<RdKafka::Error> e(producer_->begin_transaction());
      if (e) {
        transport_trouble("begin_transaction: " + e->str());
        return false;
      }
    }
    const std::int64_t stamp = now_ms();
    std::map<std::string, std::int64_t> counts;
    for (const auto& e : entries) {
      std::string body;
      const bool forward = e.kind == OutputKind::kRepartition;
      if (forward) {
        // The outbox sequence number travels first: stage 2 drops resends by it.
        put_be64(body, e.seq);
        body += e.body;
      } else {
        body = stamp_emitted_at(e.body, stamp);
      }
      const std::string& topic = forward ? repartition_ : outputs_[static_cast<std::size_t>(e.kind)];
      const std::int32_t partition = forward ? e.partition : RdKafka::Topic::PARTITION_UA;
      for (;;) {
        const auto err = producer_->produce(topic, partition, RdKafka::Producer::RK_MSG_COPY,
                                            const_cast<char*>(body.data()), body.size(), e.key.data(), e.key.size(),
                                            0, nullptr);
        if (err == RdKafka::ERR__QUEUE_FULL) {
          producer_->poll(50);
          continue;
        }
        if (err != RdKafka::ERR_NO_ERROR) ++delivery_.failed;
        break;
      }
      counts[std::string(to_string(e.kind))] += 1;
    }
    if (txn) {
      std::unique_ptr<RdKafka::Error> e(producer_->commit_transaction(30'000));
      if (e) {
        transport_trouble("commit_transaction: " + e->str());
        std::unique_ptr<RdKafka::Error> a(producer_->abort_transaction(30'000));
        return false;
      }
    }
    while (producer_->flush(1000) == RdKafka::ERR__TIMED_OUT) {
      transport_trouble("outputs not yet acknowledged", /*unreachable=*/false);
      if (o_.stop != nullptr && o_.stop->load()) return false;
    }
    if (delivery_.failed > 0) {
      for (int i = 0; i < delivery_.failed; ++i) metrics_.producer_error();
      transport_trouble(std::to_string(delivery_.failed) + " deliveries failed (" + delivery_.last_error +
                        "); resending from the outbox");
      return false;
    }
    for (const auto& [out, n] : counts) metrics_.produced(out, n);
    for (const auto& e : entries) metrics_.published(e.kind, e.body);
    if (oldest_append_ != INT64_MAX) metrics_.end_to_end_seconds(static_cast<double>(now_ms() - oldest_append_) / 1000.0);
    oldest_append_ = INT64_MAX;
    if (o_.on_published) o_.on_published(entries);
    return true;
  }

  /// Ready: partitions assigned (assignment restores them before it
  /// returns) and no broker error in the last kTroubleMs.
  void update_readiness(std::int64_t now) {
    std::string why;
    if (last_unreachable_ > 0 && now - last_unreachable_ < kTroubleMs) why = "broker trouble: " + last_trouble_what_;
    else if (assigned_ == 0) why = "no partitions assigned (joining the group, rebalancing, or more instances than partitions)";
    if (why == readiness_why_ && readiness_known_) return;
    readiness_known_ = true;
    readiness_why_ = why;
    metrics_.ready(why.empty(), why);
  }
  static constexpr std::int64_t kTroubleMs = 10'000;
  std::string readiness_why_;
  bool readiness_known_ = false;
  std::string last_trouble_what_;
  std::int64_t last_unreachable_ = 0;
  std::string partition_count_changed_;  // set by the rebalance callback: stop with this error

  /// Bounded runs, after the inputs went idle: ends stage 1 of every task
  /// whose inputs are drained, and in split mode waits until every stage 2
  /// has heard all sources end. True when the run may stop.
  bool finish_stages(std::int64_t now, std::int64_t since) {
    bool all_done = true;
    bool ended = false;
    for (auto& [p, task] : tasks_) {
      bool drained = true;  // a partition taken over while finishing may still have input
      for (const auto& [topic, kind] : kinds_) drained = drained && at_end_.count({topic, p}) != 0;
      if (!task->stage1_finished() && drained) {
        task->finish();
        ended = true;
      }
      all_done = all_done && task->stage1_finished() && task->stage2_done();
    }
    if (ended) commit_all();
    if (all_done && !tasks_.empty()) return true;
    if (now - since > kFinishWaitMs) {
      log("stage 2 did not hear every partition end within " + std::to_string(kFinishWaitMs / 1000) +
          " s (another instance still running?); stopping with the final records of those partitions unpublished");
      return true;
    }
    return false;
  }
  static constexpr std::int64_t kFinishWaitMs = 120'000;
  static constexpr int kDrainSeconds = 60;
  std::size_t outbox_size() {
    std::size_t n = 0;
    for (const auto& [p, task] : tasks_) n += task->pending_count();
    return n;
  }
  static constexpr std::size_t kMaxBatchEvents = 2000;

  const Topology& t_;
  const RunOptions& o_;
  RunMetrics metrics_;
  std::int32_t partitions_ = 1;
  bool split_ = false;
  std::string repartition_ = t_.name + ".repartition";
  std::map<std::string, EventKind> kinds_;
  std::array<std::string, 4> outputs_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::unique_ptr<RdKafka::Producer> producer_;
  DeliveryCounter delivery_;
  std::unique_ptr<Changelog> changelog_;
  std::map<std::int32_t, std::unique_ptr<PartitionTask>> tasks_;
  std::int64_t last_trouble_log_ = 0;
  std::int64_t last_trouble_ = 0;  // last broker error seen (any kind)
  std::int64_t last_sample_ = 0;
  std::int64_t consumed_ = 0;
  std::chrono::steady_clock::time_point first_message_, last_consumed_;
  std::size_t assigned_ = 0;
  std::int64_t assigned_at_ = 0;
  std::set<std::pair<std::string, std::int32_t>> at_end_;  // input partitions at their end
  std::int64_t oldest_append_ = INT64_MAX;
};

}  // namespace

int run_kafka(const Topology& topology, const RunOptions& options) {
  try {
    std::filesystem::create_directories(options.state_dir);
    Runner runner(topology, options);
    return runner.run();
  } catch (const ConfigProblem& e) {
    std::fprintf(stderr, "alliance run: %s\n", e.what());
    return 2;
  } catch (const StateError& e) {
    std::fprintf(stderr, "alliance run: state: %s\n", e.what());
    return 2;
  }
}

}  // namespace alliance

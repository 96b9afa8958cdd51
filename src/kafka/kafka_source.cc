#include "alliance/kafka/kafka_source.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "alliance/core/byte_codec.h"
#include "alliance/kafka/broker_stats.h"

namespace alliance {

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Owns the TopicPartition pointers librdkafka's C++ API takes.
struct TopicPartitions {
  std::vector<RdKafka::TopicPartition*> list;
  ~TopicPartitions() {
    for (auto* tp : list) delete tp;
  }
};

}  // namespace

KafkaSource::KafkaSource(const Topology& topology, KafkaSourceOptions options, KafkaSourceObserver observer)
    : topology_(topology),
      options_(std::move(options)),
      observer_(std::move(observer)),
      repartition_(topology.name + ".repartition") {
  topics_ = {{topology.inputs.clicks, InputStream::kClicks},
             {topology.inputs.referrals, InputStream::kReferrals},
             {topology.inputs.orders, InputStream::kOrders},
             {topology.inputs.payouts, InputStream::kPayouts}};
  // The user's properties go over these defaults; the session timeout is
  // the run's (--session-timeout, or the properties' session.timeout.ms).
  auto conf = options_.client.make({{"bootstrap.servers", options_.bootstrap},
                         {"group.id", options_.group},
                         {"enable.auto.commit", "false"},
                         {"enable.auto.offset.store", "false"},
                         {"auto.offset.reset", "earliest"},
                         {"partition.assignment.strategy", options_.assignor},
                         {"heartbeat.interval.ms", std::to_string(std::max<std::int64_t>(options_.session_timeout_ms / 4, 100))},
                         {"fetch.max.bytes", "104857600"},
                         // What librdkafka prefetches beyond what was polled:
                         // part of the run's memory bound when it lags
                         // (docs/OPERATIONS.md "Memory"); 64 MiB still holds
                         // ~150 k events ahead of the driver.
                         {"queued.max.messages.kbytes", "65536"},
                         // A fetch that finds nothing new waits at most this
                         // long: librdkafka's mock answers a waiting fetch only
                         // when this expires (measured: 500 ms, the default,
                         // put 0.5-1 s between an append and its output).
                         {"fetch.wait.max.ms", "10"},
                         {"enable.partition.eof", "true"},
                         // Every broker's state, each second (event_cb): an
                         // error event is sent once, then suppressed for 30 s.
                         {"statistics.interval.ms", "1000"},
                         {"log_level", "3"}},
                        {{"session.timeout.ms", std::to_string(options_.session_timeout_ms)}});
  std::string err;
  if (conf->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(this), err) != RdKafka::Conf::CONF_OK)
    throw KafkaSetupError(err);
  if (conf->set("event_cb", static_cast<RdKafka::EventCb*>(this), err) != RdKafka::Conf::CONF_OK)
    throw KafkaSetupError(err);
  consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!consumer_) throw KafkaSetupError("cannot create the consumer: " + err);
}

KafkaSource::~KafkaSource() = default;

void KafkaSource::connect(const std::atomic<bool>* stop) {
  for (int attempt = 0;; ++attempt) {
    if (stop != nullptr && stop->load()) throw KafkaSetupError("stopped before the broker answered");
    RdKafka::Metadata* raw = nullptr;
    const auto e = consumer_->metadata(true, nullptr, &raw, 5000);
    std::unique_ptr<RdKafka::Metadata> md(raw);
    if (e != RdKafka::ERR_NO_ERROR) {
      // Serve the client's error events: an authentication or TLS failure
      // is a configuration problem, not an outage.
      std::unique_ptr<RdKafka::Message>(consumer_->consume(0));
      if (!security_failure_.empty())
        throw KafkaSetupError("cannot connect to the brokers at " + options_.bootstrap + ": " + security_failure_ +
                              " (check security.protocol and the sasl.* / ssl.* properties of --kafka-config / -X)");
      const int wait = std::min(30, 1 << std::min(attempt, 5));
      observer_.log("broker " + options_.bootstrap + " unreachable (" + RdKafka::err2str(e) + "); retrying in " +
                    std::to_string(wait) + " s");
      std::this_thread::sleep_for(std::chrono::seconds(wait));
      continue;
    }
    std::map<std::string, std::size_t> counts;
    std::size_t changelog_partitions = 0;
    std::size_t repartition_partitions = 0;
    for (const auto* topic : *md->topics()) {
      if (topic->err() != RdKafka::ERR_NO_ERROR) continue;
      for (const auto& [name, stream] : topics_)
        if (topic->topic() == name) counts[name] = topic->partitions()->size();
      if (topic->topic() == topology_.name + ".changelog") changelog_partitions = topic->partitions()->size();
      if (topic->topic() == repartition_) repartition_partitions = topic->partitions()->size();
    }
    std::string listing;
    for (const auto& [name, stream] : topics_) {
      if (counts.count(name) == 0)
        throw KafkaSetupError("input topic " + name +
                              " does not exist; create it (with as many partitions as the other inputs) or fix inputs: in the topology");
      listing += name + "=" + std::to_string(counts[name]) + " ";
    }
    const std::size_t n = counts.begin()->second;
    for (const auto& [name, c] : counts)
      if (c != n)
        throw KafkaSetupError("input topics are not co-partitioned (" + listing +
                              "); give all four the same partition count (clicks, referrals and orders keyed by user_id, payouts by partner_id)");
    if (changelog_partitions != n)
      throw KafkaSetupError("changelog topic " + topology_.name + ".changelog must exist with " + std::to_string(n) +
                            " partitions like the inputs (has " + std::to_string(changelog_partitions) +
                            "); create it (cleanup.policy=delete, retention.ms=-1)");
    partitions_ = static_cast<std::int32_t>(n);
    if (n > 1) {
      if (repartition_partitions != n)
        throw KafkaSetupError("repartition topic " + repartition_ + " must exist with " + std::to_string(n) +
                              " partitions like the inputs (has " + std::to_string(repartition_partitions) +
                              "); create it (cleanup.policy=delete, retention.ms=-1)");
      if (options_.assignor != "range")
        throw KafkaSetupError("--assignor " + options_.assignor + " cannot run " + std::to_string(n) +
                              " partitions: partition p of the inputs and of " + repartition_ +
                              " must land on the same instance; use --assignor range");
      topics_.emplace_back(repartition_, InputStream::kRepartition);
    }
    break;
  }
  std::vector<std::string> names;
  for (const auto& [name, stream] : topics_) names.push_back(name);
  if (auto e = consumer_->subscribe(names); e != RdKafka::ERR_NO_ERROR)
    throw KafkaSetupError("cannot subscribe: " + RdKafka::err2str(e));
  std::string listing;
  for (const auto& n : names) listing += (listing.empty() ? "" : ", ") + n;
  observer_.log("consuming " + listing + " as group " + options_.group + " (" + std::to_string(partitions_) +
                (partitions_ > 1 ? " partitions: two stages)" : " partition)"));
}

std::optional<InputStream> KafkaSource::stream_of_topic(const std::string& topic) const {
  for (const auto& [name, stream] : topics_)
    if (name == topic) return stream;
  return std::nullopt;
}

const std::string& KafkaSource::topic_of(InputStream s) const {
  for (const auto& [name, stream] : topics_)
    if (stream == s) return name;
  return repartition_;
}

void KafkaSource::rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                               std::vector<RdKafka::TopicPartition*>& partitions) {
  // Only bookkeeping and librdkafka calls here: state is opened by the
  // driver after poll() returns, and nothing here throws.
  if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
    for (auto* tp : partitions)
      if (tp->partition() >= partitions_) {
        fatal_ = "topic " + tp->topic() + " now has partition " + std::to_string(tp->partition()) +
                 " but the inputs had " + std::to_string(partitions_) +
                 " partitions at start; stop every instance, give all inputs, " + topology_.name + ".changelog and " +
                 repartition_ + " the same count, and start again";
        consumer->unassign();
        return;
      }
    consumer->assign(partitions);
    // Paused until the driver restored the partition's state and start()
    // placed each partition at the position that state reflects.
    consumer->pause(partitions);
    for (auto* tp : partitions)
      if (assigned_.insert(tp->partition()).second) newly_assigned_.push_back(tp->partition());
    assigned_at_ms_ = now_ms();
    at_end_.clear();
    observer_.log("assigned " + std::to_string(partitions.size()) + " partitions");
  } else {
    consumer->unassign();
    for (std::int32_t p : assigned_) newly_revoked_.push_back(p);
    assigned_.clear();
    started_.clear();
    at_end_.clear();
    observer_.log("revoked " + std::to_string(partitions.size()) + " partitions");
  }
}

void KafkaSource::event_cb(RdKafka::Event& e) {
  if (options_.client.log().note_security_failure(e)) {
    security_failure_ = options_.client.redact(RdKafka::err2str(e.err()) + ": " + e.str());
    unreachable(security_failure_);
    observer_.log("librdkafka: " + security_failure_);
  } else if (e.type() == RdKafka::Event::EVENT_ERROR &&
      (e.err() == RdKafka::ERR__ALL_BROKERS_DOWN || e.err() == RdKafka::ERR__TRANSPORT || e.err() == RdKafka::ERR__RESOLVE)) {
    last_error_ = options_.client.redact(RdKafka::err2str(e.err()) + " (" + e.str() + ")");
    unreachable(last_error_);
  } else if (e.type() == RdKafka::Event::EVENT_STATS) {
    // librdkafka sends an error event once and suppresses the same error for
    // 30 s; the statistics say every second which connections are up. So an
    // outage is trouble for as long as it lasts, and until the broker of
    // every fetched partition is reconnected (librdkafka's reconnect backoff
    // reaches 10 s): /readyz stays 503, and a bounded run's idle clock does
    // not count the outage as silence.
    const std::optional<BrokerConnections> c = read_broker_connections(e.str());
    if (c && !c->healthy()) {
      const std::string why = !c->any_up ? std::string("no broker connection is up")
                                         : std::to_string(c->partitions_not_fetchable) +
                                               " assigned partitions have no broker connection up";
      unreachable(why + (last_error_.empty() ? std::string() : " (last error: " + last_error_ + ")"));
    }
  } else if (e.type() == RdKafka::Event::EVENT_LOG) {
    // librdkafka sends what log_level lets through (3 unless -X log_level or debug).
    observer_.log("librdkafka: " + e.fac() + ": " + options_.client.redact(e.str()));
  }
}

std::vector<std::int32_t> KafkaSource::take_assigned() {
  std::vector<std::int32_t> out;
  out.swap(newly_assigned_);
  return out;
}

std::vector<std::int32_t> KafkaSource::take_revoked() {
  std::vector<std::int32_t> out;
  out.swap(newly_revoked_);
  return out;
}

void KafkaSource::start(std::int32_t partition, const std::function<std::optional<std::string>(InputStream)>& resume) {
  if (assigned_.count(partition) == 0) return;  // revoked again meanwhile
  TopicPartitions tps;
  for (const auto& [name, stream] : topics_) {
    auto* tp = RdKafka::TopicPartition::create(name, partition);
    tps.list.push_back(tp);
    if (auto token = resume(stream)) {
      std::unique_ptr<RdKafka::TopicPartition> at(
          RdKafka::TopicPartition::create(name, partition, ByteReader(*token).i64()));
      // State, not the group's committed offset, says where to go on.
      if (auto e = consumer_->seek(*at, 10'000); e != RdKafka::ERR_NO_ERROR)
        observer_.trouble("seek " + name + " [" + std::to_string(partition) + "]: " + RdKafka::err2str(e), false);
    }
  }
  consumer_->resume(tps.list);
  started_.insert(partition);
}

void KafkaSource::set_paused(std::int32_t partition, InputStream stream, bool paused) {
  if (started_.count(partition) == 0 || stream == InputStream::kFile || stream == InputStream::kRepartition) return;
  TopicPartitions tps;
  tps.list.push_back(RdKafka::TopicPartition::create(topic_of(stream), partition));
  // librdkafka drops what it prefetched of a paused partition and fetches
  // again from the position after the last message consumed on resume.
  const RdKafka::ErrorCode e = paused ? consumer_->pause(tps.list) : consumer_->resume(tps.list);
  if (e != RdKafka::ERR_NO_ERROR)
    observer_.trouble(std::string(paused ? "pause " : "resume ") + topic_of(stream) + " [" +
                          std::to_string(partition) + "]: " + RdKafka::err2str(e),
                      false);
}

void KafkaSource::poll(std::size_t max, int timeout_ms, std::vector<InputRecord>& out) {
  bool waited = false;  // only the first call may wait
  for (std::size_t n = 0; n < max;) {
    std::unique_ptr<RdKafka::Message> m(consumer_->consume(waited ? 0 : timeout_ms));
    waited = true;
    const auto err = m->err();
    if (err == RdKafka::ERR__TIMED_OUT) break;
    if (err == RdKafka::ERR__PARTITION_EOF) {
      if (auto s = stream_of_topic(m->topic_name())) at_end_.insert({*s, m->partition()});
      continue;
    }
    if (err != RdKafka::ERR_NO_ERROR) {
      unreachable(m->errstr());
      break;
    }
    const std::optional<InputStream> stream = stream_of_topic(m->topic_name());
    if (!stream || started_.count(m->partition()) == 0) continue;  // fetched before start(): refetched after it
    at_end_.erase({*stream, m->partition()});
    InputRecord r;
    r.partition = m->partition();
    r.stream = *stream;
    TopicName& name = topic_names_[static_cast<std::size_t>(*stream)];
    if (name.str().empty()) name = TopicName(topic_of(*stream));  // = m->topic_name(): stream_of_topic matched it
    r.topic = name;
    r.offset = m->offset();
    r.keyed = m->key() != nullptr;
    r.payload.assign(static_cast<const char*>(m->payload()), m->len());
    if (m->timestamp().type != RdKafka::MessageTimestamp::MSG_TIMESTAMP_NOT_AVAILABLE) r.append_ms = m->timestamp().timestamp;
    r.resume = ResumePosition::of(m->offset() + 1);
    if (observer_.consumed) observer_.consumed(r.topic, r.partition);
    out.push_back(std::move(r));
    ++consumed_;
    ++n;
  }
  if (!out.empty()) {
    last_message_ms_ = now_ms();
    if (first_message_ms_ == 0) first_message_ms_ = last_message_ms_;
  }
  refresh_caught_up();
}

void KafkaSource::refresh_caught_up() {
  caught_up_.clear();
  backlog_ = 0;
  for (const auto& [tp, records] : lag()) {
    backlog_ += records;
    if (records == 0)
      if (auto s = stream_of_topic(tp.first)) caught_up_.insert({*s, tp.second});
  }
}

bool KafkaSource::at_end(std::int32_t partition, InputStream stream) const {
  // What the consumer knows of an input's end (an EOF, the last fetch
  // response's high watermark) dates from before any broker trouble: while
  // it lasts and kTroubleSettleMs after it, no input counts as at its end,
  // so the event-time merge waits for an input whose broker is still
  // reconnecting instead of running ahead of it (found by
  // test_a_bounded_run_waits_out_an_outage_longer_than_its_idle_time:
  // orders processed before the clicks they credit).
  if (last_trouble_ms_ > 0 && now_ms() - last_trouble_ms_ < kTroubleSettleMs) return false;
  // An EOF event, or the last fetch response's end already reached: a quiet
  // input is not waited for until its long-poll fetch returns empty.
  return at_end_.count({stream, partition}) != 0 || caught_up_.count({stream, partition}) != 0;
}

void KafkaSource::note_trouble() { last_trouble_ms_ = now_ms(); }

void KafkaSource::unreachable(const std::string& what) {
  note_trouble();
  observer_.trouble(what, true);
}

bool KafkaSource::input_ended(std::int32_t partition) const {
  if (options_.stop_when_idle_ms <= 0 || started_.count(partition) == 0) return false;
  for (InputStream s : kKafkaInputStreams)
    if (!at_end(partition, s)) return false;
  // Broker trouble is not silence: the idle clock restarts with it.
  const std::int64_t quiet_since = std::max({last_message_ms_, assigned_at_ms_, last_trouble_ms_});
  return now_ms() - quiet_since >= options_.stop_when_idle_ms;
}

void KafkaSource::acknowledge(std::int32_t partition, const std::vector<std::pair<InputStream, std::string>>& positions) {
  if (assigned_.count(partition) == 0) return;
  TopicPartitions tps;
  for (const auto& [stream, token] : positions)
    if (stream != InputStream::kFile)
      tps.list.push_back(RdKafka::TopicPartition::create(topic_of(stream), partition, ByteReader(token).i64()));
  if (tps.list.empty()) return;
  // Asynchronous: the group offset only speeds up a start without state;
  // the state's own positions are what a task resumes from.
  if (auto e = consumer_->commitAsync(tps.list); e != RdKafka::ERR_NO_ERROR && e != RdKafka::ERR__NO_OFFSET)
    observer_.trouble("offset commit: " + RdKafka::err2str(e), false);
}

std::map<std::pair<std::string, std::int32_t>, std::int64_t> KafkaSource::lag() const {
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> out;
  TopicPartitions tps;
  for (std::int32_t p : started_)
    for (const auto& [name, stream] : topics_)
      if (stream != InputStream::kRepartition) tps.list.push_back(RdKafka::TopicPartition::create(name, p));
  if (tps.list.empty() || consumer_->position(tps.list) != RdKafka::ERR_NO_ERROR) return out;
  for (auto* tp : tps.list) {
    std::int64_t low = 0, high = 0;
    // Cached from fetch responses: no broker round-trip.
    if (consumer_->get_watermark_offsets(tp->topic(), tp->partition(), &low, &high) != RdKafka::ERR_NO_ERROR || high < 0)
      continue;
    const std::int64_t pos = std::max<std::int64_t>(tp->offset(), low);
    out[{tp->topic(), tp->partition()}] = std::max<std::int64_t>(high - pos, 0);
  }
  return out;
}

void KafkaSource::close() { consumer_->close(); }

}  // namespace alliance

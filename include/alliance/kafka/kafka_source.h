// The RecordSource of `alliance run`: one KafkaConsumer in the group,
// subscribed to the three input topics (and the repartition topic when
// there are several partitions). Rebalances are eager; the rebalance
// callback only assigns, pauses and records what changed — the driver opens
// state outside it, then start() seeks each partition to the positions its
// state holds and resumes it. No exception leaves a librdkafka callback.
// Used by the StreamDriver's thread only (callbacks run inside poll()).
#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "alliance/core/topology.h"
#include "alliance/kafka/kafka_client_config.h"
#include "alliance/runtime/record_source.h"

namespace alliance {

/// A run that cannot start or go on as configured; what() says how to fix it.
class KafkaSetupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct KafkaSourceOptions {
  std::string bootstrap;
  std::string group = "alliance";
  std::string assignor = "range";
  std::int64_t session_timeout_ms = 10'000;
  std::int64_t stop_when_idle_ms = 0;  // >0: bounded run
  KafkaClientConfig client;             // the user's client properties (-X, --kafka-config)
};

/// Broker trouble and progress the command reports (metrics, readiness, logs).
struct KafkaSourceObserver {
  std::function<void(const std::string& what, bool unreachable)> trouble;
  std::function<void(const std::string& topic, std::int32_t partition)> consumed;
  std::function<void(const std::string& line)> log;
};

class KafkaSource final : public RecordSource, RdKafka::RebalanceCb, RdKafka::EventCb {
 public:
  KafkaSource(const Topology& topology, KafkaSourceOptions options, KafkaSourceObserver observer);
  ~KafkaSource() override;

  /// Waits for the broker, checks the topics (co-partitioned inputs,
  /// changelog, repartition) and subscribes. Throws KafkaSetupError, also
  /// when the brokers refuse to authenticate it or the TLS handshake fails
  /// (a configuration problem: retrying would not help).
  void connect(const std::atomic<bool>* stop);
  [[nodiscard]] std::int32_t partitions() const { return partitions_; }

  void poll(std::size_t max, int timeout_ms, std::vector<InputRecord>& out) override;
  std::vector<std::int32_t> take_assigned() override;
  std::vector<std::int32_t> take_revoked() override;
  void start(std::int32_t partition, const std::function<std::optional<std::string>(InputStream)>& resume) override;
  [[nodiscard]] bool at_end(std::int32_t partition, InputStream stream) const override;
  [[nodiscard]] bool input_ended(std::int32_t partition) const override;
  void acknowledge(std::int32_t partition, const std::vector<std::pair<InputStream, std::string>>& positions) override;
  /// Records between the consumer's position and the end of every assigned
  /// input partition, as of the last poll (computed with caught_up_).
  [[nodiscard]] std::int64_t backlog() const override { return backlog_; }
  void set_paused(std::int32_t partition, InputStream stream, bool paused) override;

  /// Set when partitions were added while running: the run must stop.
  [[nodiscard]] const std::string& fatal() const { return fatal_; }
  [[nodiscard]] std::size_t assigned_count() const { return assigned_.size(); }
  /// Broker trouble seen by another client of the run (the changelog's
  /// producer waiting for the broker): restarts the idle clock of a bounded
  /// run as the source's own trouble does. While the commit cycle waits
  /// there, nobody polls the consumer, so its own events come only after.
  void note_trouble();
  [[nodiscard]] std::int64_t consumed_total() const { return consumed_; }
  /// Wall-clock ms of the first record read (0: none yet).
  [[nodiscard]] std::int64_t first_message_ms() const { return first_message_ms_; }
  /// High watermark minus position of every assigned input partition.
  [[nodiscard]] std::map<std::pair<std::string, std::int32_t>, std::int64_t> lag() const;
  /// Leaves the group (commits nothing: offsets follow acknowledgements).
  void close();

 private:
  void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& partitions) override;
  void event_cb(RdKafka::Event& e) override;
  [[nodiscard]] std::optional<InputStream> stream_of_topic(const std::string& topic) const;
  [[nodiscard]] const std::string& topic_of(InputStream s) const;

  const Topology& topology_;
  KafkaSourceOptions options_;
  KafkaSourceObserver observer_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::int32_t partitions_ = 1;
  std::string repartition_;
  std::vector<std::pair<std::string, InputStream>> topics_;
  std::array<TopicName, kInputStreams> topic_names_;  // topic_of(s), shared by its records (made on first use)
  std::set<std::int32_t> assigned_;                 // partition numbers assigned
  std::set<std::int32_t> started_;                  // ... whose task is restored
  std::vector<std::int32_t> newly_assigned_, newly_revoked_;
  std::set<std::pair<InputStream, std::int32_t>> at_end_;  // streams at their end (EOF)
  /// Streams the consumer has read up to the broker's last known end (the
  /// high watermark of the latest fetch response): caught up, even before
  /// an EOF event arrives — Kafka Streams' KIP-695 lag check.
  std::set<std::pair<InputStream, std::int32_t>> caught_up_;
  std::int64_t backlog_ = 0;
  /// After each poll: caught_up_ and backlog_ from one lag() reading.
  void refresh_caught_up();
  /// The source's own broker trouble: the idle clock and at_end() hear of
  /// it (note_trouble()), and the observer (/readyz, the log) as unreachable.
  void unreachable(const std::string& what);
  std::string fatal_;
  std::int64_t consumed_ = 0;
  std::int64_t last_message_ms_ = 0;
  std::int64_t first_message_ms_ = 0;
  std::int64_t assigned_at_ms_ = 0;
  /// Wall-clock ms of the last broker trouble: an error event, a failed
  /// fetch, statistics with no broker connection up or an assigned
  /// partition's broker not connected, the changelog waiting
  /// (note_trouble()). Restarts a bounded run's idle clock; holds at_end().
  std::int64_t last_trouble_ms_ = 0;
  /// After broker trouble, how long no input counts as at its end (at_end()):
  /// two statistics reports and a fetch after the connections are back.
  static constexpr std::int64_t kTroubleSettleMs = 3000;
  std::string last_error_;  // the last broker error event's text (redacted)
  std::string security_failure_;  // the last authentication or TLS failure (redacted)
};

}  // namespace alliance

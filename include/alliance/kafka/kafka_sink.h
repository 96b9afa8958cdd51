// The RecordSink of `alliance run`: an idempotent producer publishing each
// cycle's outbox entries to the output topics (SPEC §5 keys) and forwards
// to the repartition topic. Produce is asynchronous: delivery reports,
// served by poll(), acknowledge a cycle once all its entries are on the
// broker; a cycle with a retriable failure is produced again, one whose
// record the broker can never take (too large, invalid) is reported and
// that record skipped, so one bad record never stalls a partition. With
// exactly_once each cycle is one producer transaction. Used by the
// StreamDriver's thread only (delivery callbacks run inside poll()).
#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "alliance/core/topology.h"
#include "alliance/kafka/kafka_client_config.h"
#include "alliance/runtime/record_sink.h"

namespace alliance {

struct KafkaSinkObserver {
  /// Transport trouble: retrying (not lost).
  std::function<void(const std::string& what)> trouble;
  /// A record the broker refuses for good: `error` is librdkafka's error name.
  std::function<void(const std::string& topic, const std::string& error)> undeliverable;
};

class KafkaSink final : public RecordSink, RdKafka::DeliveryReportCb {
 public:
  /// `client`: the user's properties, over the producer's defaults.
  KafkaSink(const Topology& topology, const std::string& bootstrap, const KafkaClientConfig& client, bool exactly_once,
            const std::string& transactional_id, KafkaSinkObserver observer);
  ~KafkaSink() override;

  void publish(std::int32_t partition, std::int64_t cycle, std::vector<OutboxEntry> entries) override;
  std::vector<AcknowledgedCycle> poll(int timeout_ms) override;
  [[nodiscard]] std::size_t in_flight() const override { return cycles_.size(); }
  void forget(std::int32_t partition) override;

 private:
  struct Cycle {
    std::uint64_t id;  // publication order; the delivery reports' opaque
    std::int32_t partition;
    std::int64_t cycle;
    std::vector<OutboxEntry> entries;
    std::size_t outstanding = 0;  // deliveries not yet reported
    bool failed = false;          // a retriable failure: produce again once all reports are in
  };
  void dr_cb(RdKafka::Message& m) override;
  void produce(Cycle& c);
  bool produce_transaction(Cycle& c);

  std::array<std::string, kOutputFiles> outputs_;
  std::string repartition_;
  bool exactly_once_;
  KafkaSinkObserver observer_;
  std::unique_ptr<RdKafka::Producer> producer_;
  std::map<std::uint64_t, Cycle> cycles_;  // by publication order
  std::uint64_t next_id_ = 1;
};

}  // namespace alliance

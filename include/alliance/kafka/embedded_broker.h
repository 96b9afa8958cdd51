// The embedded default broker: librdkafka's own mock cluster, hosted in this
// process and reachable over real TCP on 127.0.0.1. Owns the mock cluster
// and the client handle it hangs on; create and destroy on one thread (the
// cluster itself runs on librdkafka's threads).
#pragma once

#include <memory>
#include <string>

#include "alliance/core/topology.h"

struct rd_kafka_s;
struct rd_kafka_mock_cluster_s;

namespace alliance {

class EmbeddedBroker {
 public:
  explicit EmbeddedBroker(int brokers = 3);
  ~EmbeddedBroker();
  EmbeddedBroker(const EmbeddedBroker&) = delete;
  EmbeddedBroker& operator=(const EmbeddedBroker&) = delete;

  /// Creates a topic (the mock has no CreateTopics over the protocol).
  void create_topic(const std::string& name, int partitions);
  /// Creates the inputs (`partitions` each, co-partitioned), outputs and the
  /// internal topics of a topology.
  void create_topology_topics(const Topology& t, int partitions);
  /// `host:port,host:port,...` on 127.0.0.1.
  [[nodiscard]] std::string bootstraps() const;
  /// Takes every broker down / up (fault injection).
  void set_down(bool down);
  /// Delays every broker's responses by `ms` (0: back to normal): a slow
  /// network or an overloaded cluster (fault injection; data is kept).
  void set_rtt(int ms);

 private:
  rd_kafka_s* rk_ = nullptr;
  rd_kafka_mock_cluster_s* cluster_ = nullptr;
};

}  // namespace alliance

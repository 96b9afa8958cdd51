// The dashboard's Kafka side: reads the output topics from the beginning
// into a SharedDashboard.
#pragma once

#include <atomic>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "alliance/dashboard/dashboard_feeds.h"
#include "alliance/dashboard/shared_dashboard.h"
#include "alliance/kafka/kafka_client_config.h"

namespace alliance::dashboard {

/// Owns a librdkafka consumer and the thread that runs it. The consumer is
/// assigned every partition of the topics from the beginning (no consumer
/// group membership, no commits: every dashboard reads everything), checks
/// the cluster's metadata every few seconds for topics that did not exist
/// yet (partner-balances) and partitions added since, and ingests each
/// record into the SharedDashboard. The errors it shows on the page are
/// redacted (no secret property value) and name an authentication or TLS
/// failure when the brokers refused one. Constructed and destroyed on one thread
/// (the destructor stops and joins); nothing else is called from outside.
class DashboardConsumer {
 public:
  /// Starts reading. Throws std::runtime_error when librdkafka refuses the
  /// configuration.
  DashboardConsumer(const std::string& bootstrap, const KafkaClientConfig& client, std::vector<FeedTopic> topics,
                    SharedDashboard& shared);
  ~DashboardConsumer();
  DashboardConsumer(const DashboardConsumer&) = delete;
  DashboardConsumer& operator=(const DashboardConsumer&) = delete;

 private:
  void run();
  std::string bootstrap_;
  KafkaClientConfig client_;  // the user's client properties (-X, --kafka-config)
  std::vector<FeedTopic> topics_;
  SharedDashboard& shared_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace alliance::dashboard

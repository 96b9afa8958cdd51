// read_broker_connections over librdkafka statistics (the shape of
// librdkafka 2.0's STATISTICS.md: the "brokers" object, one entry per broker
// handle, each with the partitions it fetches as "toppars").
#include "alliance/kafka/broker_stats.h"

#include <gtest/gtest.h>

#include <string>

namespace alliance {
namespace {

std::string stats(const std::string& brokers) {
  return R"({"name":"rdkafka#consumer-1","type":"consumer","ts":1,"brokers":{)" + brokers +
         R"(},"topics":{},"cgrp":{"state":"up"}})";
}

std::string broker(const std::string& name, const std::string& source, const std::string& state,
                   const std::string& toppars = R"("t-0":{"topic":"t","partition":0})") {
  return "\"" + name + R"(":{"name":")" + name + R"(","nodeid":1,"nodename":"127.0.0.1:9092","source":")" + source +
         R"(","state":")" + state + R"(","stateage":5,"outbuf_cnt":0,"int_latency":{"min":0,"max":0},"toppars":{)" +
         toppars + "}}";
}

TEST(BrokerStats, OneLearnedBrokerUpIsUp) {
  auto c = read_broker_connections(stats(broker("a/1", "learned", "UP") + "," + broker("b/2", "learned", "DOWN", "")));
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->any_up);
  EXPECT_TRUE(c->healthy());
  c = read_broker_connections(stats(broker("a/1", "configured", "UPDATE")));
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->healthy());
}

TEST(BrokerStats, InternalAndLogicalBrokersDoNotCountAsUp) {
  // librdkafka's internal broker and the group coordinator's logical handle
  // are not connections to the cluster; only the real ones say it is there.
  const std::string down = broker("a/1", "learned", "CONNECT", "") + "," + broker("b/2", "learned", "DOWN", "");
  for (const std::string& other : {broker(":0/internal", "internal", "UP", ""), broker("GroupCoordinator", "logical", "UP", ""),
                                   std::string()}) {
    const auto c = read_broker_connections(stats(other.empty() ? down : other + "," + down));
    ASSERT_TRUE(c) << other;
    EXPECT_FALSE(c->any_up) << other;
    EXPECT_FALSE(c->healthy()) << other;
  }
  const auto none = read_broker_connections(stats(""));
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->any_up);
}

TEST(BrokerStats, APartitionWhoseBrokerIsDownIsNotFetchable) {
  // The coordinator's broker is back, the leader of two fetched partitions
  // is still reconnecting (librdkafka's reconnect backoff): not healthy.
  const auto c = read_broker_connections(
      stats(broker("a/1", "learned", "UP", "") + "," +
            broker("b/2", "learned", "TRY_CONNECT", R"("t-0":{"partition":0},"u-0":{"partition":0})")));
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->any_up);
  EXPECT_EQ(c->partitions_not_fetchable, 2u);
  EXPECT_FALSE(c->healthy());
  // No leader known: librdkafka parks the partition on its internal broker.
  const auto parked = read_broker_connections(stats(broker("a/1", "learned", "UP", "") + "," +
                                                    broker(":0/internal", "internal", "INIT")));
  ASSERT_TRUE(parked);
  EXPECT_EQ(parked->partitions_not_fetchable, 1u);
}

TEST(BrokerStats, NotStatisticsIsUnknown) {
  EXPECT_EQ(read_broker_connections("not json"), std::nullopt);
  EXPECT_EQ(read_broker_connections(R"({"name":"x"})"), std::nullopt);
  EXPECT_EQ(read_broker_connections(R"({"brokers":{"a":{"state":"UP"}}})"), std::nullopt);
  EXPECT_EQ(read_broker_connections(R"({"brokers":[]})"), std::nullopt);
}

}  // namespace
}  // namespace alliance

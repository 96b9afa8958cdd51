// any_broker_up over librdkafka statistics (the shape of librdkafka 2.0's
// STATISTICS.md: the "brokers" object, one entry per broker handle).
#include "alliance/kafka/broker_stats.h"

#include <gtest/gtest.h>

#include <string>

namespace alliance {
namespace {

std::string stats(const std::string& brokers) {
  return R"({"name":"rdkafka#consumer-1","type":"consumer","ts":1,"brokers":{)" + brokers +
         R"(},"topics":{},"cgrp":{"state":"up"}})";
}

std::string broker(const std::string& name, const std::string& source, const std::string& state) {
  return "\"" + name + R"(":{"name":")" + name + R"(","nodeid":1,"nodename":"127.0.0.1:9092","source":")" + source +
         R"(","state":")" + state + R"(","stateage":5,"outbuf_cnt":0,"int_latency":{"min":0,"max":0},"toppars":{"t-0":{"topic":"t","partition":0}}})";
}

TEST(BrokerStats, OneLearnedBrokerUpIsUp) {
  EXPECT_EQ(any_broker_up(stats(broker("a/1", "learned", "UP") + "," + broker("b/2", "learned", "DOWN"))), true);
  EXPECT_EQ(any_broker_up(stats(broker("a/1", "configured", "UPDATE"))), true);
}

TEST(BrokerStats, InternalAndLogicalBrokersDoNotCount) {
  // librdkafka's internal broker and the group coordinator's logical handle
  // are not connections to the cluster; only the real ones say it is there.
  const std::string down = broker("a/1", "learned", "CONNECT") + "," + broker("b/2", "learned", "DOWN");
  EXPECT_EQ(any_broker_up(stats(broker(":0/internal", "internal", "UP") + "," + down)), false);
  EXPECT_EQ(any_broker_up(stats(broker("GroupCoordinator", "logical", "UP") + "," + down)), false);
  EXPECT_EQ(any_broker_up(stats("")), false);
}

TEST(BrokerStats, NotStatisticsIsUnknown) {
  EXPECT_EQ(any_broker_up("not json"), std::nullopt);
  EXPECT_EQ(any_broker_up(R"({"name":"x"})"), std::nullopt);
  EXPECT_EQ(any_broker_up(R"({"brokers":{"a":{"state":"UP"}}})"), std::nullopt);
  EXPECT_EQ(any_broker_up(R"({"brokers":[]})"), std::nullopt);
}

}  // namespace
}  // namespace alliance

#include "alliance/kafka/embedded_broker.h"

#include <librdkafka/rdkafka.h>
// rdkafka_mock.h must come after rdkafka.h.
#include <librdkafka/rdkafka_mock.h>

#include <stdexcept>

namespace alliance {

EmbeddedBroker::EmbeddedBroker(int brokers) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk_ == nullptr) throw std::runtime_error(std::string("embedded broker: ") + err);
  cluster_ = rd_kafka_mock_cluster_new(rk_, brokers);
  if (cluster_ == nullptr) {
    rd_kafka_destroy(rk_);
    throw std::runtime_error("embedded broker: cannot start librdkafka's mock cluster");
  }
}

EmbeddedBroker::~EmbeddedBroker() {
  rd_kafka_mock_cluster_destroy(cluster_);
  rd_kafka_destroy(rk_);
}

void EmbeddedBroker::create_topic(const std::string& name, int partitions) {
  const auto err = rd_kafka_mock_topic_create(cluster_, name.c_str(), partitions, 1);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw std::runtime_error("embedded broker: cannot create topic " + name + ": " + rd_kafka_err2str(err));
}

void EmbeddedBroker::create_topology_topics(const Topology& t, int partitions) {
  for (const auto& name : {t.inputs.clicks, t.inputs.referrals, t.inputs.orders, t.inputs.payouts})
    create_topic(name, partitions);
  for (const auto& name : {t.outputs.metrics, t.outputs.settlements, t.outputs.statements, t.outputs.dlq, t.outputs.balances,
                            t.outputs.risk})
    create_topic(name, partitions);
  create_topic(t.name + ".changelog", partitions);
  create_topic(t.name + ".repartition", partitions);
}

std::string EmbeddedBroker::bootstraps() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }

void EmbeddedBroker::set_down(bool down) {
  for (int id = 1; id <= 3; ++id) {
    if (down) rd_kafka_mock_broker_set_down(cluster_, id);
    else rd_kafka_mock_broker_set_up(cluster_, id);
  }
}

void EmbeddedBroker::set_rtt(int ms) {
  for (int id = 1; id <= 3; ++id) rd_kafka_mock_broker_set_rtt(cluster_, id, ms);
}

}  // namespace alliance

#include "alliance/dashboard/dashboard_consumer.h"

#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <stdexcept>

namespace alliance::dashboard {

namespace {

constexpr std::string_view kSecurityNote = " (the brokers refused the connection: ";

std::unique_ptr<RdKafka::KafkaConsumer> make_consumer(const std::string& bootstrap, const KafkaClientConfig& client) {
  std::string err;
  // group.id is required by the API; the consumer never joins the group (it
  // assigns partitions itself) and never commits. The user's properties go
  // over the defaults (client.id among them).
  auto conf = client.make({{"bootstrap.servers", bootstrap}, {"client.id", "alliance-dashboard"}, {"log_level", "3"}},
                          {{"group.id", "alliance-dashboard"},
                           {"enable.auto.commit", "false"},
                           {"enable.auto.offset.store", "false"}});
  std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!c) throw std::runtime_error("dashboard consumer: " + client.redact(err));
  return c;
}

}  // namespace

DashboardConsumer::DashboardConsumer(const std::string& bootstrap, const KafkaClientConfig& client,
                                     std::vector<FeedTopic> topics, SharedDashboard& shared)
    : bootstrap_(bootstrap), client_(client), topics_(std::move(topics)), shared_(shared) {
  make_consumer(bootstrap_, client_)->close();  // refuse a bad configuration here, not on the thread
  thread_ = std::thread([this] { run(); });
}

DashboardConsumer::~DashboardConsumer() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

void DashboardConsumer::run() {
  auto consumer = make_consumer(bootstrap_, client_);
  std::map<std::string, Feed> feed_of;
  for (const auto& t : topics_) feed_of[t.topic] = t.feed;
  std::map<std::string, int> assigned;  // topic -> partitions assigned
  auto next_metadata = std::chrono::steady_clock::now();
  std::string error;

  while (!stop_.load()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_metadata) {
      // All topics' metadata (never creates one): assign what is new.
      RdKafka::Metadata* raw = nullptr;
      const auto rc = consumer->metadata(true, nullptr, &raw, 5000);
      std::unique_ptr<RdKafka::Metadata> md(raw);
      bool all_present = rc == RdKafka::ERR_NO_ERROR;  // the topics alliance publishes today
      if (rc != RdKafka::ERR_NO_ERROR) {
        error = "cannot read the cluster's metadata from " + bootstrap_ + ": " + RdKafka::err2str(rc);
      } else {
        error.clear();
        std::map<std::string, int> partitions;
        for (const auto* t : *md->topics())
          if (t->err() == RdKafka::ERR_NO_ERROR) partitions[t->topic()] = static_cast<int>(t->partitions()->size());
        std::vector<RdKafka::TopicPartition*> add;
        for (const auto& t : topics_) {
          const auto it = partitions.find(t.topic);
          const bool present = it != partitions.end() && it->second > 0;
          // balances and partner risk: topics of later versions, read once they exist
          if (t.feed != Feed::kBalances && t.feed != Feed::kRisk) all_present = all_present && present;
          shared_.write([&](DashboardModel& m) { m.set_topic_state(t.feed, t.topic, present); });
          if (!present) continue;
          int& have = assigned[t.topic];
          for (int p = have; p < it->second; ++p)
            add.push_back(RdKafka::TopicPartition::create(t.topic, p, RdKafka::Topic::OFFSET_BEGINNING));
          have = it->second;
        }
        if (!add.empty()) {
          const auto err = consumer->incremental_assign(add);
          if (err) error = std::string("cannot assign the output topics: ") + err->str();
          delete err;
        }
        RdKafka::TopicPartition::destroy(add);
      }
      shared_.write([&](DashboardModel& m) { m.set_source_error(error); });
      next_metadata = now + std::chrono::seconds(all_present ? 30 : 3);
    }

    std::unique_ptr<RdKafka::Message> msg(consumer->consume(200));
    // An authentication or TLS failure reported since the metadata failed: say so.
    if (!error.empty() && error.find(kSecurityNote) == std::string::npos)
      if (const auto why = client_.log().security_failure()) {
        error += std::string(kSecurityNote) + *why + ")";
        shared_.write([&](DashboardModel& m) { m.set_source_error(error); });
      }
    if (!msg) continue;
    if (msg->err() == RdKafka::ERR__TIMED_OUT || msg->err() == RdKafka::ERR__PARTITION_EOF) continue;
    if (msg->err() != RdKafka::ERR_NO_ERROR) {
      shared_.write([&](DashboardModel& m) { m.set_source_error(client_.redact(msg->errstr())); });
      continue;
    }
    const auto feed = feed_of.find(msg->topic_name());
    if (feed == feed_of.end()) continue;
    const std::string_view key = msg->key_pointer() != nullptr ? std::string_view(*msg->key()) : std::string_view();
    const std::string_view value(static_cast<const char*>(msg->payload()), msg->len());
    shared_.write([&](DashboardModel& m) {
      m.ingest(feed->second, msg->topic_name(), msg->partition(), msg->offset(), key, value);
    });
  }
  consumer->close();
}

}  // namespace alliance::dashboard

// Raw librdkafka consume rate: assigns every partition of each given topic
// from the beginning and reads to EOF, timed from the first message to the last.
// The baseline for alliance's end-to-end rate on the same broker.
// Usage: raw_consume BOOTSTRAP TOPIC...
#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: raw_consume BOOTSTRAP TOPIC...\n");
    return 2;
  }
  std::string err;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  conf->set("bootstrap.servers", argv[1], err);
  conf->set("group.id", "raw-consume-bench", err);
  conf->set("enable.partition.eof", "true", err);
  conf->set("enable.auto.commit", "false", err);
  conf->set("fetch.max.bytes", "104857600", err);
  std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!c) {
    std::fprintf(stderr, "%s\n", err.c_str());
    return 2;
  }
  std::vector<RdKafka::TopicPartition*> parts;
  for (int i = 2; i < argc; ++i) {
    std::unique_ptr<RdKafka::Topic> t(RdKafka::Topic::create(c.get(), argv[i], nullptr, err));
    RdKafka::Metadata* raw = nullptr;
    if (!t || c->metadata(false, t.get(), &raw, 10000) != RdKafka::ERR_NO_ERROR) {
      std::fprintf(stderr, "no metadata for %s\n", argv[i]);
      return 2;
    }
    std::unique_ptr<RdKafka::Metadata> md(raw);
    for (const auto* p : *md->topics()->at(0)->partitions())
      parts.push_back(RdKafka::TopicPartition::create(argv[i], p->id(), RdKafka::Topic::OFFSET_BEGINNING));
  }
  c->assign(parts);
  std::size_t eofs = 0, n = 0, bytes = 0;
  std::chrono::steady_clock::time_point first, last;
  while (eofs < parts.size()) {
    std::unique_ptr<RdKafka::Message> m(c->consume(1000));
    if (m->err() == RdKafka::ERR_NO_ERROR) {
      if (n++ == 0) first = std::chrono::steady_clock::now();
      last = std::chrono::steady_clock::now();
      bytes += m->len();
    } else if (m->err() == RdKafka::ERR__PARTITION_EOF) {
      ++eofs;
    }
  }
  const double s = std::chrono::duration<double>(last - first).count();
  std::printf("raw librdkafka consume: %zu records (%zu bytes) in %.3f s = %.0f records/s\n", n, bytes, s, n / s);
  for (auto* p : parts) delete p;
  c->close();
  return 0;
}

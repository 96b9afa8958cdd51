#include "alliance/kafka/kafka_sink.h"

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <set>

#include "alliance/codec/record_encoder.h"
#include "alliance/core/byte_codec.h"
#include "alliance/kafka/kafka_source.h"

namespace alliance {

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Errors no retry can fix: the record itself is unacceptable to the broker.
bool permanent(RdKafka::ErrorCode e) {
  switch (e) {
    case RdKafka::ERR_MSG_SIZE_TOO_LARGE:
    case RdKafka::ERR_INVALID_MSG:
    case RdKafka::ERR_INVALID_MSG_SIZE:
    case RdKafka::ERR_RECORD_LIST_TOO_LARGE:
    case RdKafka::ERR_INVALID_RECORD:
    case RdKafka::ERR__INVALID_ARG:
      return true;
    default:
      return false;
  }
}

std::string error_name(RdKafka::ErrorCode e) { return rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(e)); }

}  // namespace

KafkaSink::KafkaSink(const Topology& t, const std::string& bootstrap, const KafkaClientConfig& client, bool exactly_once,
                     const std::string& transactional_id, KafkaSinkObserver observer)
    : outputs_{t.outputs.settlements, t.outputs.metrics, t.outputs.statements, t.outputs.dlq, t.outputs.balances,
               t.outputs.risk},
      repartition_(t.name + ".repartition"),
      exactly_once_(exactly_once),
      observer_(std::move(observer)) {
  std::string err;
  std::map<std::string, std::string> kv{{"bootstrap.servers", bootstrap},
                                        {"linger.ms", "5"},
                                        {"batch.num.messages", "10000"},
                                        {"queue.buffering.max.messages", "1000000"},
                                        {"compression.type", "lz4"},
                                        {"log_level", "3"}};
  std::map<std::string, std::string> owned{{"enable.idempotence", "true"}};
  if (exactly_once) owned["transactional.id"] = transactional_id;
  auto conf = client.make(kv, owned);
  if (conf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(this), err) != RdKafka::Conf::CONF_OK)
    throw KafkaSetupError(err);
  producer_.reset(RdKafka::Producer::create(conf.get(), err));
  if (!producer_) throw KafkaSetupError("cannot create the producer: " + err);
  if (exactly_once) {
    std::unique_ptr<RdKafka::Error> e(producer_->init_transactions(30'000));
    if (e) throw KafkaSetupError("init_transactions: " + e->str());
  }
}

KafkaSink::~KafkaSink() {
  if (producer_) producer_->flush(1000);
}

void KafkaSink::publish(std::int32_t partition, std::int64_t cycle, std::vector<OutboxEntry> entries) {
  const std::uint64_t id = next_id_++;
  Cycle& c = cycles_.emplace(id, Cycle{id, partition, cycle, std::move(entries)}).first->second;
  if (exactly_once_) {
    c.failed = !produce_transaction(c);
  } else {
    produce(c);
  }
}

void KafkaSink::produce(Cycle& c) {
  const std::int64_t stamp = now_ms();
  std::string body;
  for (const auto& e : c.entries) {
    const bool forward = e.kind == OutputKind::kRepartition;
    body.clear();
    if (forward) {
      // The outbox sequence number travels first: stage 2 drops resends by it.
      put_be64(body, e.seq);
      body += e.body;
    } else {
      body = stamp_emitted_at(e.body, stamp);
    }
    const std::string& topic = forward ? repartition_ : outputs_[output_index(e.kind)];
    const std::int32_t partition = forward ? e.partition : RdKafka::Topic::PARTITION_UA;
    ++c.outstanding;
    for (;;) {
      const auto err = producer_->produce(topic, partition, RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(body.data()), body.size(),
                                          e.key.data(), e.key.size(), 0, reinterpret_cast<void*>(c.id));
      if (err == RdKafka::ERR__QUEUE_FULL) {
        producer_->poll(10);
        continue;
      }
      if (err != RdKafka::ERR_NO_ERROR) {
        --c.outstanding;
        if (permanent(err)) {
          observer_.undeliverable(topic, error_name(err));
        } else {
          c.failed = true;
          observer_.trouble("produce to " + topic + ": " + error_name(err));
        }
      }
      break;
    }
  }
}

bool KafkaSink::produce_transaction(Cycle& c) {
  std::unique_ptr<RdKafka::Error> begin(producer_->begin_transaction());
  if (begin) {
    observer_.trouble("begin_transaction: " + begin->str());
    return false;
  }
  produce(c);
  std::unique_ptr<RdKafka::Error> commit(producer_->commit_transaction(30'000));
  if (!commit) return !c.failed;
  observer_.trouble("commit_transaction: " + commit->str());
  std::unique_ptr<RdKafka::Error> abort(producer_->abort_transaction(30'000));
  return false;
}

void KafkaSink::dr_cb(RdKafka::Message& m) {
  auto it = cycles_.find(reinterpret_cast<std::uint64_t>(m.msg_opaque()));
  if (it == cycles_.end()) return;  // a forgotten partition's cycle
  Cycle& c = it->second;
  if (c.outstanding > 0) --c.outstanding;
  if (m.err() == RdKafka::ERR_NO_ERROR) return;
  if (permanent(m.err())) {
    observer_.undeliverable(m.topic_name(), error_name(m.err()));
  } else {
    c.failed = true;
    observer_.trouble("delivery to " + m.topic_name() + " failed (" + error_name(m.err()) + "); resending");
  }
}

std::vector<AcknowledgedCycle> KafkaSink::poll(int timeout_ms) {
  producer_->poll(timeout_ms);
  std::vector<AcknowledgedCycle> done;
  std::set<std::int32_t> blocked;  // partitions with an earlier cycle still open
  for (auto it = cycles_.begin(); it != cycles_.end();) {
    Cycle& c = it->second;
    if (c.outstanding == 0 && c.failed) {
      // Every report of the last attempt is in: produce the whole cycle again
      // (the idempotent producer and the consumers' keep-latest make resends harmless).
      c.failed = false;
      if (exactly_once_) c.failed = !produce_transaction(c);
      else produce(c);
    }
    if (c.outstanding != 0 || c.failed || blocked.count(c.partition) != 0) {
      blocked.insert(c.partition);
      ++it;
      continue;
    }
    done.push_back(AcknowledgedCycle{c.partition, c.cycle, std::move(c.entries)});
    it = cycles_.erase(it);
  }
  return done;
}

void KafkaSink::forget(std::int32_t partition) {
  for (auto it = cycles_.begin(); it != cycles_.end();)
    it = it->second.partition == partition ? cycles_.erase(it) : std::next(it);
}

}  // namespace alliance

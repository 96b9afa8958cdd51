#include "alliance/kafka/changelog.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>

#include "alliance/core/byte_codec.h"

namespace alliance {

namespace {

constexpr std::size_t kChunkBytes = 256 * 1024;
// After this many bytes of batches a partition's whole store is shipped as a
// snapshot, so a restore never needs records older than the last snapshot
// (the mock broker keeps only ~5 MB per partition; docs/KAFKA.md).
constexpr std::int64_t kSnapshotEveryBytes = 1 << 20;
constexpr std::uint8_t kSnapshotFlag = 1;
constexpr const char* kOffsetKey = "changelog_offset";

std::unique_ptr<RdKafka::Conf> conf_of(const std::map<std::string, std::string>& kv) {
  std::unique_ptr<RdKafka::Conf> c(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  for (const auto& [k, v] : kv)
    if (c->set(k, v, err) != RdKafka::Conf::CONF_OK) throw StateError("changelog client: " + k + ": " + err);
  return c;
}

/// Visits every entry of every column family of `store`.
template <class F>
void for_each_entry(StateStore& store, F&& fn) {
  for (std::size_t i = 0; i < kCfCount; ++i) {
    const Cf cf = static_cast<Cf>(i);
    store.scan(cf, [&](const std::string& k, std::string_view v) { fn(cf, k, v); });
  }
}

void clear(StateStore& store) {
  StateChanges drop;
  for_each_entry(store, [&](Cf cf, const std::string& k, std::string_view) { drop.push_back(StateChange{cf, k, std::nullopt}); });
  if (!drop.empty()) store.write(drop);
}

}  // namespace

Changelog::Changelog(const std::string& bootstrap, std::string topic)
    : bootstrap_(bootstrap), topic_(std::move(topic)), ids_(std::random_device{}()) {
  auto conf = conf_of({{"bootstrap.servers", bootstrap},
                       {"enable.idempotence", "true"},
                       {"linger.ms", "0"},
                       {"compression.type", "lz4"},
                       {"log_level", "3"}});
  std::string err;
  conf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(&delivery_), err);
  producer_.reset(RdKafka::Producer::create(conf.get(), err));
  if (!producer_) throw StateError("changelog producer: " + err);
}

void Changelog::send(std::int32_t p, const StateChanges& batch, StateStore& store) {
  std::int64_t& since = since_snapshot_[p];
  // At least as many batch bytes as the last snapshot had: snapshots cost
  // at most as much as the batches themselves.
  if (since >= std::max(kSnapshotEveryBytes, last_snapshot_bytes_[p])) {
    // The store as it is before this batch: everything up to the last one.
    StateChanges all;
    for_each_entry(store, [&](Cf cf, const std::string& k, std::string_view v) {
      if (!(cf == Cf::kMeta && k == kOffsetKey)) all.push_back(StateChange{cf, k, std::string(v)});
    });
    unconfirmed_.push_back(Unconfirmed{p, encode_changelog(all), kSnapshotFlag});
    produce_chunks(unconfirmed_.back());
    last_snapshot_bytes_[p] = static_cast<std::int64_t>(unconfirmed_.back().bytes.size());
    since = 0;
  }
  unconfirmed_.push_back(Unconfirmed{p, encode_changelog(batch), 0});
  since += static_cast<std::int64_t>(unconfirmed_.back().bytes.size());
  produce_chunks(unconfirmed_.back());
}

void Changelog::produce_chunks(const Unconfirmed& u) {
  const std::string& bytes = u.bytes;
  const std::int64_t count = static_cast<std::int64_t>((bytes.size() + kChunkBytes - 1) / kChunkBytes);
  const auto id = static_cast<std::int64_t>(ids_());
  for (std::int64_t i = 0; i < count; ++i) {
    const std::string value = ByteWriter()
                                  .i64(id)
                                  .i64(i)
                                  .i64(count)
                                  .u8(u.flags)
                                  .str(std::string_view(bytes).substr(static_cast<std::size_t>(i) * kChunkBytes, kChunkBytes))
                                  .take();
    for (;;) {
      const auto e = producer_->produce(topic_, u.partition, RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(value.data()),
                                        value.size(), nullptr, 0, 0, nullptr);
      if (e == RdKafka::ERR__QUEUE_FULL) {
        producer_->poll(50);
        continue;
      }
      if (e != RdKafka::ERR_NO_ERROR) throw StateError("changelog " + topic_ + ": " + RdKafka::err2str(e));
      break;
    }
  }
}

bool Changelog::flush(const std::atomic<bool>* stop) {
  for (int attempt = 0; !unconfirmed_.empty(); ++attempt) {
    for (int waited = 0; producer_->flush(1000) == RdKafka::ERR__TIMED_OUT; ++waited) {
      if (stop != nullptr && stop->load()) return false;
      if (waited % 5 == 4)
        std::fprintf(stderr, "alliance run: changelog %s not acknowledged yet (broker down?); waiting\n", topic_.c_str());
      // The commit cycle waits here while the broker is away: readiness
      // hears about it (found by tests/chaos/broker_faults.py).
      if (on_waiting_) on_waiting_("changelog " + topic_ + " not acknowledged for " + std::to_string(waited + 1) +
                                   " s (broker down?)");
    }
    if (delivery_.failed.empty()) {
      for (const auto& [p, off] : delivery_.last_offset) flushed_offset_[p] = off;
      delivery_.last_offset.clear();
      unconfirmed_.clear();
      return true;
    }
    if (attempt >= 5)
      throw StateError("changelog " + topic_ + " refuses writes: " + delivery_.failed.begin()->second);
    // A partition with a failed chunk gets its batches again, whole, under
    // new batch ids: a restore applies complete batches only, in order.
    std::vector<Unconfirmed> again;
    for (auto& u : unconfirmed_)
      if (delivery_.failed.count(u.partition) != 0) again.push_back(std::move(u));
    for (const auto& [p, off] : delivery_.last_offset)
      if (delivery_.failed.count(p) == 0) flushed_offset_[p] = off;
    delivery_.failed.clear();
    delivery_.last_offset.clear();
    unconfirmed_ = std::move(again);
    for (const auto& u : unconfirmed_) produce_chunks(u);
  }
  return true;
}

bool Changelog::delivered() {
  producer_->poll(0);
  return producer_->outq_len() == 0;
}

StateChange Changelog::offset_meta(std::int32_t p) const {
  auto it = flushed_offset_.find(p);
  return StateChange{Cf::kMeta, kOffsetKey, ByteWriter().i64(it == flushed_offset_.end() ? -1 : it->second).take()};
}

void Changelog::ship(std::int32_t p, StateChanges& batch, StateStore& store) {
  send(p, batch, store);
  flush();
  batch.push_back(offset_meta(p));
}

std::size_t Changelog::catch_up(std::int32_t p, StateStore& store) {
  std::int64_t have = -1;
  if (auto v = store.get(Cf::kMeta, kOffsetKey)) have = ByteReader(*v).i64();
  auto conf = conf_of({{"bootstrap.servers", bootstrap_},
                       {"group.id", "alliance-changelog-restore"},
                       {"enable.auto.commit", "false"},
                       {"enable.partition.eof", "true"},
                       {"log_level", "3"}});
  std::string err;
  std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!c) throw StateError("changelog reader: " + err);
  std::int64_t low = 0, high = 0;
  for (int attempt = 0;; ++attempt) {
    const auto e = c->query_watermark_offsets(topic_, p, &low, &high, 5000);
    if (e == RdKafka::ERR_NO_ERROR) break;
    if (attempt >= 12) throw StateError("changelog " + topic_ + " [" + std::to_string(p) + "]: " + RdKafka::err2str(e));
    std::fprintf(stderr, "alliance run: changelog %s unreachable (%s); retrying\n", topic_.c_str(), RdKafka::err2str(e).c_str());
  }
  if (have + 1 >= high) return 0;
  // Records the store needs are gone (retention): rebuild it from the first
  // complete snapshot still there, then the batches after it.
  const bool from_snapshot = have + 1 < low;
  const std::int64_t start = from_snapshot ? low : have + 1;
  std::unique_ptr<RdKafka::TopicPartition> tp(RdKafka::TopicPartition::create(topic_, p, start));
  std::vector<RdKafka::TopicPartition*> assignment{tp.get()};
  c->assign(assignment);
  std::size_t applied = 0;
  std::int64_t batch_id = 0;
  std::string bytes;
  std::int64_t next_index = 0;
  std::uint8_t batch_flags = 0;
  bool based = !from_snapshot;  // the store holds a state the next batch applies to
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  for (std::int64_t at = start; at < high;) {
    if (std::chrono::steady_clock::now() > deadline) throw StateError("changelog " + topic_ + ": restore timed out");
    std::unique_ptr<RdKafka::Message> m(c->consume(500));
    if (m->err() == RdKafka::ERR__TIMED_OUT || m->err() == RdKafka::ERR__PARTITION_EOF) continue;
    if (m->err() != RdKafka::ERR_NO_ERROR) throw StateError("changelog read: " + m->errstr());
    at = m->offset() + 1;
    ByteReader r(std::string_view(static_cast<const char*>(m->payload()), m->len()));
    const std::int64_t id = r.i64(), index = r.i64(), count = r.i64();
    const std::uint8_t flags = r.u8();
    std::string chunk = r.str();
    if (index == 0) {  // a new batch starts; a torn one before it is dropped
      batch_id = id;
      bytes.clear();
      next_index = 0;
      batch_flags = flags;
    }
    if (id != batch_id || index != next_index) continue;
    bytes += chunk;
    ++next_index;
    if (next_index != count) continue;
    const bool snapshot = (batch_flags & kSnapshotFlag) != 0;
    if (snapshot && based) continue;  // the batches before it already built this state
    if (!snapshot && !based) continue;  // before the first complete snapshot: unusable
    StateChanges batch = decode_changelog(bytes);
    if (snapshot) {
      clear(store);
      based = true;
    }
    batch.push_back(StateChange{Cf::kMeta, kOffsetKey, ByteWriter().i64(m->offset()).take()});
    store.write(batch);
    ++applied;
  }
  c->close();
  if (!based)
    throw StateError("changelog " + topic_ + " [" + std::to_string(p) + "] starts at offset " + std::to_string(low) +
                     " but this store needs offset " + std::to_string(have + 1) +
                     " and no complete snapshot is left after it: older records were deleted by retention; "
                     "raise the topic's retention (retention.ms=-1) so the partition can be rebuilt");
  return applied;
}

}  // namespace alliance

#include "alliance/kafka/changelog.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>

#include "alliance/core/byte_codec.h"

namespace alliance {

namespace {

constexpr std::size_t kChunkBytes = 256 * 1024;
// Chunk flags. A slice is a piece of the store re-sent as it is; the first
// slice of a pass starts from the first key, the last one ends at the last.
// (Flag 1 was the whole-store snapshot of state format 1.)
constexpr std::uint8_t kSliceFlag = 2;
constexpr std::uint8_t kPassStartFlag = 4;
constexpr std::uint8_t kPassEndFlag = 8;
// A slice is as large as the batch it precedes, and at least this: a pass
// over S bytes of state takes at most S / kMinSliceBytes commits, and the
// changelog's cost per commit stays proportional to what changed.
constexpr std::size_t kMinSliceBytes = 16 * 1024;
// A new pass starts only after this many bytes of batches since the last
// one started (or as many as the last pass had, if more): with a small
// store and large batches, passes would otherwise re-send the whole store
// every commit or two. Well inside the mock's ~5 MB per partition.
constexpr std::int64_t kPassEveryBatchBytes = 1 << 20;
constexpr const char* kOffsetKey = "changelog_offset";

/// Meta entries a store is created with: never cleared, never shipped.
bool store_identity(Cf cf, const std::string& key) {
  return cf == Cf::kMeta && (key == "fingerprint" || key == "state_format" || key == kOffsetKey);
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
  for_each_entry(store, [&](Cf cf, const std::string& k, std::string_view) {
    if (!store_identity(cf, k)) drop.push_back(StateChange{cf, k, std::nullopt});
  });
  if (!drop.empty()) store.write(drop);
}

}  // namespace

Changelog::Changelog(const std::string& bootstrap, std::string topic, KafkaClientConfig client)
    : bootstrap_(bootstrap), topic_(std::move(topic)), client_(std::move(client)), ids_(std::random_device{}()) {
  auto conf = client_.make({{"bootstrap.servers", bootstrap}, {"linger.ms", "0"}, {"compression.type", "lz4"}, {"log_level", "3"}},
                           {{"enable.idempotence", "true"}});
  std::string err;
  conf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(&delivery_), err);
  producer_.reset(RdKafka::Producer::create(conf.get(), err));
  if (!producer_) throw StateError("changelog producer: " + err);
}

std::pair<StateChanges, std::uint8_t> Changelog::next_slice(std::int32_t p, StateStore& store, std::size_t budget) {
  PassCursor& c = passes_[p];
  std::uint8_t flags = kSliceFlag;
  if (!c.in_pass) {
    if (c.passed && c.batch_bytes_since_start < std::max(kPassEveryBatchBytes, c.last_pass_bytes))
      return {StateChanges{}, 0};  // no slice this commit
    c.in_pass = true;
    c.passed = true;
    c.cf = 0;
    c.from.clear();
    c.batch_bytes_since_start = 0;
    c.pass_bytes = 0;
    flags |= kPassStartFlag;
  }
  StateChanges slice;
  std::size_t taken = 0;
  while (c.cf < kCfCount) {
    const Cf cf = static_cast<Cf>(c.cf);
    bool full = false;
    store.scan_from(cf, c.from, [&](const std::string& k, std::string_view v) {
      if (taken >= budget) {
        full = true;
        return false;
      }
      if (!store_identity(cf, k)) {
        slice.push_back(StateChange{cf, k, std::string(v)});
        taken += k.size() + v.size();
        c.pass_bytes += static_cast<std::int64_t>(k.size() + v.size());
      }
      c.from = k;
      c.from.push_back('\0');  // the smallest key after k
      return true;
    });
    if (full) return {std::move(slice), flags};
    ++c.cf;
    c.from.clear();
  }
  c.in_pass = false;
  c.last_pass_bytes = c.pass_bytes;
  return {std::move(slice), static_cast<std::uint8_t>(flags | kPassEndFlag)};
}

void Changelog::send(std::int32_t p, const StateChanges& batch, StateStore& store) {
  std::string bytes = encode_changelog(batch);
  // The slice is of the store before `batch`: applied in order, the batch
  // then brings every key it changed up to date.
  auto [slice, flags] = next_slice(p, store, std::max(kMinSliceBytes, bytes.size()));
  passes_[p].batch_bytes_since_start += static_cast<std::int64_t>(bytes.size());
  if (flags != 0) {
    unconfirmed_.push_back(Unconfirmed{p, encode_changelog(slice), flags});
    slice_bytes_ += static_cast<std::int64_t>(unconfirmed_.back().bytes.size());
    produce_chunks(unconfirmed_.back());
  }
  unconfirmed_.push_back(Unconfirmed{p, std::move(bytes), 0});
  batch_bytes_ += static_cast<std::int64_t>(unconfirmed_.back().bytes.size());
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
  auto conf = client_.make({{"bootstrap.servers", bootstrap_}, {"log_level", "3"}},
                           {{"group.id", "alliance-changelog-restore"},
                            {"enable.auto.commit", "false"},
                            {"enable.partition.eof", "true"}});
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
  keys_restored_ = 0;
  if (have + 1 >= high) return 0;
  // Records the store needs are gone (retention), or it is new and the
  // topic's start was deleted: rebuild it from the first pass that starts
  // at or after the topic's first record, then everything after it.
  const bool from_pass = have + 1 < low;
  const std::int64_t start = from_pass ? low : have + 1;
  std::unique_ptr<RdKafka::TopicPartition> tp(RdKafka::TopicPartition::create(topic_, p, start));
  std::vector<RdKafka::TopicPartition*> assignment{tp.get()};
  c->assign(assignment);
  std::size_t applied = 0;
  std::int64_t batch_id = 0;
  std::string bytes;
  std::int64_t next_index = 0;
  std::uint8_t batch_flags = 0;
  bool based = !from_pass;      // the store holds a state the next record applies to
  bool pass_complete = !from_pass;
  std::int64_t pass_start_offset = -1;
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
    const bool slice = (batch_flags & kSliceFlag) != 0;
    if (!based) {
      if (!slice || (batch_flags & kPassStartFlag) == 0) continue;  // before the first pass start: unusable
      clear(store);
      based = true;
      pass_start_offset = m->offset();
    }
    StateChanges batch = decode_changelog(bytes);
    keys_restored_ += static_cast<std::int64_t>(batch.size());
    batch.push_back(StateChange{Cf::kMeta, kOffsetKey, ByteWriter().i64(m->offset()).take()});
    store.write(batch, /*sync=*/false);
    if (slice && (batch_flags & kPassEndFlag) != 0) pass_complete = true;
    if (!slice) ++applied;
  }
  c->close();
  if (based && !pass_complete) {
    // Half a pass is not a state: leave the store empty (offset included),
    // so no later start mistakes it for one.
    clear(store);
    store.write({StateChange{Cf::kMeta, kOffsetKey, std::nullopt}});
  }
  if (!based || !pass_complete)
    throw StateError("changelog " + topic_ + " [" + std::to_string(p) + "] starts at offset " + std::to_string(low) +
                     " but this store needs offset " + std::to_string(have + 1) + " and " +
                     (based ? "the pass over the store that starts at offset " + std::to_string(pass_start_offset) +
                                  " does not end before the topic does"
                            : std::string("no pass over the store starts after it")) +
                     ": older records were deleted by retention; raise the topic's retention "
                     "(retention.bytes well above twice the partition's state) so the partition can be rebuilt");
  // The batches were written without waiting for the disk: one sync now.
  store.write(StateChanges{}, /*sync=*/true);
  return applied;
}

}  // namespace alliance

// The changelog topic of a topology (`<name>.changelog`, partitioned like
// the inputs): every state batch of partition p (the keys that changed,
// deletions as tombstones) is appended to partition p before it is written
// locally, so another instance can rebuild the partition's store from it
// (SPEC §4, §6). Batches are sent in chunks tagged (batch id, index,
// count); a restore applies complete batches only. Before each batch a
// slice of the store is sent too, at most as large as the batch (16 KiB at
// least), continuing where the last slice stopped: a "pass" over the whole
// store takes as many commits as the state is large (a new pass starts after
// 1 MiB of batches, or the last pass's size), and a restore from
// nothing needs only the records since the start of the last complete pass
// (docs/STATE.md "Changelog"). Used on the runner's poll thread only.
#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <functional>
#include <atomic>
#include <map>
#include <memory>
#include <random>
#include <vector>
#include <string>

#include "alliance/kafka/kafka_client_config.h"
#include "alliance/state/state_store.h"

namespace alliance {

class Changelog {
 public:
  /// `client`: the user's properties, applied to the producer and to every
  /// restore reader.
  Changelog(const std::string& bootstrap, std::string topic, KafkaClientConfig client = {});

  /// Starts appending `batch` to partition p (asynchronous), after the next
  /// slice of `store` (the state before `batch`).
  void send(std::int32_t p, const StateChanges& batch, StateStore& store);
  /// Waits until the broker has every batch sent so far (resending a
  /// batch whose delivery failed). Throws StateError when it refuses them.
  /// Returns false, leaving them unconfirmed, when `stop` is set while it
  /// waits (a shutdown during a broker outage does not wait for the broker).
  bool flush(const std::atomic<bool>* stop = nullptr);
  /// Serves delivery reports without waiting; true when nothing sent is
  /// still on its way (flush() then returns at once, or resends failures).
  bool delivered();
  /// The meta entry "changelog_offset" of partition p's last flushed batch,
  /// for the local write of that batch.
  [[nodiscard]] StateChange offset_meta(std::int32_t p) const;
  /// send + flush, then adds offset_meta(p) to `batch`.
  void ship(std::int32_t p, StateChanges& batch, StateStore& store);
  /// Applies to `store` every complete batch (and slice) of partition p
  /// after the one the store already reflects; when retention deleted some
  /// of those, it clears the store and rebuilds it from the start of the
  /// first pass still there, which must be complete. Returns the number of
  /// state batches applied (slices not counted). Throws StateError when
  /// neither works.
  std::size_t catch_up(std::int32_t p, StateStore& store);
  /// Bytes of batches and of store slices sent so far (all partitions).
  [[nodiscard]] std::int64_t batch_bytes_sent() const { return batch_bytes_; }
  [[nodiscard]] std::int64_t slice_bytes_sent() const { return slice_bytes_; }
  /// Entries (keys) the last catch_up wrote to the store.
  [[nodiscard]] std::int64_t keys_restored() const { return keys_restored_; }

  [[nodiscard]] const std::string& topic() const { return topic_; }
  /// Called about every second while flush() waits for the broker to take a
  /// batch (an outage blocks the commit cycle there): readiness reports it.
  void on_waiting(std::function<void(const std::string& what)> fn) { on_waiting_ = std::move(fn); }

 private:
  /// Delivery reports, served inside flush(): per partition the last
  /// offset written and whether any chunk failed.
  class Delivery : public RdKafka::DeliveryReportCb {
   public:
    void dr_cb(RdKafka::Message& m) override {
      if (m.err() != RdKafka::ERR_NO_ERROR) failed[m.partition()] = m.errstr();
      else last_offset[m.partition()] = std::max(last_offset[m.partition()], m.offset());
    }
    std::map<std::int32_t, std::string> failed;
    std::map<std::int32_t, std::int64_t> last_offset;
  };
  /// Where the current pass over a partition's store is.
  struct PassCursor {
    bool in_pass = false;
    std::size_t cf = 0;  // column family being sliced
    std::string from;    // its next key (inclusive)
    bool passed = false;                     // a pass was ever started
    std::int64_t batch_bytes_since_start = 0;  // since the current / last pass began
    std::int64_t pass_bytes = 0;             // slices of the current pass
    std::int64_t last_pass_bytes = 0;        // slices of the last complete pass
  };
  /// The next slice of `store` for partition p (about `budget` bytes) and
  /// its flags (slice, pass start, pass end).
  std::pair<StateChanges, std::uint8_t> next_slice(std::int32_t p, StateStore& store, std::size_t budget);

  /// A batch (or slice) sent and not yet confirmed.
  struct Unconfirmed {
    std::int32_t partition;
    std::string bytes;
    std::uint8_t flags;
  };

  void produce_chunks(const Unconfirmed& u);

  std::string bootstrap_;
  std::map<std::int32_t, PassCursor> passes_;
  std::int64_t batch_bytes_ = 0;
  std::int64_t slice_bytes_ = 0;
  std::int64_t keys_restored_ = 0;
  std::string topic_;
  KafkaClientConfig client_;
  Delivery delivery_;
  std::vector<Unconfirmed> unconfirmed_;
  std::map<std::int32_t, std::int64_t> flushed_offset_;
  std::unique_ptr<RdKafka::Producer> producer_;
  std::mt19937_64 ids_;
  std::function<void(const std::string&)> on_waiting_;
};

}  // namespace alliance

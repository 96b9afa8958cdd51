// The changelog topic of a topology (`<name>.changelog`, partitioned like
// the inputs): every state batch of partition p is appended to partition p
// before it is written locally, so another instance can rebuild the
// partition's store from it (SPEC §6 scale-out). Batches are sent in chunks
// tagged (batch id, index, count); a restore applies complete batches only.
// Used on the runner's poll thread only.
#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "alliance/state/state_store.h"

namespace alliance {

class Changelog {
 public:
  Changelog(const std::string& bootstrap, std::string topic);

  /// Appends `batch` to partition p, waits until the broker has it, then adds
  /// meta "changelog_offset" (its last offset) to `batch`. After 1 MiB of
  /// batches, or as many bytes as the last snapshot if more, it first ships
  /// a snapshot of `store` (the state before `batch`). Throws StateError
  /// when the broker refuses it.
  void ship(std::int32_t p, StateChanges& batch, StateStore& store);
  /// Applies to `store` every complete batch of partition p after the one
  /// the store already reflects; when retention deleted some of those, it
  /// rebuilds the store from the first complete snapshot instead. Returns
  /// the number of batches applied. Throws StateError when neither works.
  std::size_t catch_up(std::int32_t p, StateStore& store);

  [[nodiscard]] const std::string& topic() const { return topic_; }
  /// Called about every second while ship() waits for the broker to take a
  /// batch (an outage blocks the commit cycle there): readiness reports it.
  void on_waiting(std::function<void(const std::string& what)> fn) { on_waiting_ = std::move(fn); }

 private:
  class Delivery : public RdKafka::DeliveryReportCb {
   public:
    void dr_cb(RdKafka::Message& m) override {
      if (m.err() != RdKafka::ERR_NO_ERROR) error = m.errstr();
      else last_offset = std::max(last_offset, m.offset());
    }
    std::string error;
    std::int64_t last_offset = -1;
  };

  void send(std::int32_t p, const std::string& bytes, std::uint8_t flags);

  std::string bootstrap_;
  std::map<std::int32_t, std::int64_t> since_snapshot_;  // batch bytes shipped since the last snapshot
  std::map<std::int32_t, std::int64_t> last_snapshot_bytes_;
  std::string topic_;
  Delivery delivery_;
  std::unique_ptr<RdKafka::Producer> producer_;
  std::mt19937_64 ids_;
  std::function<void(const std::string&)> on_waiting_;
};

}  // namespace alliance

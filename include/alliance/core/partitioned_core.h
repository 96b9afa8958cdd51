// N split Processors and their stage 2s in one thread, with the repartition
// topic replaced by in-memory queues: what a Kafka run over N partitions
// computes, without Kafka. Users are routed by route(user_id, N). Used by
// `alliance replay --partitions N` and by the tests that check that N
// partitions give the same final records as one. Single thread.
#pragma once

#include <deque>
#include <memory>
#include <vector>

#include "alliance/core/processor.h"

namespace alliance {

class PartitionedCore {
 public:
  PartitionedCore(const Topology& topology, std::int32_t partitions);

  void process(const Event& event, const SourcePosition& pos, std::string_view raw);
  /// Codec rejects go to the partition of their position's line number.
  void reject(DeadLetter dl);
  /// End of a batch: every partition marks its progress and every forward
  /// is delivered, until nothing moves.
  void flush();
  /// End of input for every partition, then flush().
  void finish();

  /// Output records (never forwards) produced since the last call.
  std::vector<OutputRecord> take_outputs() { return std::move(out_); }
  /// The partitions' counters, summed.
  [[nodiscard]] ProcessorStats stats() const;
  [[nodiscard]] bool finished() const { return finished_; }

 private:
  void collect(std::int32_t p);

  std::vector<std::unique_ptr<Processor>> parts_;
  std::vector<std::int64_t> next_seq_;                                // per source
  std::vector<std::deque<std::pair<std::int64_t, std::string>>> queues_;  // per target: (seq, payload)
  std::vector<OutputRecord> out_;
  bool finished_ = false;
};

}  // namespace alliance

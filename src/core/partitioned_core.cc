#include "alliance/core/partitioned_core.h"

namespace alliance {

PartitionedCore::PartitionedCore(const Topology& topology, std::int32_t partitions)
    : next_seq_(static_cast<std::size_t>(partitions), 0), queues_(static_cast<std::size_t>(partitions)) {
  for (std::int32_t p = 0; p < partitions; ++p)
    parts_.push_back(std::make_unique<Processor>(topology, Partitioning{p, partitions}));
  for (auto& part : parts_) part->track_changes(false);
}

void PartitionedCore::process(const Event& event, const SourcePosition& pos, std::string_view raw) {
  // Payouts are keyed by partner (their topic's key), the rest by user.
  const std::string& key = event.kind() == EventKind::kPayout        ? std::get<Payout>(event.body).partner_id
                           : event.kind() == EventKind::kRiskRelease ? std::get<RiskRelease>(event.body).partner_id
                                                                     : event.user_id;
  const std::int32_t p = route(key, static_cast<std::int32_t>(parts_.size()));
  parts_[static_cast<std::size_t>(p)]->process(event, pos, raw);
  collect(p);
}

void PartitionedCore::reject(DeadLetter dl) {
  const auto p = static_cast<std::size_t>(dl.position.offset % static_cast<std::int64_t>(parts_.size()));
  parts_[p]->reject(std::move(dl));
  collect(static_cast<std::int32_t>(p));
}

void PartitionedCore::collect(std::int32_t p) {
  Processor& proc = *parts_[static_cast<std::size_t>(p)];
  for (auto& r : proc.take_outputs()) {
    if (auto* f = std::get_if<ForwardedRecord>(&r.body)) {
      // The source's sequence number travels with the payload, as the
      // outbox sequence does on Kafka.
      queues_[static_cast<std::size_t>(f->target)].emplace_back(next_seq_[static_cast<std::size_t>(p)]++,
                                                                std::move(f->payload));
    } else {
      out_.push_back(std::move(r));
    }
  }
  proc.discard_changes();
}

void PartitionedCore::flush() {
  for (std::size_t p = 0; p < parts_.size(); ++p) {
    parts_[p]->end_cycle(true);
    collect(static_cast<std::int32_t>(p));
  }
  for (bool moved = true; moved;) {
    moved = false;
    for (std::size_t q = 0; q < parts_.size(); ++q) {
      while (!queues_[q].empty()) {
        auto [seq, payload] = std::move(queues_[q].front());
        queues_[q].pop_front();
        parts_[q]->accept_forward(seq, payload, SourcePosition{"repartition", static_cast<std::int32_t>(q), seq});
        collect(static_cast<std::int32_t>(q));
        moved = true;
      }
    }
  }
}

void PartitionedCore::finish() {
  for (std::size_t p = 0; p < parts_.size(); ++p) {
    parts_[p]->finish();
    collect(static_cast<std::int32_t>(p));
  }
  finished_ = true;
  flush();
}

ProcessorStats PartitionedCore::stats() const {
  ProcessorStats total;
  for (const auto& part : parts_) {
    const ProcessorStats& s = part->stats();
    for (const auto& [k, v] : s.events_by_kind) total.events_by_kind[k] += v;
    for (const auto& [k, v] : s.dead_letters_by_reason) total.dead_letters_by_reason[k] += v;
    total.duplicates += s.duplicates;
    total.duplicate_transitions += s.duplicate_transitions;
    total.late_events += s.late_events;
    total.unattributed_orders += s.unattributed_orders;
    total.unknown_partner_records += s.unknown_partner_records;
    total.settlement_records += s.settlement_records;
    total.metric_records += s.metric_records;
    total.statement_records += s.statement_records;
    total.balance_records += s.balance_records;
  }
  return total;
}

}  // namespace alliance

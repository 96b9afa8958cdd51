#include "alliance/runtime/partition_task.h"

#include <algorithm>
#include <chrono>

#include "alliance/core/byte_codec.h"

namespace alliance {

namespace {

/// Adds the seconds from its construction to its destruction to `total`
/// (a scope's time, whichever way it returns).
struct AddElapsed {
  double& total;
  std::chrono::steady_clock::time_point from = std::chrono::steady_clock::now();
  ~AddElapsed() { total += std::chrono::duration<double>(std::chrono::steady_clock::now() - from).count(); }
};

}  // namespace

std::string_view to_string(InputStream s) {
  switch (s) {
    case InputStream::kClicks: return "click";
    case InputStream::kReferrals: return "referral";
    case InputStream::kOrders: return "order";
    case InputStream::kFile: return "file";
    case InputStream::kRepartition: return "repartition";
    case InputStream::kPayouts: return "payout";
  }
  return "?";
}

InputStream stream_of(EventKind kind) {
  switch (kind) {
    case EventKind::kClick: return InputStream::kClicks;
    case EventKind::kReferral: return InputStream::kReferrals;
    case EventKind::kOrder: return InputStream::kOrders;
    case EventKind::kPayout:
    case EventKind::kRiskRelease: return InputStream::kPayouts;
  }
  return InputStream::kFile;
}

namespace {

/// The meta key of a stream's position (the Kafka ones are those of
/// earlier versions, so existing state directories resume where they were).
std::string position_key(InputStream s) {
  if (s == InputStream::kFile) return "replay_position";
  return "input:" + std::string(to_string(s));
}

EventKind kind_of(InputStream s) {
  switch (s) {
    case InputStream::kReferrals: return EventKind::kReferral;
    case InputStream::kOrders: return EventKind::kOrder;
    case InputStream::kPayouts: return EventKind::kPayout;
    default: return EventKind::kClick;
  }
}

}  // namespace

PartitionTask::PartitionTask(const Topology& topology, TaskConfig config, std::unique_ptr<StateStore> store)
    : topology_(topology),
      config_(config),
      store_(std::move(store)),
      processor_(topology, config.partitions > 1 ? Partitioning{config.partition, config.partitions} : Partitioning{}) {
  // state.cache_mb is the process's: each of the inputs' partitions gets its
  // share (an instance owning all of them uses all of it).
  if (store_)
    session_ = std::make_unique<StateSession>(
        *store_, processor_,
        (static_cast<std::size_t>(topology.state.cache_mb) << 20) / static_cast<std::size_t>(std::max(1, config.partitions)));
  else processor_.track_changes(false);
}

std::optional<std::string> PartitionTask::meta(const std::string& key) {
  return session_ ? session_->meta(key) : std::nullopt;
}

std::optional<std::string> PartitionTask::resume(InputStream stream) {
  const auto i = static_cast<std::size_t>(stream);
  if (processed_[i]) return processed_[i]->bytes();
  return meta(position_key(stream));
}

void PartitionTask::set_changelog(std::function<void(const StateChanges&)> send, std::function<StateChange()> offset) {
  changelog_send_ = std::move(send);
  changelog_offset_ = std::move(offset);
  // Acknowledgements reach the changelog with the next commit's batch.
  if (session_) session_->set_changelog([](StateChanges&) {});
}

void PartitionTask::enqueue(InputRecord r, std::int64_t now_ms) {
  if (r.stream == InputStream::kRepartition) {
    SourcePosition pos{r.topic.str(), config_.partition, r.offset};
    if (r.payload.size() < 8) {
      processor_.reject(DeadLetter{"bad_forwarded_record", "shorter than its sequence number", std::move(r.payload),
                                   std::move(pos)});
    } else {
      processor_.accept_forward(get_be64(r.payload), std::string_view(r.payload).substr(8), pos);
    }
    processed_[static_cast<std::size_t>(r.stream)] = std::move(r.resume);
    changed_ = true;
    return;
  }
  // Built in place at the back of its queue; the event decoded into it.
  Item& item = group_.emplace(r.stream);
  item.arrival_ms = now_ms;
  item.topic = std::move(r.topic);
  item.offset = r.offset;
  item.raw = std::move(r.payload);
  item.resume = std::move(r.resume);
  item.append_ms = r.append_ms;
  if (!r.keyed) {
    item.reason = "null_key";
    item.detail = "input messages must be keyed by user_id";
  } else {
    const std::optional<EventKind> kind =
        r.stream == InputStream::kFile ? std::nullopt : std::optional<EventKind>(kind_of(r.stream));
    decoder_.decode(item.raw, kind, DecodeTarget{item.event, item.reason, item.detail});
    if (item.event && session_) processor_.reads_for(*item.event, reads_);
  }
}

void PartitionTask::prefetch() {
  if (!session_ || reads_.empty()) return;
  const AddElapsed timed{prefetch_seconds_};
  for (auto* keys : {&reads_.dedupe, &reads_.users, &reads_.orders, &reads_.campaign_users, &reads_.risk_users}) {
    std::sort(keys->begin(), keys->end());
    keys->erase(std::unique(keys->begin(), keys->end()), keys->end());
  }
  session_->prefetch(reads_);
  if (!reads_.completions.empty()) {
    // Second round: the campaign users the batch's completions will credit,
    // known now that their users are in the cache.
    second_reads_.clear();
    processor_.completion_reads(reads_.completions, second_reads_);
    auto& keys = second_reads_.campaign_users;
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    if (!keys.empty()) session_->prefetch(second_reads_);
  }
  reads_.clear();
}

void PartitionTask::process(InputStream stream) {
  Item& item = group_.head(stream);
  const auto s = static_cast<std::size_t>(stream);
  SourcePosition& pos = position_[s];
  if (!position_topic_[s].same(item.topic)) {
    pos.topic = item.topic.str();
    position_topic_[s] = item.topic;
  }
  pos.partition = config_.partition;
  pos.offset = item.offset;
  if (item.event) processor_.process(*item.event, pos, item.raw);
  else processor_.reject(DeadLetter{std::move(item.reason), std::move(item.detail), std::move(item.raw), pos});
  processed_[static_cast<std::size_t>(stream)] = std::move(item.resume);
  if (item.append_ms >= 0 && (oldest_append_in_cycle_ < 0 || item.append_ms < oldest_append_in_cycle_))
    oldest_append_in_cycle_ = item.append_ms;
  group_.pop(stream);
  changed_ = true;
  ++events_in_cycle_;
}

std::size_t PartitionTask::drain(std::int64_t now_ms, std::int64_t idle_wait_ms,
                                 const std::function<bool(InputStream)>& at_end) {
  const AddElapsed timed{process_seconds_in_cycle_};  // every return below counts the time into the cycle
  std::size_t n = 0;
  prefetch();
  if (config_.file_order) {
    while (!group_.empty(InputStream::kFile)) {
      process(InputStream::kFile);
      ++n;
    }
    return n;
  }
  while (const std::optional<InputStream> pick = group_.next(now_ms, idle_wait_ms, at_end)) {
    process(*pick);
    ++n;
  }
  return n;
}

std::size_t PartitionTask::drain_all() {
  return drain(INT64_MAX, 0, [](InputStream) { return true; });
}

void PartitionTask::finish() {
  drain_all();
  processor_.finish();
  changed_ = true;
}

std::size_t PartitionTask::buffered() const { return group_.buffered(); }

std::size_t PartitionTask::buffered(InputStream s) const { return group_.buffered(s); }

std::optional<TaskCycle> PartitionTask::commit(CycleEnd end, const MetaUpdates& meta) {
  std::optional<Prepared> p = prepare(end, meta);
  if (!p) return std::nullopt;
  return complete(std::move(*p));
}

std::vector<OutboxEntry> PartitionTask::end_uncommitted(CycleEnd end) {
  finish();
  if (end != CycleEnd::kContinue) processor_.end_cycle(end == CycleEnd::kRunning);
  std::vector<OutputRecord> outputs = processor_.take_outputs();
  ended_uncommitted_ = true;
  return encode_outbox(outputs, next_seq_);
}

std::optional<PartitionTask::Prepared> PartitionTask::prepare(CycleEnd end, const MetaUpdates& extra_meta) {
  if (ended_uncommitted_) return std::nullopt;
  if (end != CycleEnd::kContinue) processor_.end_cycle(end == CycleEnd::kRunning);
  if (!changed_ && !processor_.has_outputs()) return std::nullopt;
  Prepared p;
  TaskCycle& cycle = p.cycle;
  cycle.id = next_cycle_++;
  cycle.events = events_in_cycle_;
  cycle.process_seconds = process_seconds_in_cycle_;
  cycle.oldest_append_ms = oldest_append_in_cycle_;
  for (std::size_t i = 0; i < kInputStreams; ++i)
    if (processed_[i]) cycle.positions.emplace_back(static_cast<InputStream>(i), processed_[i]->bytes());
  std::vector<OutputRecord> outputs = processor_.take_outputs();
  if (session_) {
    MetaUpdates meta;
    for (const auto& [s, token] : cycle.positions) meta.emplace_back(position_key(s), token);
    meta.insert(meta.end(), extra_meta.begin(), extra_meta.end());
    p.commit = session_->prepare(std::move(outputs), meta);
    if (changelog_send_) changelog_send_(p.commit.batch);
  } else {
    p.outputs = std::move(outputs);
  }
  changed_ = false;
  events_in_cycle_ = 0;
  process_seconds_in_cycle_ = 0;
  oldest_append_in_cycle_ = -1;
  return p;
}

TaskCycle PartitionTask::complete(Prepared p) {
  if (session_) {
    std::vector<StateChange> extra;
    if (changelog_offset_) extra.push_back(changelog_offset_());
    p.cycle.entries = session_->apply(std::move(p.commit), extra);
  } else {
    p.cycle.entries = encode_outbox(p.outputs, next_seq_);
    processor_.discard_changes();
  }
  return std::move(p.cycle);
}

std::vector<OutboxEntry> PartitionTask::pending() {
  return session_ ? session_->pending() : std::vector<OutboxEntry>{};
}

void PartitionTask::acknowledge(const std::vector<OutboxEntry>& published, const MetaUpdates& meta) {
  if (session_) session_->acknowledge(published, meta);
}

}  // namespace alliance

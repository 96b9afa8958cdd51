#include "alliance/core/churn_index.h"

#include <stdexcept>

#include "alliance/core/byte_codec.h"

namespace alliance {

ChurnIndex::ChurnIndex() : chunks_(PosLess{this}) {
  chunks_.emplace(Pos{INT64_MIN, kLowest}, std::vector<Entry>{});
}

std::uint32_t ChurnIndex::key_number(std::string_view all_key) {
  if (auto it = numbers_.find(all_key); it != numbers_.end()) return it->second;
  if (keys_.size() >= kLowest) throw std::length_error("churn index: more than 2^32-1 keys");
  const auto n = static_cast<std::uint32_t>(keys_.size());
  keys_.emplace_back(all_key);
  numbers_.emplace(keys_.back(), n);
  return n;
}

std::vector<ChurnIndex::Entry>::iterator ChurnIndex::place_in(std::vector<Entry>& chunk, const Pos& p) {
  return std::lower_bound(chunk.begin(), chunk.end(), p, [this](const Entry& e, const Pos& q) { return less(e.pos(), q); });
}

std::int64_t ChurnIndex::buyers_at(const Pos& p) const {
  const std::vector<Entry>& chunk = chunk_of(p)->second;
  const auto it = std::lower_bound(chunk.begin(), chunk.end(), p,
                                   [this](const Entry& e, const Pos& q) { return less(e.pos(), q); });
  return it != chunk.end() && it->pos() == p ? static_cast<std::int64_t>(it->buyers) : 0;
}

std::int64_t ChurnIndex::buyers_at(TimestampMs ts, std::string_view all_key) const {
  const auto n = numbers_.find(all_key);
  return n == numbers_.end() ? 0 : buyers_at(Pos{ts, n->second});
}

void ChurnIndex::add(TimestampMs ts, std::string_view all_key) {
  const Pos p{ts, key_number(all_key)};
  const auto c = chunk_of(p);
  const auto it = place_in(c->second, p);
  if (it != c->second.end() && it->pos() == p) {
    // A buyer is one user: more than 2³²-1 at one millisecond of one key
    // cannot happen, and is not counted silently wrong if it does.
    if (it->buyers == UINT32_MAX) throw std::overflow_error("churn index: buyers at one time overflow");
    ++it->buyers;
  } else {
    const bool newest = it == c->second.end() && std::next(c) == chunks_.end();
    c->second.insert(it, Entry{p.ts, p.key, 1});
    ++size_;
    rebalance(c, newest);
  }
  mark(p);
}

void ChurnIndex::remove_one(TimestampMs ts, std::string_view all_key) {
  const auto n = numbers_.find(all_key);
  if (n == numbers_.end()) return;
  const Pos p{ts, n->second};
  const auto c = chunk_of(p);
  const auto it = place_in(c->second, p);
  if (it == c->second.end() || !(it->pos() == p)) return;
  if (it->buyers > 1) {
    --it->buyers;
  } else {
    c->second.erase(it);
    --size_;
    rebalance(c, false);
  }
  mark(p);
}

void ChurnIndex::restore(std::string_view stored_key, std::int64_t buyers) {
  // A restored key that is too short is corrupt state (fuzz_state_restore).
  if (stored_key.size() < 8) throw CorruptState("churn index key of " + std::to_string(stored_key.size()) + " bytes");
  if (buyers < 1 || buyers > UINT32_MAX) throw CorruptState("churn index entry of " + std::to_string(buyers) + " buyers");
  const Pos p{get_be64(stored_key), key_number(stored_key.substr(8))};
  const auto c = chunk_of(p);
  const auto it = place_in(c->second, p);
  if (it != c->second.end() && it->pos() == p) {
    it->buyers = static_cast<std::uint32_t>(buyers);
    return;
  }
  const bool newest = it == c->second.end() && std::next(c) == chunks_.end();
  c->second.insert(it, Entry{p.ts, p.key, static_cast<std::uint32_t>(buyers)});
  ++size_;
  rebalance(c, newest);
}

void ChurnIndex::rebalance(Chunks::iterator c, bool newest) {
  std::vector<Entry>& v = c->second;
  if (v.size() > kChunkMax) {
    // New buyers arrive at the newest time (and a restore in key order): a
    // last chunk overflowed by a new newest entry stays full and the entry
    // starts the next chunk; any other is halved.
    const std::size_t keep = newest ? kChunkMax : v.size() / 2;
    std::vector<Entry> upper(v.begin() + static_cast<std::ptrdiff_t>(keep), v.end());
    v.resize(keep);
    v.shrink_to_fit();
    const Pos fence = upper.front().pos();
    chunks_.emplace_hint(std::next(c), fence, std::move(upper));
    return;
  }
  if (v.size() >= kChunkMax / 4 || c == chunks_.begin()) return;
  // Small: into the chunk before it when both fit in one (an empty chunk
  // always goes), else the chunk after it into this one.
  const auto before = std::prev(c);
  if (v.empty() || before->second.size() + v.size() <= kChunkMax) {
    before->second.insert(before->second.end(), v.begin(), v.end());
    chunks_.erase(c);
    return;
  }
  const auto after = std::next(c);
  if (after != chunks_.end() && after->second.size() + v.size() <= kChunkMax) {
    v.insert(v.end(), after->second.begin(), after->second.end());
    chunks_.erase(after);
  }
}

TimestampMs ChurnIndex::first_at_or_after(TimestampMs ts) const {
  for (auto c = chunk_of(Pos{ts, kLowest}); c != chunks_.end(); ++c)
    for (const Entry& e : c->second)
      if (e.ts >= ts) return e.ts;
  return INT64_MAX;
}

void ChurnIndex::track_changes(bool on) {
  tracking_ = on;
  if (!on) changed_.clear();
}

void ChurnIndex::stored_key_to(std::string& out, const Pos& p) const {
  out.clear();
  put_be64(out, p.ts);
  out.append(keys_[p.key]);
}

}  // namespace alliance

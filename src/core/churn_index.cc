#include "alliance/core/churn_index.h"

#include <stdexcept>

#include "alliance/core/byte_codec.h"

namespace alliance {

std::uint32_t ChurnIndex::key_number(std::string_view all_key) {
  if (auto it = numbers_.find(all_key); it != numbers_.end()) return it->second;
  if (keys_.size() >= kLowest) throw std::length_error("churn index: more than 2^32-1 keys");
  const auto n = static_cast<std::uint32_t>(keys_.size());
  keys_.emplace_back(all_key);
  numbers_.emplace(keys_.back(), n);
  return n;
}

std::int64_t ChurnIndex::buyers_at(TimestampMs ts, std::string_view all_key) const {
  const auto n = numbers_.find(all_key);
  if (n == numbers_.end()) return 0;
  const Entry* e = entries_.find(Entry{ts, n->second, 0});
  return e != nullptr ? static_cast<std::int64_t>(e->buyers) : 0;
}

void ChurnIndex::add(TimestampMs ts, std::string_view all_key) {
  const auto [e, inserted] = entries_.insert(Entry{ts, key_number(all_key), 1});
  if (!inserted) {
    // A buyer is one user: more than 2³²-1 at one millisecond of one key
    // cannot happen, and is not counted silently wrong if it does.
    if (e->buyers == UINT32_MAX) throw std::overflow_error("churn index: buyers at one time overflow");
    ++e->buyers;
  }
  mark(*e);
}

void ChurnIndex::remove_one(TimestampMs ts, std::string_view all_key) {
  const auto n = numbers_.find(all_key);
  if (n == numbers_.end()) return;
  const Entry place{ts, n->second, 0};
  Entry* e = entries_.find(place);
  if (e == nullptr) return;
  if (e->buyers > 1) --e->buyers;
  else entries_.erase(place);
  mark(place);
}

void ChurnIndex::restore(std::string_view stored_key, std::int64_t buyers) {
  // A restored key that is too short is corrupt state (fuzz_state_restore).
  if (stored_key.size() < 8) throw CorruptState("churn index key of " + std::to_string(stored_key.size()) + " bytes");
  if (buyers < 1 || buyers > UINT32_MAX) throw CorruptState("churn index entry of " + std::to_string(buyers) + " buyers");
  const Entry e{get_be64(stored_key), key_number(stored_key.substr(8)), static_cast<std::uint32_t>(buyers)};
  entries_.insert(e).first->buyers = e.buyers;
}

TimestampMs ChurnIndex::first_at_or_after(TimestampMs ts) const {
  TimestampMs first = INT64_MAX;
  entries_.for_each_from(Entry{ts, kLowest, 0}, [&](const Entry& e) {
    first = e.ts;
    return false;
  });
  return first;
}

void ChurnIndex::track_changes(bool on) {
  tracking_ = on;
  if (!on) changed_.clear();
}

void ChurnIndex::stored_key_to(std::string& out, const Entry& place) const {
  out.clear();
  put_be64(out, place.ts);
  out.append(keys_[place.key]);
}

}  // namespace alliance

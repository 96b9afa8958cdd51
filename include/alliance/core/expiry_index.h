// Keys of a state table bucketed by the hour of their timestamp, so the
// hourly expiry sweep visits only keys that may have expired instead of the
// whole table (with a week of dedupe keys, scanning the table every hour
// took 63 % of replay time). A key whose timestamp moved later is listed
// again under its new hour; the sweep re-checks every key against the table.
// Owned by the Processor; single thread.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "alliance/core/event_time.h"

namespace alliance {

/// Expiry sweeps run once per this much event time (Processor, AggregateStage).
inline constexpr DurationMs kExpirySweepInterval = 3'600'000;

class ExpiryIndex {
 public:
  static constexpr DurationMs kBucket = kExpirySweepInterval;

  /// Records that `key` has timestamp `ts` (call again when it moves later).
  void add(TimestampMs ts, const std::string& key) { buckets_[floor_div(ts, kBucket)].push_back(key); }
  void clear() { buckets_.clear(); }

  /// Erases (through `erase`) every key whose current timestamp, per
  /// `ts_of` (nullopt: no longer in the table), is before `horizon`.
  template <class TsOf, class Erase>
  void sweep(TimestampMs horizon, TsOf&& ts_of, Erase&& erase) {
    for (auto it = buckets_.begin(); it != buckets_.end() && it->first * kBucket < horizon;) {
      std::vector<std::string> keep;
      for (auto& key : it->second) {
        const std::optional<TimestampMs> ts = ts_of(key);
        if (!ts || floor_div(*ts, kBucket) != it->first) continue;  // gone, or listed under its later hour
        if (*ts < horizon) erase(key);
        else keep.push_back(std::move(key));
      }
      if (keep.empty()) {
        it = buckets_.erase(it);
      } else {
        it->second = std::move(keep);
        ++it;
      }
    }
  }

 private:
  std::map<std::int64_t, std::vector<std::string>> buckets_;  // hour -> keys
};

}  // namespace alliance

// Per-user touchpoint history (SPEC §3.2). A UserTouchpoints value is owned
// by the core's user table and touched only by the core's thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "alliance/core/compact_id.h"
#include "alliance/core/event.h"
#include "alliance/core/touch_labels.h"

namespace alliance {

/// One click or referral that may later earn credit for an order. Its
/// labels are pooled (TouchLabelPool): copies share them.
struct Touchpoint {
  TimestampMs ts = 0;
  CompactId event_id;    // 16 bytes: ids up to 15 bytes inline
  TouchLabelRef labels;  // null: a kClick with every label empty

  [[nodiscard]] EventKind kind() const { return labels.get() ? labels.get()->kind() : EventKind::kClick; }
  /// Empty: none (a referral without campaign).
  [[nodiscard]] std::string_view campaign_id() const { return labels.get() ? labels.get()->campaign_id() : ""; }
  /// A referral's source is "referral".
  [[nodiscard]] std::string_view source() const { return labels.get() ? labels.get()->source() : ""; }
  /// Empty: unpartnered.
  [[nodiscard]] std::string_view partner_id() const { return labels.get() ? labels.get()->partner_id() : ""; }

  friend bool operator==(const Touchpoint& a, const Touchpoint& b) {
    return a.ts == b.ts && a.event_id == b.event_id && a.kind() == b.kind() && a.campaign_id() == b.campaign_id() &&
           a.source() == b.source() && a.partner_id() == b.partner_id();
  }
};

static_assert(sizeof(Touchpoint) == 32, "a touchpoint is a time, a pooled label reference and a 16-byte id");

/// Chronological order with the event-id tie-break of SPEC §3.2.
inline bool chronologically_before(const Touchpoint& a, const Touchpoint& b) {
  return a.ts != b.ts ? a.ts < b.ts : a.event_id < b.event_id;
}

/// How far a user's newest event may move past the time of their last
/// whole-list write before the next write is whole again (docs/STATE.md
/// "Users: appends"): lookback + grace, at most a day. The users table's
/// compaction filter keeps a stored list this much longer than its logical
/// expiry, so appends never land on a list the filter already dropped.
inline DurationMs user_rewrite_interval(DurationMs lookback, DurationMs grace) {
  constexpr DurationMs kDay = 24LL * 3600 * 1000;
  return std::min(lookback + grace, kDay);
}

/// A user's touchpoints, newest first, bounded by `max_touchpoints` and by
/// `lookback` before the newest event time seen for the user.
///
/// The list is a function of the touchpoints ever added and the newest
/// event time: the `max_touchpoints` chronologically newest of them with
/// ts >= newest - lookback, whatever the order of the adds and observes.
/// That is what lets the state adapter write only what changed (an append:
/// the touchpoints added since the last write and the newest time) and
/// RocksDB's merge operator rebuild the same list (state/user_codec.h).
class UserTouchpoints {
 public:
  /// The store's copy is unknown (a new or expired user): the next write is whole.
  static constexpr TimestampMs kNoAnchor = INT64_MIN;

  /// Notes an event of the user at `ts` (any kind) and prunes.
  void observe(TimestampMs ts, std::size_t max_touchpoints, DurationMs lookback);
  /// Adds a touchpoint (keeping newest-first order), then prunes.
  void add(Touchpoint tp, std::size_t max_touchpoints, DurationMs lookback);
  /// Appends to `out` the touchpoints with T - lookback <= ts <= T,
  /// chronological, as pointers into this value (valid until it changes).
  void eligible(TimestampMs t, DurationMs lookback, std::vector<const Touchpoint*>& out) const;

  [[nodiscard]] const std::vector<Touchpoint>& newest_first() const { return items_; }
  [[nodiscard]] TimestampMs newest_ts() const { return newest_ts_; }
  [[nodiscard]] bool empty() const { return items_.empty(); }

  /// The newest time of the last whole write of this list to the store
  /// (kNoAnchor: none the table knows of).
  [[nodiscard]] TimestampMs anchor() const { return anchor_; }
  /// Bit i: newest_first()[i] was added since the last write (unshipped).
  [[nodiscard]] std::uint64_t unshipped() const { return unshipped_; }
  /// After a whole write: the store holds this list, anchored at its newest time.
  void shipped_whole() {
    anchor_ = newest_ts_;
    unshipped_ = 0;
  }
  /// After an append: the store holds this list again.
  void shipped_append() { unshipped_ = 0; }

  /// For state restore only (the list as stored, anchored at `anchor`).
  void restore(TimestampMs newest_ts, std::vector<Touchpoint> newest_first, TimestampMs anchor = kNoAnchor) {
    newest_ts_ = newest_ts;
    items_ = std::move(newest_first);
    anchor_ = anchor;
    unshipped_ = 0;
  }

 private:
  void prune(std::size_t max_touchpoints, DurationMs lookback);

  TimestampMs newest_ts_ = 0;
  TimestampMs anchor_ = kNoAnchor;
  std::uint64_t unshipped_ = 0;
  std::vector<Touchpoint> items_;
};

}  // namespace alliance

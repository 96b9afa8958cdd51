// The users table's stored values and appends (docs/STATE.md "Users:
// appends"): a whole list, written when a user is new or their list was last
// written whole more than user_rewrite_interval() ago, and an append (a
// RocksDB merge operand) with just the touchpoints added since the last
// write and the newest event time. merge_user() is RocksDB's merge of the
// users column family: it rebuilds the list the core holds, because the
// list is a function of the touchpoints added and the newest time
// (UserTouchpoints). Pure; merge_user() is called on RocksDB's threads (any
// thread: it owns everything it uses), the rest on the core's.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "alliance/core/touchpoints.h"

namespace alliance {

/// First byte of an append (a whole list begins with the users table's format).
inline constexpr std::uint8_t kUserAppendFormat = 0x41;

/// The whole list (users format 3): its newest event time (the expiry,
/// first, for the compaction filter), its anchor, the distinct label
/// combinations once, then per touchpoint, newest first, its age before the
/// newest time, the index of its labels and its event id.
std::string encode_user(const UserTouchpoints& u);
/// The list of encode_user()'s `v` (its labels interned in `labels`); throws CorruptState.
UserTouchpoints decode_user(std::string_view v, TouchLabelPool& labels);
/// An append: the touchpoints of `u` marked unshipped, its newest event time
/// and the bounds the merge prunes by.
std::string encode_user_append(const UserTouchpoints& u, std::size_t max_touchpoints, DurationMs lookback);
/// The whole list a stored `base` (null: none) becomes with `appends`
/// applied in order; the anchor stays the base's (none without a base).
/// Throws CorruptState for bytes it cannot decode.
std::string merge_user(const std::string_view* base, const std::string_view* appends, std::size_t n);

}  // namespace alliance

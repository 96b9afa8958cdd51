#include "alliance/state/user_codec.h"

#include <vector>

#include "alliance/core/byte_codec.h"
#include "alliance/state/state_tables.h"

namespace alliance {

namespace {

// A list holds a handful of label combinations: a linear search is the cheapest.
void write_touchpoints(ByteWriter& w, TimestampMs newest, const std::vector<const Touchpoint*>& items) {
  std::vector<const TouchLabels*> dict;
  std::vector<std::uint32_t> index(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    const TouchLabels* l = items[i]->labels.get();
    std::size_t d = 0;
    while (d < dict.size() && dict[d] != l) ++d;
    if (d == dict.size()) dict.push_back(l);
    index[i] = static_cast<std::uint32_t>(d);
  }
  w.varint(dict.size());
  for (const TouchLabels* l : dict) {
    if (l == nullptr) {
      w.u8(static_cast<std::uint8_t>(EventKind::kClick)).vstr("").vstr("").vstr("");
    } else {
      w.u8(static_cast<std::uint8_t>(l->kind())).vstr(l->campaign_id()).vstr(l->source()).vstr(l->partner_id());
    }
  }
  w.varint(items.size());
  for (std::size_t i = 0; i < items.size(); ++i)
    w.varint(static_cast<std::uint64_t>(newest - items[i]->ts)).varint(index[i]).vstr(items[i]->event_id);
}

std::vector<Touchpoint> read_touchpoints(ByteReader& r, TimestampMs newest, TouchLabelPool& labels) {
  const std::uint64_t nd = r.varint();
  // Every entry takes at least 4 bytes: a count beyond the value is corrupt
  // (and must not size a vector).
  if (nd > r.remaining() / 4) throw CorruptState("label count beyond the value");
  std::vector<TouchLabelRef> dict;
  dict.reserve(static_cast<std::size_t>(nd));
  for (std::uint64_t i = 0; i < nd; ++i) {
    const std::uint8_t kind = r.u8();
    if (kind != static_cast<std::uint8_t>(EventKind::kClick) && kind != static_cast<std::uint8_t>(EventKind::kReferral))
      throw CorruptState("touchpoint kind " + std::to_string(kind));
    const std::string_view campaign = r.vstr();
    const std::string_view source = r.vstr();
    const std::string_view partner = r.vstr();
    dict.push_back(labels.intern(static_cast<EventKind>(kind), campaign, source, partner));
  }
  const std::uint64_t n = r.varint();
  if (n > r.remaining() / 3) throw CorruptState("touchpoint count beyond the value");
  std::vector<Touchpoint> items;
  items.reserve(static_cast<std::size_t>(n));
  for (std::uint64_t i = 0; i < n; ++i) {
    const std::uint64_t age = r.varint();
    if (age > static_cast<std::uint64_t>(newest)) throw CorruptState("touchpoint older than the epoch");
    const std::uint64_t d = r.varint();
    if (d >= dict.size()) throw CorruptState("touchpoint label index " + std::to_string(d) + " beyond the list's");
    Touchpoint tp;
    tp.ts = newest - static_cast<TimestampMs>(age);
    tp.event_id = r.vstr();
    tp.labels = dict[static_cast<std::size_t>(d)];
    items.push_back(std::move(tp));
  }
  return items;
}

TimestampMs read_newest(ByteReader& r) {
  const TimestampMs newest = r.i64();
  if (newest < 0 || newest > kMaxTimestampMs) throw CorruptState("user's newest event time out of range");
  return newest;
}

std::string encode_whole(const UserTouchpoints& u, TimestampMs anchor) {
  ByteWriter w = value_writer(Cf::kUsers);
  w.i64(u.newest_ts());
  // The anchor as its distance before the newest time, plus one; 0: none.
  w.varint(anchor == UserTouchpoints::kNoAnchor ? 0 : static_cast<std::uint64_t>(u.newest_ts() - anchor) + 1);
  std::vector<const Touchpoint*> items;
  items.reserve(u.newest_first().size());
  for (const Touchpoint& tp : u.newest_first()) items.push_back(&tp);
  write_touchpoints(w, u.newest_ts(), items);
  return w.take();
}

}  // namespace

std::string encode_user(const UserTouchpoints& u) { return encode_whole(u, u.anchor()); }

UserTouchpoints decode_user(std::string_view v, TouchLabelPool& labels) {
  ByteReader r(value_payload(Cf::kUsers, v));
  const TimestampMs newest = read_newest(r);
  const std::uint64_t a = r.varint();
  if (a > static_cast<std::uint64_t>(newest) + 1) throw CorruptState("user's anchor before the epoch");
  const TimestampMs anchor = a == 0 ? UserTouchpoints::kNoAnchor : newest - static_cast<TimestampMs>(a - 1);
  std::vector<Touchpoint> items = read_touchpoints(r, newest, labels);
  if (!r.done()) throw CorruptState("trailing bytes in a users value");
  UserTouchpoints u;
  u.restore(newest, std::move(items), anchor);
  return u;
}

std::string encode_user_append(const UserTouchpoints& u, std::size_t max_touchpoints, DurationMs lookback) {
  ByteWriter w;
  w.u8(kUserAppendFormat).varint(max_touchpoints).varint(static_cast<std::uint64_t>(lookback)).i64(u.newest_ts());
  std::vector<const Touchpoint*> items;
  const std::uint64_t marks = u.unshipped();
  const auto& all = u.newest_first();
  for (std::size_t i = 0; i < all.size() && i < 64; ++i)
    if ((marks >> i) & 1U) items.push_back(&all[i]);
  write_touchpoints(w, u.newest_ts(), items);
  return w.take();
}

std::string merge_user(const std::string_view* base, const std::string_view* appends, std::size_t n) {
  TouchLabelPool labels;  // this merge's own: RocksDB calls it on any thread
  UserTouchpoints u;
  TimestampMs anchor = UserTouchpoints::kNoAnchor;
  if (base != nullptr) {
    u = decode_user(*base, labels);
    anchor = u.anchor();
  }
  for (std::size_t i = 0; i < n; ++i) {
    std::string_view op = appends[i];
    if (op.empty() || static_cast<std::uint8_t>(op[0]) != kUserAppendFormat)
      throw CorruptState("a users append of another format");
    ByteReader r(op.substr(1));
    const std::uint64_t max_touchpoints = r.varint();
    const std::uint64_t lookback = r.varint();
    if (lookback > static_cast<std::uint64_t>(kMaxTimestampMs)) throw CorruptState("append's lookback out of range");
    const TimestampMs newest = read_newest(r);
    std::vector<Touchpoint> items = read_touchpoints(r, newest, labels);
    if (!r.done()) throw CorruptState("trailing bytes in a users append");
    const auto max = static_cast<std::size_t>(max_touchpoints);
    for (Touchpoint& tp : items) u.add(std::move(tp), max, static_cast<DurationMs>(lookback));
    u.observe(newest, max, static_cast<DurationMs>(lookback));
  }
  return encode_whole(u, anchor);
}

}  // namespace alliance

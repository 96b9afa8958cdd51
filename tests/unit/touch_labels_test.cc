// TouchLabelPool: equal labels share one entry, any difference in any label
// (including bytes a naive separator would confuse) makes another, and an
// entry lives exactly as long as a reference to it.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "alliance/core/touch_labels.h"
#include "alliance/core/touchpoints.h"

namespace alliance {
namespace {

TEST(TouchLabelPool, EqualLabelsShareOneEntry) {
  TouchLabelPool pool;
  TouchLabelRef a = pool.intern(EventKind::kClick, "cmp", "social", "p1");
  TouchLabelRef b = pool.intern(EventKind::kClick, "cmp", "social", "p1");
  EXPECT_EQ(a.get(), b.get());
  EXPECT_EQ(pool.size(), 1u);
  EXPECT_EQ(a.get()->campaign_id(), "cmp");
  EXPECT_EQ(a.get()->source(), "social");
  EXPECT_EQ(a.get()->partner_id(), "p1");
  EXPECT_EQ(a.get()->kind(), EventKind::kClick);
}

TEST(TouchLabelPool, EveryLabelTellsEntriesApart) {
  TouchLabelPool pool;
  std::vector<TouchLabelRef> refs;
  refs.push_back(pool.intern(EventKind::kClick, "cmp", "social", "p1"));
  refs.push_back(pool.intern(EventKind::kReferral, "cmp", "social", "p1"));
  refs.push_back(pool.intern(EventKind::kClick, "cmp2", "social", "p1"));
  refs.push_back(pool.intern(EventKind::kClick, "cmp", "email", "p1"));
  refs.push_back(pool.intern(EventKind::kClick, "cmp", "social", ""));
  // Labels whose concatenations are equal: lengths keep them apart.
  refs.push_back(pool.intern(EventKind::kClick, "ab", "c", ""));
  refs.push_back(pool.intern(EventKind::kClick, "a", "bc", ""));
  refs.push_back(pool.intern(EventKind::kClick, "", "abc", ""));
  // Bytes that look like a length prefix inside a label.
  refs.push_back(pool.intern(EventKind::kClick, std::string("a\x01\0\0\0b", 6), "", ""));
  refs.push_back(pool.intern(EventKind::kClick, "a", "b", ""));
  EXPECT_EQ(pool.size(), refs.size());
  for (std::size_t i = 0; i < refs.size(); ++i)
    for (std::size_t j = i + 1; j < refs.size(); ++j) EXPECT_NE(refs[i].get(), refs[j].get()) << i << " " << j;
  EXPECT_EQ(refs[8].get()->campaign_id(), std::string_view("a\x01\0\0\0b", 6));
  EXPECT_EQ(refs[8].get()->source(), "");
}

TEST(TouchLabelPool, AnEntryLivesWhileReferredTo) {
  TouchLabelPool pool;
  {
    TouchLabelRef a = pool.intern(EventKind::kClick, "cmp", "social", "p1");
    TouchLabelRef copy = a;                  // +1
    TouchLabelRef moved = std::move(copy);   // same count
    EXPECT_EQ(moved.get(), a.get());
    EXPECT_EQ(copy.get(), nullptr);
    a = TouchLabelRef();  // one reference left
    EXPECT_EQ(pool.size(), 1u);
    EXPECT_EQ(moved.get()->source(), "social");
  }
  EXPECT_EQ(pool.size(), 0u);
  // Interned again after it died: a fresh, equal entry.
  TouchLabelRef again = pool.intern(EventKind::kClick, "cmp", "social", "p1");
  EXPECT_EQ(again.get()->partner_id(), "p1");
  EXPECT_EQ(pool.size(), 1u);
}

TEST(TouchLabelPool, BoundedByTheTouchpointsThatReferToIt) {
  // Input that invents a new campaign per click grows the pool only while
  // touchpoints hold those labels: a user's list keeps max_touchpoints.
  TouchLabelPool pool;
  UserTouchpoints user;
  for (int i = 0; i < 10000; ++i) {
    Touchpoint tp{1000 + i, "e" + std::to_string(i),
                  pool.intern(EventKind::kClick, "cmp-" + std::to_string(i), "social", "")};
    user.add(std::move(tp), 50, 1000000);
  }
  EXPECT_EQ(user.newest_first().size(), 50u);
  EXPECT_EQ(pool.size(), 50u);
  EXPECT_EQ(user.newest_first().front().campaign_id(), "cmp-9999");
  user = UserTouchpoints();
  EXPECT_EQ(pool.size(), 0u);
}

TEST(Touchpoint, EqualityIsByValueAcrossPools) {
  TouchLabelPool one, two;
  Touchpoint a{5, "e1", one.intern(EventKind::kReferral, "", "referral", "p1")};
  Touchpoint b{5, "e1", two.intern(EventKind::kReferral, "", "referral", "p1")};
  Touchpoint c{5, "e1", two.intern(EventKind::kClick, "", "referral", "p1")};
  EXPECT_EQ(a, b);
  EXPECT_FALSE(a == c);
  Touchpoint none{5, "e1", {}};
  EXPECT_EQ(none.kind(), EventKind::kClick);
  EXPECT_EQ(none.campaign_id(), "");
}

}  // namespace
}  // namespace alliance

namespace alliance {
namespace {

TEST(CompactId, InlineUpTo15BytesHeapBeyondSameValueEitherWay) {
  for (std::size_t n : {0u, 1u, 14u, 15u, 16u, 17u, 128u}) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s.push_back(static_cast<char>(i * 37 + 1));
    if (n > 3) s[2] = '\0';  // embedded NUL kept
    CompactId id(s);
    EXPECT_EQ(id.view(), s) << n;
    EXPECT_EQ(id.heap_bytes(), n < 16 ? 0u : n) << n;
    CompactId copy = id;
    EXPECT_EQ(copy.view(), s);
    CompactId moved = std::move(copy);
    EXPECT_EQ(moved.view(), s);
    EXPECT_TRUE(copy.empty());
    copy = moved;  // assigned again after the move
    EXPECT_EQ(copy, moved);
    moved = CompactId("x");
    EXPECT_EQ(moved.view(), "x");
    EXPECT_EQ(copy.view(), s);
  }
}

TEST(CompactId, OrdersAsStdString) {
  // Touchpoints tie-break on event ids (SPEC §3.2): the order must be
  // std::string's (bytes as unsigned), inline or not.
  const std::vector<std::string> ids = {"", "a", "a\x80", "a\x7f", "ab", std::string(15, 'z'), std::string(16, 'z'),
                                        std::string(16, 'a') + "\xff", "\xff", std::string("a\0b", 3)};
  for (const auto& a : ids)
    for (const auto& b : ids) {
      EXPECT_EQ(CompactId(a) < CompactId(b), a < b) << a << " " << b;
      EXPECT_EQ(CompactId(a) == CompactId(b), a == b);
    }
}

}  // namespace
}  // namespace alliance

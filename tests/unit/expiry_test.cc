// State that no longer matters is removed (SPEC §4): users past lookback,
// dedupe keys past retention, orders past order_retention, closed statements
// past statement_retention (compacted to a header), closed windows at once.
#include "processor_fixture.h"

namespace alliance::testing {
namespace {

TEST_F(ProcessorTest, ExpiredStateIsRemovedAndOnlyThen) {
  use("name: t\nattribution: {lookback: 1d}\ndedupe_retention: 2d\norder_retention: 3d\nstatement_retention: 4d\n"
      "windows: [1h]\npartners: [{id: p1}]\n");
  feed({click("c1", kT0, "u1", "cmp", "s", "p1"), order("o1", kT0 + 1, "u1", "ord", OrderStatus::kCompleted, 100)});
  EXPECT_EQ(processor_->users().size(), 1u);
  EXPECT_EQ(processor_->orders().size(), 1u);
  EXPECT_EQ(processor_->dedupe().size(), 2u);

  feed({click("c2", kT0 + kDay + 2 * kHour, "u2", "cmp", "s")});  // past lookback + grace for u1
  EXPECT_EQ(processor_->users().find("u1"), nullptr);
  EXPECT_EQ(processor_->dedupe().size(), 3u);
  EXPECT_EQ(processor_->metrics().open_windows(), 2u);  // u2's hour (source, campaign); the first hour is final and gone

  feed({click("c3", kT0 + 2 * kDay + 2 * kHour, "u2", "cmp", "s")});  // dedupe keys of day 0 expire
  EXPECT_EQ(processor_->dedupe().find("c1"), nullptr);
  EXPECT_EQ(processor_->orders().size(), 1u);

  feed({click("c4", kT0 + 3 * kDay + 2 * kHour, "u2", "cmp", "s")});  // the order expires
  EXPECT_EQ(processor_->orders().size(), 0u);
  EXPECT_EQ(processor_->ledger().statements().size(), 1u);

  const std::string skey = statement_key("2026-11-20", "p1", "CNY");
  ASSERT_NE(processor_->ledger().statements().find(skey), nullptr);
  EXPECT_EQ(processor_->ledger().statements().find(skey)->record_ids.size(), 1u);
  feed({click("c5", kT0 + 5 * kDay + 2 * kHour, "u2", "cmp", "s")});  // the closed statement is compacted
  // Its record ids go; totals, count, revision and digest stay (docs/SEMANTICS.md).
  const StatementState* compacted = processor_->ledger().statements().find(skey);
  ASSERT_NE(compacted, nullptr);
  EXPECT_TRUE(compacted->record_ids.empty());
  EXPECT_EQ(compacted->record_count, 1);
  EXPECT_EQ(compacted->accrued_minor, 100);
  EXPECT_EQ(compacted->base_digest, record_digest({"ord:accrual:0:p1"}));

  // Past retention an event id is new again.
  feed({click("c1", kT0 + 5 * kDay + 3 * kHour, "u1", "cmp", "s")});
  EXPECT_EQ(processor_->stats().duplicates, 0);
}

}  // namespace
}  // namespace alliance::testing

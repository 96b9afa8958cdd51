// Processor::reads_for: the core declares the keys of its store-backed
// tables an event will read, which a state store prefetches (docs/STATE.md).
#include "processor_fixture.h"

namespace alliance::testing {
namespace {

constexpr const char* kTopology = R"(
name: t
attribution: {model: last_touch}
partners:
  - {id: pA, contract: {id: cA, type: percent, rate_bp: 1000}}
)";

using Keys = std::vector<std::string>;

class ReadsForTest : public ProcessorTest {
 protected:
  void SetUp() override { use(kTopology); }
  TableReads reads(const Event& e) {
    TableReads r;
    processor_->reads_for(e, r);
    return r;
  }
};

TEST_F(ReadsForTest, AClickReadsItsIdItsUserAndTheAllRecordsItCountsItsUserIn) {
  const TableReads r = reads(click("c1", kT0, "u1", "cmp", "social", "pA"));
  EXPECT_EQ(r.dedupe, Keys{"c1"});
  EXPECT_EQ(r.users, Keys{"u1"});
  EXPECT_TRUE(r.orders.empty());
  EXPECT_EQ(r.campaign_users, (Keys{campaign_user_key(all_record_key(Dim::kSource, "social"), "u1"),
                                    campaign_user_key(all_record_key(Dim::kCampaign, "cmp"), "u1")}));
}

TEST_F(ReadsForTest, AReferralReadsTheReferralSourceAndItsCampaignIfAny) {
  EXPECT_EQ(reads(referral("r1", kT0, "u1", "pA")).campaign_users,
            Keys{campaign_user_key(all_record_key(Dim::kSource, "referral"), "u1")});
  EXPECT_EQ(reads(referral("r2", kT0, "u1", "pA", std::nullopt, "cmp")).campaign_users,
            (Keys{campaign_user_key(all_record_key(Dim::kSource, "referral"), "u1"),
                  campaign_user_key(all_record_key(Dim::kCampaign, "cmp"), "u1")}));
}

TEST_F(ReadsForTest, AnOrderReadsItsOrderAndNoAllRecordUpFront) {
  const TableReads r = reads(order("o1", kT0, "u1", "O1", OrderStatus::kCompleted, 1000));
  EXPECT_EQ(r.dedupe, Keys{"o1"});
  EXPECT_EQ(r.users, Keys{"u1"});
  EXPECT_EQ(r.orders, Keys{"O1"});
  EXPECT_TRUE(r.campaign_users.empty());
}

TEST_F(ReadsForTest, KeysTheCachesHoldAreLeftOut) {
  feed({click("c1", kT0, "u1", "cmp", "social", "pA")});
  const TableReads r = reads(click("c1", kT0 + kMin, "u1", "cmp", "social", "pA"));
  EXPECT_TRUE(r.dedupe.empty());
  EXPECT_TRUE(r.users.empty());
  EXPECT_TRUE(r.campaign_users.empty());
  EXPECT_TRUE(r.empty());
}

}  // namespace
}  // namespace alliance::testing

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

// The second round: the campaign users a completion may credit, from its
// user's touchpoints as the cache holds them.
std::string cu(Dim d, const std::string& key, const std::string& user) {
  return campaign_user_key(all_record_key(d, key), user);
}

TEST_F(ReadsForTest, ACompletionIsNotedForTheSecondRound) {
  const TableReads r = reads(order("o1", kT0, "u1", "O1", OrderStatus::kCompleted, 1000, "CNY", std::nullopt, "CODE"));
  ASSERT_EQ(r.completions.size(), 1u);
  EXPECT_EQ(r.completions[0].user_id, "u1");
  EXPECT_EQ(r.completions[0].ts, kT0);
  EXPECT_TRUE(r.completions[0].referral_code);
  EXPECT_TRUE(reads(order("o2", kT0, "u1", "O2", OrderStatus::kPending, 1000)).completions.empty());
}

TEST_F(ReadsForTest, ACompletionReadsWhatTheModelCanCreditAndNothingTheCacheHolds) {
  feed({click("c1", kT0, "u1", "cmpA", "social", "pA"), click("c2", kT0 + kMin, "u1", "cmpB", "email")});
  auto& cus = processor_->metrics().campaign_users();
  cus.track_changes(false);  // an erase then drops the key instead of caching its absence
  for (const auto& k : {cu(Dim::kSource, "social", "u1"), cu(Dim::kCampaign, "cmpA", "u1"),
                        cu(Dim::kSource, "email", "u1")})
    cus.erase(k);  // not cached any more; cmpB still is
  auto second = [&](bool code) {
    TableReads r;
    processor_->completion_reads({{"u1", kT0 + 2 * kMin, "", code}}, r);
    std::sort(r.campaign_users.begin(), r.campaign_users.end());
    return r.campaign_users;
  };
  // last_touch: the newest touchpoint's source only (its campaign is cached).
  EXPECT_EQ(second(false), Keys{cu(Dim::kSource, "email", "u1")});
  Keys with_code{cu(Dim::kSource, "email", "u1"), cu(Dim::kSource, "referral", "u1")};
  std::sort(with_code.begin(), with_code.end());
  EXPECT_EQ(second(true), with_code);
  // A user without touchpoints in lookback: "direct".
  TableReads r;
  processor_->completion_reads({{"u9", kT0, "cmpZ", false}}, r);
  Keys direct{cu(Dim::kCampaign, "cmpZ", "u9"), cu(Dim::kSource, "direct", "u9")};
  EXPECT_EQ(r.campaign_users, direct);
}

class LinearReadsTest : public ProcessorTest {
 protected:
  void SetUp() override { use("name: t\nattribution: {model: linear}\n"); }
};

TEST_F(LinearReadsTest, MultiTouchModelsReadEveryEligibleTouchpoint) {
  feed({click("c1", kT0, "u1", "cmpA", "social"), click("c2", kT0 + kMin, "u1", "cmpB", "email")});
  auto& cus = processor_->metrics().campaign_users();
  const Keys all{cu(Dim::kCampaign, "cmpA", "u1"), cu(Dim::kCampaign, "cmpB", "u1"),
                 cu(Dim::kSource, "email", "u1"), cu(Dim::kSource, "social", "u1")};
  cus.track_changes(false);
  for (const auto& k : all) cus.erase(k);
  TableReads r;
  processor_->completion_reads({{"u1", kT0 + 2 * kMin, "", false}}, r);
  std::sort(r.campaign_users.begin(), r.campaign_users.end());
  Keys want = all;
  std::sort(want.begin(), want.end());
  EXPECT_EQ(r.campaign_users, want);
}

}  // namespace
}  // namespace alliance::testing

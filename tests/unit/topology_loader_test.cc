#include "alliance/config/topology_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace alliance {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

std::string error_of(const std::string& yaml) {
  try {
    parse_topology(yaml, "topologies/x.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(TopologyLoader, SampleLoadsWithEveryKey) {
  Topology t = load_topology_file(ALLIANCE_SOURCE_DIR "/topologies/spring-alliance.yaml");
  EXPECT_EQ(t.name, "spring-alliance");
  EXPECT_EQ(t.model, AttributionModel::kLastTouch);
  EXPECT_EQ(t.lookback, 30 * 86'400'000LL);
  EXPECT_EQ(t.windows, (std::vector<DurationMs>{60'000, 3'600'000}));
  EXPECT_EQ(t.settlement_offset, 8 * 3'600'000LL);
  ASSERT_EQ(t.partners.size(), 3u);
  EXPECT_EQ(t.code_owner.at("BOOK10"), "p-books");
  EXPECT_EQ(t.partner("p-bank")->contract->tiers.size(), 2u);
  EXPECT_EQ(t.pools.at(0).members.at(2).weight, 30);
  EXPECT_EQ(t.campaign("cmp-spring")->cost_minor, 10'000'000);
}

TEST(TopologyLoader, ErrorsNameFileKeyAndAValidExample) {
  EXPECT_THAT(error_of("name: x\nattribution: {model: lastt}\n"),
              AllOf(HasSubstr("topologies/x.yaml"), HasSubstr("attribution.model"), HasSubstr("last_touch")));
  EXPECT_THAT(error_of("name: x\ngrace: 5 seconds\n"), AllOf(HasSubstr("grace"), HasSubstr("250ms, 5s")));
  EXPECT_THAT(error_of("name: x\npartners: [{id: p, contract: {id: c, type: percent, rate_bp: -5}}]\n"),
              AllOf(HasSubstr("partners[0].contract.rate_bp"), HasSubstr("between 0 and 10000")));
  EXPECT_THAT(error_of("name: x\npartners: [{id: p}, {id: p}]\n"),
              AllOf(HasSubstr("partners[1].id"), HasSubstr("duplicate partner id")));
  EXPECT_THAT(error_of("name: x\npartners: [{id: p}]\npools: [{id: q, campaign_id: c, pool_bp: 1, members: [{partner_id: nobody, weight: 1}]}]\n"),
              AllOf(HasSubstr("pools[0].members[0].partner_id"), HasSubstr("not a partner")));
  EXPECT_THAT(error_of("name: x\npartners: [{id: a, referral_codes: [X]}, {id: b, referral_codes: [X]}]\n"),
              AllOf(HasSubstr("partners[1].referral_codes"), HasSubstr("already owned by partner \"a\"")));
  EXPECT_THAT(error_of("name: x\nsettlement_tz: Asia/Shanghai\n"), HasSubstr("+08:00"));
  EXPECT_THAT(error_of("name: x\nwindowz: [1m]\n"), AllOf(HasSubstr("windowz"), HasSubstr("unknown key")));
  EXPECT_THAT(error_of("attribution: {model: linear}\n"), AllOf(HasSubstr("name"), HasSubstr("required")));
  EXPECT_THAT(error_of("name: [unclosed\n"), HasSubstr("not valid YAML"));
  EXPECT_THAT(error_of("name: x\npartners: [{id: b, contract: {id: c, type: tiered, tiers: [{rate_bp: 5}, {up_to_minor: 9, rate_bp: 8}]}}]\n"),
              HasSubstr("tiers[0].up_to_minor"));
  EXPECT_THAT(error_of("name: x\nprocessing: {guarantee: twice}\n"),
              AllOf(HasSubstr("processing.guarantee"), HasSubstr("at_least_once, exactly_once")));
  EXPECT_EQ(parse_topology("name: x\nprocessing: {guarantee: exactly_once, commit_interval: 250ms}\n", "t").commit_interval, 250);
  EXPECT_THAT(error_of("name: x\npartners: [{id: b, contract: {id: c, type: bonus}}]\n"),
              AllOf(HasSubstr("contract.type"), HasSubstr("percent, flat, tiered")));
}

TEST(TopologyLoader, UnreadableFile) {
  try {
    load_topology_file("/nonexistent/topology.yaml");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("/nonexistent/topology.yaml"));
  }
}

}  // namespace
}  // namespace alliance

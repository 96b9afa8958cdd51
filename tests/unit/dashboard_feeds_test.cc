// Issue 20 item 8: every topic the dashboard reads comes from the topology
// (dashboard_feeds is what LiveDashboard hands its consumer, for
// `alliance dashboard` and `alliance demo` alike).
#include "alliance/dashboard/dashboard_feeds.h"

#include <gtest/gtest.h>

#include <map>

#include "alliance/config/topology_loader.h"

namespace alliance::dashboard {
namespace {

std::map<Feed, std::string> topics_of(const std::string& yaml) {
  std::map<Feed, std::string> out;
  for (const auto& f : dashboard_feeds(parse_topology(yaml, "t.yaml"))) {
    EXPECT_TRUE(out.emplace(f.feed, f.topic).second) << "feed listed twice: " << to_string(f.feed);
  }
  return out;
}

TEST(DashboardFeeds, BalancesTopicIsTheTopologysDefault) {
  const auto t = topics_of("name: spring\n");
  EXPECT_EQ(t.at(Feed::kBalances), "spring.partner-balances");
  EXPECT_EQ(t.at(Feed::kMetrics), "alliance.campaign-metrics");
  EXPECT_EQ(t.at(Feed::kRisk), "spring.partner-risk");
  EXPECT_EQ(t.size(), 6u);
}

TEST(DashboardFeeds, EveryOutputTopicIsTheTopologys) {
  const auto t = topics_of(
      "name: x\noutputs: {metrics: m.t, settlements: s.t, statements: st.t, balances: fin.balances, risk: fin.risk, "
      "dlq: d.t}\n");
  EXPECT_EQ(t, (std::map<Feed, std::string>{{Feed::kMetrics, "m.t"},
                                            {Feed::kSettlements, "s.t"},
                                            {Feed::kStatements, "st.t"},
                                            {Feed::kBalances, "fin.balances"},
                                            {Feed::kDlq, "d.t"},
                                            {Feed::kRisk, "fin.risk"}}));
}

}  // namespace
}  // namespace alliance::dashboard

// Which topics the dashboard reads and the feed each one fills: all of them
// from the topology's outputs (with the loader's defaults, such as
// `<name>.partner-balances` when outputs.balances is not given), never from
// a flag of its own. Pure; any thread.
#pragma once

#include <string>
#include <vector>

#include "alliance/core/topology.h"
#include "alliance/dashboard/dashboard_model.h"

namespace alliance::dashboard {

/// One topic the dashboard's consumer reads, and what its records are.
struct FeedTopic {
  Feed feed;
  std::string topic;
};

/// The dashboard's topics for `topology` (`alliance dashboard` and the
/// dashboard inside `alliance demo` both read these).
inline std::vector<FeedTopic> dashboard_feeds(const Topology& topology) {
  return {{Feed::kMetrics, topology.outputs.metrics},
          {Feed::kStatements, topology.outputs.statements},
          {Feed::kSettlements, topology.outputs.settlements},
          {Feed::kDlq, topology.outputs.dlq},
          {Feed::kBalances, topology.outputs.balances},
          {Feed::kRisk, topology.outputs.risk}};
}

}  // namespace alliance::dashboard

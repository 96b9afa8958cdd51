// The filters of the dashboard's record endpoints (/api/metrics,
// /api/statements, /api/balances, /api/settlements, /api/dlq): a query
// string read in full, so a filter is applied exactly as given or the
// request is refused, never dropped (docs/OPERATIONS.md "Dashboard").
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "alliance/dashboard/dashboard_model.h"

namespace alliance::dashboard {

/// The fields a feed's records can be filtered on, in the order documented:
/// kMetrics dim, key, window_size, currency; kStatements partner_id, period,
/// currency; kBalances partner_id, currency; kSettlements partner_id;
/// kDlq none.
const std::vector<std::string_view>& filter_fields(Feed feed);

/// A query string read for one feed: the filters, or why it is refused.
struct RecordFilters {
  std::map<std::string, std::string> filters;  // field -> value, URL-decoded, any length
  std::string error;                           // not empty: answer 400 with it
};

/// Reads `query` ("partner_id=p-books&currency=CNY", without the '?';
/// '+' is a space, %XX a byte). Refused: a parameter that is not one of the
/// feed's filter_fields (names are case-sensitive), one given twice, a
/// malformed %-escape. An empty value is a filter for the empty value.
/// Pure; any thread.
RecordFilters parse_record_filters(Feed feed, std::string_view query);

}  // namespace alliance::dashboard

// Deterministic JSON encoding of output records (SPEC §5): fixed key order,
// integers for money and times, 6-place decimal strings. Pure functions;
// any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "alliance/core/output_record.h"

namespace alliance {

/// The output a record goes to; kRepartition is the internal topic between
/// the two stages of a partitioned run, never an output file.
enum class OutputKind : std::uint8_t {
  kSettlements = 0,
  kMetrics = 1,
  kStatements = 2,
  kDlq = 3,
  kBalances = 4,
  kRepartition = 5,
  kRisk = 6,  // after kRepartition: the numbers outboxes of earlier versions hold stay valid
};
/// The output files and topics: every kind but kRepartition.
inline constexpr std::size_t kOutputFiles = 6;
/// The index of an output kind among kOutputFiles (not kRepartition).
constexpr std::size_t output_index(OutputKind k) {
  return k == OutputKind::kRisk ? 5 : static_cast<std::size_t>(k);
}
/// The output kind of file index `i` < kOutputFiles.
constexpr OutputKind output_of_index(std::size_t i) { return i == 5 ? OutputKind::kRisk : static_cast<OutputKind>(i); }
OutputKind output_kind(const OutputRecord& r);
std::string_view to_string(OutputKind k);

/// Encodes the record body without `emitted_at` (what the outbox stores).
std::string encode_record(const OutputRecord& r);
/// Appends `"emitted_at":<ms>` as the last field of an encoded record.
std::string stamp_emitted_at(std::string_view encoded, std::int64_t emitted_at_ms);

/// The derived fields of a metric record (SPEC §5.2) exactly as the writer
/// writes them, from the record's integers; for readers that show them.
std::string metric_conversion_rate(const MetricRecord& r);
std::string metric_repeat_rate(const MetricRecord& r);  // window_size "all" only
/// The ratios of a partner-risk record (SPEC §5.6), 6 places; 0 over 0 is "0.000000".
std::string risk_fast_share(const RiskRecord& r);
std::string risk_clicks_per_user(const RiskRecord& r);
std::string risk_reversal_rate(const RiskRecord& r);
std::string metric_churn_rate(const MetricRecord& r);   // window_size "all" only
std::optional<std::string> metric_loyalty(const MetricRecord& r);  // null: no repeat or churned buyers
std::optional<MinorUnits> metric_net_benefit(const MetricRecord& r);  // campaigns: null without a cost
std::optional<std::string> metric_benefit_cost_ratio(const MetricRecord& r);  // null: no cost > 0

std::string base64_encode(std::string_view bytes);
/// Appends `s` as a JSON string literal (quotes, escapes) to `out`.
void append_json_string(std::string& out, std::string_view s);

}  // namespace alliance

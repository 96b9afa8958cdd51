// The counters of one Processor, kept by it and by its order settlement;
// the adapters export them as metrics and summaries. Plain values, used on
// the Processor's thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace alliance {

/// Counters the adapters export as metrics and summaries.
struct ProcessorStats {
  std::map<std::string, std::int64_t> events_by_kind;   // valid events processed
  std::map<std::string, std::int64_t> dead_letters_by_reason;
  std::int64_t duplicates = 0;               // same event_id seen before
  std::int64_t duplicate_transitions = 0;    // second completion, pending after completion
  std::int64_t late_events = 0;
  std::int64_t unattributed_orders = 0;
  std::int64_t unknown_partner_records = 0;  // accruals for partners without a contract entry
  std::int64_t settlement_records = 0;
  std::int64_t metric_records = 0;
  std::int64_t statement_records = 0;
  std::int64_t balance_records = 0;
};

}  // namespace alliance

// The dashboard's view model (`alliance dashboard`, docs/OPERATIONS.md): the
// latest record per Kafka key of the output topics (upsert semantics, SPEC §5)
// and the aggregates the page shows, as JSON. Pure: no Kafka, no HTTP, no
// clock; the adapters (DashboardConsumer, DashboardServer) feed and read it.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace alliance::dashboard {

/// The topic a record came from. kBalances is `partner-balances` (SPEC §5.5)
/// and kRisk `partner-risk` (SPEC §5.6), each read when its topic exists.
enum class Feed : std::uint8_t { kMetrics, kSettlements, kStatements, kBalances, kDlq, kRisk };
std::string_view to_string(Feed f);

/// `minor` units of `currency` as text with the currency's ISO 4217 digits
/// and thousands separators: (123456, "CNY") -> "1,234.56", (-5, "KWD") ->
/// "-0.005", (1000, "JPY") -> "1,000". Unknown codes are shown with 2 digits.
std::string money_text(std::int64_t minor, std::string_view currency);
/// A 6-place decimal string ("0.083333") as a percentage with the decimal
/// point moved two places, nothing rounded: "8.3333 %". Other text is
/// returned as it is.
std::string percent_text(std::string_view decimal6);
/// Event time in ms as "YYYY-MM-DD HH:MM:SS UTC".
std::string utc_text(std::int64_t ms);

struct ModelOptions {
  std::string name;                      // topology name, shown on the page
  std::string default_currency = "USD";  // whose metric records carry the counts of a window
  std::int64_t series_window_ms = 60'000;  // window size of the chart (the topology's smallest)
  std::size_t series_points = 30;          // windows on the chart
  std::int64_t retain_ms = 6 * 3'600'000;  // windowed metric records kept behind the watermark
  std::size_t recent_dead_letters = 20;    // the newest dead letters kept in full
  std::size_t max_dead_letter_keys = 200'000;  // distinct dead-letter keys remembered for dedupe
};

/// Owns the latest record per key of every feed, the dead-letter counts and
/// the consumed positions. Not thread-safe: one thread at a time (the
/// SharedDashboard wrapper locks around it).
///
/// Bounds: windowed metric records older than `retain_ms` behind the
/// watermark are dropped; "all" records, statements (one per partner, period
/// and currency), settlements (the latest per partner) and balances (one per
/// partner and currency) grow with the topology, not with traffic; dead
/// letters are counts per reason plus the newest few.
class DashboardModel {
 public:
  explicit DashboardModel(ModelOptions options);
  ~DashboardModel();
  DashboardModel(const DashboardModel&) = delete;
  DashboardModel& operator=(const DashboardModel&) = delete;

  /// Takes one consumed record. `key` is the Kafka key (empty: none). Returns
  /// false, and counts it as unreadable, when `value` is not a record of the
  /// feed; the position is recorded either way.
  bool ingest(Feed feed, std::string_view topic, std::int32_t partition, std::int64_t offset, std::string_view key,
              std::string_view value);
  /// Notes that `topic` exists and is being read (shown in the status), or
  /// that it does not exist (yet).
  void set_topic_state(Feed feed, std::string_view topic, bool present);
  /// What is wrong with reading the topics ("" when nothing is), shown on the page.
  void set_source_error(std::string_view error);

  /// Grows by one with every change; 0 before the first record.
  [[nodiscard]] std::uint64_t version() const { return version_; }
  /// The largest `watermark` of the metric records read; nullopt before one.
  [[nodiscard]] std::optional<std::int64_t> watermark() const;

  /// What the page shows (docs/OPERATIONS.md, `/api/view`).
  [[nodiscard]] std::string view_json() const;
  /// Positions, counts, watermark and topics (`/api/status`).
  [[nodiscard]] std::string status_json() const;
  /// The latest records of a feed as a JSON array of the records exactly as
  /// published, in key order, whose fields equal the filter's values (the
  /// feed's filter_fields, record_filters.h; others are ignored: the server
  /// refuses them before). For kDlq: the newest dead letters kept.
  [[nodiscard]] std::string records_json(Feed feed, const std::map<std::string, std::string>& filter = {}) const;
  /// Per-partner totals (`/api/partners`): the `partners` part of the view.
  [[nodiscard]] std::string partners_json() const;
  /// Dead letters per reason (`/api/dead-letters`).
  [[nodiscard]] std::string dead_letters_json() const;

  /// Counts for tests and the status: records kept per feed.
  [[nodiscard]] std::size_t kept(Feed feed) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::uint64_t version_ = 0;
};

}  // namespace alliance::dashboard

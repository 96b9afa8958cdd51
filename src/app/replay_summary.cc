#include "alliance/app/replay_summary.h"

#include <cstdio>
#include <sstream>

namespace alliance {

ReplayProgress::ReplayProgress(bool enabled, std::int64_t total_bytes)
    : enabled_(enabled), total_bytes_(total_bytes), start_(std::chrono::steady_clock::now()), last_(start_) {}

void ReplayProgress::update(std::int64_t lines, std::int64_t bytes_done) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_ < std::chrono::milliseconds(200)) return;
  last_ = now;
  const double secs = std::chrono::duration<double>(now - start_).count();
  const double pct = total_bytes_ > 0 ? 100.0 * static_cast<double>(bytes_done) / static_cast<double>(total_bytes_) : 100.0;
  std::fprintf(stderr, "\r  %lld events  %5.1f%%  %.0f events/s   ", static_cast<long long>(lines), pct,
               secs > 0 ? static_cast<double>(lines) / secs : 0.0);
  std::fflush(stderr);
}

void ReplayProgress::done() {
  if (enabled_) std::fprintf(stderr, "\r%60s\r", "");
}

std::string format_summary(const ProcessorStats& s, std::int64_t lines, double seconds) {
  std::ostringstream o;
  std::int64_t valid = 0, dead = 0;
  for (const auto& [k, n] : s.events_by_kind) valid += n;
  for (const auto& [k, n] : s.dead_letters_by_reason) dead += n;
  o << "replayed " << lines << " lines in " << seconds << " s";
  if (seconds > 0) o << " (" << static_cast<std::int64_t>(static_cast<double>(lines) / seconds) << " events/s)";
  o << "\n  events:      " << valid << " valid";
  for (const auto& [k, n] : s.events_by_kind) o << ", " << n << " " << k;
  o << "\n  duplicates:  " << s.duplicates << " event ids, " << s.duplicate_transitions << " order transitions";
  o << "\n  late:        " << s.late_events << " events (settled, left out of final windows)";
  o << "\n  unattributed orders: " << s.unattributed_orders;
  o << "\n  dead letters: " << dead;
  for (const auto& [k, n] : s.dead_letters_by_reason) o << "\n    " << k << ": " << n;
  o << "\n  written:     " << s.settlement_records << " settlements, " << s.metric_records
    << " campaign-metrics, " << s.statement_records << " settlement-statements, " << s.balance_records
    << " partner-balances, " << dead << " dlq";
  if (s.unknown_partner_records > 0)
    o << "\n  WARNING: " << s.unknown_partner_records
      << " accruals for partners the topology does not know: add their contracts";
  o << "\n";
  return o.str();
}

}  // namespace alliance

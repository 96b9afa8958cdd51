// Event-time arithmetic: RFC 3339 parsing, civil dates, durations and
// fixed UTC offsets. Pure functions, callable from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace alliance {

/// Milliseconds since the Unix epoch (event time; never wall clock in the core).
using TimestampMs = std::int64_t;
/// A span of event time in milliseconds.
using DurationMs = std::int64_t;

inline constexpr DurationMs kMsPerSecond = 1000;
inline constexpr DurationMs kMsPerDay = 86'400'000;
/// Latest accepted event time: 9999-12-31T23:59:59.999Z.
inline constexpr TimestampMs kMaxTimestampMs = 253'402'300'799'999;
/// Watermark value meaning "end of input": every window and period is final.
inline constexpr TimestampMs kEndOfTime = INT64_MAX;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
std::int64_t days_from_civil(int year, unsigned month, unsigned day);

struct CivilDate {
  int year;
  unsigned month;
  unsigned day;
};
CivilDate civil_from_days(std::int64_t days);

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`. Fractions past
/// milliseconds are truncated toward the past; leap seconds (`:60`) and
/// instants before 1970 or after year 9999 are rejected.
std::optional<TimestampMs> parse_rfc3339(std::string_view text);

/// Parses a duration such as `250ms`, `5s`, `1m`, `1h`, `7d` (positive integer
/// and unit). Returns nullopt for anything else.
std::optional<DurationMs> parse_duration(std::string_view text);
/// Formats a duration in its largest exact unit: 60000 -> "1m".
std::string format_duration(DurationMs d);

/// A fixed offset from UTC such as `+08:00`; `UTC` or `Z` is zero.
std::optional<DurationMs> parse_utc_offset(std::string_view text);

/// floor division for event times (windows before 1970 are not accepted, but
/// the arithmetic stays correct for negative values).
constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/// The calendar unit of a settlement period (SPEC §5.3).
enum class PeriodUnit : std::uint8_t { kDay, kWeek, kMonth };

/// The settlement period containing `ts` in the zone `offset`, labelled
/// `YYYY-MM-DD` (day), `YYYY-Www` (ISO week, from Monday) or `YYYY-MM` (month).
std::string period_of(TimestampMs ts, DurationMs offset, PeriodUnit unit = PeriodUnit::kDay);
/// First instant (UTC ms) of the period containing `ts`.
TimestampMs period_start(TimestampMs ts, DurationMs offset, PeriodUnit unit = PeriodUnit::kDay);
/// First instant (UTC ms) after the end of the period containing `ts`.
TimestampMs period_end(TimestampMs ts, DurationMs offset, PeriodUnit unit = PeriodUnit::kDay);

}  // namespace alliance

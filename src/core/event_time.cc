#include "alliance/core/event_time.h"

#include <array>
#include <cstdio>

namespace alliance {

std::int64_t days_from_civil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

CivilDate civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<int>(y + (m <= 2)), m, d};
}

namespace {

bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(int y, unsigned m) {
  static constexpr std::array<unsigned, 12> kDays{31, 28, 31, 30, 31, 30,
                                                  31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

// Reads exactly `n` decimal digits at `pos`.
std::optional<int> digits(std::string_view s, std::size_t pos, std::size_t n) {
  if (pos + n > s.size()) return std::nullopt;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

}  // namespace

std::optional<TimestampMs> parse_rfc3339(std::string_view s) {
  // 2026-11-20T10:00:00Z is the shortest valid form (20 bytes).
  if (s.size() < 20 || s.size() > 40) return std::nullopt;
  auto y = digits(s, 0, 4), mo = digits(s, 5, 2), d = digits(s, 8, 2);
  auto h = digits(s, 11, 2), mi = digits(s, 14, 2), se = digits(s, 17, 2);
  if (!y || !mo || !d || !h || !mi || !se) return std::nullopt;
  if (s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
      s[16] != ':')
    return std::nullopt;
  if (*mo < 1 || *mo > 12 || *d < 1 ||
      static_cast<unsigned>(*d) > days_in_month(*y, static_cast<unsigned>(*mo)) ||
      *h > 23 || *mi > 59 || *se > 59)
    return std::nullopt;
  std::size_t pos = 19;
  std::int64_t millis = 0;
  if (s[pos] == '.') {
    ++pos;
    std::size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (pos - start < 3) millis = millis * 10 + (s[pos] - '0');
      ++pos;
    }
    const std::size_t n = pos - start;
    if (n == 0 || n > 9) return std::nullopt;
    for (std::size_t i = n; i < 3; ++i) millis *= 10;
  }
  if (pos >= s.size()) return std::nullopt;
  std::int64_t offset_ms = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    auto oh = digits(s, pos + 1, 2), om = digits(s, pos + 4, 2);
    if (!oh || !om || pos + 3 >= s.size() || s[pos + 3] != ':' || *oh > 23 || *om > 59)
      return std::nullopt;
    offset_ms = (static_cast<std::int64_t>(*oh) * 60 + *om) * 60'000;
    if (s[pos] == '-') offset_ms = -offset_ms;
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  const std::int64_t days = days_from_civil(*y, static_cast<unsigned>(*mo), static_cast<unsigned>(*d));
  const std::int64_t ms =
      ((days * 24 + *h) * 60 + *mi) * 60'000 + static_cast<std::int64_t>(*se) * 1000 + millis -
      offset_ms;
  if (ms < 0 || ms > kMaxTimestampMs) return std::nullopt;
  return ms;
}

std::optional<DurationMs> parse_duration(std::string_view s) {
  std::size_t i = 0;
  std::int64_t n = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    if (n > 1'000'000'000) return std::nullopt;
    n = n * 10 + (s[i] - '0');
    ++i;
  }
  if (i == 0 || n <= 0) return std::nullopt;
  const std::string_view unit = s.substr(i);
  if (unit == "ms") return n;
  if (unit == "s") return n * 1000;
  if (unit == "m") return n * 60'000;
  if (unit == "h") return n * 3'600'000;
  if (unit == "d") return n * kMsPerDay;
  return std::nullopt;
}

std::string format_duration(DurationMs d) {
  struct Unit {
    DurationMs ms;
    const char* name;
  };
  static constexpr std::array<Unit, 4> kUnits{
      {{kMsPerDay, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1000, "s"}}};
  for (const auto& u : kUnits)
    if (d > 0 && d % u.ms == 0) return std::to_string(d / u.ms) + u.name;
  return std::to_string(d) + "ms";
}

std::optional<DurationMs> parse_utc_offset(std::string_view s) {
  if (s == "UTC" || s == "Z" || s == "utc") return 0;
  if (s.size() != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':') return std::nullopt;
  auto h = digits(s, 1, 2), m = digits(s, 4, 2);
  if (!h || !m || *h > 14 || *m > 59) return std::nullopt;
  DurationMs off = (static_cast<DurationMs>(*h) * 60 + *m) * 60'000;
  return s[0] == '-' ? -off : off;
}

namespace {

constexpr std::int64_t floor_mod7(std::int64_t a) { return a - floor_div(a, 7) * 7; }

/// Days since the epoch (local) of the first day of the period containing local day `d`.
std::int64_t period_first_day(std::int64_t d, PeriodUnit unit) {
  switch (unit) {
    case PeriodUnit::kDay: return d;
    case PeriodUnit::kWeek: return d - floor_mod7(d + 3);  // 1970-01-01 was a Thursday
    case PeriodUnit::kMonth: {
      const CivilDate c = civil_from_days(d);
      return days_from_civil(c.year, c.month, 1);
    }
  }
  return d;
}

std::int64_t next_period_first_day(std::int64_t first, PeriodUnit unit) {
  switch (unit) {
    case PeriodUnit::kDay: return first + 1;
    case PeriodUnit::kWeek: return first + 7;
    case PeriodUnit::kMonth: {
      const CivilDate c = civil_from_days(first);
      return c.month == 12 ? days_from_civil(c.year + 1, 1, 1) : days_from_civil(c.year, c.month + 1, 1);
    }
  }
  return first + 1;
}

}  // namespace

std::string period_of(TimestampMs ts, DurationMs offset, PeriodUnit unit) {
  const std::int64_t day = floor_div(ts + offset, kMsPerDay);
  char buf[16];
  if (unit == PeriodUnit::kWeek) {
    // ISO 8601: the week belongs to the year of its Thursday.
    const std::int64_t monday = period_first_day(day, unit);
    const CivilDate thursday = civil_from_days(monday + 3);
    const std::int64_t jan1 = days_from_civil(thursday.year, 1, 1);
    const std::int64_t week = (monday + 3 - jan1) / 7 + 1;
    std::snprintf(buf, sizeof buf, "%04d-W%02d", thursday.year, static_cast<int>(week));
    return buf;
  }
  const CivilDate c = civil_from_days(day);
  if (unit == PeriodUnit::kMonth) std::snprintf(buf, sizeof buf, "%04d-%02u", c.year, c.month);
  else std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", c.year, c.month, c.day);
  return buf;
}

TimestampMs period_start(TimestampMs ts, DurationMs offset, PeriodUnit unit) {
  return period_first_day(floor_div(ts + offset, kMsPerDay), unit) * kMsPerDay - offset;
}

TimestampMs period_end(TimestampMs ts, DurationMs offset, PeriodUnit unit) {
  const std::int64_t first = period_first_day(floor_div(ts + offset, kMsPerDay), unit);
  return next_period_first_day(first, unit) * kMsPerDay - offset;
}

}  // namespace alliance

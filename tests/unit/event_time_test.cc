#include "alliance/core/event_time.h"

#include <gtest/gtest.h>

namespace alliance {
namespace {

TEST(Rfc3339, ParsesOffsetsToUtcMillis) {
  // 2025-11-20T02:00:00.123Z == 1763604000123
  EXPECT_EQ(parse_rfc3339("2025-11-20T10:00:00.123+08:00"), 1763604000123);
  EXPECT_EQ(parse_rfc3339("2025-11-20T02:00:00.123Z"), 1763604000123);
  EXPECT_EQ(parse_rfc3339("2025-11-19T21:00:00.123-05:00"), 1763604000123);
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00Z"), 0);
}

TEST(Rfc3339, FractionsTruncateToMillis) {
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:01.5Z"), 1500);
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:01.123999999Z"), 1123);
}

TEST(Rfc3339, LeapDay) {
  EXPECT_EQ(parse_rfc3339("2024-02-29T00:00:00Z"), 1709164800000);
  EXPECT_FALSE(parse_rfc3339("2023-02-29T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("2100-02-29T00:00:00Z"));
  EXPECT_TRUE(parse_rfc3339("2000-02-29T00:00:00Z"));
}

TEST(Rfc3339, RejectsWhatIsNotRfc3339) {
  for (const char* bad : {"2026-11-20", "2026-11-20T10:00:00", "2026-11-20 10:00:00Z",
                          "2026-13-01T00:00:00Z", "2026-11-20T24:00:00Z", "2026-11-20T10:00:60Z",
                          "2026-11-20T10:00:00.Z", "2026-11-20T10:00:00+0800", "1969-12-31T23:59:59Z",
                          "2026-11-20T10:00:00Zjunk", "tomorrow"}) {
    EXPECT_FALSE(parse_rfc3339(bad)) << bad;
  }
}

TEST(Durations, ParseAndFormat) {
  EXPECT_EQ(parse_duration("250ms"), 250);
  EXPECT_EQ(parse_duration("5s"), 5000);
  EXPECT_EQ(parse_duration("1m"), 60000);
  EXPECT_EQ(parse_duration("1h"), 3600000);
  EXPECT_EQ(parse_duration("7d"), 604800000);
  EXPECT_FALSE(parse_duration("0s"));
  EXPECT_FALSE(parse_duration("5"));
  EXPECT_FALSE(parse_duration("1w"));
  EXPECT_FALSE(parse_duration("-1s"));
  EXPECT_EQ(format_duration(60000), "1m");
  EXPECT_EQ(format_duration(3600000), "1h");
  EXPECT_EQ(format_duration(90000), "90s");
  EXPECT_EQ(format_duration(250), "250ms");
}

TEST(Periods, MidnightInPlusEight) {
  const DurationMs plus8 = *parse_utc_offset("+08:00");
  // 2026-11-20T15:59:59.999Z is 23:59:59.999 in +08:00: still the 20th.
  EXPECT_EQ(period_of(*parse_rfc3339("2026-11-20T15:59:59.999Z"), plus8), "2026-11-20");
  EXPECT_EQ(period_of(*parse_rfc3339("2026-11-20T16:00:00Z"), plus8), "2026-11-21");
  EXPECT_EQ(period_end(*parse_rfc3339("2026-11-20T10:00:00Z"), plus8), *parse_rfc3339("2026-11-20T16:00:00Z"));
  EXPECT_EQ(period_of(*parse_rfc3339("2026-11-20T23:59:59Z"), 0), "2026-11-20");
  EXPECT_FALSE(parse_utc_offset("+8"));
  EXPECT_EQ(parse_utc_offset("UTC"), 0);
  EXPECT_EQ(parse_utc_offset("-05:30"), -(5 * 60 + 30) * 60000);
}

}  // namespace
}  // namespace alliance

// RunMetrics' RocksDB families as a scrape shows them (prometheus-cpp's text
// format): what bench/soak.sh and dashboards read for the block-cache hit
// ratio of an interval, the reads that reached RocksDB and write stalls.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include "alliance/config/topology_loader.h"
#include "alliance/metrics/run_metrics.h"

namespace alliance {
namespace {

using ::testing::HasSubstr;

std::string scrape(const RunMetrics& m) {
  return prometheus::TextSerializer().Serialize(m.registry()->Collect());
}

TEST(RunMetricsRocks, ExportsLookupsKeysReadAndWriteStalls) {
  const Topology t = parse_topology("name: t\n", "t");
  RunMetrics m(t, "");  // no HTTP endpoint
  RocksStats s;
  s.block_cache_hits = 30;
  s.block_cache_misses = 10;
  s.keys_read = 1234;
  s.delayed_write_rate = 16 << 20;
  s.write_stopped = true;
  s.stall_micros = 2'500'000;
  m.rocksdb(3, s);
  const std::string text = scrape(m);
  EXPECT_THAT(text, HasSubstr("alliance_rocksdb_block_cache_lookups{partition=\"3\",result=\"hit\"} 30"));
  EXPECT_THAT(text, HasSubstr("alliance_rocksdb_block_cache_lookups{partition=\"3\",result=\"miss\"} 10"));
  EXPECT_THAT(text, HasSubstr("alliance_rocksdb_block_cache_hit_ratio{partition=\"3\"} 0.75"));
  EXPECT_THAT(text, HasSubstr("alliance_rocksdb_keys_read{partition=\"3\"} 1234"));
  EXPECT_THAT(text, HasSubstr("alliance_rocksdb_delayed_write_rate_bytes{partition=\"3\"} 16777216"));
  EXPECT_THAT(text, HasSubstr("alliance_rocksdb_write_stopped{partition=\"3\"} 1"));
  EXPECT_THAT(text, HasSubstr("alliance_rocksdb_stall_seconds{partition=\"3\"} 2.5"));

  // The next figures replace these (gauges of the store's counters since it opened).
  s.write_stopped = false;
  s.delayed_write_rate = 0;
  m.rocksdb(3, s);
  const std::string later = scrape(m);
  EXPECT_THAT(later, HasSubstr("alliance_rocksdb_write_stopped{partition=\"3\"} 0"));
  EXPECT_THAT(later, HasSubstr("alliance_rocksdb_delayed_write_rate_bytes{partition=\"3\"} 0"));
}

}  // namespace
}  // namespace alliance

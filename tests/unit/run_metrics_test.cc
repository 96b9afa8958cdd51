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
using ::testing::Not;

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
  s.keys_read_by_table[static_cast<std::size_t>(Cf::kUsers)] = 1000;
  s.keys_read_by_table[static_cast<std::size_t>(Cf::kCampaignUsers)] = 234;
  s.delayed_write_rate = 16 << 20;
  s.write_stopped = true;
  s.stall_micros = 2'500'000;
  m.rocksdb(3, s);
  const std::string text = scrape(m);
  EXPECT_THAT(text, HasSubstr("alliance_rocksdb_block_cache_lookups{partition=\"3\",result=\"hit\"} 30"));
  EXPECT_THAT(text, HasSubstr("alliance_rocksdb_block_cache_lookups{partition=\"3\",result=\"miss\"} 10"));
  EXPECT_THAT(text, HasSubstr("alliance_rocksdb_block_cache_hit_ratio{partition=\"3\"} 0.75"));
  EXPECT_THAT(text, HasSubstr("alliance_rocksdb_keys_read{partition=\"3\"} 1234"));
  EXPECT_THAT(text, HasSubstr("alliance_rocksdb_keys_read_by_table{partition=\"3\",table=\"users\"} 1000"));
  EXPECT_THAT(text, HasSubstr("alliance_rocksdb_keys_read_by_table{partition=\"3\",table=\"campaign_users\"} 234"));
  EXPECT_THAT(text, Not(HasSubstr("table=\"dedupe\""))) << "a table appears once it was read";
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

// Partner risk's gauges (issue 23): flagged periods per partner and flag,
// held money per partner and currency, from published records.
TEST(RunMetricsRisk, CountsFlaggedPeriodsAndHeldMoney) {
  const Topology t = parse_topology("name: t\npartners: [{id: p-bank}]\n", "t");
  RunMetrics m(t, "");
  auto risk = [&](std::string partner, std::string period, std::vector<std::string> flags) {
    RiskRecord r;
    r.partner_id = std::move(partner);
    r.period = std::move(period);
    r.flags = std::move(flags);
    m.published(OutputRecord{"k", r});
  };
  risk("p-bank", "2026-11", {"click_injection"});
  risk("p-bank", "2026-12", {"click_injection", "refund_abuse"});
  risk("p-farm", "2026-11", {"click_spam"});  // not in the topology: "other"
  std::string text = scrape(m);
  EXPECT_THAT(text, HasSubstr("alliance_partner_flagged{flag=\"click_injection\",partner_id=\"p-bank\"} 2"));
  EXPECT_THAT(text, HasSubstr("alliance_partner_flagged{flag=\"refund_abuse\",partner_id=\"p-bank\"} 1"));
  EXPECT_THAT(text, HasSubstr("alliance_partner_flagged{flag=\"click_spam\",partner_id=\"other\"} 1"));
  risk("p-bank", "2026-11", {});  // the flag cleared
  text = scrape(m);
  EXPECT_THAT(text, HasSubstr("alliance_partner_flagged{flag=\"click_injection\",partner_id=\"p-bank\"} 1"));
  BalanceRecord b;
  b.partner_id = "p-bank";
  b.currency = "CNY";
  b.pending_minor = 5000;
  b.held_minor = 4000;
  m.published(OutputRecord{"p-bank|CNY", b});
  EXPECT_THAT(scrape(m), HasSubstr("alliance_partner_held_minor{currency=\"CNY\",partner_id=\"p-bank\"} 4000"));
}

}  // namespace
}  // namespace alliance

#include "alliance/config/topology_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

namespace alliance {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

std::string error_of(const std::string& yaml) {
  try {
    parse_topology(yaml, "topologies/x.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(TopologyLoader, SampleLoadsWithEveryKey) {
  Topology t = load_topology_file(ALLIANCE_SOURCE_DIR "/topologies/spring-alliance.yaml");
  EXPECT_EQ(t.name, "spring-alliance");
  EXPECT_EQ(t.model, AttributionModel::kLastTouch);
  EXPECT_EQ(t.lookback, 30 * 86'400'000LL);
  EXPECT_EQ(t.windows, (std::vector<DurationMs>{60'000, 3'600'000}));
  EXPECT_EQ(t.settlement_offset, 8 * 3'600'000LL);
  ASSERT_EQ(t.partners.size(), 3u);
  EXPECT_EQ(t.code_owner.at("BOOK10"), "p-books");
  EXPECT_EQ(t.partner("p-bank")->contract->tiers.size(), 2u);
  EXPECT_EQ(t.pools.at(0).members.at(2).weight, 30);
  EXPECT_EQ(t.campaign("cmp-spring")->cost_minor, 10'000'000);
}

TEST(TopologyLoader, ErrorsNameFileKeyAndAValidExample) {
  EXPECT_THAT(error_of("name: x\nattribution: {model: lastt}\n"),
              AllOf(HasSubstr("topologies/x.yaml"), HasSubstr("attribution.model"), HasSubstr("last_touch")));
  EXPECT_THAT(error_of("name: x\ngrace: 5 seconds\n"), AllOf(HasSubstr("grace"), HasSubstr("250ms, 5s")));
  EXPECT_THAT(error_of("name: x\npartners: [{id: p, contract: {id: c, type: percent, rate_bp: -5}}]\n"),
              AllOf(HasSubstr("partners[0].contract.rate_bp"), HasSubstr("between 0 and 10000")));
  EXPECT_THAT(error_of("name: x\npartners: [{id: p}, {id: p}]\n"),
              AllOf(HasSubstr("partners[1].id"), HasSubstr("duplicate partner id")));
  EXPECT_THAT(error_of("name: x\ncampaigns: [{id: c}]\npartners: [{id: p}]\npools: [{id: q, campaign_id: c, pool_bp: 1, members: [{partner_id: nobody, weight: 1}]}]\n"),
              AllOf(HasSubstr("pools[0].members[0].partner_id"), HasSubstr("not a partner")));
  EXPECT_THAT(error_of("name: x\npartners: [{id: a, referral_codes: [X]}, {id: b, referral_codes: [X]}]\n"),
              AllOf(HasSubstr("partners[1].referral_codes"), HasSubstr("already owned by partner \"a\"")));
  EXPECT_THAT(error_of("name: x\nsettlement_tz: Asia/Shanghai\n"), HasSubstr("+08:00"));
  EXPECT_THAT(error_of("name: x\nwindowz: [1m]\n"), AllOf(HasSubstr("windowz"), HasSubstr("unknown key")));
  EXPECT_THAT(error_of("attribution: {model: linear}\n"), AllOf(HasSubstr("name"), HasSubstr("required")));
  EXPECT_THAT(error_of("name: [unclosed\n"), HasSubstr("not valid YAML"));
  EXPECT_THAT(error_of("name: x\npartners: [{id: b, contract: {id: c, type: tiered, tiers: [{rate_bp: 5}, {up_to_minor: 9, rate_bp: 8}]}}]\n"),
              HasSubstr("tiers[0].up_to_minor"));
  EXPECT_THAT(error_of("name: x\nprocessing: {guarantee: twice}\n"),
              AllOf(HasSubstr("processing.guarantee"), HasSubstr("at_least_once, exactly_once")));
  EXPECT_EQ(parse_topology("name: x\nprocessing: {guarantee: exactly_once, commit_interval: 250ms}\n", "t").commit_interval, 250);
  EXPECT_THAT(error_of("name: x\npartners: [{id: b, contract: {id: c, type: bonus}}]\n"),
              AllOf(HasSubstr("contract.type"), HasSubstr("percent, flat, tiered")));
}

// Issue 16 item 9: mistakes that would give wrong numbers are rejected, each
// with the file, the key and the fix.
TEST(TopologyLoader, RejectsRepeatedWindowSize) {
  EXPECT_THAT(error_of("name: x\nwindows: [1m, 60s]\n"),
              AllOf(HasSubstr("topologies/x.yaml"), HasSubstr("windows[1]"), HasSubstr("same size as windows[0]"),
                    HasSubstr("list each window size once")));
  EXPECT_THAT(error_of("name: x\nwindows: [1h, 1m, 60m]\n"), HasSubstr("windows[2]"));
  EXPECT_EQ(parse_topology("name: x\nwindows: [1m, 1h, 1d]\n", "t").windows.size(), 3u);
}

TEST(TopologyLoader, RejectsCurrencyOutsideIso4217) {
  EXPECT_THAT(error_of("name: x\ndefault_currency: usd\n"),
              AllOf(HasSubstr("topologies/x.yaml"), HasSubstr("default_currency"), HasSubstr("ISO 4217"),
                    HasSubstr("write \"USD\"")));
  EXPECT_THAT(error_of("name: x\ndefault_currency: XXQ\n"),
              AllOf(HasSubstr("default_currency"), HasSubstr("\"XXQ\" is not an ISO 4217"), HasSubstr("e.g. CNY")));
  EXPECT_THAT(error_of("name: x\ncampaigns: [{id: c, cost_minor: 5, currency: XXQ}]\n"),
              AllOf(HasSubstr("campaigns[0].currency"), HasSubstr("ISO 4217")));
  EXPECT_THAT(error_of("name: x\ncampaigns: [{id: c, cost_minor: 5, currency: jpy}]\n"),
              AllOf(HasSubstr("campaigns[0].currency"), HasSubstr("write \"JPY\"")));
  const Topology t = parse_topology("name: x\ndefault_currency: KWD\ncampaigns: [{id: a}, {id: b, currency: JPY}]\n", "t");
  EXPECT_EQ(t.default_currency, "KWD");
  EXPECT_EQ(t.campaign("a")->currency, "KWD");
  EXPECT_EQ(t.campaign("b")->currency, "JPY");
}

constexpr const char* kTwoPartners = "name: x\ncampaigns: [{id: c1}, {id: c2}]\npartners: [{id: a}, {id: b}]\n";

TEST(TopologyLoader, RejectsPoolsPayingMoreThanTheRevenue) {
  const std::string yaml = std::string(kTwoPartners) +
                           "pools:\n"
                           "  - {id: p1, campaign_id: c1, pool_bp: 6000, members: [{partner_id: a, weight: 1}]}\n"
                           "  - {id: p2, campaign_id: c2, pool_bp: 6000, members: [{partner_id: a, weight: 1}]}\n"
                           "  - {id: p3, campaign_id: c1, pool_bp: 4001, members: [{partner_id: b, weight: 1}]}\n";
  EXPECT_THAT(error_of(yaml), AllOf(HasSubstr("topologies/x.yaml"), HasSubstr("pools[2].pool_bp"),
                                    HasSubstr("\"c1\" add up to 10001 bp (p1 6000 + p3 4001)"),
                                    HasSubstr("at most 10000")));
  // Exactly 100 % on one campaign, in two pools, is allowed.
  const std::string full = std::string(kTwoPartners) +
                           "pools:\n"
                           "  - {id: p1, campaign_id: c1, pool_bp: 6000, members: [{partner_id: a, weight: 1}]}\n"
                           "  - {id: p3, campaign_id: c1, pool_bp: 4000, members: [{partner_id: b, weight: 1}]}\n";
  EXPECT_EQ(parse_topology(full, "t").pools.size(), 2u);
}

TEST(TopologyLoader, RejectsDuplicatePoolMember) {
  EXPECT_THAT(error_of(std::string(kTwoPartners) +
                       "pools: [{id: p1, campaign_id: c1, pool_bp: 100, members: [{partner_id: a, weight: 1}, "
                       "{partner_id: b, weight: 1}, {partner_id: a, weight: 2}]}]\n"),
              AllOf(HasSubstr("pools[0].members[2].partner_id"), HasSubstr("already members[0]"),
                    HasSubstr("list each partner once")));
}

TEST(TopologyLoader, RejectsPoolForUndefinedCampaign) {
  EXPECT_THAT(error_of(std::string(kTwoPartners) +
                       "pools: [{id: p1, campaign_id: nope, pool_bp: 100, members: [{partner_id: a, weight: 1}]}]\n"),
              AllOf(HasSubstr("pools[0].campaign_id"), HasSubstr("\"nope\" is not a campaign"),
                    HasSubstr("add it under campaigns:")));
}

TEST(TopologyLoader, RejectsOtherAmbiguousDefinitions) {
  EXPECT_THAT(error_of(std::string(kTwoPartners) +
                       "pools:\n"
                       "  - {id: p1, campaign_id: c1, pool_bp: 1, members: [{partner_id: a, weight: 1}]}\n"
                       "  - {id: p1, campaign_id: c2, pool_bp: 1, members: [{partner_id: a, weight: 1}]}\n"),
              AllOf(HasSubstr("pools[1].id"), HasSubstr("duplicate pool id")));
  EXPECT_THAT(error_of("name: x\ncampaigns: [{id: c}, {id: c}]\n"),
              AllOf(HasSubstr("campaigns[1].id"), HasSubstr("duplicate campaign id")));
  EXPECT_THAT(error_of(std::string(kTwoPartners) +
                       "pools: [{id: p1, campaign_id: c1, pool_bp: 1, members: [{partner_id: a, weight: 0}]}]\n"),
              AllOf(HasSubstr("members[0].weight"), HasSubstr("between 1 and")));
  EXPECT_THAT(error_of(std::string(kTwoPartners) +
                       "pools: [{id: p1, campaign_id: c1, pool_bp: 1, members: [{partner_id: a, weight: -3}]}]\n"),
              HasSubstr("members[0].weight"));
  EXPECT_THAT(error_of("name: x\npartners: [{id: a, referral_codes: [X, X]}]\n"),
              AllOf(HasSubstr("partners[0].referral_codes"), HasSubstr("listed twice")));
  EXPECT_THAT(error_of("name: x\npartners: [{id: \"a\\0b\"}]\n"),
              AllOf(HasSubstr("partners[0].id"), HasSubstr("control character")));
  EXPECT_THAT(error_of("name: x\npartners: [{id: a, referral_codes: [\"B\\x01\"]}]\n"),
              AllOf(HasSubstr("partners[0].referral_codes[0]"), HasSubstr("control character")));
  EXPECT_THAT(error_of("name: x\npartners: [{id: b, contract: {id: c, type: tiered, tiers: "
                       "[{up_to_minor: 9, rate_bp: 5}, {up_to_minor: 9, rate_bp: 6}, {rate_bp: 8}]}}]\n"),
              AllOf(HasSubstr("tiers[1].up_to_minor"), HasSubstr("increasing")));
  EXPECT_THAT(error_of("name: x\noutputs: {metrics: t.same, dlq: t.same}\n"),
              AllOf(HasSubstr("outputs.dlq"), HasSubstr("also outputs.metrics"), HasSubstr("its own topic")));
  EXPECT_THAT(error_of("name: x\noutputs: {settlements: alliance.orders}\n"),
              AllOf(HasSubstr("outputs.settlements"), HasSubstr("also inputs.orders")));
}

// Issue 20 item 6: a key written twice in one map is refused (YAML readers
// keep one of the two silently: `rate_bp: 1000, rate_bp: 5000` was 1000),
// in every map at any depth, naming the key and both lines.
TEST(TopologyLoader, RejectsDuplicateKeysInAnyMap) {
  EXPECT_THAT(error_of("name: x\nholding_period: 30d\nholding_period: 0s\n"),
              AllOf(HasSubstr("topologies/x.yaml"), HasSubstr("holding_period"), HasSubstr("lines 2 and 3"),
                    HasSubstr("once")));
  EXPECT_THAT(error_of("name: x\n"
                       "partners:\n"
                       "  - id: p\n"
                       "    contract:\n"
                       "      id: c\n"
                       "      type: percent\n"
                       "      rate_bp: 1000\n"
                       "      rate_bp: 5000\n"),
              AllOf(HasSubstr("topologies/x.yaml: partners[0].contract.rate_bp"), HasSubstr("lines 7 and 8")));
  // Flow style, both on one line.
  EXPECT_THAT(error_of("name: x\npartners: [{id: p, contract: {id: c, type: percent, rate_bp: 1000, rate_bp: 5000}}]\n"),
              AllOf(HasSubstr("partners[0].contract.rate_bp"), HasSubstr("line 2")));
  // Quoting does not make it another key; nested maps, lists of maps.
  EXPECT_THAT(error_of("name: x\n\"name\": y\n"), AllOf(HasSubstr("name"), HasSubstr("lines 1 and 2")));
  EXPECT_THAT(error_of("name: x\nattribution:\n  model: linear\n  lookback: 7d\n  model: last_touch\n"),
              AllOf(HasSubstr("attribution.model"), HasSubstr("lines 3 and 5")));
  EXPECT_THAT(error_of("name: x\nstate: {cache_mb: 1, cache_mb: 2}\n"), HasSubstr("state.cache_mb"));
  EXPECT_THAT(error_of("name: x\ncampaigns:\n  - {id: a}\n  - {id: b, currency: USD, currency: JPY}\n"),
              AllOf(HasSubstr("campaigns[1].currency"), HasSubstr("line 4")));
  EXPECT_THAT(error_of(std::string(kTwoPartners) +
                       "pools: [{id: q, campaign_id: c1, pool_bp: 1, members: [{partner_id: a, weight: 1, weight: 9}]}]\n"),
              HasSubstr("pools[0].members[0].weight"));
  EXPECT_THAT(error_of("name: x\noutputs: {dlq: a.dlq}\noutputs: {dlq: b.dlq}\n"),
              AllOf(HasSubstr("outputs"), HasSubstr("lines 2 and 3")));
  // The same key in two different maps is fine, and so is an anchor reused.
  EXPECT_NO_THROW(parse_topology("name: x\ncampaigns: [{id: a}, {id: b}]\n", "t"));
  EXPECT_NO_THROW(parse_topology("name: x\nattribution: &a {lookback: 7d}\n", "t"));
  // Nested aliases (2^40 paths through 40 lists) are walked once per node.
  std::string bomb = "name: x\nl0: &l0 [{k: 1}, {k: 2}]\n";
  for (int i = 1; i <= 40; ++i)
    bomb += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [*l" + std::to_string(i - 1) + ", *l" +
            std::to_string(i - 1) + "]\n";
  EXPECT_THAT(error_of(bomb), AllOf(HasSubstr("l0"), HasSubstr("unknown key")));
  EXPECT_THAT(error_of(bomb + "l7: 1\n"), AllOf(HasSubstr("l7"), HasSubstr("lines 9 and 43")));
}

// Issue 20 item 13: the name and every topic are Kafka topic names (1-249
// characters of a-z A-Z 0-9 . _ -, not "." or ".."), and so are the topics
// derived from the name (<name>.partner-balances is the longest).
TEST(TopologyLoader, NameAndTopicsAreValidKafkaTopicNames) {
  EXPECT_THAT(error_of("name: spring alliance\n"),
              AllOf(HasSubstr("topologies/x.yaml: name:"), HasSubstr("\"spring alliance\""),
                    HasSubstr("a-z, A-Z, 0-9"), HasSubstr("spring alliance.partner-balances"),
                    HasSubstr("name: spring-alliance")));
  EXPECT_THAT(error_of("name: \"spring/alliance\"\n"), HasSubstr("name: spring-alliance"));
  EXPECT_THAT(error_of("name: \"春\"\n"), HasSubstr("name:"));
  EXPECT_THAT(error_of("name: .\n"), HasSubstr("name:"));
  EXPECT_THAT(error_of("name: ..\n"), HasSubstr("name:"));
  EXPECT_THAT(error_of("name: " + std::string(233, 'a') + "\n"),
              AllOf(HasSubstr("name:"), HasSubstr("233 characters"), HasSubstr("at most 232")));
  const Topology longest = parse_topology("name: " + std::string(232, 'a') + "\n", "t");
  EXPECT_EQ(longest.outputs.balances.size(), 249u);
  EXPECT_EQ(parse_topology("name: Spring_Alliance.v2-eu\n", "t").inputs.payouts, "Spring_Alliance.v2-eu.payouts");

  EXPECT_THAT(error_of("name: x\noutputs: {dlq: \"bad topic\"}\n"),
              AllOf(HasSubstr("topologies/x.yaml: outputs.dlq:"), HasSubstr("\"bad topic\""),
                    HasSubstr("Kafka topic name"), HasSubstr("a-z, A-Z, 0-9")));
  EXPECT_THAT(error_of("name: x\ninputs: {orders: \"a/b\"}\n"), HasSubstr("inputs.orders:"));
  EXPECT_THAT(error_of("name: x\ninputs: {clicks: ..}\n"), HasSubstr("inputs.clicks:"));
  EXPECT_THAT(error_of("name: x\noutputs: {metrics: " + std::string(250, 'm') + "}\n"),
              AllOf(HasSubstr("outputs.metrics:"), HasSubstr("at most 249")));
  EXPECT_EQ(parse_topology("name: x\noutputs: {metrics: " + std::string(249, 'm') + "}\n", "t").outputs.metrics.size(),
            249u);
  // An output on the processor's own changelog or repartition topic.
  EXPECT_THAT(error_of("name: x\noutputs: {dlq: x.changelog}\n"),
              AllOf(HasSubstr("outputs.dlq"), HasSubstr("x.changelog"), HasSubstr("its own topic")));
  EXPECT_THAT(error_of("name: x\ninputs: {payouts: x.repartition}\n"),
              AllOf(HasSubstr("inputs.payouts"), HasSubstr("x.repartition")));
  // Kafka refuses topics whose names differ only in '.' and '_'.
  EXPECT_THAT(error_of("name: x\noutputs: {metrics: a.b, dlq: a_b}\n"),
              AllOf(HasSubstr("outputs.dlq"), HasSubstr("\"a_b\""), HasSubstr("outputs.metrics"),
                    HasSubstr("'.' and '_'")));
}

// The keys SPEC §7 added: parsed, validated and stored with their defaults.
TEST(TopologyLoader, NewKeysHaveDefaults) {
  const Topology t = parse_topology("name: spring\n", "t");
  EXPECT_EQ(t.emit, EmitMode::kRunning);
  EXPECT_EQ(t.replay_batch, 100'000);
  EXPECT_EQ(t.emit_interval, 1'000);
  EXPECT_EQ(t.settlement_period, SettlementPeriod::kDay);
  EXPECT_EQ(t.holding_period, 30 * kMsPerDay);
  EXPECT_EQ(t.state.cache_mb, 128);
  EXPECT_EQ(t.state.block_cache_mb, 128);
  EXPECT_EQ(t.state.write_buffer_mb, 64);
  EXPECT_EQ(t.inputs.payouts, "spring.payouts");
  EXPECT_EQ(t.outputs.balances, "spring.partner-balances");
  EXPECT_DOUBLE_EQ(t.clv.discount_rate, 0.10);
  EXPECT_EQ(t.clv.periods, 3);
  EXPECT_EQ(t.churn_after, 90 * kMsPerDay);
}

TEST(TopologyLoader, NewKeysAreParsed) {
  const Topology t = parse_topology(
      "name: x\nemit: final\nreplay_batch: 500\nemit_interval: 250ms\nsettlement_period: month\n"
      "holding_period: 0s\nstate: {cache_mb: 32, block_cache_mb: 16, write_buffer_mb: 8}\n"
      "inputs: {payouts: fin.payouts}\noutputs: {balances: fin.balances}\n"
      "clv: {discount_rate: 0.25, periods: 5}\nchurn_after: 60d\n",
      "t");
  EXPECT_EQ(t.emit, EmitMode::kFinal);
  EXPECT_EQ(t.replay_batch, 500);
  EXPECT_EQ(t.emit_interval, 250);
  EXPECT_EQ(t.settlement_period, SettlementPeriod::kMonth);
  EXPECT_EQ(t.holding_period, 0);
  EXPECT_EQ(t.state.cache_mb, 32);
  EXPECT_EQ(t.state.block_cache_mb, 16);
  EXPECT_EQ(t.state.write_buffer_mb, 8);
  EXPECT_EQ(t.inputs.payouts, "fin.payouts");
  EXPECT_EQ(t.outputs.balances, "fin.balances");
  EXPECT_DOUBLE_EQ(t.clv.discount_rate, 0.25);
  EXPECT_EQ(t.clv.periods, 5);
  EXPECT_EQ(t.churn_after, 60 * kMsPerDay);
  EXPECT_EQ(parse_topology("name: x\nsettlement_period: week\n", "t").settlement_period, SettlementPeriod::kWeek);
  EXPECT_EQ(parse_topology("name: x\nholding_period: 7d\n", "t").holding_period, 7 * kMsPerDay);
}

TEST(TopologyLoader, NewKeysAreValidated) {
  EXPECT_THAT(error_of("name: x\nemit: sometimes\n"),
              AllOf(HasSubstr("topologies/x.yaml"), HasSubstr("emit:"), HasSubstr("valid: running, final")));
  EXPECT_THAT(error_of("name: x\nreplay_batch: 0\n"), AllOf(HasSubstr("replay_batch"), HasSubstr("between 1 and")));
  EXPECT_THAT(error_of("name: x\nreplay_batch: many\n"), AllOf(HasSubstr("replay_batch"), HasSubstr("integer")));
  EXPECT_THAT(error_of("name: x\nemit_interval: 0s\n"), AllOf(HasSubstr("emit_interval"), HasSubstr("bad duration")));
  EXPECT_THAT(error_of("name: x\nsettlement_period: quarter\n"),
              AllOf(HasSubstr("settlement_period"), HasSubstr("valid: day, week, month")));
  EXPECT_THAT(error_of("name: x\nholding_period: -1d\n"),
              AllOf(HasSubstr("holding_period"), HasSubstr("0s, 250ms")));
  EXPECT_THAT(error_of("name: x\nholding_period: 0\n"), HasSubstr("holding_period"));
  EXPECT_THAT(error_of("name: x\nstate: {cache_mb: 0}\n"), AllOf(HasSubstr("state.cache_mb"), HasSubstr("between 1 and")));
  EXPECT_THAT(error_of("name: x\nstate: {block_cache_mb: -5}\n"), HasSubstr("state.block_cache_mb"));
  EXPECT_THAT(error_of("name: x\nstate: {write_buffer_mb: big}\n"), HasSubstr("state.write_buffer_mb"));
  EXPECT_THAT(error_of("name: x\nstate: {cache: 5}\n"), AllOf(HasSubstr("state.cache"), HasSubstr("unknown key")));
  EXPECT_THAT(error_of("name: x\ninputs: {payouts: \"\"}\n"), HasSubstr("inputs.payouts"));
  EXPECT_THAT(error_of("name: x\noutputs: {balances: x.dlq, dlq: x.dlq}\n"), HasSubstr("outputs.dlq"));
  EXPECT_THAT(error_of("name: x\nclv: {discount_rate: 1.5}\n"),
              AllOf(HasSubstr("clv.discount_rate"), HasSubstr("between 0 and 1")));
  EXPECT_THAT(error_of("name: x\nclv: {discount_rate: -0.1}\n"), HasSubstr("clv.discount_rate"));
  EXPECT_THAT(error_of("name: x\nclv: {discount_rate: .nan}\n"), HasSubstr("clv.discount_rate"));
  EXPECT_THAT(error_of("name: x\nclv: {discount_rate: ten}\n"),
              AllOf(HasSubstr("clv.discount_rate"), HasSubstr("must be a number")));
  EXPECT_THAT(error_of("name: x\nclv: {periods: 0}\n"), AllOf(HasSubstr("clv.periods"), HasSubstr("between 1 and")));
  EXPECT_THAT(error_of("name: x\nchurn_after: soon\n"), AllOf(HasSubstr("churn_after"), HasSubstr("bad duration")));
  EXPECT_THAT(error_of("name: x\nchurn_after: [1d]\n"), HasSubstr("churn_after"));
}

// Issue 16 item 12: every top-level key the loader accepts is documented.
TEST(TopologyDoc, DocumentsEveryTopLevelKey) {
  std::ifstream in(ALLIANCE_SOURCE_DIR "/docs/TOPOLOGY.md");
  ASSERT_TRUE(in) << "docs/TOPOLOGY.md is missing";
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  // A key is documented by a table row that starts with it: "| `name` | ...".
  std::set<std::string> rows;
  std::istringstream lines(doc);
  for (std::string line; std::getline(lines, line);) {
    const std::string open = "| `";
    if (line.rfind(open, 0) != 0) continue;
    const auto close = line.find("` |", open.size());
    if (close != std::string::npos) rows.insert(line.substr(open.size(), close - open.size()));
  }
  ASSERT_FALSE(topology_top_level_keys().empty());
  for (const auto& key : topology_top_level_keys()) EXPECT_EQ(rows.count(key), 1u) << "undocumented key: " << key;
  // The SPEC §7 example in the doc loads as it is.
  const auto start = doc.find("```yaml\n");
  ASSERT_NE(start, std::string::npos);
  const auto end = doc.find("```", start + 8);
  ASSERT_NE(end, std::string::npos);
  const Topology t = parse_topology(doc.substr(start + 8, end - start - 8), "docs/TOPOLOGY.md");
  EXPECT_EQ(t.settlement_period, SettlementPeriod::kMonth);
  EXPECT_EQ(t.inputs.payouts, "alliance.payouts");
}

TEST(TopologyLoader, UnreadableFile) {
  try {
    load_topology_file("/nonexistent/topology.yaml");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("/nonexistent/topology.yaml"));
  }
}

}  // namespace
}  // namespace alliance

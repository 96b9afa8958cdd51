// The dashboard's view model without Kafka or HTTP: upsert per key, the
// aggregates the page shows, bounds, and money text.
#include "alliance/dashboard/dashboard_model.h"
#include "alliance/dashboard/record_filters.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>

#include "alliance/codec/record_encoder.h"

namespace alliance::dashboard {
namespace {

constexpr std::int64_t kMin = 60'000;
constexpr std::int64_t kT0 = 1'700'000'040'000;  // a minute boundary

std::string metric(std::string_view dim, std::string_view key, std::int64_t start, std::string_view size,
                   std::string_view currency, std::int64_t clicks, std::int64_t users, std::string_view conversions,
                   std::string_view rate, std::int64_t revenue, std::int64_t watermark, std::string extra = "") {
  const std::int64_t end = size == "all" ? watermark : start + kMin;
  return "{\"dim\":\"" + std::string(dim) + "\",\"key\":\"" + std::string(key) + "\",\"window_start\":" +
         std::to_string(start) + ",\"window_end\":" + std::to_string(end) + ",\"window_size\":\"" + std::string(size) +
         "\",\"clicks\":" + std::to_string(clicks) + ",\"unique_users\":" + std::to_string(users) +
         ",\"referrals\":0,\"orders\":1,\"conversions\":\"" + std::string(conversions) + "\",\"conversion_rate\":\"" +
         std::string(rate) + "\",\"revenue_minor\":" + std::to_string(revenue) +
         ",\"refunds_minor\":0,\"currency\":\"" + std::string(currency) + "\",\"late_events\":0,\"final\":false" +
         ",\"watermark\":" + std::to_string(watermark) + extra + ",\"emitted_at\":1}";
}

std::string metric_key(std::string_view dim, std::string_view key, std::int64_t start, std::string_view size,
                       std::string_view currency) {
  return std::string(dim) + '|' + std::string(key) + '|' + std::to_string(start) + '|' + std::string(size) + '|' +
         std::string(currency);
}

std::string statement(std::string_view partner, std::string_view period, std::string_view currency,
                      std::int64_t accrued, std::int64_t reversed, std::string_view commission, bool final) {
  return "{\"partner_id\":\"" + std::string(partner) + "\",\"period\":\"" + std::string(period) + "\",\"currency\":\"" +
         std::string(currency) + "\",\"revision\":1,\"accrued_minor\":" + std::to_string(accrued) +
         ",\"reversed_minor\":" + std::to_string(reversed) + ",\"net_minor\":" + std::to_string(accrued + reversed) +
         ",\"commission_minor\":" + std::string(commission) + ",\"pool_share_minor\":0,\"records\":2,\"digest\":null" +
         ",\"final\":" + (final ? "true" : "false") + ",\"emitted_at\":1}";
}

/// The view parsed back, for assertions.
class View {
 public:
  explicit View(const std::string& json) : json_(json) { doc_ = parser_.parse(json_); }
  simdjson::dom::element operator[](std::string_view k) const { return doc_[k]; }
  simdjson::dom::element doc() const { return doc_; }

 private:
  simdjson::padded_string json_;
  simdjson::dom::parser parser_;
  simdjson::dom::element doc_;
};

/// The element of array `a` whose field `field` is `value`.
simdjson::dom::element find(simdjson::dom::array a, std::string_view field, std::string_view value) {
  for (auto e : a)
    if (std::string_view(e[field]) == value) return e;
  ADD_FAILURE() << "no element with " << field << " = " << value;
  return {};
}

std::string text(simdjson::dom::element e) { return std::string(std::string_view(e["text"])); }

ModelOptions options() {
  ModelOptions o;
  o.name = "spring-alliance";
  o.default_currency = "CNY";
  o.series_window_ms = kMin;
  o.series_points = 5;
  o.retain_ms = 10 * kMin;
  return o;
}

TEST(DashboardMoney, UsesTheCurrencysDigitsAndGroupsThousands) {
  EXPECT_EQ(money_text(123456, "CNY"), "1,234.56");
  EXPECT_EQ(money_text(-5, "CNY"), "-0.05");
  EXPECT_EQ(money_text(0, "CNY"), "0.00");
  EXPECT_EQ(money_text(1000, "JPY"), "1,000");
  EXPECT_EQ(money_text(-5, "KWD"), "-0.005");
  EXPECT_EQ(money_text(1234567891, "KWD"), "1,234,567.891");
  EXPECT_EQ(money_text(100000000, "USD"), "1,000,000.00");
  EXPECT_EQ(money_text(INT64_MIN, "USD"), "-92,233,720,368,547,758.08");
  EXPECT_EQ(money_text(150, "XXQ"), "1.50");  // unknown codes: 2 digits
}

TEST(DashboardMoney, PercentMovesThePointWithoutRounding) {
  EXPECT_EQ(percent_text("0.083333"), "8.3333 %");
  EXPECT_EQ(percent_text("1.000000"), "100.0000 %");
  EXPECT_EQ(percent_text("0.000000"), "0.0000 %");
  EXPECT_EQ(percent_text("-0.500000"), "-50.0000 %");
  EXPECT_EQ(percent_text("12.5"), "1250 %");
  EXPECT_EQ(percent_text("1"), "100 %");
  EXPECT_EQ(percent_text("n/a"), "n/a");
  EXPECT_EQ(percent_text("1."), "1.");
  EXPECT_EQ(utc_text(kT0), "2023-11-14 22:14:00 UTC");
}

TEST(DashboardModelTest, KeepsTheLatestRecordPerKey) {
  DashboardModel m(options());
  const auto k = metric_key("source", "social", kT0, "1m", "CNY");
  ASSERT_TRUE(m.ingest(Feed::kMetrics, "t", 0, 0, k, metric("source", "social", kT0, "1m", "CNY", 3, 2, "0.000000", "0.000000", 0, kT0 + 5000)));
  ASSERT_TRUE(m.ingest(Feed::kMetrics, "t", 0, 1, k, metric("source", "social", kT0, "1m", "CNY", 7, 4, "1.000000", "0.250000", 9900, kT0 + 9000)));
  EXPECT_EQ(m.kept(Feed::kMetrics), 1u);
  View v(m.view_json());
  auto src = find(v["sources"], "key", "social");
  EXPECT_EQ(std::int64_t(src["clicks"]), 7);
  EXPECT_EQ(std::int64_t(src["unique_users"]), 4);
  EXPECT_EQ(std::string_view(src["conversion_rate_text"]), "25.0000 %");
  EXPECT_EQ(std::string_view(src["conversions"]), "1.000000");
  EXPECT_EQ(std::string_view(src["conversions_text"]), "1");
  EXPECT_EQ(std::string_view(src["revenue"].at(0)["text"]), "99.00");
  EXPECT_EQ(std::int64_t(v["watermark"]), kT0 + 9000);
  EXPECT_EQ(std::string_view(v["watermark_text"]), "2023-11-14 22:14:09 UTC");
  EXPECT_EQ(std::int64_t(find(v["positions"], "topic", "t")["next_offset"]), 2);
  // The records API returns the record exactly as published.
  EXPECT_NE(m.records_json(Feed::kMetrics, {{"dim", "source"}}).find("\"clicks\":7"), std::string::npos);
  EXPECT_EQ(m.records_json(Feed::kMetrics, {{"dim", "campaign"}}), "[]");
}

TEST(DashboardModelTest, CountsComeFromTheDefaultCurrencyAndMoneyPerCurrency) {
  DashboardModel m(options());
  m.ingest(Feed::kMetrics, "t", 0, 0, metric_key("source", "search", kT0, "1m", "USD"),
           metric("source", "search", kT0, "1m", "USD", 5, 5, "1.000000", "0.200000", 1250, kT0));
  m.ingest(Feed::kMetrics, "t", 0, 1, metric_key("source", "search", kT0, "1m", "CNY"),
           metric("source", "search", kT0, "1m", "CNY", 5, 5, "1.000000", "0.200000", 0, kT0));
  View v(m.view_json());
  auto src = find(v["sources"], "key", "search");
  EXPECT_EQ(std::int64_t(src["clicks"]), 5);
  simdjson::dom::array revenue = src["revenue"];
  ASSERT_EQ(revenue.size(), 2u);
  EXPECT_EQ(std::string_view(find(revenue, "currency", "USD")["text"]), "12.50");
  EXPECT_EQ(std::string_view(find(revenue, "currency", "CNY")["text"]), "0.00");
}

TEST(DashboardModelTest, SeriesCoverTheLastWindowsWithZerosWhereNothingHappened) {
  DashboardModel m(options());
  const std::int64_t w = kT0 + 4 * kMin;
  m.ingest(Feed::kMetrics, "t", 0, 0, "", metric("source", "social", kT0 + kMin, "1m", "CNY", 4, 2, "0.500000", "0.250000", 0, w));
  m.ingest(Feed::kMetrics, "t", 0, 1, "", metric("source", "social", kT0 + 3 * kMin, "1m", "CNY", 6, 3, "1.000000", "0.333333", 0, w));
  m.ingest(Feed::kMetrics, "t", 0, 2, "", metric("source", "email", kT0 + 4 * kMin, "1m", "CNY", 1, 1, "0.000000", "0.000000", 0, w));
  m.ingest(Feed::kMetrics, "t", 0, 3, "", metric("source", "email", kT0 + 4 * kMin, "1h", "CNY", 99, 9, "0.000000", "0.000000", 0, w));
  m.ingest(Feed::kMetrics, "t", 0, 4, "", metric("source", "email", kT0 - 50 * kMin, "1h", "CNY", 9, 9, "0.000000", "0.000000", 0, w));
  View v(m.view_json());
  simdjson::dom::array starts = v["series"]["starts"];
  // 5 points wanted, but none before the oldest window kept.
  ASSERT_EQ(starts.size(), 4u);
  EXPECT_EQ(std::int64_t(starts.at(0)), kT0 + kMin);
  EXPECT_EQ(std::int64_t(starts.at(3)), kT0 + 4 * kMin);
  auto social = find(v["series"]["sources"], "key", "social");
  std::vector<std::int64_t> clicks;
  for (auto c : simdjson::dom::array(social["clicks"])) clicks.push_back(std::int64_t(c));
  EXPECT_EQ(clicks, (std::vector<std::int64_t>{4, 0, 6, 0}));
  EXPECT_DOUBLE_EQ(double(social["conversion_rate"].at(2)), 0.333333);
  auto email = find(v["series"]["sources"], "key", "email");
  EXPECT_EQ(std::int64_t(email["clicks"].at(3)), 1);  // the 1m window, not the 1h one
  // The table: each source's newest window.
  EXPECT_EQ(std::int64_t(find(v["sources"], "key", "social")["window_start"]), kT0 + 3 * kMin);
  EXPECT_EQ(std::string_view(v["series"]["window_size"]), "1m");
}

TEST(DashboardModelTest, DropsWindowsOlderThanTheRetentionBehindTheWatermark) {
  DashboardModel m(options());  // retain 10 minutes
  m.ingest(Feed::kMetrics, "t", 0, 0, "", metric("source", "social", kT0, "1m", "CNY", 1, 1, "0.000000", "0.000000", 0, kT0 + kMin));
  m.ingest(Feed::kMetrics, "t", 0, 1, "", metric("campaign", "cmp", 0, "all", "CNY", 1, 1, "0.000000", "0.000000", 0, kT0 + kMin));
  EXPECT_EQ(m.kept(Feed::kMetrics), 2u);
  const std::int64_t later = kT0 + 30 * kMin;
  m.ingest(Feed::kMetrics, "t", 0, 2, "", metric("source", "social", later, "1m", "CNY", 2, 1, "0.000000", "0.000000", 0, later));
  EXPECT_EQ(m.kept(Feed::kMetrics), 2u);  // the old window went, the "all" record stays
  EXPECT_EQ(m.records_json(Feed::kMetrics, {{"window_size", "all"}}).find("\"key\":\"cmp\"") != std::string::npos, true);
  // A record of a window already past the retention is not kept.
  m.ingest(Feed::kMetrics, "t", 0, 3, "", metric("source", "social", kT0 + kMin, "1m", "CNY", 2, 1, "0.000000", "0.000000", 0, kT0 + 2 * kMin));
  EXPECT_EQ(m.kept(Feed::kMetrics), 2u);
  EXPECT_EQ(*m.watermark(), later);  // the watermark never goes back
  // A bounded run ends with the end-of-input watermark: nothing is dropped for it.
  m.ingest(Feed::kMetrics, "t", 0, 4, "", metric("source", "social", later, "1m", "CNY", 3, 1, "0.000000", "0.000000", 0, INT64_MAX));
  EXPECT_EQ(m.kept(Feed::kMetrics), 2u);
  EXPECT_EQ(*m.watermark(), later);
  View v(m.view_json());
  EXPECT_EQ(std::string_view(v["watermark_text"]), utc_text(later) + " (end of input: every window final)");
  EXPECT_TRUE(bool(v["end_of_input"]));
}

TEST(DashboardModelTest, AllRowsShowTheFieldsOfAllRecordsAndCampaignsTheirCost) {
  // "all" records as the writer publishes them (SPEC §5.2).
  auto all = [](std::string dim, std::string key, std::optional<std::int64_t> cost, std::int64_t buyers,
                std::int64_t repeat, std::int64_t churned, std::optional<std::int64_t> ltv,
                std::optional<std::int64_t> clv) {
    MetricRecord r;
    r.dim = std::move(dim);
    r.key = std::move(key);
    r.window_end = kT0;
    r.clicks = 10;
    r.unique_users = 8;
    r.orders = 3;
    r.conversions_micros = 3'000'000;
    r.revenue_minor = 1'200'000;
    r.currency = "CNY";
    r.watermark = kT0;
    r.buyers = buyers;
    r.repeat_buyers = repeat;
    r.churned_buyers = churned;
    r.cost_minor = cost;
    r.ltv_minor = ltv;
    r.clv_minor = clv;
    return stamp_emitted_at(encode_record({"", r}), 1);
  };
  DashboardModel m(options());
  ASSERT_TRUE(m.ingest(Feed::kMetrics, "t", 0, 0, "", all("campaign", "cmp-spring", 10'000'000, 3, 1, 0, std::nullopt, std::nullopt)));
  ASSERT_TRUE(m.ingest(Feed::kMetrics, "t", 0, 1, "", all("campaign", "cmp-free", std::nullopt, 30, 10, 3, 248'685, 620'000)));
  ASSERT_TRUE(m.ingest(Feed::kMetrics, "t", 0, 2, "", all("source", "social", std::nullopt, 0, 0, 0, std::nullopt, std::nullopt)));
  View v(m.view_json());
  auto spring = find(v["campaigns"], "key", "cmp-spring");
  EXPECT_EQ(text(spring["revenue"]), "12,000.00");
  EXPECT_EQ(text(spring["cost_minor"]), "100,000.00");
  EXPECT_EQ(text(spring["net_benefit_minor"]), "-88,000.00");
  EXPECT_EQ(text(spring["benefit_cost_ratio"]), "-0.880000");
  EXPECT_EQ(text(spring["repeat_rate"]), "33.3333 %");
  EXPECT_EQ(text(spring["buyers"]), "3");
  EXPECT_EQ(text(spring["loyalty"]), "1.000000");
  EXPECT_TRUE(spring["ltv_minor"].is_null());
  auto free = find(v["campaigns"], "key", "cmp-free");
  EXPECT_TRUE(free["cost_minor"].is_null());
  EXPECT_TRUE(free["net_benefit_minor"].is_null());
  EXPECT_TRUE(free["benefit_cost_ratio"].is_null());
  EXPECT_EQ(text(free["ltv_minor"]), "2,486.85");
  EXPECT_EQ(text(free["clv_minor"]), "6,200.00");
  EXPECT_EQ(text(free["churn_rate"]), "10.0000 %");
  EXPECT_EQ(text(free["loyalty"]), "0.538462");
  // Sources have no cost: their rows have no cost fields.
  auto social = find(v["source_totals"], "key", "social");
  EXPECT_EQ(social["cost_minor"].error(), simdjson::NO_SUCH_FIELD);
  EXPECT_EQ(text(social["repeat_rate"]), "0.0000 %");
  EXPECT_TRUE(social["loyalty"].is_null());
}

TEST(DashboardModelTest, PartnerTotalsSumTheLatestStatementOfEachPeriod) {
  DashboardModel m(options());
  m.ingest(Feed::kStatements, "s", 0, 0, "p-books|2024-05-01|CNY", statement("p-books", "2024-05-01", "CNY", 10000, 0, "1000", false));
  // The same key again (the period grew): replaces, never adds.
  m.ingest(Feed::kStatements, "s", 0, 1, "p-books|2024-05-01|CNY", statement("p-books", "2024-05-01", "CNY", 25000, -5000, "2000", true));
  m.ingest(Feed::kStatements, "s", 0, 2, "p-books|2024-05-02|CNY", statement("p-books", "2024-05-02", "CNY", 100, 0, "10", false));
  m.ingest(Feed::kStatements, "s", 0, 3, "p-books|2024-05-02|JPY", statement("p-books", "2024-05-02", "JPY", 1500, 0, "null", false));
  View v(m.view_json());
  simdjson::dom::array partners = v["partners"];
  ASSERT_EQ(partners.size(), 2u);
  auto cny = partners.at(0);
  EXPECT_EQ(std::string_view(cny["currency"]), "CNY");
  EXPECT_EQ(text(cny["accrued"]), "251.00");
  EXPECT_EQ(text(cny["reversed"]), "-50.00");
  EXPECT_EQ(text(cny["net"]), "201.00");
  EXPECT_EQ(text(cny["commission"]), "20.10");
  EXPECT_EQ(std::int64_t(cny["periods"]), 2);
  EXPECT_EQ(std::int64_t(cny["open_periods"]), 1);
  EXPECT_EQ(std::string_view(cny["latest_period"]), "2024-05-02");
  auto jpy = partners.at(1);
  EXPECT_EQ(text(jpy["accrued"]), "1,500");
  EXPECT_TRUE(jpy["commission"].is_null());  // no period had a commission
  EXPECT_EQ(m.partners_json().find("\"partner_id\":\"p-books\""), 2u);
  EXPECT_EQ(simdjson::dom::array(v["balances"]).size(), 0u);
}

TEST(DashboardModelTest, BalancesAreKeptPerPartnerAndCurrency) {
  DashboardModel m(options());
  const std::string b1 = R"({"partner_id":"p-bank","currency":"CNY","accrued_minor":10000,"reversed_minor":-1000,"pending_minor":4000,"payable_minor":3000,"paid_minor":2000,"last_payout_id":null,"watermark":5})";
  const std::string b2 = R"({"partner_id":"p-bank","currency":"CNY","accrued_minor":10000,"reversed_minor":-1000,"pending_minor":4000,"payable_minor":-500,"paid_minor":5500,"last_payout_id":"po-7","watermark":6})";
  ASSERT_TRUE(m.ingest(Feed::kBalances, "b", 0, 0, "p-bank|CNY", b1));
  ASSERT_TRUE(m.ingest(Feed::kBalances, "b", 0, 1, "p-bank|CNY", b2));
  View v(m.view_json());
  simdjson::dom::array balances = v["balances"];
  ASSERT_EQ(balances.size(), 1u);
  EXPECT_EQ(text(balances.at(0)["payable"]), "-5.00");
  EXPECT_EQ(text(balances.at(0)["paid"]), "55.00");
  EXPECT_EQ(std::string_view(balances.at(0)["last_payout_id"]), "po-7");
}

// Partner risk (issue 23): the flagged partner-periods of the latest
// records, with their signals and the partner's held money; a flag that
// cleared leaves the list; /api/risk serves the records.
TEST(DashboardModelTest, FlaggedPartnersShowTheirSignalsAndHeldMoney) {
  DashboardModel m(options());
  auto risk = [](std::string_view partner, std::string_view period, std::string_view flags, bool held, int revision) {
    return "{\"partner_id\":\"" + std::string(partner) + "\",\"period\":\"" + std::string(period) +
           "\",\"period_start\":0,\"period_end\":1,\"credited_orders\":40,\"fast_orders\":30,"
           "\"fast_share\":\"0.750000\",\"clicks\":900,\"click_users\":30,\"clicks_per_user\":\"30.000000\","
           "\"reversed_orders\":2,\"reversal_rate\":\"0.050000\",\"flags\":[" + std::string(flags) + "],\"held\":" +
           (held ? "true" : "false") + ",\"released\":false,\"final\":true,\"revision\":" + std::to_string(revision) +
           ",\"watermark\":5,\"emitted_at\":1}";
  };
  ASSERT_TRUE(m.ingest(Feed::kRisk, "r", 0, 0, "p-bank|2026-11", risk("p-bank", "2026-11", "\"click_injection\",\"click_spam\"", true, 1)));
  ASSERT_TRUE(m.ingest(Feed::kRisk, "r", 0, 1, "p-books|2026-11", risk("p-books", "2026-11", "\"refund_abuse\"", false, 1)));
  ASSERT_TRUE(m.ingest(Feed::kRisk, "r", 0, 2, "p-books|2026-11", risk("p-books", "2026-11", "", false, 2)));  // cleared
  ASSERT_TRUE(m.ingest(Feed::kBalances, "b", 0, 0, "p-bank|CNY",
                       R"({"partner_id":"p-bank","currency":"CNY","accrued_minor":10000,"reversed_minor":0,"pending_minor":8000,"held_minor":8000,"payable_minor":2000,"paid_minor":0,"last_payout_id":null,"watermark":5})"));
  View v(m.view_json());
  simdjson::dom::array flagged = v["flagged"];
  ASSERT_EQ(flagged.size(), 1u);
  EXPECT_EQ(std::string_view(flagged.at(0)["partner_id"]), "p-bank");
  EXPECT_EQ(std::string_view(flagged.at(0)["flags"]), "click_injection, click_spam");
  EXPECT_EQ(std::string_view(flagged.at(0)["fast_share"]), "0.750000");
  EXPECT_EQ(std::string_view(flagged.at(0)["clicks_per_user"]), "30.000000");
  EXPECT_TRUE(bool(flagged.at(0)["held"]));
  EXPECT_EQ(std::string_view(flagged.at(0)["held_money"]), "80.00 CNY");
  simdjson::dom::array balances = v["balances"];
  EXPECT_EQ(text(balances.at(0)["held"]), "80.00");
  EXPECT_EQ(m.kept(Feed::kRisk), 2u);
  EXPECT_NE(m.records_json(Feed::kRisk, {{"partner_id", "p-books"}}).find("\"revision\":2"), std::string::npos);
}

TEST(DashboardModelTest, DeadLettersCountOncePerKeyAndByReason) {
  ModelOptions o = options();
  o.recent_dead_letters = 2;
  DashboardModel m(o);
  auto dl = [](std::string_view reason) { return "{\"reason\":\"" + std::string(reason) + "\",\"detail\":\"x\"}"; };
  m.ingest(Feed::kDlq, "d", 0, 0, "alliance.orders:0:5", dl("bad_amount"));
  m.ingest(Feed::kDlq, "d", 0, 1, "alliance.orders:0:5", dl("bad_amount"));  // redelivered
  m.ingest(Feed::kDlq, "d", 0, 2, "alliance.orders:0:9", dl("bad_amount"));
  m.ingest(Feed::kDlq, "d", 0, 3, "alliance.clicks:0:1", dl("malformed_json"));
  View v(m.view_json());
  EXPECT_EQ(std::int64_t(v["dead_letters"]["total"]), 3);
  auto first = v["dead_letters"]["by_reason"].at(0);
  EXPECT_EQ(std::string_view(first["reason"]), "bad_amount");
  EXPECT_EQ(std::int64_t(first["count"]), 2);
  EXPECT_EQ(m.kept(Feed::kDlq), 2u);  // the newest two in full
}

TEST(DashboardModelTest, UnreadableRecordsAreCountedAndChangeNothing) {
  DashboardModel m(options());
  EXPECT_FALSE(m.ingest(Feed::kMetrics, "t", 0, 0, "", "not json"));
  EXPECT_FALSE(m.ingest(Feed::kStatements, "s", 0, 0, "", R"({"partner_id":"p"})"));
  EXPECT_FALSE(m.ingest(Feed::kMetrics, "t", 0, 1, "", "[1,2]"));
  EXPECT_EQ(m.kept(Feed::kMetrics), 0u);
  EXPECT_FALSE(m.watermark().has_value());
  View s(m.status_json());
  EXPECT_EQ(std::int64_t(s["records"]["metrics"]["unreadable"]), 2);
  EXPECT_EQ(std::int64_t(s["records"]["metrics"]["read"]), 2);
  View v(m.view_json());
  EXPECT_TRUE(v["watermark"].is_null());
  EXPECT_EQ(simdjson::dom::array(v["series"]["starts"]).size(), 0u);
}

TEST(DashboardModelTest, VersionGrowsWithEveryChange) {
  DashboardModel m(options());
  EXPECT_EQ(m.version(), 0u);
  m.set_topic_state(Feed::kBalances, "alliance.partner-balances", false);
  const auto v1 = m.version();
  m.set_topic_state(Feed::kBalances, "alliance.partner-balances", false);  // no change
  EXPECT_EQ(m.version(), v1);
  m.set_source_error("broker down");
  EXPECT_GT(m.version(), v1);
  View v(m.view_json());
  EXPECT_EQ(std::string_view(v["source_error"]), "broker down");
  EXPECT_FALSE(bool(find(v["topics"], "feed", "balances")["present"]));
}

// Issue 20 item 12: a filter is applied as given, whatever its length, or refused.
TEST(RecordFilters, ReadsEveryValueInFullSoALongFilterMatchesNothing) {
  DashboardModel m({});
  m.ingest(Feed::kStatements, "s", 0, 0, "p-books|2024-05-01|CNY", statement("p-books", "2024-05-01", "CNY", 100, 0, "10", false));
  for (const std::size_t n : {300, 511, 512, 600, 5000}) {
    const auto f = parse_record_filters(Feed::kStatements, "partner_id=" + std::string(n, 'p'));
    ASSERT_EQ(f.error, "");
    EXPECT_EQ(f.filters.at("partner_id").size(), n);
    EXPECT_EQ(m.records_json(Feed::kStatements, f.filters), "[]") << n;
  }
  const auto f = parse_record_filters(Feed::kStatements, "partner_id=p-books&currency=CNY&period=2024-05-01");
  EXPECT_NE(m.records_json(Feed::kStatements, f.filters), "[]");
  EXPECT_EQ(parse_record_filters(Feed::kMetrics, "key=a+b%2Fc%26&dim=").filters,
            (std::map<std::string, std::string>{{"dim", ""}, {"key", "a b/c&"}}));
  EXPECT_TRUE(parse_record_filters(Feed::kDlq, "").filters.empty());
  EXPECT_EQ(parse_record_filters(Feed::kDlq, "&&").error, "");
}

TEST(RecordFilters, RefusesWhatAFeedDoesNotFilterOnRepeatsAndBadEscapes) {
  EXPECT_EQ(parse_record_filters(Feed::kBalances, "period=2024-05").error,
            "/api/balances has no filter 'period' (its filters: partner_id, currency)");
  EXPECT_EQ(parse_record_filters(Feed::kDlq, "partner_id=x").error, "/api/dlq has no filter 'partner_id' (its filters: none)");
  EXPECT_NE(parse_record_filters(Feed::kStatements, "Partner_ID=x").error, "");  // names are case-sensitive
  EXPECT_EQ(parse_record_filters(Feed::kStatements, "partner_id=a&partner_id=b").error, "filter 'partner_id' given twice");
  for (const char* bad : {"key=%zz", "key=%4", "key=abc%", "ke%y=1"})
    EXPECT_EQ(parse_record_filters(Feed::kMetrics, bad).error, "malformed %-escape in the query string") << bad;
  EXPECT_TRUE(parse_record_filters(Feed::kMetrics, "key=%zz").filters.empty());
}

}  // namespace
}  // namespace alliance::dashboard

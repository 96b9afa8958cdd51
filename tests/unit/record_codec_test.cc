// The one writer and the one reader of our output records (SPEC §5):
// encode(decode(encode(r))) == encode(r) byte for byte for every kind,
// edge values included, and what the reader refuses.
#include <gtest/gtest.h>

#include <climits>
#include <string>

#include "alliance/codec/record_decoder.h"
#include "alliance/codec/record_encoder.h"

namespace alliance {
namespace {

// Free text with everything the writer escapes, raw UTF-8 and a NUL.
const std::string kOddId = std::string("p-\"q\" \\ / \n\r\t \x01\x1f é 日本 🙂 ") + '\0' + "end";

void expect_round_trip(const OutputRecord& r) {
  const std::string once = encode_record(r);
  const auto back = decode_record(output_kind(r), once);
  ASSERT_TRUE(back.has_value()) << once;
  EXPECT_EQ(output_kind(*back), output_kind(r));
  EXPECT_EQ(encode_record(*back), once);
  // As published: emitted_at is skipped.
  const auto published = decode_record(output_kind(r), stamp_emitted_at(once, 1'733'000'000'123));
  ASSERT_TRUE(published.has_value());
  EXPECT_EQ(encode_record(*published), once);
}

SettlementRecord settlement() {
  SettlementRecord s;
  s.record_id = "o-1:accrual:1:p-books";
  s.order_id = "o-1";
  s.user_id = "u-1";
  s.partner_id = "p-books";
  s.campaign_id = "cmp";
  s.model = "linear";
  s.weight_micros = 333'333;
  s.attributed_minor = 12'345;
  s.commission_minor = 1'234;
  s.currency = "CNY";
  s.event_ts = 1'700'000'000'000;
  s.period = "2023-11-14";
  s.contract_id = "c-1";
  s.event_id = "e-1";
  s.touchpoint_ids = {"t-1", "t-2"};
  return s;
}

MetricRecord metric(DurationMs size, std::string dim) {
  MetricRecord m;
  m.dim = std::move(dim);
  m.key = "social";
  m.window_start = size == 0 ? 0 : 1'700'000'040'000;
  m.window_end = m.window_start + (size == 0 ? 1'700'000'099'000 : size);
  m.window_size = size;
  m.clicks = 10;
  m.unique_users = 8;
  m.referrals = 2;
  m.orders = 3;
  m.conversions_micros = 2'500'000;
  m.revenue_minor = 1'200'000;
  m.refunds_minor = -100;
  m.currency = "CNY";
  m.late_events = 1;
  m.final = true;
  m.watermark = 1'700'000'100'000;
  if (size == 0) {
    m.buyers = 3;
    m.repeat_buyers = 1;
    m.churned_buyers = 1;
    m.ltv_minor = 248'685;
    m.clv_minor = 620'000;
    m.cost_minor = 10'000'000;
  }
  return m;
}

StatementRecord statement() {
  StatementRecord s;
  s.partner_id = "p-books";
  s.period = "2024-05";
  s.currency = "JPY";
  s.revision = 2;
  s.accrued_minor = 25'000;
  s.reversed_minor = -5'000;
  s.net_minor = 20'000;
  s.commission_minor = 2'000;
  s.pool_share_minor = 7;
  s.records = 4;
  s.digest = "ab12";
  s.period_start = 1'714'521'600'000;
  s.period_end = 1'717'200'000'000;
  s.contract_id = "c-1";
  s.rate_bp = 1'000;
  s.final = true;
  return s;
}

BalanceRecord balance() {
  BalanceRecord b;
  b.partner_id = "p-bank";
  b.currency = "CNY";
  b.accrued_minor = 10'000;
  b.reversed_minor = -1'000;
  b.pending_minor = 4'000;
  b.payable_minor = 3'000;
  b.paid_minor = 2'000;
  b.last_payout_id = "po-7";
  b.watermark = 5;
  return b;
}

TEST(JsonString, EscapesQuotesBackslashesAndControlBytesAndKeepsTheRest) {
  std::string out = "x";
  append_json_string(out, std::string("a\"b\\c\nd\re\tf\x01g\x1fh\x7f\xc3\xa9", 18) + std::string(1, '\0') + "end");
  EXPECT_EQ(out, "x\"a\\\"b\\\\c\\nd\\re\\tf\\u0001g\\u001fh\x7f\xc3\xa9\\u0000end\"");
  out.clear();
  append_json_string(out, "");
  EXPECT_EQ(out, "\"\"");
  out.clear();
  append_json_string(out, "plain");
  EXPECT_EQ(out, "\"plain\"");
}

TEST(RecordCodec, SettlementsRoundTrip) {
  expect_round_trip({"k", settlement()});
  SettlementRecord s = settlement();
  s.reversal = true;
  s.attributed_minor = INT64_MIN;
  s.commission_minor = std::nullopt;
  s.campaign_id = std::nullopt;
  s.contract_id = std::nullopt;
  s.touchpoint_ids.clear();
  s.weight_micros = INT64_MIN;
  s.event_ts = INT64_MIN;
  expect_round_trip({"", s});
  s.attributed_minor = INT64_MAX;
  s.commission_minor = INT64_MIN;
  s.weight_micros = INT64_MAX;
  s.event_ts = INT64_MAX;
  s.partner_id = kOddId;
  s.touchpoint_ids = {kOddId, "", "t"};
  expect_round_trip({"", s});
  const auto back = decode_record(OutputKind::kSettlements, encode_record({"", s}));
  ASSERT_TRUE(back.has_value());
  const auto& typed = std::get<SettlementRecord>(back->body);
  EXPECT_EQ(typed.partner_id, kOddId);
  EXPECT_TRUE(typed.reversal);
  EXPECT_EQ(typed.weight_micros, INT64_MAX);
  EXPECT_EQ(typed.touchpoint_ids.size(), 3u);
  EXPECT_EQ(typed.commission_minor, INT64_MIN);
}

TEST(RecordCodec, MetricsRoundTrip) {
  expect_round_trip({"", metric(60'000, "source")});
  expect_round_trip({"", metric(3'600'000, "partner")});
  expect_round_trip({"", metric(250, "source")});  // "250ms"
  expect_round_trip({"", metric(0, "source")});
  expect_round_trip({"", metric(0, "campaign")});
  MetricRecord m = metric(0, "campaign");
  m.cost_minor = 0;  // a ratio of null
  m.ltv_minor = std::nullopt;
  m.clv_minor = std::nullopt;
  m.buyers = 0;
  m.repeat_buyers = 0;
  m.churned_buyers = 0;  // loyalty null
  m.unique_users = 0;
  m.currency = std::nullopt;
  m.key = kOddId;
  expect_round_trip({"", m});
  m.cost_minor = std::nullopt;
  m.revenue_minor = INT64_MIN;
  m.refunds_minor = INT64_MAX;
  m.conversions_micros = INT64_MIN;
  m.clicks = INT64_MAX;
  m.window_start = INT64_MIN;
  m.watermark = INT64_MAX;
  expect_round_trip({"", m});
  m = metric(86'400'000, "campaign");
  m.conversions_micros = INT64_MAX;
  m.unique_users = 1;
  expect_round_trip({"", m});
  const auto back = decode_record(OutputKind::kMetrics, encode_record({"", metric(0, "campaign")}));
  ASSERT_TRUE(back.has_value());
  const auto& typed = std::get<MetricRecord>(back->body);
  EXPECT_EQ(typed.window_size, 0);
  EXPECT_EQ(typed.conversions_micros, 2'500'000);
  EXPECT_EQ(typed.cost_minor, 10'000'000);
  EXPECT_EQ(metric_conversion_rate(typed), "0.312500");
}

TEST(RecordCodec, StatementsRoundTrip) {
  expect_round_trip({"", statement()});
  StatementRecord s = statement();
  s.final = false;  // no digest
  s.digest.clear();
  s.commission_minor = std::nullopt;
  s.contract_id = std::nullopt;
  s.rate_bp = std::nullopt;
  s.partner_id = kOddId;
  s.accrued_minor = INT64_MAX;
  s.reversed_minor = INT64_MIN;
  s.net_minor = -1;
  s.revision = INT64_MAX;
  expect_round_trip({"", s});
}

TEST(RecordCodec, BalancesRoundTrip) {
  expect_round_trip({"", balance()});
  BalanceRecord b = balance();
  b.last_payout_id.clear();  // null
  b.partner_id = kOddId;
  b.accrued_minor = INT64_MAX;
  b.reversed_minor = INT64_MIN;
  b.payable_minor = INT64_MIN;
  b.paid_minor = INT64_MAX;
  b.watermark = INT64_MAX;
  expect_round_trip({"", b});
}

TEST(RecordCodec, DeadLettersRoundTripWithTheirBytes) {
  std::string every_byte;
  for (int c = 0; c < 256; ++c) every_byte.push_back(static_cast<char>(c));
  for (const std::string& payload : {std::string(), std::string("a"), std::string("ab"), std::string("abc"), every_byte,
                                     std::string(kDeadLetterPayloadLimit + 5, 'x')}) {
    DeadLetter d("missing_field:amount_minor", "detail " + kOddId, payload, SourcePosition{"alliance.orders", 3, INT64_MAX});
    expect_round_trip({"", d});  // bound on the way out
    bound_payload(d);
    const auto back = decode_record(OutputKind::kDlq, encode_record({"", d}));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(std::get<DeadLetter>(back->body).payload, d.payload);
    EXPECT_EQ(std::get<DeadLetter>(back->body).payload_bytes, d.payload_bytes);
  }
}

TEST(RecordCodec, RefusesWhatIsNotARecordOfTheKind) {
  const std::string b = encode_record({"", balance()});
  EXPECT_FALSE(decode_record(OutputKind::kBalances, "not json"));
  EXPECT_FALSE(decode_record(OutputKind::kBalances, "[1,2]"));
  EXPECT_FALSE(decode_record(OutputKind::kBalances, ""));
  EXPECT_FALSE(decode_record(OutputKind::kBalances, b + " {}"));        // more than one object
  EXPECT_FALSE(decode_record(OutputKind::kBalances, b.substr(0, 20)));  // cut
  EXPECT_FALSE(decode_record(OutputKind::kBalances, R"({"partner_id":"p","currency":"CNY"})"));  // amounts missing
  EXPECT_FALSE(decode_record(OutputKind::kStatements, R"({"partner_id":"p"})"));
  EXPECT_FALSE(decode_record(OutputKind::kMetrics, b));  // another kind
  std::string wrong = b;
  wrong.replace(wrong.find("\"payable_minor\":3000"), 20, "\"payable_minor\":\"30\"");
  EXPECT_FALSE(decode_record(OutputKind::kBalances, wrong));
  std::string kind = encode_record({"", settlement()});
  kind.replace(kind.find("\"kind\":\"accrual\""), 17, "\"kind\":\"bonus!!\"");
  EXPECT_FALSE(decode_record(OutputKind::kSettlements, kind));
  EXPECT_FALSE(decode_record(OutputKind::kRepartition, b));  // forwards are binary
  EXPECT_TRUE(decode_record(OutputKind::kBalances, b + "\n"));
}

TEST(RecordCodec, ReadsDecimalsAndIgnoresUnknownFields) {
  EXPECT_EQ(parse_micros("0.083333"), 83'333);
  EXPECT_EQ(parse_micros("-1.5"), -1'500'000);
  EXPECT_EQ(parse_micros("7"), 7'000'000);
  EXPECT_EQ(parse_micros("-9223372036854.775808"), INT64_MIN);
  EXPECT_EQ(parse_micros("9223372036854.775807"), INT64_MAX);
  EXPECT_FALSE(parse_micros("9223372036854.775808"));
  EXPECT_FALSE(parse_micros("1."));
  EXPECT_FALSE(parse_micros("1.0000001"));
  EXPECT_FALSE(parse_micros(".5"));
  EXPECT_FALSE(parse_micros("1e3"));
  EXPECT_FALSE(base64_decode("abc"));
  EXPECT_FALSE(base64_decode("a=bc"));
  EXPECT_EQ(base64_decode(""), "");
  // Fields in another order, unknown ones, a decimal as a number.
  const auto m = decode_record(
      OutputKind::kMetrics,
      R"({"future":{"x":[1,{"y":null}]},"revenue_minor":5,"conversions":1.5,"orders":1,"unique_users":3,"clicks":4,)"
      R"("window_size":"1m","window_end":60000,"window_start":0,"key":"k","dim":"source"})");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(std::get<MetricRecord>(m->body).conversions_micros, 1'500'000);
  EXPECT_EQ(std::get<MetricRecord>(m->body).window_size, 60'000);
  EXPECT_FALSE(std::get<MetricRecord>(m->body).currency.has_value());
}

}  // namespace
}  // namespace alliance

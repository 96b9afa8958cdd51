#include "alliance/codec/event_decoder.h"

#include <gtest/gtest.h>

#include "alliance/codec/record_encoder.h"

namespace alliance {
namespace {

class DecoderTest : public ::testing::Test {
 protected:
  std::string reason(std::string_view json, std::optional<EventKind> topic = std::nullopt) {
    DecodeResult r = decoder_.decode(json, topic);
    return r.ok() ? "ok" : r.reason;
  }
  Event ok(std::string_view json, std::optional<EventKind> topic = std::nullopt) {
    DecodeResult r = decoder_.decode(json, topic);
    EXPECT_TRUE(r.ok()) << r.reason << ": " << r.detail;
    return r.ok() ? *r.event : Event{};
  }
  EventDecoder decoder_;
};

constexpr const char* kOrder =
    R"({"type":"order","event_id":"e1","ts":1700000000000,"user_id":"u1","order_id":"o1","status":"completed","amount_minor":9900,"currency":"CNY"})";

TEST_F(DecoderTest, ValidEventsOfEachKind) {
  Event c = ok(R"({"type":"click","event_id":"c","ts":"2026-11-20T10:00:00.123+08:00","user_id":"u","campaign_id":"cmp","source":"social","partner_id":"p","extra":{"nested":[1,2,{"a":null}]}})");
  EXPECT_EQ(c.kind(), EventKind::kClick);
  EXPECT_EQ(c.ts, 1795140000123);
  EXPECT_EQ(std::get<Click>(c.body).partner_id, "p");
  Event r = ok(R"({"type":"referral","event_id":"r","ts":5,"user_id":"u","partner_id":"p","referrer_id":"v","referral_code":"BOOK10"})");
  EXPECT_EQ(std::get<Referral>(r.body).referral_code, "BOOK10");
  Event o = ok(kOrder);
  EXPECT_EQ(std::get<Order>(o.body).amount_minor, 9900);
  EXPECT_EQ(std::get<Order>(o.body).status, OrderStatus::kCompleted);
}

TEST_F(DecoderTest, TypeIsOptionalOnKafkaButMustMatch) {
  ok(R"({"event_id":"c","ts":1,"user_id":"u","campaign_id":"cmp","source":"s"})", EventKind::kClick);
  EXPECT_EQ(reason(R"({"event_id":"c","ts":1,"user_id":"u","campaign_id":"cmp","source":"s"})"), "missing_field:type");
  EXPECT_EQ(reason(kOrder, EventKind::kClick), "type_mismatch");
  EXPECT_EQ(reason(R"({"type":"purchase","event_id":"c","ts":1,"user_id":"u"})"), "type_mismatch");
  EXPECT_EQ(reason(R"({"type":7,"event_id":"c","ts":1,"user_id":"u"})"), "wrong_type:type");
}

TEST_F(DecoderTest, MalformedJson) {
  EXPECT_EQ(reason(R"({"type":"order",)"), "malformed_json");
  EXPECT_EQ(reason(R"([1,2,3])"), "malformed_json");
  EXPECT_EQ(reason(R"(not json)"), "malformed_json");
  EXPECT_EQ(reason(""), "malformed_json");
  EXPECT_EQ(reason(std::string(kOrder) + " {}"), "malformed_json");
  // Malformed inside an ignored field is still malformed.
  EXPECT_EQ(reason(R"({"type":"click","junk":[1,,2],"event_id":"c","ts":1,"user_id":"u","campaign_id":"x","source":"s"})"),
            "malformed_json");
  EXPECT_EQ(reason(R"({"type":"click","event_id":"c","event_id":"d","ts":1,"user_id":"u","campaign_id":"x","source":"s"})"),
            "malformed_json");
}

TEST_F(DecoderTest, MissingFields) {
  EXPECT_EQ(reason(R"({"type":"order","ts":1,"user_id":"u","order_id":"o","status":"completed","amount_minor":1,"currency":"CNY"})"),
            "missing_field:event_id");
  EXPECT_EQ(reason(R"({"type":"order","event_id":"e","user_id":"u","order_id":"o","status":"completed","amount_minor":1,"currency":"CNY"})"),
            "missing_field:ts");
  EXPECT_EQ(reason(R"({"type":"order","event_id":"e","ts":1,"user_id":"u","order_id":"o","status":"completed","currency":"CNY"})"),
            "missing_field:amount_minor");
  EXPECT_EQ(reason(R"({"type":"click","event_id":"e","ts":1,"user_id":"u","source":"s"})"), "missing_field:campaign_id");
  EXPECT_EQ(reason(R"({"type":"referral","event_id":"e","ts":1,"user_id":"u"})"), "missing_field:partner_id");
  EXPECT_EQ(reason(R"({"type":"order","event_id":"e","ts":1,"user_id":"u","order_id":"o","status":"refunded","amount_minor":10,"currency":"CNY"})"),
            "missing_field:refund_minor");
  // null counts as absent.
  EXPECT_EQ(reason(R"({"type":"click","event_id":"e","ts":1,"user_id":null,"campaign_id":"c","source":"s"})"),
            "missing_field:user_id");
}

TEST_F(DecoderTest, WrongTypes) {
  EXPECT_EQ(reason(R"({"type":"click","event_id":"e","ts":1,"user_id":42,"campaign_id":"c","source":"s"})"), "wrong_type:user_id");
  EXPECT_EQ(reason(R"({"type":"order","event_id":"e","ts":1,"user_id":"u","order_id":"o","status":"completed","amount_minor":"9900","currency":"CNY"})"),
            "wrong_type:amount_minor");
  EXPECT_EQ(reason(R"({"type":"click","event_id":"e","ts":true,"user_id":"u","campaign_id":"c","source":"s"})"), "wrong_type:ts");
  EXPECT_EQ(reason(R"({"type":"click","event_id":["e"],"ts":1,"user_id":"u","campaign_id":"c","source":"s"})"), "wrong_type:event_id");
}

TEST_F(DecoderTest, BadAmounts) {
  auto order = [](std::string amount) {
    return R"({"type":"order","event_id":"e","ts":1,"user_id":"u","order_id":"o","status":"completed","amount_minor":)" +
           amount + R"(,"currency":"CNY"})";
  };
  EXPECT_EQ(reason(order("-1")), "bad_amount");
  EXPECT_EQ(reason(order("99.5")), "bad_amount");
  EXPECT_EQ(reason(order("9900.0")), "bad_amount");
  EXPECT_EQ(reason(order("1e3")), "bad_amount");
  EXPECT_EQ(reason(order("9223372036854775807")), "bad_amount");    // int64 max: above 2^53-1
  EXPECT_EQ(reason(order("18446744073709551616")), "bad_amount");   // beyond 64 bits
  EXPECT_EQ(reason(order("9007199254740991")), "ok");               // 2^53-1: the largest accepted
  EXPECT_EQ(reason(order("0")), "ok");
  EXPECT_EQ(reason(R"({"type":"order","event_id":"e","ts":1,"user_id":"u","order_id":"o","status":"refunded","amount_minor":10,"refund_minor":0,"currency":"CNY"})"),
            "bad_amount");
}

TEST_F(DecoderTest, BadTimestamps) {
  auto click = [](std::string ts) {
    return R"({"type":"click","event_id":"e","ts":)" + ts + R"(,"user_id":"u","campaign_id":"c","source":"s"})";
  };
  EXPECT_EQ(reason(click(R"("2026-11-20T10:00:00")")), "bad_timestamp");  // no offset
  EXPECT_EQ(reason(click(R"("2026-02-30T10:00:00Z")")), "bad_timestamp");
  EXPECT_EQ(reason(click("-5")), "bad_timestamp");
  EXPECT_EQ(reason(click("1.5")), "bad_timestamp");
  EXPECT_EQ(reason(click(R"("2024-02-29T23:59:59.999-12:00")")), "ok");
}

TEST_F(DecoderTest, StatusSizeUtf8SelfReferral) {
  EXPECT_EQ(reason(R"({"type":"order","event_id":"e","ts":1,"user_id":"u","order_id":"o","status":"shipped","amount_minor":1,"currency":"CNY"})"),
            "unknown_status");
  std::string big = R"({"type":"click","event_id":"e","ts":1,"user_id":"u","campaign_id":"c","source":"s","pad":")" +
                    std::string(70 * 1024, 'x') + R"("})";
  EXPECT_EQ(reason(big), "oversized");
  EXPECT_EQ(reason("{\"type\":\"click\",\"event_id\":\"\xff\xfe\",\"ts\":1}"), "invalid_utf8");
  EXPECT_EQ(reason(R"({"type":"referral","event_id":"e","ts":1,"user_id":"u","partner_id":"p","referrer_id":"u"})"),
            "self_referral");
}

TEST_F(DecoderTest, LengthsAndCurrency) {
  EXPECT_EQ(reason(R"({"type":"click","event_id":"","ts":1,"user_id":"u","campaign_id":"c","source":"s"})"), "bad_value:event_id");
  std::string long_source = R"({"type":"click","event_id":"e","ts":1,"user_id":"u","campaign_id":"c","source":")" +
                            std::string(65, 's') + R"("})";
  EXPECT_EQ(reason(long_source), "bad_value:source");
  EXPECT_EQ(reason(R"({"type":"order","event_id":"e","ts":1,"user_id":"u","order_id":"o","status":"completed","amount_minor":1,"currency":"cny"})"),
            "bad_value:currency");
}

TEST_F(DecoderTest, EscapedStringsAreUnescaped) {
  Event c = ok(R"({"type":"click","event_id":"e\u00e9","ts":1,"user_id":"\u7528\u6237","campaign_id":"c","source":"s"})");
  EXPECT_EQ(c.event_id, "e\xc3\xa9");
  EXPECT_EQ(c.user_id, "\xe7\x94\xa8\xe6\x88\xb7");
}

TEST(Encoder, DeadLetterRoundTripsPayload) {
  EXPECT_EQ(base64_encode("hello"), "aGVsbG8=");
  EXPECT_EQ(base64_encode("hi"), "aGk=");
  EXPECT_EQ(base64_encode("abc"), "YWJj");
  EXPECT_EQ(base64_encode(""), "");
  DeadLetter d{"bad_amount", "line \"1\"", "x\n", {"t", 1, 2}};
  EXPECT_EQ(encode_record(OutputRecord{"k", d}),
            R"({"reason":"bad_amount","topic":"t","partition":1,"offset":2,"payload":"eAo=","detail":"line \"1\""})");
  EXPECT_EQ(stamp_emitted_at(R"({"a":1})", 5), R"({"a":1,"emitted_at":5})");
}

TEST(Encoder, SettlementRecordFieldOrderAndDecimals) {
  SettlementRecord r;
  r.record_id = "o1:accrual:0:p";
  r.order_id = "o1";
  r.user_id = "u";
  r.partner_id = "p";
  r.model = "linear";
  r.weight_micros = 333333;
  r.attributed_minor = 3300;
  r.currency = "CNY";
  r.event_ts = 7;
  r.period = "2026-11-20";
  EXPECT_EQ(encode_record(OutputRecord{"p", r}),
            R"({"record_id":"o1:accrual:0:p","kind":"accrual","order_id":"o1","user_id":"u","partner_id":"p","campaign_id":null,"model":"linear","weight":"0.333333","attributed_minor":3300,"commission_minor":null,"currency":"CNY","event_ts":7,"period":"2026-11-20","contract_id":null})");
}

}  // namespace
}  // namespace alliance

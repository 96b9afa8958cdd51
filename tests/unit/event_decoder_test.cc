#include "alliance/codec/event_decoder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <random>

#include "alliance/codec/record_encoder.h"
#include "alliance/core/currency.h"
#include "alliance/core/digest.h"

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

// Issue 20 item 7: a currency is a code of the ISO 4217 list with minor-unit
// digits (SPEC §2), not any three upper-case letters: orders and payouts in
// XXQ (no such code), XTS (testing), XXX (no currency), XAU (gold) or XDR
// (no minor unit) are dead-lettered, never settled or paid.
TEST_F(DecoderTest, CurrencyMustBeAnIso4217CodeWithMinorUnits) {
  const auto order_in = [](std::string_view cur) {
    return R"({"type":"order","event_id":"e","ts":1,"user_id":"u","order_id":"o","status":"completed","amount_minor":1,"currency":")" +
           std::string(cur) + R"("})";
  };
  const auto payout_in = [](std::string_view cur) {
    return R"({"type":"payout","payout_id":"po","ts":1,"partner_id":"p","amount_minor":1,"currency":")" +
           std::string(cur) + R"("})";
  };
  for (const char* bad : {"XXQ", "XTS", "XXX", "XAU", "XAG", "XPT", "XPD", "XDR", "XSU", "XUA", "XBA", "AAA", "ZZZ",
                          "HRK", "SLL", "ZWL"}) {
    EXPECT_EQ(reason(order_in(bad)), "bad_value:currency") << bad;
    EXPECT_EQ(reason(payout_in(bad)), "bad_value:currency") << bad;
  }
  const DecodeResult r = decoder_.decode(order_in("XTS"), std::nullopt);
  EXPECT_NE(r.detail.find("ISO 4217"), std::string::npos) << r.detail;
  EXPECT_NE(r.detail.find("XTS"), std::string::npos) << r.detail;
  for (const char* good : {"CNY", "USD", "EUR", "JPY", "KWD", "XOF", "XAF", "XPF", "XCD", "CLF", "UYI", "UYW", "CUC",
                           "ZWG", "VED", "SLE"}) {
    EXPECT_EQ(reason(order_in(good)), "ok") << good;
    EXPECT_EQ(reason(payout_in(good)), "ok") << good;
  }
}

// The table behind it: ISO 4217 list one as published 2024-06-25, with the
// minor-unit digits money is shown with; N.A. codes are not money.
TEST(Iso4217, ActiveCodesAndTheirMinorUnits) {
  EXPECT_EQ(currency_minor_digits("CNY"), 2);
  EXPECT_EQ(currency_minor_digits("JPY"), 0);
  EXPECT_EQ(currency_minor_digits("KWD"), 3);
  EXPECT_EQ(currency_minor_digits("CLF"), 4);
  EXPECT_EQ(currency_minor_digits("UYW"), 4);
  EXPECT_EQ(currency_minor_digits("UYI"), 0);
  EXPECT_EQ(currency_minor_digits("BOV"), 2);
  EXPECT_EQ(currency_minor_digits("CHE"), 2);
  EXPECT_EQ(currency_minor_digits("CHW"), 2);
  EXPECT_EQ(currency_minor_digits("COU"), 2);
  EXPECT_EQ(currency_minor_digits("MXV"), 2);
  EXPECT_EQ(currency_minor_digits("USN"), 2);
  EXPECT_EQ(currency_minor_digits("CUC"), 2);
  EXPECT_EQ(currency_minor_digits("XCG"), 2);  // replaces ANG from 2025-03-31
  EXPECT_EQ(currency_minor_digits("ANG"), 2);
  for (const char* na : {"XAU", "XAG", "XPT", "XPD", "XDR", "XSU", "XUA", "XBA", "XBB", "XBC", "XBD", "XTS", "XXX"})
    EXPECT_EQ(currency_minor_digits(na), std::nullopt) << na;
  for (const char* gone : {"HRK", "SLL", "ZWL", "VEF", "MRO", "STD", "LTL"})
    EXPECT_EQ(currency_minor_digits(gone), std::nullopt) << gone;
  for (const char* junk : {"", "C", "CN", "CNYY", "cny", "Cny", "C1Y", "\x01\x02\x03"})
    EXPECT_EQ(currency_minor_digits(junk), std::nullopt) << junk;
}

TEST_F(DecoderTest, EscapedStringsAreUnescaped) {
  Event c = ok(R"({"type":"click","event_id":"e\u00e9","ts":1,"user_id":"\u7528\u6237","campaign_id":"c","source":"s"})");
  EXPECT_EQ(c.event_id, "e\xc3\xa9");
  EXPECT_EQ(c.user_id, "\xe7\x94\xa8\xe6\x88\xb7");
}

// SPEC §2: ids and labels with control characters are bad_value:<field>
// (issue 16 item 6: a NUL in partner_id spoofed another partner).
TEST_F(DecoderTest, ControlCharactersInIdsAreBadValues) {
  EXPECT_EQ(reason(R"({"type":"click","event_id":"e","ts":1,"user_id":"u","campaign_id":"c","source":"s","partner_id":"pA\u0000EVIL"})"),
            "bad_value:partner_id");
  EXPECT_EQ(reason(R"({"type":"click","event_id":"e\u001f","ts":1,"user_id":"u","campaign_id":"c","source":"s"})"),
            "bad_value:event_id");
  EXPECT_EQ(reason(R"({"type":"click","event_id":"e","ts":1,"user_id":"u\u007f","campaign_id":"c","source":"s"})"),
            "bad_value:user_id");
  EXPECT_EQ(reason(R"({"type":"click","event_id":"e","ts":1,"user_id":"u","campaign_id":"c","source":"so\ncial"})"),
            "bad_value:source");
  // Raw bytes, unescaped: DEL is legal JSON text, still a bad id.
  EXPECT_EQ(reason("{\"type\":\"order\",\"event_id\":\"e\",\"ts\":1,\"user_id\":\"u\",\"order_id\":\"o\x7f\","
                   "\"status\":\"completed\",\"amount_minor\":1,\"currency\":\"CNY\"}"),
            "bad_value:order_id");
  // A raw NUL or other byte below 0x20 is malformed JSON, but in an id the
  // contract names it is reported as that id's bad value.
  static constexpr char kRawNul[] =
      "{\"type\":\"click\",\"event_id\":\"e\",\"ts\":1,\"user_id\":\"u\",\"campaign_id\":\"c\","
      "\"source\":\"s\",\"partner_id\":\"pA\0EVIL\"}";
  EXPECT_EQ(reason(std::string_view(kRawNul, sizeof kRawNul - 1)), "bad_value:partner_id");
  EXPECT_EQ(reason("{\"type\":\"click\",\"event_id\":\"e\",\"ts\":1,\"user_id\":\"u\x01\",\"campaign_id\":\"c\",\"source\":\"s\"}"),
            "bad_value:user_id");
  // Elsewhere (an ignored field, a key, status) it stays malformed_json: nothing malformed is accepted.
  EXPECT_EQ(reason("{\"type\":\"click\",\"event_id\":\"e\",\"ts\":1,\"user_id\":\"u\",\"campaign_id\":\"c\",\"source\":\"s\",\"x\":\"\x01\"}"),
            "malformed_json");
  EXPECT_EQ(reason("{\"type\":\"click\",\"event_id\":\"e\",\"ts\":1,\"user_id\":\"u\",\"campaign_id\":\"c\",\"source\":\"s\",\"x\x02\":1}"),
            "malformed_json");
  EXPECT_EQ(reason("{\"type\":\"order\",\"event_id\":\"e\",\"ts\":1,\"user_id\":\"u\",\"order_id\":\"o\","
                   "\"status\":\"completed\x01\",\"amount_minor\":1,\"currency\":\"CNY\"}"),
            "malformed_json");
  const DecodeResult d = decoder_.decode(
      R"({"type":"referral","event_id":"e","ts":1,"user_id":"u","partner_id":"p","referral_code":"B\u0000K"})", std::nullopt);
  EXPECT_EQ(d.reason, "bad_value:referral_code");
  EXPECT_NE(d.detail.find("U+0000"), std::string::npos) << d.detail;
  // Non-ASCII text is fine (U+0080 and above are not control characters here).
  ok(R"({"type":"click","event_id":"e","ts":1,"user_id":"u","campaign_id":"c","source":"s","partner_id":"p\u00e9\u0080"})");
}

// Property: an id holding any byte from 0x00 to 0x7f, control bytes
// included, JSON-escaped or raw, is either accepted unchanged (no control
// byte) or rejected as bad_value:<that field> (control byte); never an
// event carrying a control character.
TEST_F(DecoderTest, PropertyRandomIdBytesNeverYieldAControlCharacterId) {
  const std::vector<std::pair<std::string, std::string>> fields{
      {"click", "event_id"},    {"click", "user_id"},       {"click", "campaign_id"}, {"click", "source"},
      {"click", "partner_id"},  {"click", "course_id"},     {"click", "session_id"},  {"referral", "partner_id"},
      {"referral", "referrer_id"}, {"referral", "referral_code"}, {"referral", "campaign_id"},
      {"order", "order_id"},    {"order", "payment_id"},    {"order", "referral_code"}, {"order", "campaign_id"},
      {"order", "course_id"}};
  auto base = [](const std::string& type) -> std::map<std::string, std::string> {
    std::map<std::string, std::string> f{{"type", "\"" + type + "\""}, {"event_id", "\"e\""}, {"ts", "1"}, {"user_id", "\"u\""}};
    if (type == "click") f.insert({{"campaign_id", "\"c\""}, {"source", "\"s\""}});
    if (type == "referral") f.insert({{"partner_id", "\"p\""}});
    if (type == "order")
      f.insert({{"order_id", "\"o\""}, {"status", "\"completed\""}, {"amount_minor", "1"}, {"currency", "\"CNY\""}});
    return f;
  };
  auto field_of = [](const Event& e, const std::string& name) -> std::optional<std::string> {
    if (name == "event_id") return e.event_id;
    if (name == "user_id") return e.user_id;
    if (const Click* c = std::get_if<Click>(&e.body)) {
      if (name == "campaign_id") return c->campaign_id;
      if (name == "source") return c->source;
      if (name == "partner_id") return c->partner_id;
      if (name == "course_id") return c->course_id;
      if (name == "session_id") return c->session_id;
    }
    if (const Referral* r = std::get_if<Referral>(&e.body)) {
      if (name == "partner_id") return r->partner_id;
      if (name == "referrer_id") return r->referrer_id;
      if (name == "referral_code") return r->referral_code;
      if (name == "campaign_id") return r->campaign_id;
    }
    if (const Order* o = std::get_if<Order>(&e.body)) {
      if (name == "order_id") return o->order_id;
      if (name == "payment_id") return o->payment_id;
      if (name == "referral_code") return o->referral_code;
      if (name == "campaign_id") return o->campaign_id;
      if (name == "course_id") return o->course_id;
    }
    return std::nullopt;
  };
  std::mt19937_64 rng(16);
  int rejected = 0;
  int accepted = 0;
  for (int i = 0; i < 4000; ++i) {
    const auto& [type, name] = fields[rng() % fields.size()];
    // 1..8 random bytes below 0x80; every control byte appears in turn.
    std::string id;
    const std::size_t len = 1 + rng() % 8;
    for (std::size_t k = 0; k < len; ++k) id.push_back(static_cast<char>(rng() % 0x80));
    if (i < 33) id[rng() % id.size()] = static_cast<char>(i == 32 ? 0x7f : i);
    // Encode: every byte escaped (\u00XX), or raw bytes (control bytes
    // included: strictly malformed JSON, still bad_value:<field>).
    const bool raw = rng() % 2 == 0;
    std::string lit = "\"";
    for (char ch : id) {
      const auto c = static_cast<unsigned char>(ch);
      if (c == '"' || c == '\\' || !raw) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        lit += buf;
      } else {
        lit.push_back(ch);
      }
    }
    lit += "\"";
    auto f = base(type);
    f[name] = lit;
    std::string json = "{";
    for (const auto& [k, v] : f) json += (json.size() > 1 ? "," : "") + ("\"" + k + "\":" + v);
    json += "}";
    const bool control = std::any_of(id.begin(), id.end(), [](char ch) {
      return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f;
    });
    DecodeResult d = decoder_.decode(json, std::nullopt);
    if (control) {
      ++rejected;
      ASSERT_FALSE(d.ok()) << json;
      ASSERT_EQ(d.reason, "bad_value:" + name) << json;
    } else if (d.ok()) {
      // Without a control byte the id comes back byte for byte (a self-referral is its own rule).
      ++accepted;
      ASSERT_EQ(field_of(*d.event, name), id) << json;
    } else {
      ASSERT_EQ(d.reason, "self_referral") << json;
    }
  }
  EXPECT_GT(rejected, 1000);
  EXPECT_GT(accepted, 100);
}

// Issue 16 item 13: numbers simdjson cannot hold are still numbers.
TEST_F(DecoderTest, HugeExponentsAreBadAmountsNotMalformed) {
  auto order = [](std::string amount) {
    return R"({"type":"order","event_id":"e","ts":1,"user_id":"u","order_id":"o","status":"completed","amount_minor":)" +
           amount + R"(,"currency":"CNY"})";
  };
  EXPECT_EQ(reason(order("1e400")), "bad_amount");
  EXPECT_EQ(reason(order("-1e400")), "bad_amount");
  EXPECT_EQ(reason(order("1.5e-400")), "bad_amount");
  EXPECT_EQ(reason(order("1E+2")), "bad_amount");
  EXPECT_EQ(reason(order("123456789012345678901234567890")), "bad_amount");
  EXPECT_EQ(reason(R"({"type":"click","event_id":"e","ts":1e400,"user_id":"u","campaign_id":"c","source":"s"})"),
            "bad_timestamp");
  // An ignored field may hold any JSON number; a non-number is still malformed.
  ok(R"({"type":"click","event_id":"e","ts":1,"user_id":"u","campaign_id":"c","source":"s","x":1e400,"y":[-2E-999]})");
  EXPECT_EQ(reason(order("1e")), "malformed_json");
  EXPECT_EQ(reason(order("01")), "malformed_json");
  EXPECT_EQ(reason(order("1e400x")), "malformed_json");
}

TEST_F(DecoderTest, ByteOrderMarkIsNamed) {
  const DecodeResult d = decoder_.decode("\xEF\xBB\xBF" + std::string(kOrder), std::nullopt);
  EXPECT_EQ(d.reason, "malformed_json");
  EXPECT_NE(d.detail.find("byte order mark (EF BB BF)"), std::string::npos) << d.detail;
  EXPECT_NE(d.detail.find("remove it"), std::string::npos) << d.detail;
  // A trailing carriage return (a CRLF line) is JSON whitespace.
  ok(std::string(kOrder) + "\r");
}

TEST(Encoder, DeadLetterRoundTripsPayload) {
  EXPECT_EQ(base64_encode("hello"), "aGVsbG8=");
  EXPECT_EQ(base64_encode("hi"), "aGk=");
  EXPECT_EQ(base64_encode("abc"), "YWJj");
  EXPECT_EQ(base64_encode(""), "");
  DeadLetter d{"bad_amount", "line \"1\"", "x\n", {"t", 1, 2}};
  EXPECT_EQ(encode_record(OutputRecord{"k", d}),
            R"({"reason":"bad_amount","topic":"t","partition":1,"offset":2,"payload":"eAo=","payload_bytes":2,)"
            R"("payload_sha256":")" + sha256_hex("x\n") + R"(","detail":"line \"1\""})");
  EXPECT_EQ(stamp_emitted_at(R"({"a":1})", 5), R"({"a":1,"emitted_at":5})");
}

// SPEC §5.4: a dead letter keeps the first 64 KiB, the full size and the
// SHA-256 of the whole input, so it always fits in a Kafka message (issue 16
// item 3: an 800 KB input made a 1.07 MB dead letter).
TEST(Encoder, DeadLetterOfALargeInputIsBounded) {
  std::string big(800 * 1000, 'x');
  for (std::size_t i = 0; i < big.size(); i += 997) big[i] = static_cast<char>('a' + i % 26);
  DeadLetter d{"oversized", "message is 800000 bytes", big, {"alliance.clicks", 0, 7}};
  const std::string encoded = encode_record(OutputRecord{"k", d});
  EXPECT_LT(encoded.size(), 100u * 1024);
  const std::string head = base64_encode(std::string_view(big).substr(0, kDeadLetterPayloadLimit));
  EXPECT_NE(encoded.find("\"payload\":\"" + head + "\""), std::string::npos);
  EXPECT_NE(encoded.find("\"payload_bytes\":800000"), std::string::npos);
  EXPECT_NE(encoded.find("\"payload_sha256\":\"" + sha256_hex(big) + "\""), std::string::npos);

  bound_payload(d);
  EXPECT_EQ(d.payload, big.substr(0, kDeadLetterPayloadLimit));
  EXPECT_EQ(d.payload_bytes, 800000);
  EXPECT_EQ(d.payload_sha256, sha256_hex(big));
  bound_payload(d);  // idempotent: the digest stays the one of the whole input
  EXPECT_EQ(d.payload_sha256, sha256_hex(big));
  EXPECT_EQ(encode_record(OutputRecord{"k", d}), encoded);

  // At exactly 64 KiB nothing is cut.
  DeadLetter edge{"bad_amount", "", std::string(kDeadLetterPayloadLimit, 'y'), {"t", 0, 0}};
  bound_payload(edge);
  EXPECT_EQ(edge.payload.size(), kDeadLetterPayloadLimit);
  EXPECT_EQ(edge.payload_bytes, static_cast<std::int64_t>(kDeadLetterPayloadLimit));
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
  r.event_id = "e9";
  r.touchpoint_ids = {"c1", "c\"2"};
  EXPECT_EQ(encode_record(OutputRecord{"p", r}),
            R"({"record_id":"o1:accrual:0:p","kind":"accrual","order_id":"o1","user_id":"u","partner_id":"p","campaign_id":null,"model":"linear","weight":"0.333333","attributed_minor":3300,"commission_minor":null,"currency":"CNY","event_ts":7,"period":"2026-11-20","contract_id":null,"event_id":"e9","touchpoint_ids":["c1","c\"2"]})");
}

}  // namespace
}  // namespace alliance

#include "alliance/codec/event_decoder.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <map>

#include "alliance/core/currency.h"
#include "alliance/core/event_time.h"

namespace alliance {

namespace ondemand = simdjson::ondemand;

namespace {

/// A known field's value, captured while iterating the object once.
struct Field {
  enum class Type { kAbsent, kNull, kString, kInt, kNonInteger, kTooBig, kOther } type = Type::kAbsent;
  /// Unescaped, in the parser's string buffer: valid until its next parse.
  std::string_view str;
  std::int64_t num = 0;
};

constexpr std::array<std::string_view, 22> kKnownFields{
    "type",       "event_id",    "ts",            "user_id",  "campaign_id",  "source",
    "partner_id", "course_id",   "session_id",    "referrer_id", "referral_code", "order_id",
    "status",     "amount_minor", "currency",     "payment_id", "refund_minor", "payout_id",
    "through_period", "reference", "release_id", "period"};
constexpr std::size_t kFieldCount = kKnownFields.size();

/// Indexes into kKnownFields.
enum FieldId : std::size_t {
  kType, kEventId, kTs, kUserId, kCampaignId, kSource, kPartnerId, kCourseId, kSessionId, kReferrerId,
  kReferralCode, kOrderId, kStatus, kAmountMinor, kCurrency, kPaymentId, kRefundMinor, kPayoutId,
  kThroughPeriod, kReference, kReleaseId, kPeriod
};

/// The index of a known field, or -1: by length and first byte, then one compare.
int field_index(std::string_view key) {
  // Called with the size already matched: a memcmp of a constant length, inlined.
  auto is = [&](FieldId id) {
    return std::memcmp(key.data(), kKnownFields[id].data(), kKnownFields[id].size()) == 0 ? static_cast<int>(id) : -1;
  };
  if (key.empty()) return -1;
  switch (key.size()) {
    case 2: return is(kTs);
    case 4: return is(kType);
    case 6:
      switch (key[0]) {
        case 's': return key[1] == 'o' ? is(kSource) : is(kStatus);
        case 'p': return is(kPeriod);
        default: return -1;
      }
    case 7: return is(kUserId);
    case 8:
      switch (key[0]) {
        case 'e': return is(kEventId);
        case 'o': return is(kOrderId);
        case 'c': return is(kCurrency);
        default: return -1;
      }
    case 9:
      switch (key[0]) {
        case 'c': return is(kCourseId);
        case 'p': return is(kPayoutId);
        case 'r': return is(kReference);
        default: return -1;
      }
    case 10:
      switch (key[0]) {
        case 'p': return key[2] == 'r' ? is(kPartnerId) : is(kPaymentId);
        case 's': return is(kSessionId);
        case 'r': return is(kReleaseId);
        default: return -1;
      }
    case 11:
      switch (key[0]) {
        case 'c': return is(kCampaignId);
        case 'r': return is(kReferrerId);
        default: return -1;
      }
    case 12: return key[0] == 'a' ? is(kAmountMinor) : is(kRefundMinor);
    case 13: return is(kReferralCode);
    case 14: return is(kThroughPeriod);
    default: return -1;
  }
}

/// Whether the raw key text at `raw` (just after its opening quote) is
/// `lit` exactly: its bytes, then the closing quote. A raw key that matches
/// has no escape, so it is its own unescaped text. The message is padded
/// (SIMDJSON_PADDING zero bytes), so reading past a shorter key is safe.
template <std::size_t N>
bool raw_is(const char* raw, const char (&lit)[N]) {
  return std::memcmp(raw, lit, N - 1) == 0 && raw[N - 1] == '"';
}

/// The known field a raw key is without unescaping (by its first byte,
/// then whole compares), or -1: unknown, or spelled with escapes.
int raw_field_index(const char* raw) {
  switch (raw[0]) {
    case 't':
      if (raw_is(raw, "type")) return kType;
      if (raw_is(raw, "ts")) return kTs;
      if (raw_is(raw, "through_period")) return kThroughPeriod;
      return -1;
    case 'e': return raw_is(raw, "event_id") ? static_cast<int>(kEventId) : -1;
    case 'u': return raw_is(raw, "user_id") ? static_cast<int>(kUserId) : -1;
    case 'o': return raw_is(raw, "order_id") ? static_cast<int>(kOrderId) : -1;
    case 'a': return raw_is(raw, "amount_minor") ? static_cast<int>(kAmountMinor) : -1;
    case 'c':
      if (raw_is(raw, "campaign_id")) return kCampaignId;
      if (raw_is(raw, "currency")) return kCurrency;
      if (raw_is(raw, "course_id")) return kCourseId;
      return -1;
    case 's':
      if (raw_is(raw, "source")) return kSource;
      if (raw_is(raw, "status")) return kStatus;
      if (raw_is(raw, "session_id")) return kSessionId;
      return -1;
    case 'p':
      if (raw_is(raw, "partner_id")) return kPartnerId;
      if (raw_is(raw, "payment_id")) return kPaymentId;
      if (raw_is(raw, "payout_id")) return kPayoutId;
      if (raw_is(raw, "period")) return kPeriod;
      return -1;
    case 'r':
      if (raw_is(raw, "referrer_id")) return kReferrerId;
      if (raw_is(raw, "referral_code")) return kReferralCode;
      if (raw_is(raw, "refund_minor")) return kRefundMinor;
      if (raw_is(raw, "reference")) return kReference;
      if (raw_is(raw, "release_id")) return kReleaseId;
      return -1;
    default: return -1;
  }
}

/// Whether `token` (a raw JSON token, maybe with trailing whitespace) is a
/// number by RFC 8259's grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?.
/// simdjson refuses numbers a double cannot hold (`1e400`); they are still
/// JSON, so the decoder decides what they mean.
enum class NumberShape { kNotANumber, kInteger, kFractionOrExponent };

NumberShape number_shape(std::string_view token) {
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t' || token.back() == '\n' ||
                            token.back() == '\r'))
    token.remove_suffix(1);
  std::size_t i = 0;
  const auto digit = [&](std::size_t k) { return k < token.size() && token[k] >= '0' && token[k] <= '9'; };
  if (i < token.size() && token[i] == '-') ++i;
  if (!digit(i)) return NumberShape::kNotANumber;
  if (token[i] == '0') ++i;
  else while (digit(i)) ++i;
  bool integer = true;
  if (i < token.size() && token[i] == '.') {
    integer = false;
    ++i;
    if (!digit(i)) return NumberShape::kNotANumber;
    while (digit(i)) ++i;
  }
  if (i < token.size() && (token[i] == 'e' || token[i] == 'E')) {
    integer = false;
    ++i;
    if (i < token.size() && (token[i] == '+' || token[i] == '-')) ++i;
    if (!digit(i)) return NumberShape::kNotANumber;
    while (digit(i)) ++i;
  }
  if (i != token.size()) return NumberShape::kNotANumber;
  return integer ? NumberShape::kInteger : NumberShape::kFractionOrExponent;
}

/// Walks a value completely so malformed JSON anywhere is an error, even in
/// fields the contract ignores.
simdjson::error_code validate(ondemand::value v, int depth) {
  if (depth > 64) return simdjson::DEPTH_ERROR;
  ondemand::json_type t;
  if (auto e = v.type().get(t)) return e;
  switch (t) {
    case ondemand::json_type::object: {
      ondemand::object o;
      if (auto e = v.get_object().get(o)) return e;
      for (auto f : o) {
        ondemand::field field;
        if (auto e = std::move(f).get(field)) return e;
        std::string_view k;
        if (auto e = field.unescaped_key().get(k)) return e;
        if (auto e = validate(field.value(), depth + 1)) return e;
      }
      return simdjson::SUCCESS;
    }
    case ondemand::json_type::array: {
      ondemand::array a;
      if (auto e = v.get_array().get(a)) return e;
      for (auto el : a) {
        ondemand::value x;
        if (auto e = std::move(el).get(x)) return e;
        if (auto e = validate(x, depth + 1)) return e;
      }
      return simdjson::SUCCESS;
    }
    case ondemand::json_type::string: {
      std::string_view s;
      return v.get_string().get(s);
    }
    case ondemand::json_type::number: {
      double d;
      const auto e = v.get_double().get(d);
      if (e == simdjson::SUCCESS) return e;
      // Out of a double's range but still a JSON number: fine in an ignored field.
      std::string_view raw = v.raw_json_token();
      return number_shape(raw) != NumberShape::kNotANumber ? simdjson::SUCCESS : e;
    }
    case ondemand::json_type::boolean: {
      bool b;
      return v.get_bool().get(b);
    }
    case ondemand::json_type::null: {
      bool n;
      if (auto e = v.is_null().get(n)) return e;
      return n ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
    }
  }
  return simdjson::INCORRECT_TYPE;
}

simdjson::error_code capture(ondemand::value v, Field& f) {
  ondemand::json_type t;
  if (auto e = v.type().get(t)) return e;
  switch (t) {
    case ondemand::json_type::string: {
      std::string_view s;
      if (auto e = v.get_string().get(s)) return e;
      f.type = Field::Type::kString;
      f.str = s;
      return simdjson::SUCCESS;
    }
    case ondemand::json_type::number: {
      ondemand::number_type nt;
      if (auto e = v.get_number_type().get(nt)) {
        // Beyond what simdjson holds (an integer past 64 bits, `1e400`): by
        // the grammar still a number, so the field's own rule decides
        // (bad_amount, bad_timestamp), not malformed_json.
        std::string_view raw = v.raw_json_token();
        switch (number_shape(raw)) {
          case NumberShape::kInteger: f.type = Field::Type::kTooBig; return simdjson::SUCCESS;
          case NumberShape::kFractionOrExponent: f.type = Field::Type::kNonInteger; return simdjson::SUCCESS;
          case NumberShape::kNotANumber: return e;
        }
        return e;
      }
      if (nt == ondemand::number_type::signed_integer) {
        if (auto e = v.get_int64().get(f.num)) return e;
        f.type = Field::Type::kInt;
      } else if (nt == ondemand::number_type::unsigned_integer) {
        // Above INT64_MAX (simdjson 3.0 also types integers past 2^64 so).
        f.type = Field::Type::kTooBig;
      } else {
        double d;
        if (auto e = v.get_double().get(d)) {
          std::string_view raw = v.raw_json_token();
          if (number_shape(raw) == NumberShape::kNotANumber) return e;
        }
        f.type = Field::Type::kNonInteger;
      }
      return simdjson::SUCCESS;
    }
    case ondemand::json_type::null: {
      bool n;
      if (auto e = v.is_null().get(n)) return e;
      f.type = Field::Type::kNull;
      return simdjson::SUCCESS;
    }
    default:
      f.type = Field::Type::kOther;
      return validate(v, 1);
  }
}

/// Whether an id has no control character (U+0000-U+001F, U+007F): eight
/// bytes at a time (a word with such a byte always tests dirty; a dirty
/// word is checked byte by byte), then the rest.
bool clean_id(std::string_view s) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHighs = 0x8080808080808080ULL;
  while (s.size() >= 8) {
    std::uint64_t x;
    std::memcpy(&x, s.data(), 8);
    const std::uint64_t below_space = (x - kOnes * 0x20) & ~x & kHighs;  // some byte < 0x20
    const std::uint64_t d = x ^ (kOnes * 0x7f);
    const std::uint64_t del = (d - kOnes) & ~d & kHighs;  // some byte == 0x7f
    if ((below_space | del) != 0) break;
    s.remove_prefix(8);
  }
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

/// Validation of the captured fields, in the fixed order of SPEC §2's table,
/// so one input always gets the same reason.
class Validator {
 public:
  explicit Validator(std::array<Field, kFieldCount>& f) : f_(f) {}

  std::string reason;
  std::string detail;

  [[nodiscard]] bool failed() const { return !reason.empty(); }

  void fail(std::string r, std::string d) {
    if (reason.empty()) {
      reason = std::move(r);
      detail = std::move(d);
    }
  }

  Field& at(FieldId id) { return f_[id]; }

  static bool present(const Field& f) {
    return f.type != Field::Type::kAbsent && f.type != Field::Type::kNull;
  }

  /// A string field; nullopt when absent/null (and `required` then fails).
  /// Ids and labels (`text == Text::kId`) must not contain control
  /// characters (U+0000–U+001F, U+007F): they would make ids ambiguous.
  enum class Text { kId, kWord };
  std::optional<std::string_view> str(FieldId id, bool required, std::size_t max_len = 128,
                                      Text text = Text::kId) {
    if (failed()) return std::nullopt;
    const Field& f = f_[id];
    if (f.type == Field::Type::kString && !f.str.empty() && f.str.size() <= max_len &&
        (text != Text::kId || clean_id(f.str)))
      return f.str;  // the common case, checked once
    const std::string_view name = kKnownFields[id];
    if (!present(f)) {
      if (required) fail("missing_field:" + std::string(name), std::string(name) + " is required");
      return std::nullopt;
    }
    if (f.type != Field::Type::kString) {
      fail("wrong_type:" + std::string(name), std::string(name) + " must be a string");
      return std::nullopt;
    }
    if (f.str.empty() || f.str.size() > max_len) {
      fail("bad_value:" + std::string(name),
           std::string(name) + " must be 1.." + std::to_string(max_len) + " bytes, got " +
               std::to_string(f.str.size()));
      return std::nullopt;
    }
    if (text == Text::kId) {
      const auto bad = std::find_if(f.str.begin(), f.str.end(), [](char ch) {
        const auto c = static_cast<unsigned char>(ch);
        return c < 0x20 || c == 0x7f;
      });
      if (bad != f.str.end()) {
        char code[8];
        std::snprintf(code, sizeof code, "U+%04X", static_cast<unsigned>(static_cast<unsigned char>(*bad)));
        fail("bad_value:" + std::string(name),
             std::string(name) + " contains the control character " + code + " at byte " +
                 std::to_string(bad - f.str.begin()));
        return std::nullopt;
      }
    }
    return f.str;
  }

  /// An amount in minor units: integer, 0 <= v <= kMaxAmountMinor.
  std::optional<MinorUnits> amount(FieldId id, bool required) {
    if (failed()) return std::nullopt;
    const std::string_view name = kKnownFields[id];
    const Field& f = f_[id];
    if (!present(f)) {
      if (required) fail("missing_field:" + std::string(name), std::string(name) + " is required");
      return std::nullopt;
    }
    switch (f.type) {
      case Field::Type::kInt:
        if (f.num < 0 || f.num > kMaxAmountMinor) {
          fail("bad_amount", std::string(name) + " must be 0.." + std::to_string(kMaxAmountMinor) +
                                 ", got " + std::to_string(f.num));
          return std::nullopt;
        }
        return f.num;
      case Field::Type::kNonInteger:
        fail("bad_amount", std::string(name) + " must be an integer number of minor units");
        return std::nullopt;
      case Field::Type::kTooBig:
        fail("bad_amount", std::string(name) + " is larger than " + std::to_string(kMaxAmountMinor));
        return std::nullopt;
      default:
        fail("wrong_type:" + std::string(name), std::string(name) + " must be an integer");
        return std::nullopt;
    }
  }

  std::optional<TimestampMs> timestamp() {
    if (failed()) return std::nullopt;
    const Field& f = f_[kTs];
    if (!present(f)) {
      fail("missing_field:ts", "ts is required");
      return std::nullopt;
    }
    if (f.type == Field::Type::kString) {
      if (auto t = parse_rfc3339(f.str)) return t;
      fail("bad_timestamp", "ts is not RFC 3339 with an offset: " + std::string(f.str.substr(0, 64)));
      return std::nullopt;
    }
    if (f.type == Field::Type::kInt) {
      if (f.num >= 0 && f.num <= kMaxTimestampMs) return f.num;
      fail("bad_timestamp", "ts must be 0.." + std::to_string(kMaxTimestampMs) + " ms");
      return std::nullopt;
    }
    if (f.type == Field::Type::kNonInteger || f.type == Field::Type::kTooBig) {
      fail("bad_timestamp", "ts must be integer milliseconds since the epoch");
      return std::nullopt;
    }
    fail("wrong_type:ts", "ts must be integer milliseconds or an RFC 3339 string");
    return std::nullopt;
  }

 private:
  std::array<Field, kFieldCount>& f_;
};

/// Why `code` is not a currency (SPEC §2: a code of the ISO 4217 list with
/// minor-unit digits; docs/SEMANTICS.md).
std::string currency_detail(std::string_view code) {
  return "currency must be an active ISO 4217 code with minor units (CNY, USD, EUR, JPY, ...; not XTS, XXX, "
         "XAU or XDR), got " + std::string(code);
}

/// Makes `out` a reject (dropping an Event begun in place).
void fail(DecodeTarget out, std::string reason, std::string detail) {
  out.event.reset();
  out.reason = std::move(reason);
  out.detail = std::move(detail);
}


}  // namespace

EventDecoder::EventDecoder() { buffer_.reserve(kMaxMessageBytes + simdjson::SIMDJSON_PADDING); }

DecodeResult EventDecoder::decode(std::string_view bytes, std::optional<EventKind> topic_kind) {
  DecodeResult r;
  decode(bytes, topic_kind, DecodeTarget{r.event, r.reason, r.detail});
  return r;
}

void EventDecoder::decode(std::string_view bytes, std::optional<EventKind> topic_kind, DecodeTarget r) {
  if (bytes.size() > kMaxMessageBytes) {
    fail(r, "oversized", "message is " + std::to_string(bytes.size()) + " bytes, limit " +
                             std::to_string(kMaxMessageBytes));
    return;
  }
  // UTF-8 is validated once: simdjson's stage 1 checks the whole message,
  // so a message it parses into an event is valid UTF-8. Any other verdict
  // is taken only after the checks that come first (invalid_utf8, then the
  // byte order mark), as before.
  const bool bom = bytes.starts_with("\xEF\xBB\xBF");
  if (!bom) {
    parse(bytes, topic_kind, r);
    if (r.event) return;
  }
  if (!simdjson::validate_utf8(bytes.data(), bytes.size())) {
    fail(r, "invalid_utf8", "message is not valid UTF-8");
    return;
  }
  if (bom) {
    fail(r, "malformed_json", "message starts with a UTF-8 byte order mark (EF BB BF); remove it");
    return;
  }
  if (json_error_ != simdjson::UNESCAPED_CHARS) return;
  // A raw control byte inside a string is malformed JSON; when it sits in an
  // id the contract names (SPEC §2), bad_value:<field> says more. Parse
  // again with such bytes escaped: only a bad_value verdict replaces the
  // malformed_json one, so nothing malformed is ever accepted.
  std::string escaped;
  escaped.reserve(bytes.size() + 64);
  bool in_string = false;
  bool escape = false;
  for (char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    if (in_string && !escape && c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      escaped += buf;
      continue;
    }
    escaped.push_back(ch);
    if (escape) escape = false;
    else if (in_string && ch == '\\') escape = true;
    else if (ch == '"') in_string = !in_string;
  }
  DecodeResult again;
  parse(escaped, topic_kind, DecodeTarget{again.event, again.reason, again.detail});
  if (!again.ok() && again.reason.starts_with("bad_value:")) fail(r, std::move(again.reason), std::move(again.detail));
}

void EventDecoder::parse(std::string_view bytes, std::optional<EventKind> topic_kind, DecodeTarget out) {
  json_error_ = simdjson::SUCCESS;
  buffer_.assign(bytes);
  buffer_.append(simdjson::SIMDJSON_PADDING, '\0');
  std::array<Field, kFieldCount> fields{};
  auto malformed = [this, &out](simdjson::error_code e) {
    json_error_ = e;
    return fail(out, "malformed_json", std::string("JSON error: ") + simdjson::error_message(e));
  };
  {
    ondemand::document doc;
    if (auto e = parser_.iterate(buffer_.data(), bytes.size(), buffer_.size()).get(doc))
      return malformed(e);
    ondemand::object obj;
    if (auto e = doc.get_object().get(obj))
      return e == simdjson::INCORRECT_TYPE ? fail(out, "malformed_json", "message is not a JSON object")
                                           : malformed(e);
    for (auto f : obj) {
      ondemand::field field;
      if (auto e = std::move(f).get(field)) return malformed(e);
      // A known key written plainly is found in the raw text; any other
      // key is unescaped first (it may be a known one written with escapes).
      int idx = raw_field_index(field.key().raw());
      std::string_view key;
      if (idx >= 0) {
        key = kKnownFields[static_cast<std::size_t>(idx)];
      } else {
        if (auto e = field.unescaped_key().get(key)) return malformed(e);
        idx = field_index(key);
      }
      if (idx < 0) {
        if (auto e = validate(field.value(), 1)) return malformed(e);
        continue;
      }
      Field& slot = fields[static_cast<std::size_t>(idx)];
      if (slot.type != Field::Type::kAbsent)
        return fail(out, "malformed_json", "duplicate key " + std::string(key));
      if (auto e = capture(field.value(), slot)) return malformed(e);
    }
    // At the end of the document current_location() has nowhere to point.
    if (!doc.current_location().error())
      return fail(out, "malformed_json", "trailing content after the JSON object");
  }

  Validator v(fields);
  // type: required in files, optional on Kafka; must match when present.
  std::optional<EventKind> kind = topic_kind;
  {
    const Field& t = v.at(kType);
    if (!Validator::present(t)) {
      if (!topic_kind) return fail(out, "missing_field:type", "type is required in files");
    } else if (t.type != Field::Type::kString) {
      return fail(out, "wrong_type:type", "type must be a string");
    } else {
      auto k = event_kind_from(t.str);
      if (!k) return fail(out, "type_mismatch", "unknown type " + std::string(t.str.substr(0, 32)));
      // A risk release travels the payouts topic (SPEC §2).
      const bool on_payouts = topic_kind == EventKind::kPayout && *k == EventKind::kRiskRelease;
      if (topic_kind && *k != *topic_kind && !on_payouts)
        return fail(out, "type_mismatch", "type " + std::string(t.str) + " on the " +
                                           std::string(to_string(*topic_kind)) + " topic");
      kind = k;
    }
  }

  // Built in place; fail() drops it again.
  Event& ev = out.event.emplace();
  if (*kind == EventKind::kRiskRelease) {
    // SPEC §2, §3.9: no user_id; event_id = release_id (optional, must match).
    RiskRelease& rr = ev.body.emplace<RiskRelease>();
    auto release_id = v.str(kReleaseId, true);
    auto event_id = v.str(kEventId, false);
    auto ts = v.timestamp();
    auto partner = v.str(kPartnerId, true);
    auto period = v.str(kPeriod, true, 32, Validator::Text::kWord);
    rr.reference = v.str(kReference, false, 256, Validator::Text::kWord);
    if (v.failed()) return fail(out, std::move(v.reason), std::move(v.detail));
    if (event_id && *event_id != *release_id)
      return fail(out, "bad_value:event_id",
                  "a risk_release's event_id must equal its release_id " + std::string(*release_id));
    ev.event_id = *release_id;
    ev.ts = *ts;
    rr.release_id = *release_id;
    rr.partner_id = *partner;
    rr.period = *period;
    return;
  }
  if (*kind == EventKind::kPayout) {
    // SPEC §2: no user_id; event_id = payout_id (optional, must match).
    Payout& p = ev.body.emplace<Payout>();
    auto payout_id = v.str(kPayoutId, true);
    auto event_id = v.str(kEventId, false);
    auto ts = v.timestamp();
    auto partner = v.str(kPartnerId, true);
    auto amount = v.amount(kAmountMinor, true);
    auto currency = v.str(kCurrency, true, 3, Validator::Text::kWord);
    p.through_period = v.str(kThroughPeriod, false, 32);
    p.reference = v.str(kReference, false, 256, Validator::Text::kWord);
    if (v.failed()) return fail(out, std::move(v.reason), std::move(v.detail));
    if (event_id && *event_id != *payout_id)
      return fail(out, "bad_value:event_id", "a payout's event_id must equal its payout_id " + std::string(*payout_id));
    if (!is_iso4217(*currency))
      return fail(out, "bad_value:currency", currency_detail(*currency));
    ev.event_id = *payout_id;
    ev.ts = *ts;
    p.payout_id = *payout_id;
    p.partner_id = *partner;
    p.amount_minor = *amount;
    p.currency = *currency;
    return;
  }
  auto event_id = v.str(kEventId, true);
  auto ts = v.timestamp();
  auto user_id = v.str(kUserId, true);
  if (v.failed()) return fail(out, std::move(v.reason), std::move(v.detail));
  ev.event_id = *event_id;
  ev.ts = *ts;
  ev.user_id = *user_id;

  switch (*kind) {
    case EventKind::kClick: {
      Click& c = ev.body.emplace<Click>();
      auto campaign = v.str(kCampaignId, true);
      auto source = v.str(kSource, true, 64);
      c.partner_id = v.str(kPartnerId, false);
      c.course_id = v.str(kCourseId, false);
      c.session_id = v.str(kSessionId, false);
      if (v.failed()) return fail(out, std::move(v.reason), std::move(v.detail));
      c.campaign_id = *campaign;
      c.source = *source;
      break;
    }
    case EventKind::kReferral: {
      Referral& r = ev.body.emplace<Referral>();
      auto partner = v.str(kPartnerId, true);
      r.referrer_id = v.str(kReferrerId, false);
      r.referral_code = v.str(kReferralCode, false);
      r.campaign_id = v.str(kCampaignId, false);
      if (v.failed()) return fail(out, std::move(v.reason), std::move(v.detail));
      r.partner_id = *partner;
      if (r.referrer_id && *r.referrer_id == ev.user_id)
        return fail(out, "self_referral", "referrer_id equals user_id " + ev.user_id);
      break;
    }
    case EventKind::kOrder: {
      Order& o = ev.body.emplace<Order>();
      auto order_id = v.str(kOrderId, true);
      auto status = v.str(kStatus, true, 32, Validator::Text::kWord);
      if (v.failed()) return fail(out, std::move(v.reason), std::move(v.detail));
      auto st = order_status_from(*status);
      if (!st) return fail(out, "unknown_status", "status " + std::string(*status) + " is not one of pending, completed, cancelled, refunded");
      auto amount = v.amount(kAmountMinor, true);
      auto currency = v.str(kCurrency, true, 3, Validator::Text::kWord);
      if (v.failed()) return fail(out, std::move(v.reason), std::move(v.detail));
      if (!is_iso4217(*currency))
        return fail(out, "bad_value:currency", currency_detail(*currency));
      o.course_id = v.str(kCourseId, false);
      o.payment_id = v.str(kPaymentId, false);
      o.referral_code = v.str(kReferralCode, false);
      o.refund_minor = v.amount(kRefundMinor, *st == OrderStatus::kRefunded);
      o.campaign_id = v.str(kCampaignId, false);
      if (v.failed()) return fail(out, std::move(v.reason), std::move(v.detail));
      if (*st == OrderStatus::kRefunded && *o.refund_minor <= 0)
        return fail(out, "bad_amount", "refund_minor must be > 0");
      o.order_id = *order_id;
      o.status = *st;
      o.amount_minor = *amount;
      o.currency = *currency;
      break;
    }
    case EventKind::kPayout:
    case EventKind::kRiskRelease: break;  // decoded above
  }
}

}  // namespace alliance

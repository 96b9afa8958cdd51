// The input events of SPEC §2 as validated values. An Event owns its
// strings; it is built by the codec and read by the core on one thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "alliance/core/event_time.h"
#include "alliance/core/money.h"

namespace alliance {

/// Input kinds in their tie-break order for equal timestamps (SPEC §3.1).
/// Payouts are not merged in event time: they have their own topic, keyed by
/// partner (docs/FINANCE.md).
/// A risk release travels the payouts topic too (SPEC §2, §3.9).
enum class EventKind : std::uint8_t { kClick = 0, kReferral = 1, kOrder = 2, kPayout = 3, kRiskRelease = 4 };

std::string_view to_string(EventKind k);
std::optional<EventKind> event_kind_from(std::string_view s);

enum class OrderStatus : std::uint8_t { kPending, kCompleted, kCancelled, kRefunded };
std::string_view to_string(OrderStatus s);
std::optional<OrderStatus> order_status_from(std::string_view s);

/// An optional label as a view; empty when absent (an absent label and an
/// empty one count alike: credit() and the look-ups skip empty keys).
inline std::string_view label_or_empty(const std::optional<std::string>& s) {
  return s ? std::string_view(*s) : std::string_view();
}

struct Click {
  std::string campaign_id;
  std::string source;
  std::optional<std::string> partner_id;
  std::optional<std::string> course_id;
  std::optional<std::string> session_id;
};

struct Referral {
  std::string partner_id;
  std::optional<std::string> referrer_id;
  std::optional<std::string> referral_code;
  std::optional<std::string> campaign_id;
};

struct Order {
  std::string order_id;
  OrderStatus status = OrderStatus::kPending;
  MinorUnits amount_minor = 0;
  std::string currency;
  std::optional<std::string> course_id;
  std::optional<std::string> payment_id;
  std::optional<std::string> referral_code;
  std::optional<MinorUnits> refund_minor;
  std::optional<std::string> campaign_id;
};

/// Finance telling the processor that money left the bank (SPEC §3.8);
/// the event's `event_id` is its `payout_id` and its `user_id` is empty.
struct Payout {
  std::string payout_id;
  std::string partner_id;
  MinorUnits amount_minor = 0;
  std::string currency;
  std::optional<std::string> through_period;
  std::optional<std::string> reference;
};

/// Finance releasing a partner-period held by partner risk (SPEC §3.9);
/// the event's `event_id` is its `release_id` and its `user_id` is empty.
struct RiskRelease {
  std::string release_id;
  std::string partner_id;
  std::string period;  // a settlement period label (SPEC §5.3)
  std::optional<std::string> reference;
};

struct Event {
  std::string event_id;
  TimestampMs ts = 0;
  std::string user_id;
  std::variant<Click, Referral, Order, Payout, RiskRelease> body;

  [[nodiscard]] EventKind kind() const { return static_cast<EventKind>(body.index()); }
};

}  // namespace alliance

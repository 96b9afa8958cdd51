// Test helpers: a Processor over a topology written as YAML, event builders,
// and filters over its outputs.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "alliance/config/topology_loader.h"
#include "alliance/core/processor.h"

namespace alliance::testing {

inline Event click(std::string id, TimestampMs ts, std::string user, std::string campaign,
                   std::string source, std::optional<std::string> partner = std::nullopt) {
  return Event{std::move(id), ts, std::move(user), Click{std::move(campaign), std::move(source), std::move(partner), {}, {}}};
}

inline Event referral(std::string id, TimestampMs ts, std::string user, std::string partner,
                      std::optional<std::string> code = std::nullopt,
                      std::optional<std::string> campaign = std::nullopt) {
  return Event{std::move(id), ts, std::move(user), Referral{std::move(partner), {}, std::move(code), std::move(campaign)}};
}

inline Event order(std::string id, TimestampMs ts, std::string user, std::string order_id, OrderStatus status,
                   MinorUnits amount, std::string currency = "CNY",
                   std::optional<MinorUnits> refund = std::nullopt,
                   std::optional<std::string> code = std::nullopt) {
  Order o;
  o.order_id = std::move(order_id);
  o.status = status;
  o.amount_minor = amount;
  o.currency = std::move(currency);
  o.refund_minor = refund;
  o.referral_code = std::move(code);
  return Event{std::move(id), ts, std::move(user), std::move(o)};
}

class ProcessorTest : public ::testing::Test {
 protected:
  void use(const std::string& yaml) {
    topology_ = parse_topology(yaml, "test.yaml");
    processor_ = std::make_unique<Processor>(topology_);
    outputs_.clear();
    offset_ = 0;
  }
  /// Processes `events` as one emit cycle (running records at its end).
  void feed(const std::vector<Event>& events) {
    for (const auto& e : events) processor_->process(e, {"test", 0, offset_++}, "raw");
    processor_->end_cycle(/*emit_running=*/true);
    auto out = processor_->take_outputs();
    outputs_.insert(outputs_.end(), out.begin(), out.end());
  }
  void finish() {
    processor_->finish();
    auto out = processor_->take_outputs();
    outputs_.insert(outputs_.end(), out.begin(), out.end());
  }
  template <class T>
  std::vector<T> all() const {
    std::vector<T> v;
    for (const auto& r : outputs_)
      if (const T* t = std::get_if<T>(&r.body)) v.push_back(*t);
    return v;
  }
  std::vector<SettlementRecord> settlements() const { return all<SettlementRecord>(); }
  std::vector<DeadLetter> dead_letters() const { return all<DeadLetter>(); }
  /// attributed_minor by record_id.
  std::map<std::string, MinorUnits> amounts() const {
    std::map<std::string, MinorUnits> m;
    for (const auto& s : settlements()) m[s.record_id] = s.attributed_minor;
    return m;
  }
  /// The last final statement per partner|period|currency.
  std::map<std::string, StatementRecord> final_statements() const {
    std::map<std::string, StatementRecord> m;
    for (const auto& s : all<StatementRecord>())
      if (s.final) m[s.partner_id + "|" + s.period + "|" + s.currency] = s;
    return m;
  }

  Topology topology_;
  std::unique_ptr<Processor> processor_;
  std::vector<OutputRecord> outputs_;
  std::int64_t offset_ = 0;
};

inline constexpr TimestampMs kT0 = 1'795'140'000'000;  // 2026-11-20T02:00:00Z = 10:00 in +08:00
inline constexpr DurationMs kMin = 60'000;
inline constexpr DurationMs kHour = 3'600'000;
inline constexpr DurationMs kDay = 86'400'000;

}  // namespace alliance::testing

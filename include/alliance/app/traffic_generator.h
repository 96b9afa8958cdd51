// A deterministic generator of realistic alliance traffic: partners' clicks,
// referrals with codes, conversion funnels, partial refunds, cancellations,
// duplicates and a small share of bad input. Same seed, same events. Owned
// and called by one thread.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "alliance/core/event.h"
#include "alliance/core/topology.h"

namespace alliance {

struct GeneratorOptions {
  std::uint64_t seed = 42;
  std::int64_t users = 5000;            // active user population
  TimestampMs start_ms = 1'795'140'000'000;  // 2026-11-20T10:00:00+08:00
  DurationMs mean_gap_ms = 5;           // event time between events (200 events/s)
  /// > 0: the mean gap in microseconds instead, for more than 1 000 events
  /// per second of event time (the demo's --rate); event times may repeat.
  std::int64_t mean_gap_us = 0;
  double bad_rate = 0.002;              // share of malformed / invalid messages
  double duplicate_rate = 0.002;        // share of re-sent events
  /// Opt-in fraud (partner risk, SPEC §3.9): the topology's last partner
  /// also injects a click just before one completion in five (click
  /// injection), and a click farm "p-clickfarm" sends 6 % of the clicks
  /// from 20 users (click spam). Off: the traffic is exactly as before.
  bool fraud = false;
};

/// One generated message: the topic kind it belongs to, its key and bytes.
struct GeneratedMessage {
  EventKind kind;
  std::string key;
  std::string json;
};

class TrafficGenerator {
 public:
  TrafficGenerator(const Topology& topology, GeneratorOptions options);
  /// The next message; `with_type` adds the "type" field (files need it).
  GeneratedMessage next(bool with_type);
  [[nodiscard]] TimestampMs now() const { return now_; }
  /// Users are drawn from [first, first + users) from now on (default 0): a
  /// caller that moves `first` along has a population that turns over, new
  /// users arriving and old ones leaving, as bench/soak.sh does. Open orders
  /// keep their user.
  void set_first_user(std::int64_t first) { first_user_ = first; }

 private:
  struct OpenOrder {
    std::string user;
    std::string order_id;
    MinorUnits amount;
    MinorUnits refunded;
    std::string currency;
    bool completed;
  };
  std::string user_id(std::int64_t i) const;
  /// The index of a random user of the current population.
  std::int64_t pick_user();
  GeneratedMessage click(bool with_type);
  GeneratedMessage referral(bool with_type);
  GeneratedMessage order(bool with_type);
  GeneratedMessage bad(bool with_type);
  /// With fraud: the injector's click for the completion `m` of `user`,
  /// which is then held back and returned by the next call.
  GeneratedMessage inject(const std::string& user, GeneratedMessage m, bool with_type);
  GeneratedMessage spam(bool with_type);

  GeneratorOptions o_;
  std::mt19937_64 rng_;
  TimestampMs now_;
  std::int64_t elapsed_us_ = 0;  // with mean_gap_us
  std::int64_t seq_ = 0;
  std::int64_t first_user_ = 0;
  std::vector<std::string> campaigns_;
  std::vector<std::string> partners_;
  std::vector<std::string> codes_;
  std::vector<OpenOrder> open_orders_;
  GeneratedMessage last_;
  std::string injector_;                    // with fraud: the partner that injects clicks
  std::optional<GeneratedMessage> held_;    // with fraud: the completion after an injected click
};

}  // namespace alliance

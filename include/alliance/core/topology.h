// Typed topology configuration (SPEC §7). Built once by the config loader,
// then read-only: safe to share between threads.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "alliance/core/event_time.h"
#include "alliance/core/money.h"

namespace alliance {

enum class AttributionModel : std::uint8_t {
  kLastTouch,
  kFirstTouch,
  kLinear,
  kPositionBased,
  kTimeDecay
};
std::string_view to_string(AttributionModel m);
std::optional<AttributionModel> attribution_model_from(std::string_view s);

enum class ContractType : std::uint8_t { kPercent, kFlat, kTiered };

struct Tier {
  std::optional<MinorUnits> up_to_minor;  // inclusive; absent on the last tier
  std::int64_t rate_bp = 0;
};

struct Contract {
  std::string id;
  ContractType type = ContractType::kPercent;
  std::int64_t rate_bp = 0;                 // percent
  MinorUnits per_conversion_minor = 0;      // flat
  std::vector<Tier> tiers;                  // tiered
  std::optional<DurationMs> holding_period;  // pending -> payable; else the topology's (SPEC §3.8)
};

struct PartnerConfig {
  std::string id;
  std::vector<std::string> referral_codes;
  std::optional<Contract> contract;
};

struct PoolMember {
  std::string partner_id;
  std::int64_t weight = 0;
};

struct PoolConfig {
  std::string id;
  std::string campaign_id;
  std::int64_t pool_bp = 0;
  std::vector<PoolMember> members;
};

struct CampaignConfig {
  std::string id;
  std::optional<MinorUnits> cost_minor;
  std::string currency;  // the currency of cost_minor
};

/// Which metric records are published (SPEC §5.2): running updates and
/// finals, or finals only (backfills).
enum class EmitMode : std::uint8_t { kRunning, kFinal };
constexpr std::string_view to_string(EmitMode m) { return m == EmitMode::kFinal ? "final" : "running"; }

/// The calendar unit of a settlement period in `settlement_tz` (SPEC §5.3).
using SettlementPeriod = PeriodUnit;
constexpr std::string_view to_string(SettlementPeriod p) {
  return p == SettlementPeriod::kMonth ? "month" : p == SettlementPeriod::kWeek ? "week" : "day";
}

/// Memory budget of the state store (SPEC §4), in MiB.
struct StateBudget {
  std::int64_t cache_mb = 128;        // write-back cache of decoded state, per process
  std::int64_t block_cache_mb = 128;  // RocksDB block cache
  std::int64_t write_buffer_mb = 64;  // RocksDB write buffers (memtables)
};

/// Customer-lifetime-value parameters of the `all` metric records (SPEC §5.2).
struct ClvConfig {
  double discount_rate = 0.10;  // per period; a rate, not money
  /// discount_rate as an exact rational: parts per million, set at load
  /// (the YAML decimal rounded to 6 places). The CLV uses only this.
  std::int64_t discount_ppm = 100'000;
  std::int64_t periods = 3;
};

/// What partner risk does with a flag (SPEC §3.9): publish it, or also hold
/// the flagged partner-period's pending commission until a risk_release.
enum class RiskAction : std::uint8_t { kFlag, kHold };
constexpr std::string_view to_string(RiskAction a) { return a == RiskAction::kHold ? "hold" : "flag"; }

/// The `risk:` block (SPEC §3.9, docs/TOPOLOGY.md). Thresholds are exact
/// rationals: millionths (ppm) of the decimal written in the file, which
/// the loader refuses beyond 6 decimal places.
struct RiskConfig {
  RiskAction action = RiskAction::kFlag;
  DurationMs min_ctit = 10 * kMsPerSecond;            // faster completions are fast_orders
  std::int64_t max_fast_share_ppm = 300'000;           // 0.3
  std::int64_t max_clicks_per_user_ppm = 20'000'000;   // 20
  std::int64_t max_reversal_rate_ppm = 500'000;        // 0.5
  std::int64_t min_orders = 20;                        // click_injection, refund_abuse
  std::int64_t min_click_users = 20;                   // click_spam
};

struct Topology {
  std::string name;
  struct {
    std::string clicks = "alliance.clicks";
    std::string referrals = "alliance.referrals";
    std::string orders = "alliance.orders";
    std::string payouts;  // the loader sets `<name>.payouts` unless given
  } inputs;
  struct {
    std::string metrics = "alliance.campaign-metrics";
    std::string settlements = "alliance.settlements";
    std::string statements = "alliance.settlement-statements";
    std::string dlq = "alliance.dlq";
    std::string balances;  // the loader sets `<name>.partner-balances` unless given
    std::string risk;      // the loader sets `<name>.partner-risk` unless given
  } outputs;
  AttributionModel model = AttributionModel::kLastTouch;
  DurationMs lookback = 30 * kMsPerDay;
  DurationMs half_life = 7 * kMsPerDay;
  std::size_t max_touchpoints = 50;
  std::vector<DurationMs> windows{60'000, 3'600'000};
  DurationMs grace = 5'000;
  DurationMs dedupe_retention = 7 * kMsPerDay;
  DurationMs emit_interval = 1'000;  // Kafka: processing time between emit cycles (SPEC §5.2)
  EmitMode emit = EmitMode::kRunning;  // final: only final records (backfills)
  std::int64_t replay_batch = 100'000;  // file replay: input records per emit cycle
  DurationMs order_retention = 400 * kMsPerDay;     // order state after its last event
  DurationMs statement_retention = 90 * kMsPerDay;  // closed statements after their day
  DurationMs settlement_offset = 0;  // settlement_tz as an offset from UTC
  std::string settlement_tz = "UTC";
  SettlementPeriod settlement_period = SettlementPeriod::kDay;
  DurationMs holding_period = 30 * kMsPerDay;  // pending -> payable (SPEC §3.8); 0 allowed
  StateBudget state;                           // SPEC §4
  ClvConfig clv;                               // SPEC §5.2
  RiskConfig risk;                             // SPEC §3.9
  DurationMs churn_after = 90 * kMsPerDay;     // SPEC §5.2
  std::string default_currency = "USD";
  std::string guarantee = "at_least_once";  // processing.guarantee: or exactly_once
  DurationMs commit_interval = 100;         // processing.commit_interval
  std::vector<CampaignConfig> campaigns;
  std::vector<PartnerConfig> partners;
  std::vector<PoolConfig> pools;

  // Derived lookups, filled by index().
  std::map<std::string, std::size_t> partner_index;
  std::map<std::string, std::size_t> campaign_index;
  std::map<std::string, std::string> code_owner;  // referral code -> partner id

  /// Rebuilds the derived lookups; call after editing the vectors.
  void index();
  [[nodiscard]] const PartnerConfig* partner(const std::string& id) const;
  [[nodiscard]] const CampaignConfig* campaign(const std::string& id) const;
  /// The holding period of a partner's commission: its contract's, else the topology's.
  [[nodiscard]] DurationMs holding_of(const std::string& partner_id) const;
};

}  // namespace alliance

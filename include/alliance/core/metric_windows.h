// Event-time tumbling windows and the running per-campaign record behind the
// campaign-metrics topic (SPEC §3.7, §5.2). Owned by the Processor; called
// only from the core's thread.
#pragma once

#include <map>
#include <set>
#include <unordered_set>
#include <string>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>

#include "alliance/core/output_record.h"
#include "alliance/core/cached_table.h"
#include "alliance/core/churn_index.h"
#include "alliance/core/dirty_keys.h"
#include "alliance/core/key_hash.h"
#include "alliance/core/state_table.h"
#include "alliance/core/topology.h"
#include "alliance/core/user_set.h"

namespace alliance {

enum class Dim : std::uint8_t { kSource = 0, kCampaign = 1, kPartner = 2 };
std::string_view to_string(Dim d);

/// What one event adds to one dimension key.
struct MetricDelta {
  std::int64_t clicks = 0;
  std::int64_t referrals = 0;
  std::int64_t orders = 0;
  std::int64_t conversions_micros = 0;
  MinorUnits revenue_minor = 0;
  MinorUnits refunds_minor = 0;
  std::string currency;      // empty when the delta carries no money
  bool counts_user = true;   // refunds do not make a user active in a window
};

struct MoneyTotals {
  MinorUnits revenue_minor = 0;
  MinorUnits refunds_minor = 0;
};

/// One (dimension, key, window) aggregate; also the running "all" one.
struct WindowAggregate {
  std::int64_t clicks = 0;
  std::int64_t referrals = 0;
  std::int64_t orders = 0;
  std::int64_t conversions_micros = 0;
  std::int64_t late_events = 0;
  std::int64_t unique_users = 0;  // exact: users_ holds the members
  UserSet users;  // windows only; "all" counts via campaign_users_
  /// The state store keeps a window's members in chunks, one per commit that
  /// added some, keyed by the chunk's first member: their ids, so closing
  /// the window deletes a handful of keys (state adapter bookkeeping).
  std::vector<UserFingerprint> user_chunks;
  /// Members added since the state session last collected changes, in
  /// the order added: the next chunk (only while changes are tracked).
  std::vector<UserFingerprint> new_members;
  std::map<std::string, MoneyTotals> money;  // by currency
  std::int64_t buyers = 0;         // "all" only
  std::int64_t repeat_buyers = 0;  // "all" only
  TimestampMs as_of = 0;           // "all" only: newest event time applied
  /// "all" only: buyers whose last completed order is older than the churn
  /// cutoff. Derived (the churn index), rebuilt on restore, not persisted.
  std::int64_t churned = 0;
};

/// A campaign's (or source's) relation to one user, for all-time unique
/// users, buyers and the buyer's last completed order (churn).
struct CampaignUser {
  std::int64_t completed_orders = 0;
  TimestampMs last_order_ts = INT64_MIN;  // when completed_orders > 0; INT64_MIN: unknown (older state)
};

/// The CLV annuity factor A = Σ_{t=1..n} (1+d)^-t, d = discount_ppm / 10^6,
/// as a fraction num/den: exact (1+d = p/q in lowest terms, num = Σ q^t
/// p^(n-t), den = p^n) when both fit in 64 bits, else A rounded half to
/// even to 15 decimal places (den = 10^15). docs/SEMANTICS.md.
struct ClvFactor {
  bool exact = true;
  unsigned __int128 num = 0;
  unsigned __int128 den = 1;
};
ClvFactor clv_factor(const ClvConfig& c);

/// Sets ltv_minor = round_half_even((revenue - refunds) / buyers) and
/// clv_minor = round_half_even((revenue - refunds) · A / buyers) of an "all"
/// record from its own integers; both null without buyers (clv also null
/// if it would leave int64).
void set_customer_measures(MetricRecord& r, const ClvFactor& f);

/// The key of a dimension's "all" record in MetricWindows::campaigns():
/// the campaign id itself (state written before sources had "all" records
/// stays valid), or \x01 + the source name (ids never hold control bytes).
std::string all_record_key(Dim dim, const std::string& key);


/// One metric key's part of an event, as the Processor will apply it.
struct MetricCredit {
  Dim dim = Dim::kSource;
  std::string key;
  MetricDelta delta;
};

/// The windows and "all" records of one Processor: aggregates, their users
/// and what is still to emit. Owned by the Processor; core thread only.
class MetricWindows {
 public:
  explicit MetricWindows(const Topology& topology);

  /// True when applying `credits` (one event at time `ts`) would take a
  /// window's or a campaign "all" record's revenue or refunds outside int64
  /// (late windows take no money, as in apply()). The caller dead-letters
  /// the event (`amount_overflow`) and applies nothing. Cheapest when the
  /// credits are sorted by (dim, key) with no key twice, as orders make them.
  [[nodiscard]] bool would_overflow(const std::vector<MetricCredit>& credits, TimestampMs ts,
                                    TimestampMs watermark) const;

  /// Applies `delta` for `user` at event time `ts` to (dim, key) in every
  /// window size; a window already final (end <= watermark) is skipped and
  /// the event counted late in the window holding `stream_time`. Money sums
  /// must have passed would_overflow (MoneyOverflow is thrown otherwise).
  /// Returns true when the event was late for at least one window size.
  bool apply(Dim dim, const std::string& key, const std::string& user, TimestampMs ts,
             const MetricDelta& delta, TimestampMs watermark, TimestampMs stream_time);

  /// Applies `delta` to the campaign's or source's running "all" record
  /// (other dimensions: nothing). `new_order` marks a completed order
  /// credited to the key (buyers, repeat buyers, last order time).
  /// `user_counted`: the caller knows the user is already among the key's
  /// all-time users (a touchpoint of theirs with this key was credited), so
  /// campaign_users is not looked up; only without `new_order`.
  void apply_all(Dim dim, const std::string& key, const std::string& user, TimestampMs ts,
                 const MetricDelta& delta, bool new_order, bool user_counted = false);

  /// Moves the churn cutoff to `eval` - churn_after (never backwards): the
  /// buyers whose last order it passes count as churned and their keys get
  /// a running update. Cost: the index entries passed, not the buyers.
  void advance_churn(TimestampMs eval);
  /// After a restore: counts churn at `eval` from the restored churn index
  /// without marking anything dirty.
  void rebuild_churn(TimestampMs eval);
  /// In a split run, stage 1's final "all" partials also carry the last
  /// order times of their buyers not yet churned (for stage 2).
  void set_forward_active_buyers(bool on) { forward_active_ = on; }

  /// Emits and drops every window whose end <= watermark (final: true).
  void finalize(TimestampMs watermark, std::vector<OutputRecord>& out);
  /// Emits one running record per changed window / campaign since the last
  /// call when `running` (else only forgets which changed: emit final).
  void emit_running(std::vector<OutputRecord>& out, bool running = true);
  /// End of input: the final "all" records.
  void finish(std::vector<OutputRecord>& out);

  [[nodiscard]] std::size_t open_windows() const { return windows_.size(); }

  StateTable<WindowAggregate>& windows() { return windows_; }
  StateTable<WindowAggregate>& campaigns() { return campaigns_; }
  CachedTable<CampaignUser>& campaign_users() { return campaign_users_; }
  [[nodiscard]] const CachedTable<CampaignUser>& campaign_users() const { return campaign_users_; }
  /// Buyers per (last completed order time, all_record_key()): the churn
  /// index, persisted (key be64(time) · all_record_key) so a restore does
  /// not read every campaign user.
  ChurnIndex& churn_index() { return churn_index_; }
  /// Keys with a running update still to emit (persisted so a restart emits them too).
  DirtyKeys& dirty_windows() { return dirty_windows_; }
  DirtyKeys& dirty_campaigns() { return dirty_campaigns_; }
  [[nodiscard]] TimestampMs churn_cutoff() const { return churn_cutoff_; }
  /// (window key, user) memberships added / windows dropped (with their
  /// persisted member chunks) since the last drain: a batch writes the new
  /// members of each window as one chunk, not whole user sets.
  std::vector<std::pair<std::string, std::vector<UserFingerprint>>>& dropped_window_users() { return dropped_window_users_; }
  /// Forgets the members added and the chunks dropped since the last
  /// collection (Processor::discard_changes).
  void discard_window_member_changes();
  /// Change tracking for a state store (off: nothing is persisted).
  void track_changes(bool on);

 private:
  /// would_overflow for credits that may name a key twice: sums per record first.
  [[nodiscard]] bool would_overflow_summed(const std::vector<MetricCredit>& credits, TimestampMs ts,
                                           TimestampMs watermark) const;
  void emit_window(const std::string& wkey, const WindowAggregate& agg, bool final,
                   std::vector<OutputRecord>& out) const;
  void emit_all(const std::string& all_key, const WindowAggregate& agg, bool final,
                std::vector<OutputRecord>& out) const;
  /// Moves a buyer of `all_key` in the churn index from `old_ts` (none when
  /// nullopt) to `new_ts`, keeping agg.churned exact.
  void reindex_buyer(const std::string& all_key, WindowAggregate& agg, std::optional<TimestampMs> old_ts,
                     TimestampMs new_ts);

  /// What apply() and apply_all() last touched for one (dimension, key): the
  /// open window per window size and the "all" record, with their keys, so
  /// the next event of the key reaches them without building a key or
  /// searching a map. A window pointer is good while `epoch` equals
  /// windows_epoch_ (bumped whenever a window is dropped); a key is known to
  /// be marked changed / dirty while the table's or set's generation is the
  /// one seen when it was marked.
  struct CurrentWindow {
    TimestampMs end = INT64_MIN;
    std::uint64_t epoch = 0;
    WindowAggregate* agg = nullptr;
    std::string wkey;
    std::uint64_t changed_gen = 0;
    std::uint64_t dirty_gen = 0;
  };
  struct KeyCache {
    std::vector<CurrentWindow> windows;  // per topology_.windows size
    WindowAggregate* all = nullptr;      // campaigns_ entries are never dropped
    std::uint64_t all_epoch = 0;
    std::string all_key;
    std::uint64_t all_changed_gen = 0;
    std::uint64_t all_dirty_gen = 0;
  };
  using KeyHandles = boost::unordered_flat_map<std::string, std::uint32_t, KeyHash, std::equal_to<>>;
  KeyCache& key_cache(Dim dim, const std::string& key);
  /// The window of (dim, key) ending at `end` of the size at `size_index`, marked changed and dirty.
  WindowAggregate& current_window(KeyCache& kc, std::size_t size_index, TimestampMs end, Dim dim,
                                  const std::string& key);
  /// Forgets every cached pointer (windows dropped or restored).
  void invalidate_current() { ++windows_epoch_; }

  const Topology& topology_;
  KeyHandles key_handles_[3];      // per Dim: key -> index in key_caches_
  std::vector<KeyCache> key_caches_;
  std::uint64_t windows_epoch_ = 1;
  StateTable<WindowAggregate> windows_;    // key: encode_window_key()
  StateTable<WindowAggregate> campaigns_;  // key: all_record_key() ("all" records)
  // key: campaign_user_key(all_record_key(), user); a cache of the state
  // store when one backs it (it grows with users × campaigns).
  CachedTable<CampaignUser> campaign_users_;
  DirtyKeys dirty_windows_;
  DirtyKeys dirty_campaigns_;  // all_record_key()s
  ClvFactor clv_;
  ChurnIndex churn_index_;
  TimestampMs churn_cutoff_ = INT64_MIN;  // last order < cutoff: churned
  /// No churn index entry lies in [churn_cutoff_, churn_next_): the cutoff
  /// moves up to it without a look at the index (it moves on every event).
  /// INT64_MIN: unknown (after a restore).
  TimestampMs churn_next_ = INT64_MIN;
  // Key buffers reused by apply() and apply_all(): building a key allocates nothing per event.
  std::string window_key_, campaign_user_key_;
  mutable std::string overflow_key_;  // would_overflow's key buffer
  bool forward_active_ = false;
  std::vector<std::pair<std::string, std::vector<UserFingerprint>>> dropped_window_users_;
  bool tracking_ = true;
};

/// The window a metric record belongs to, whatever its currency:
/// dim|key|window_start|size. Groups partials in stage 2 and routes them.
std::string metric_group_key(const MetricRecord& r);
/// The Kafka key of a metric record (SPEC §5.2):
/// dim|key|window_start|size|currency, one key per currency record so that
/// compaction keeps every currency of a window.
std::string metric_output_key(const MetricRecord& r);

/// The campaign_users key of (campaign, user): length-prefixed parts.
std::string campaign_user_key(const std::string& campaign, const std::string& user);

/// Window keys sort by window end, then size, dimension and key.
std::string encode_window_key(TimestampMs end, DurationMs size, Dim dim, const std::string& key);
/// The same keys written into `out` (cleared first): a buffer reused per event.
void encode_window_key_to(std::string& out, TimestampMs end, DurationMs size, Dim dim, std::string_view key);
void all_record_key_to(std::string& out, Dim dim, std::string_view key);
void campaign_user_key_to(std::string& out, std::string_view campaign, std::string_view user);

}  // namespace alliance

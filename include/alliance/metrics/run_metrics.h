// Prometheus metrics of a running processor (a prometheus-cpp registry, served
// by HttpEndpoint on loopback by default). Label values come only from the
// topology and fixed enums, never from user ids. Updated from the runner's
// poll thread; scraped from the endpoint's threads (prometheus-cpp metrics
// are thread-safe).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <map>
#include <memory>
#include <string>

#include "alliance/codec/record_encoder.h"
#include "alliance/core/processor.h"
#include "alliance/metrics/http_endpoint.h"
#include "alliance/state/state_store.h"

namespace alliance {

class RunMetrics {
 public:
  /// `listen` like "127.0.0.1:9464": serves /metrics, /healthz and /readyz
  /// there; empty: no HTTP endpoint (metrics still counted).
  /// `security`: the token and TLS asked of its clients (SPEC §9).
  RunMetrics(const Topology& topology, const std::string& listen, const http::HttpSecurity& security = {});

  /// Adds what a partition's Processor counted since the last call.
  void observe(std::int32_t partition, const ProcessorStats& now);
  void batch_seconds(double s) { batch_->Observe(s); }
  void batch_events(std::size_t n) { batch_events_->Observe(static_cast<double>(n)); }
  void commit_seconds(double s) { commit_->Observe(s); }
  void produced(const std::string& output, std::int64_t n) { produced_family_->Add({{"output", output}}).Increment(static_cast<double>(n)); }
  void producer_error() { producer_errors_->Increment(); }
  /// An output record the broker refuses for good, by topic and error name.
  void undeliverable(const std::string& topic, const std::string& error) {
    undeliverable_family_->Add({{"topic", topic}, {"error", error}}).Increment();
  }
  void outbox_depth(double d) { outbox_->Set(d); }
  void consumer_lag(const std::string& topic, std::int32_t partition, double records);
  /// One message read from an input or repartition partition.
  void consumed(const std::string& topic, std::int32_t partition);
  /// Wall clock minus the partition's stream time, in seconds.
  void event_time_lag(std::int32_t partition, double seconds);
  /// Readiness for the alliance_ready gauge and /readyz; `why` says what
  /// is missing when not ready.
  void ready(bool r, const std::string& why);
  void end_to_end_seconds(double s) { e2e_->Observe(s); }
  /// RocksDB figures of one partition's store.
  void rocksdb(std::int32_t partition, const RocksStats& s);
  /// Bytes the partition's cached tables hold (docs/STATE.md).
  void state_cache(std::int32_t partition, double bytes);
  /// Totals the changelog sent so far: batches (changed keys) and store slices.
  void changelog_bytes(std::int64_t batch_total, std::int64_t slice_total);
  /// Process RSS and CPU from /proc/self.
  void sample_process();
  /// Business gauges from published records: per-source conversion rate of
  /// the last final window of the smallest size, per-partner accruals and
  /// reversals, per-partner payable commission (partner-balances). Sources
  /// outside SPEC's list and partners outside the topology are labelled
  /// "other" (or, for balances, not exported); never a user id. Takes the
  /// typed record of an acknowledged output (OutboxEntry::record, or its body
  /// read back with decode_record when it was resent after a restart).
  void published(const OutputRecord& record);

  [[nodiscard]] std::shared_ptr<prometheus::Registry> registry() const { return registry_; }
  /// Where /metrics is served; nullptr without an HTTP endpoint.
  [[nodiscard]] const http::BoundAddress* http_address() const { return http_ ? &http_->address() : nullptr; }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<HttpEndpoint> http_;
  prometheus::Family<prometheus::Counter>* events_family_;
  prometheus::Family<prometheus::Counter>* dead_family_;
  prometheus::Family<prometheus::Counter>* produced_family_;
  prometheus::Family<prometheus::Counter>* undeliverable_family_;
  prometheus::Family<prometheus::Gauge>* lag_family_;
  prometheus::Family<prometheus::Counter>* consumed_family_;
  prometheus::Family<prometheus::Gauge>* lag_seconds_family_;
  std::map<std::pair<std::string, std::int32_t>, prometheus::Counter*> consumed_;  // hot path: no label lookup
  prometheus::Counter* duplicates_;
  prometheus::Counter* late_;
  prometheus::Counter* unknown_partner_;
  prometheus::Counter* producer_errors_;
  prometheus::Histogram* batch_;
  prometheus::Histogram* batch_events_;
  prometheus::Histogram* commit_;
  prometheus::Histogram* e2e_;
  prometheus::Gauge* outbox_;
  prometheus::Gauge* ready_;
  std::map<std::int32_t, ProcessorStats> last_;
  const Topology& topology_;
  DurationMs smallest_window_ = 0;
  prometheus::Family<prometheus::Gauge>* rocks_family_;
  prometheus::Family<prometheus::Gauge>* rocks_hit_family_;
  prometheus::Family<prometheus::Gauge>* rocks_stall_family_;
  prometheus::Family<prometheus::Gauge>* rocks_expired_family_;
  prometheus::Family<prometheus::Gauge>* rocks_lookups_family_;
  prometheus::Family<prometheus::Gauge>* rocks_keys_read_family_;
  prometheus::Family<prometheus::Gauge>* rocks_keys_read_table_family_;
  prometheus::Family<prometheus::Gauge>* rocks_delayed_family_;
  prometheus::Family<prometheus::Gauge>* rocks_stopped_family_;
  prometheus::Family<prometheus::Gauge>* cache_family_;
  prometheus::Family<prometheus::Counter>* changelog_family_;
  std::int64_t changelog_batch_seen_ = 0;
  std::int64_t changelog_slice_seen_ = 0;
  prometheus::Family<prometheus::Gauge>* conversion_family_;
  prometheus::Family<prometheus::Counter>* partner_family_;
  prometheus::Family<prometheus::Gauge>* payable_family_;
  prometheus::Family<prometheus::Gauge>* flagged_family_;
  prometheus::Family<prometheus::Gauge>* held_family_;
  /// Partner risk: the flags of each (partner, period)'s latest record, so
  /// alliance_partner_flagged counts the periods flagged now.
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> risk_flags_;
  prometheus::Gauge* rss_;
  prometheus::Gauge* cpu_;
};

}  // namespace alliance

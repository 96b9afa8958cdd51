#include "alliance/metrics/run_metrics.h"

#include <sys/times.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

namespace alliance {

namespace {
const std::string kOther = "other";
const prometheus::Histogram::BucketBoundaries kLatencyBuckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                              0.1,   0.25,   0.5,   1,    2.5,   5};
}  // namespace

RunMetrics::RunMetrics(const Topology& t, const std::string& listen, const http::HttpSecurity& security)
    : registry_(std::make_shared<prometheus::Registry>()), topology_(t) {
  using namespace prometheus;
  events_family_ = &BuildCounter().Name("alliance_events_total").Help("Valid input events processed, by kind").Register(*registry_);
  dead_family_ = &BuildCounter().Name("alliance_dead_letters_total").Help("Inputs sent to the dead-letter topic, by reason").Register(*registry_);
  produced_family_ = &BuildCounter().Name("alliance_records_produced_total").Help("Output records acknowledged by the broker, by output").Register(*registry_);
  consumed_family_ = &BuildCounter().Name("alliance_records_consumed_total").Help("Messages read from each input and repartition partition, good or bad").Register(*registry_);
  lag_seconds_family_ = &BuildGauge().Name("alliance_consumer_lag_seconds").Help("Wall clock minus the newest event time processed, per input partition (event-time lag)").Register(*registry_);
  lag_family_ = &BuildGauge().Name("alliance_consumer_lag_records").Help("Records between the committed position and the end of each input partition").Register(*registry_);
  duplicates_ = &BuildCounter().Name("alliance_duplicates_total").Help("Events dropped because their event_id was seen before").Register(*registry_).Add({});
  late_ = &BuildCounter().Name("alliance_late_events_total").Help("Events for windows already final (still settled)").Register(*registry_).Add({});
  unknown_partner_ = &BuildCounter().Name("alliance_unknown_partner_records_total").Help("Accruals for partners missing from the topology").Register(*registry_).Add({});
  producer_errors_ = &BuildCounter().Name("alliance_producer_errors_total").Help("Output deliveries that failed (retried from the outbox)").Register(*registry_).Add({});
  batch_ = &BuildHistogram().Name("alliance_batch_seconds").Help("Time to process one batch through the core").Register(*registry_).Add({}, kLatencyBuckets);
  undeliverable_family_ = &BuildCounter().Name("alliance_output_undeliverable_total").Help("Output records the broker refuses for good (too large, invalid), skipped so the partition goes on; by output topic and librdkafka error name").Register(*registry_);
  batch_events_ = &BuildHistogram().Name("alliance_batch_events").Help("Messages processed per committed batch").Register(*registry_)
                       .Add({}, Histogram::BucketBoundaries{1, 10, 100, 1000, 5000, 10000, 20000, 50000});
  commit_ = &BuildHistogram().Name("alliance_commit_seconds").Help("Time to make a batch durable and publish it").Register(*registry_).Add({}, kLatencyBuckets);
  e2e_ = &BuildHistogram().Name("alliance_end_to_end_seconds").Help("Input append to output acknowledged").Register(*registry_).Add({}, kLatencyBuckets);
  outbox_ = &BuildGauge().Name("alliance_outbox_depth").Help("Output records committed but not yet acknowledged").Register(*registry_).Add({});
  ready_ = &BuildGauge().Name("alliance_ready").Help("1 when partitions are assigned and restored and the broker is reachable").Register(*registry_).Add({});
  rocks_family_ = &BuildGauge().Name("alliance_rocksdb_bytes").Help("RocksDB sizes per partition store: live_sst, block_cache (shared by all stores), pending_compaction, memtable").Register(*registry_);
  rocks_hit_family_ = &BuildGauge().Name("alliance_rocksdb_block_cache_hit_ratio").Help("Block-cache hits / lookups since the partition's store was opened").Register(*registry_);
  rocks_stall_family_ = &BuildGauge().Name("alliance_rocksdb_stall_seconds").Help("Time RocksDB delayed or stopped writes (write stalls) since the partition's store was opened").Register(*registry_);
  conversion_family_ = &BuildGauge().Name("alliance_source_conversion_rate").Help("Conversions / unique users of the last final window of the smallest size, per source").Register(*registry_);
  payable_family_ = &BuildGauge().Name("alliance_partner_payable_minor").Help("Commission payable now per partner and currency, from the latest partner-balances record (negative: a clawback); partners of the topology only").Register(*registry_);
  flagged_family_ = &BuildGauge().Name("alliance_partner_flagged").Help("Settlement periods of a partner whose latest partner-risk record carries the flag (SPEC §3.9); partners the topology lacks are partner_id=\"other\"").Register(*registry_);
  held_family_ = &BuildGauge().Name("alliance_partner_held_minor").Help("Pending commission held by partner risk per partner and currency, from the latest partner-balances record; partners of the topology only").Register(*registry_);
  partner_family_ = &BuildCounter().Name("alliance_partner_settled_minor_total").Help("Attributed minor units booked per partner, kind (accrual|reversal, as a positive amount) and currency").Register(*registry_);
  rocks_lookups_family_ = &BuildGauge().Name("alliance_rocksdb_block_cache_lookups").Help("Block-cache lookups since the partition's store was opened, by result (hit|miss): the hit ratio of any interval").Register(*registry_);
  rocks_keys_read_family_ = &BuildGauge().Name("alliance_rocksdb_keys_read").Help("Keys looked up in RocksDB (Get and MultiGet) since the partition's store was opened: the reads the write-back cache did not answer").Register(*registry_);
  rocks_keys_read_table_family_ = &BuildGauge().Name("alliance_rocksdb_keys_read_by_table").Help("Keys looked up in RocksDB since the partition's store was opened, per state table (column family); a table appears once it was read").Register(*registry_);
  rocks_delayed_family_ = &BuildGauge().Name("alliance_rocksdb_delayed_write_rate_bytes").Help("Bytes per second RocksDB holds writes to while it delays them (a write stall), 0 when not delaying").Register(*registry_);
  rocks_stopped_family_ = &BuildGauge().Name("alliance_rocksdb_write_stopped").Help("1 while RocksDB stops writes (a write stall), else 0").Register(*registry_);
  rocks_expired_family_ = &BuildGauge().Name("alliance_rocksdb_expired_values_dropped").Help("Expired users, orders and event ids RocksDB's compaction filter deleted since the partition's store was opened").Register(*registry_);
  cache_family_ = &BuildGauge().Name("alliance_state_cache_bytes").Help("Approximate bytes held by the partition's write-back cache of users, orders, event ids and campaign users (state.cache_mb bounds the total)").Register(*registry_);
  changelog_family_ = &BuildCounter().Name("alliance_changelog_bytes_total").Help("Bytes sent to the changelog topic: kind=batch (changed keys), kind=slice (passes over the store)").Register(*registry_);
  rss_ = &BuildGauge().Name("alliance_process_resident_memory_bytes").Help("Resident set size").Register(*registry_).Add({});
  cpu_ = &BuildGauge().Name("alliance_process_cpu_seconds").Help("User + system CPU time used").Register(*registry_).Add({});
  smallest_window_ = *std::min_element(t.windows.begin(), t.windows.end());
  if (!listen.empty()) http_ = std::make_unique<HttpEndpoint>(listen, registry_, security);
}

void RunMetrics::ready(bool r, const std::string& why) {
  ready_->Set(r ? 1 : 0);
  if (http_) http_->set_ready(r, why);
}

void RunMetrics::observe(std::int32_t partition, const ProcessorStats& now) {
  ProcessorStats& last = last_[partition];
  for (const auto& [kind, n] : now.events_by_kind) {
    const auto d = n - last.events_by_kind[kind];
    if (d > 0) events_family_->Add({{"kind", kind}}).Increment(static_cast<double>(d));
  }
  for (const auto& [reason, n] : now.dead_letters_by_reason) {
    const auto d = n - last.dead_letters_by_reason[reason];
    // missing_field:x / wrong_type:x keep their field: a fixed, small set.
    if (d > 0) dead_family_->Add({{"reason", reason}}).Increment(static_cast<double>(d));
  }
  if (now.duplicates > last.duplicates) duplicates_->Increment(static_cast<double>(now.duplicates - last.duplicates));
  if (now.late_events > last.late_events) late_->Increment(static_cast<double>(now.late_events - last.late_events));
  if (now.unknown_partner_records > last.unknown_partner_records)
    unknown_partner_->Increment(static_cast<double>(now.unknown_partner_records - last.unknown_partner_records));
  last = now;
}

void RunMetrics::rocksdb(std::int32_t partition, const RocksStats& s) {
  const std::string p = std::to_string(partition);
  rocks_family_->Add({{"partition", p}, {"kind", "live_sst"}}).Set(static_cast<double>(s.live_sst_bytes));
  rocks_family_->Add({{"partition", p}, {"kind", "block_cache"}}).Set(static_cast<double>(s.block_cache_usage));
  rocks_family_->Add({{"partition", p}, {"kind", "pending_compaction"}}).Set(static_cast<double>(s.pending_compaction_bytes));
  rocks_family_->Add({{"partition", p}, {"kind", "memtable"}}).Set(static_cast<double>(s.memtable_bytes));
  const double lookups = static_cast<double>(s.block_cache_hits + s.block_cache_misses);
  rocks_hit_family_->Add({{"partition", p}}).Set(lookups > 0 ? static_cast<double>(s.block_cache_hits) / lookups : 1.0);
  rocks_stall_family_->Add({{"partition", p}}).Set(static_cast<double>(s.stall_micros) / 1e6);
  rocks_lookups_family_->Add({{"partition", p}, {"result", "hit"}}).Set(static_cast<double>(s.block_cache_hits));
  rocks_lookups_family_->Add({{"partition", p}, {"result", "miss"}}).Set(static_cast<double>(s.block_cache_misses));
  rocks_keys_read_family_->Add({{"partition", p}}).Set(static_cast<double>(s.keys_read));
  for (std::size_t i = 0; i < kCfCount; ++i)
    if (s.keys_read_by_table[i] > 0)
      rocks_keys_read_table_family_->Add({{"partition", p}, {"table", std::string(cf_name(static_cast<Cf>(i)))}})
          .Set(static_cast<double>(s.keys_read_by_table[i]));
  rocks_delayed_family_->Add({{"partition", p}}).Set(static_cast<double>(s.delayed_write_rate));
  rocks_stopped_family_->Add({{"partition", p}}).Set(s.write_stopped ? 1 : 0);
  rocks_expired_family_->Add({{"partition", p}}).Set(static_cast<double>(s.expired_values_dropped));
}

void RunMetrics::state_cache(std::int32_t partition, double bytes) {
  cache_family_->Add({{"partition", std::to_string(partition)}}).Set(bytes);
}

void RunMetrics::changelog_bytes(std::int64_t batch_total, std::int64_t slice_total) {
  changelog_family_->Add({{"kind", "batch"}}).Increment(static_cast<double>(batch_total - changelog_batch_seen_));
  changelog_family_->Add({{"kind", "slice"}}).Increment(static_cast<double>(slice_total - changelog_slice_seen_));
  changelog_batch_seen_ = batch_total;
  changelog_slice_seen_ = slice_total;
}

void RunMetrics::sample_process() {
  if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
    long pages = 0, resident = 0;
    if (std::fscanf(f, "%ld %ld", &pages, &resident) == 2) rss_->Set(static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE)));
    std::fclose(f);
  }
  struct tms t {};
  ::times(&t);
  cpu_->Set(static_cast<double>(t.tms_utime + t.tms_stime) / static_cast<double>(::sysconf(_SC_CLK_TCK)));
}

void RunMetrics::published(const OutputRecord& record) {
  if (const auto* s = std::get_if<SettlementRecord>(&record.body)) {
    const std::string& partner = topology_.partner(s->partner_id) == nullptr ? kOther : s->partner_id;
    partner_family_->Add({{"partner", partner}, {"kind", s->reversal ? "reversal" : "accrual"}, {"currency", s->currency}})
        .Increment(std::abs(static_cast<double>(s->attributed_minor)));
  } else if (const auto* b = std::get_if<BalanceRecord>(&record.body)) {
    // Balances exist only for partners with a contract (SPEC §3.8): the
    // label set is the topology's partners times the currencies they earn in.
    if (topology_.partner(b->partner_id) == nullptr) return;
    payable_family_->Add({{"partner", b->partner_id}, {"currency", b->currency}})
        .Set(static_cast<double>(b->payable_minor));
    held_family_->Add({{"partner_id", b->partner_id}, {"currency", b->currency}}).Set(static_cast<double>(b->held_minor));
  } else if (const auto* k = std::get_if<RiskRecord>(&record.body)) {
    const std::string partner = topology_.partner(k->partner_id) == nullptr ? std::string(kOther) : k->partner_id;
    auto& flags = risk_flags_[{k->partner_id, k->period}];
    if (flags == k->flags) return;
    // Recount the label's periods per flag (a handful of partners and periods).
    flags = k->flags;
    for (const char* flag : {"click_injection", "click_spam", "refund_abuse"}) {
      double n = 0;
      for (const auto& [pp, fs] : risk_flags_) {
        const std::string label = topology_.partner(pp.first) == nullptr ? std::string(kOther) : pp.first;
        if (label == partner && std::find(fs.begin(), fs.end(), flag) != fs.end()) n += 1;
      }
      flagged_family_->Add({{"partner_id", partner}, {"flag", flag}}).Set(n);
    }
  } else if (const auto* m = std::get_if<MetricRecord>(&record.body)) {
    if (!m->final || m->dim != "source" || m->window_size != smallest_window_ ||
        m->currency != topology_.default_currency)
      return;
    static const std::set<std::string, std::less<>> kSources{"organic", "referral", "social", "direct",
                                                             "affiliate", "search", "email"};
    const std::string& source = kSources.count(m->key) == 0 ? kOther : m->key;
    conversion_family_->Add({{"source", source}}).Set(std::strtod(metric_conversion_rate(*m).c_str(), nullptr));
  }
}

void RunMetrics::consumed(const std::string& topic, std::int32_t partition) {
  auto key = std::make_pair(topic, partition);
  auto it = consumed_.find(key);
  if (it == consumed_.end())
    it = consumed_.emplace(key, &consumed_family_->Add({{"topic", topic}, {"partition", std::to_string(partition)}})).first;
  it->second->Increment();
}

void RunMetrics::event_time_lag(std::int32_t partition, double seconds) {
  lag_seconds_family_->Add({{"partition", std::to_string(partition)}}).Set(seconds);
}

void RunMetrics::consumer_lag(const std::string& topic, std::int32_t partition, double records) {
  lag_family_->Add({{"topic", topic}, {"partition", std::to_string(partition)}}).Set(records);
}

}  // namespace alliance

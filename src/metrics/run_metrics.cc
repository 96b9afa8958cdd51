#include "alliance/metrics/run_metrics.h"

namespace alliance {

namespace {
const prometheus::Histogram::BucketBoundaries kLatencyBuckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                              0.1,   0.25,   0.5,   1,    2.5,   5};
}  // namespace

RunMetrics::RunMetrics(const Topology& t, const std::string& listen)
    : registry_(std::make_shared<prometheus::Registry>()) {
  using namespace prometheus;
  events_family_ = &BuildCounter().Name("alliance_events_total").Help("Valid input events processed, by kind").Register(*registry_);
  dead_family_ = &BuildCounter().Name("alliance_dead_letters_total").Help("Inputs sent to the dead-letter topic, by reason").Register(*registry_);
  produced_family_ = &BuildCounter().Name("alliance_records_produced_total").Help("Output records acknowledged by the broker, by output").Register(*registry_);
  lag_family_ = &BuildGauge().Name("alliance_consumer_lag_records").Help("Records between the committed position and the end of each input partition").Register(*registry_);
  duplicates_ = &BuildCounter().Name("alliance_duplicates_total").Help("Events dropped because their event_id was seen before").Register(*registry_).Add({});
  late_ = &BuildCounter().Name("alliance_late_events_total").Help("Events for windows already final (still settled)").Register(*registry_).Add({});
  unknown_partner_ = &BuildCounter().Name("alliance_unknown_partner_records_total").Help("Accruals for partners missing from the topology").Register(*registry_).Add({});
  producer_errors_ = &BuildCounter().Name("alliance_producer_errors_total").Help("Output deliveries that failed (retried from the outbox)").Register(*registry_).Add({});
  batch_ = &BuildHistogram().Name("alliance_batch_seconds").Help("Time to process one batch through the core").Register(*registry_).Add({}, kLatencyBuckets);
  commit_ = &BuildHistogram().Name("alliance_commit_seconds").Help("Time to make a batch durable and publish it").Register(*registry_).Add({}, kLatencyBuckets);
  e2e_ = &BuildHistogram().Name("alliance_end_to_end_seconds").Help("Input append to output acknowledged").Register(*registry_).Add({}, kLatencyBuckets);
  outbox_ = &BuildGauge().Name("alliance_outbox_depth").Help("Output records committed but not yet acknowledged").Register(*registry_).Add({});
  ready_ = &BuildGauge().Name("alliance_ready").Help("1 when partitions are assigned and restored and the broker is reachable").Register(*registry_).Add({});
  (void)t;
  if (!listen.empty()) {
    exposer_ = std::make_unique<Exposer>(listen);
    exposer_->RegisterCollectable(registry_);
  }
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

void RunMetrics::consumer_lag(const std::string& topic, std::int32_t partition, double records) {
  lag_family_->Add({{"topic", topic}, {"partition", std::to_string(partition)}}).Set(records);
}

}  // namespace alliance

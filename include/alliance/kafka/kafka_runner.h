// `alliance run`: the StreamDriver with a KafkaSource (the three input
// topics in one consumer group), a KafkaSink (idempotent or transactional
// producer) and per-partition RocksDB stores caught up from the changelog
// topic; Prometheus metrics and readiness around it. Everything runs on the
// thread that calls run_kafka(); librdkafka callbacks are served from that
// thread inside the source's and sink's poll().
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "alliance/core/topology.h"
#include "alliance/http/http_server.h"
#include "alliance/kafka/kafka_client_config.h"
#include "alliance/state/state_session.h"

namespace alliance {

struct RunOptions {
  std::string bootstrap;
  std::string group = "alliance";
  std::string state_dir = "alliance-state";
  std::string metrics_listen = "127.0.0.1:9464";  // empty: no /metrics endpoint
  http::HttpSecurity metrics_security;            // token and TLS of /metrics (--http-token-file, --tls-cert)
  std::int64_t commit_interval_ms = 100;
  std::int64_t idle_wait_ms = 50;          // event-time merge: wait for an empty input
  std::int64_t session_timeout_ms = 10'000;
  std::int64_t stop_when_idle_ms = 0;      // >0: bounded run, finish after this much silence
  std::string assignor = "range";          // eager assignors only (the mock's cooperative one is unreliable)
  std::string guarantee = "at_least_once";  // or exactly_once (transactional producer)
  KafkaClientConfig kafka;                  // the user's client properties, for every client of the run
  /// Called with every batch of records the broker acknowledged (live views).
  std::function<void(const std::vector<OutboxEntry>&)> on_published;
  /// Called once /metrics listens, with the address bound.
  std::function<void(const http::BoundAddress&)> on_metrics_listening;
  /// Set to true to stop (signal handlers, the demo).
  std::atomic<bool>* stop = nullptr;
};

/// Runs until stopped (or idle, in a bounded run). Returns the exit code:
/// 0 after a clean stop, 2 for a configuration problem it explained on stderr.
int run_kafka(const Topology& topology, const RunOptions& options);

}  // namespace alliance

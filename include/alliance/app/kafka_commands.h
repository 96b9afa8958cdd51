// CLI commands around the Kafka runtime: `alliance broker` (the mock cluster
// in its own process) and `alliance demo` (broker, traffic, processor,
// /metrics, the web dashboard and a live table in one process). Run on the calling thread.
#pragma once

#include <string>

#include "alliance/kafka/kafka_runner.h"

namespace alliance {

struct BrokerOptions {
  std::string topology_path;
  int partitions = 1;
  std::string bootstrap_file;  // also write the bootstrap address here
};
int run_broker(const BrokerOptions& o);

struct DemoOptions {
  std::string topology_path;
  double rate = 500;             // events per second
  std::int64_t duration_ms = 0;  // 0: until Ctrl-C
  std::string metrics_listen = "127.0.0.1:9464";
  std::string state_dir;         // empty: a fresh temporary directory
  std::int64_t refresh_ms = 2000;
  int partitions = 1;            // >1: the two-stage run (docs/KAFKA.md)
  std::string dashboard_listen = "127.0.0.1:8080";  // the live web dashboard; empty: none
  http::HttpSecurity http;       // token and TLS of /metrics and the dashboard
  bool fraud = true;             // the generator's fraud (--no-fraud: honest traffic only)
};
int run_demo(const DemoOptions& o);

/// Installs SIGINT/SIGTERM handlers that set the returned flag.
std::atomic<bool>& stop_on_signals();

}  // namespace alliance

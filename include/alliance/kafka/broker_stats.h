// Reads librdkafka's statistics JSON (statistics.interval.ms) for what
// /readyz and a bounded run's idle clock need: is the consumer connected to
// the cluster, and to the broker of each partition it fetches. librdkafka
// reports a lost broker as an error event once and then suppresses
// identical errors for 30 s, so an event alone cannot say "still down"; the
// statistics carry every broker's current state. Pure: any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace alliance {

/// The consumer's broker connections at one statistics report.
struct BrokerConnections {
  /// At least one real broker (source "learned" or "configured", not
  /// librdkafka's internal or logical ones) is in state UP or UPDATE.
  bool any_up = false;
  /// Partitions ("toppars") delegated to a broker, internal ones included
  /// (no leader known), whose connection is not UP or UPDATE: they cannot
  /// be fetched now, even if another broker is up.
  std::size_t partitions_not_fetchable = 0;

  /// Nothing stands between the consumer and its partitions.
  [[nodiscard]] bool healthy() const { return any_up && partitions_not_fetchable == 0; }
};

/// nullopt when the JSON is not librdkafka statistics.
[[nodiscard]] std::optional<BrokerConnections> read_broker_connections(std::string_view stats_json);

}  // namespace alliance

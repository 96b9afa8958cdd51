#include "alliance/kafka/broker_stats.h"

#include <simdjson.h>

namespace alliance {

std::optional<BrokerConnections> read_broker_connections(std::string_view stats_json) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(stats_json);
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc) != simdjson::SUCCESS) return std::nullopt;
  simdjson::ondemand::object brokers;
  if (doc["brokers"].get_object().get(brokers) != simdjson::SUCCESS) return std::nullopt;
  BrokerConnections c;
  for (auto field : brokers) {
    simdjson::ondemand::object broker;
    if (field.value().get_object().get(broker) != simdjson::SUCCESS) return std::nullopt;
    std::string_view source, state;
    // Looked up by name (simdjson finds a field in any order, at the cost of
    // a rewind: the order of the three lookups does not matter).
    if (broker["source"].get_string().get(source) != simdjson::SUCCESS) return std::nullopt;
    if (broker["state"].get_string().get(state) != simdjson::SUCCESS) return std::nullopt;
    const bool up = state == "UP" || state == "UPDATE";
    if (up && source != "internal" && source != "logical") c.any_up = true;
    if (up) continue;
    simdjson::ondemand::object toppars;
    if (broker["toppars"].get_object().get(toppars) != simdjson::SUCCESS) continue;  // none listed
    for (auto tp : toppars) {
      (void)tp;
      ++c.partitions_not_fetchable;
    }
  }
  return c;
}

}  // namespace alliance

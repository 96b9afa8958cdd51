#include "alliance/kafka/broker_stats.h"

#include <simdjson.h>

namespace alliance {

std::optional<bool> any_broker_up(std::string_view stats_json) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(stats_json);
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc) != simdjson::SUCCESS) return std::nullopt;
  simdjson::ondemand::object brokers;
  if (doc["brokers"].get_object().get(brokers) != simdjson::SUCCESS) return std::nullopt;
  bool up = false;
  for (auto field : brokers) {
    simdjson::ondemand::object broker;
    if (field.value().get_object().get(broker) != simdjson::SUCCESS) return std::nullopt;
    std::string_view source, state;
    // Looked up by name (simdjson finds a field in any order).
    if (broker["source"].get_string().get(source) != simdjson::SUCCESS) return std::nullopt;
    if (broker["state"].get_string().get(state) != simdjson::SUCCESS) return std::nullopt;
    if (source == "internal" || source == "logical") continue;
    if (state == "UP" || state == "UPDATE") up = true;
  }
  return up;
}

}  // namespace alliance

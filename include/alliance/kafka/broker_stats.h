// Reads librdkafka's statistics JSON (statistics.interval.ms) for what
// /readyz needs: is any broker connection up right now. librdkafka reports a
// lost broker as an error event once and then suppresses identical errors
// for 30 s, so an event alone cannot say "still down"; the statistics carry
// every broker's current state. Pure: any thread.
#pragma once

#include <optional>
#include <string_view>

namespace alliance {

/// True when at least one real broker (source "learned" or "configured", not
/// librdkafka's internal or logical ones) is in state UP or UPDATE; false
/// when none is; nullopt when the JSON is not librdkafka statistics.
[[nodiscard]] std::optional<bool> any_broker_up(std::string_view stats_json);

}  // namespace alliance

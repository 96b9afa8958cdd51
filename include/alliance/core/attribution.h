// Attribution weights for the five models of SPEC §3.3. Pure functions.
#pragma once

#include <vector>

#include "alliance/core/money.h"
#include "alliance/core/topology.h"

namespace alliance {

/// Weights of n >= 1 touchpoints whose times are `ts` (chronological) for an
/// order completed at `t`. Exact rationals for every model but time decay.
Weights attribution_weights(AttributionModel model, const std::vector<TimestampMs>& ts,
                            TimestampMs t, DurationMs half_life);

}  // namespace alliance

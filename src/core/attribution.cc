#include "alliance/core/attribution.h"

#include <cmath>

namespace alliance {

Weights attribution_weights(AttributionModel model, const std::vector<TimestampMs>& ts,
                            TimestampMs t, DurationMs half_life) {
  const std::size_t n = ts.size();
  Weights w;
  if (n == 0) return w;
  const auto sn = static_cast<std::int64_t>(n);
  switch (model) {
    case AttributionModel::kLastTouch:
      w.num.assign(n, 0);
      w.num[n - 1] = 1;
      w.den = 1;
      break;
    case AttributionModel::kFirstTouch:
      w.num.assign(n, 0);
      w.num[0] = 1;
      w.den = 1;
      break;
    case AttributionModel::kLinear:
      w.num.assign(n, 1);
      w.den = sn;
      break;
    case AttributionModel::kPositionBased:
      if (n <= 2) {
        w.num.assign(n, 1);
        w.den = sn;
      } else {
        // Ends 2/5 each, the n-2 middle ones share 1/5: denominator 5(n-2).
        w.den = 5 * (sn - 2);
        w.num.assign(n, 1);
        w.num.front() = w.num.back() = 2 * (sn - 2);
      }
      break;
    case AttributionModel::kTimeDecay: {
      w.real.resize(n);
      // 2^(-(t - ts_i)/h) scaled by 2^((t - ts_n)/h): the same proportions,
      // but the newest weighs 1, so the sum never underflows to zero.
      (void)t;
      double sum = 0;
      for (std::size_t i = 0; i < n; ++i) {
        w.real[i] = std::exp2(-static_cast<double>(ts[n - 1] - ts[i]) / static_cast<double>(half_life));
        sum += w.real[i];
      }
      for (double& x : w.real) x /= sum;
      break;
    }
  }
  return w;
}

}  // namespace alliance

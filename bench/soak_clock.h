// What the soak's own programs (soak_producer, soak_latency) share: the
// 10-second window every soak file counts in, the wall clock they stamp and
// compare event times with, and a stop flag SIGINT/SIGTERM set. Header-only;
// the flag is read by the program's one thread.
#pragma once

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>

namespace soak {

inline constexpr std::int64_t kWindowMs = 10'000;

inline std::atomic<bool> g_stop{false};

/// Sets g_stop on SIGINT and SIGTERM.
inline void stop_on_signals() {
  std::signal(SIGINT, [](int) { g_stop.store(true); });
  std::signal(SIGTERM, [](int) { g_stop.store(true); });
}

inline std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline std::int64_t wall_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace soak

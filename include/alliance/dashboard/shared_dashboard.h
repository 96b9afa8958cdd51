// A DashboardModel shared between the thread that feeds it (the Kafka
// consumer) and the threads that read it (HTTP requests, Server-Sent Events).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "alliance/dashboard/dashboard_model.h"

namespace alliance::dashboard {

/// Owns the model behind a mutex and a condition variable that wakes the
/// event-stream writers on every change; caches the view's JSON per version.
/// Every member may be called from any thread.
class SharedDashboard {
 public:
  explicit SharedDashboard(ModelOptions options) : model_(std::move(options)) {}

  /// Runs `f(DashboardModel&)` under the lock, then wakes the waiters.
  template <class F>
  auto write(F&& f) {
    std::unique_lock lock(mu_);
    struct Notify {
      std::condition_variable& cv;
      ~Notify() { cv.notify_all(); }
    } notify{changed_};
    return f(model_);
  }
  /// Runs `f(const DashboardModel&)` under the lock.
  template <class F>
  auto read(F&& f) const {
    std::lock_guard lock(mu_);
    return f(static_cast<const DashboardModel&>(model_));
  }

  /// The view's JSON and its version (computed once per version).
  std::pair<std::uint64_t, std::shared_ptr<const std::string>> view() const {
    std::lock_guard lock(mu_);
    if (!view_ || view_version_ != model_.version()) {
      view_ = std::make_shared<const std::string>(model_.view_json());
      view_version_ = model_.version();
    }
    return {view_version_, view_};
  }

  /// Waits until the version differs from `seen`, `timeout` passes or `stop`
  /// is set (after a wake_all()); returns the version then.
  std::uint64_t wait_for_change(std::uint64_t seen, std::chrono::milliseconds timeout,
                                const std::atomic<bool>& stop) const {
    std::unique_lock lock(mu_);
    changed_.wait_for(lock, timeout, [&] { return stop.load() || model_.version() != seen; });
    return model_.version();
  }
  /// Waits `timeout` unless `stop` is set (after a wake_all()).
  void pause(std::chrono::milliseconds timeout, const std::atomic<bool>& stop) const {
    std::unique_lock lock(mu_);
    changed_.wait_for(lock, timeout, [&] { return stop.load(); });
  }
  /// Wakes every waiter (to let them see a stop flag).
  void wake_all() const {
    std::lock_guard lock(mu_);
    changed_.notify_all();
  }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  DashboardModel model_;
  mutable std::shared_ptr<const std::string> view_;
  mutable std::uint64_t view_version_ = 0;
};

}  // namespace alliance::dashboard

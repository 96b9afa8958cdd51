// The labels a touchpoint carries besides its time and event id (kind,
// campaign, source, partner), stored once per distinct combination. A
// peak-hour stream has tens of combinations and hundreds of thousands of
// users with tens of touchpoints each: each touchpoint holds one counted
// reference (8 bytes) instead of three strings (96 bytes and more).
//
// Identity is never a hash: the pool finds an entry by comparing all four
// labels, and two touchpoints share an entry only when every label is equal.
// An entry lives while a touchpoint refers to it, so the pool is bounded by
// the touchpoints in memory, whatever ids the input invents.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <boost/unordered/unordered_flat_map.hpp>

#include "alliance/core/event.h"
#include "alliance/core/key_hash.h"

namespace alliance {

class TouchLabelPool;

/// One distinct (kind, campaign, source, partner); owned by its pool.
class TouchLabels {
 public:
  [[nodiscard]] EventKind kind() const { return kind_; }
  [[nodiscard]] std::string_view campaign_id() const { return campaign_; }
  [[nodiscard]] std::string_view source() const { return source_; }
  [[nodiscard]] std::string_view partner_id() const { return partner_; }

 private:
  friend class TouchLabelPool;
  friend class TouchLabelRef;
  std::string packed_;  // the pool's key: kind, then each label with its length
  std::string_view campaign_, source_, partner_;
  EventKind kind_ = EventKind::kClick;
  std::uint32_t refs_ = 0;
  TouchLabelPool* pool_ = nullptr;
};

/// A counted reference to pooled labels (null: no labels, every one empty).
/// Copies and destruction must happen on the pool owner's thread.
class TouchLabelRef {
 public:
  TouchLabelRef() = default;
  TouchLabelRef(const TouchLabelRef& o) : p_(o.p_) {
    if (p_ != nullptr) ++p_->refs_;
  }
  TouchLabelRef(TouchLabelRef&& o) noexcept : p_(o.p_) { o.p_ = nullptr; }
  TouchLabelRef& operator=(TouchLabelRef o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  ~TouchLabelRef() { drop(); }

  [[nodiscard]] const TouchLabels* get() const { return p_; }

 private:
  friend class TouchLabelPool;
  explicit TouchLabelRef(TouchLabels* p) : p_(p) { ++p_->refs_; }
  void drop();
  TouchLabels* p_ = nullptr;
};

/// Interns touchpoint labels. Owned by one Processor (declared before the
/// tables whose values refer into it, so it outlives them); only the
/// processor's thread may call it.
class TouchLabelPool {
 public:
  TouchLabelPool() = default;
  TouchLabelPool(const TouchLabelPool&) = delete;
  TouchLabelPool& operator=(const TouchLabelPool&) = delete;

  /// The shared entry equal to these labels (created if none is live).
  TouchLabelRef intern(EventKind kind, std::string_view campaign_id, std::string_view source,
                       std::string_view partner_id);

  /// Distinct label combinations referred to now.
  [[nodiscard]] std::size_t size() const { return index_.size(); }

 private:
  friend class TouchLabelRef;
  void release(TouchLabels* e);

  std::string key_;  // reused buffer for a lookup's packed key
  boost::unordered_flat_map<std::string_view, std::unique_ptr<TouchLabels>, KeyHash> index_;
};

inline void TouchLabelRef::drop() {
  if (p_ != nullptr && --p_->refs_ == 0) p_->pool_->release(p_);
  p_ = nullptr;
}

}  // namespace alliance

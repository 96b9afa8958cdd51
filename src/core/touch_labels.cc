#include "alliance/core/touch_labels.h"

#include <cstring>

namespace alliance {

namespace {

void append_label(std::string& out, std::string_view s) {
  const auto n = static_cast<std::uint32_t>(s.size());
  char b[4];
  std::memcpy(b, &n, 4);
  out.append(b, 4);
  out.append(s);
}

}  // namespace

TouchLabelRef TouchLabelPool::intern(EventKind kind, std::string_view campaign_id, std::string_view source,
                                     std::string_view partner_id) {
  // The packed key holds every label whole (length-prefixed): equal keys are
  // equal labels, whatever their hashes.
  key_.clear();
  key_.push_back(static_cast<char>(kind));
  append_label(key_, campaign_id);
  append_label(key_, source);
  append_label(key_, partner_id);
  if (auto it = index_.find(std::string_view(key_)); it != index_.end()) return TouchLabelRef(it->second.get());
  auto e = std::make_unique<TouchLabels>();
  e->packed_ = key_;
  e->kind_ = kind;
  const std::string_view p = e->packed_;
  std::size_t at = 1;
  auto label = [&]() {
    std::uint32_t n;
    std::memcpy(&n, p.data() + at, 4);
    const std::string_view s = p.substr(at + 4, n);
    at += 4 + n;
    return s;
  };
  e->campaign_ = label();
  e->source_ = label();
  e->partner_ = label();
  e->pool_ = this;
  TouchLabels* raw = e.get();
  index_.emplace(std::string_view(raw->packed_), std::move(e));
  return TouchLabelRef(raw);
}

void TouchLabelPool::release(TouchLabels* e) {
  // Found first, then erased: the key viewed is the entry's own bytes.
  const auto it = index_.find(std::string_view(e->packed_));
  if (it != index_.end()) index_.erase(it);
}

}  // namespace alliance

#include "alliance/core/event.h"

#include "alliance/core/topology.h"

namespace alliance {

std::string_view to_string(EventKind k) {
  switch (k) {
    case EventKind::kClick: return "click";
    case EventKind::kReferral: return "referral";
    case EventKind::kOrder: return "order";
    case EventKind::kPayout: return "payout";
    case EventKind::kRiskRelease: return "risk_release";
  }
  return "?";
}

std::optional<EventKind> event_kind_from(std::string_view s) {
  if (s == "click") return EventKind::kClick;
  if (s == "referral") return EventKind::kReferral;
  if (s == "order") return EventKind::kOrder;
  if (s == "payout") return EventKind::kPayout;
  if (s == "risk_release") return EventKind::kRiskRelease;
  return std::nullopt;
}

std::string_view to_string(OrderStatus s) {
  switch (s) {
    case OrderStatus::kPending: return "pending";
    case OrderStatus::kCompleted: return "completed";
    case OrderStatus::kCancelled: return "cancelled";
    case OrderStatus::kRefunded: return "refunded";
  }
  return "?";
}

std::optional<OrderStatus> order_status_from(std::string_view s) {
  if (s == "pending") return OrderStatus::kPending;
  if (s == "completed") return OrderStatus::kCompleted;
  if (s == "cancelled") return OrderStatus::kCancelled;
  if (s == "refunded") return OrderStatus::kRefunded;
  return std::nullopt;
}

std::string_view to_string(AttributionModel m) {
  switch (m) {
    case AttributionModel::kLastTouch: return "last_touch";
    case AttributionModel::kFirstTouch: return "first_touch";
    case AttributionModel::kLinear: return "linear";
    case AttributionModel::kPositionBased: return "position_based";
    case AttributionModel::kTimeDecay: return "time_decay";
  }
  return "?";
}

std::optional<AttributionModel> attribution_model_from(std::string_view s) {
  for (auto m : {AttributionModel::kLastTouch, AttributionModel::kFirstTouch,
                 AttributionModel::kLinear, AttributionModel::kPositionBased,
                 AttributionModel::kTimeDecay})
    if (to_string(m) == s) return m;
  return std::nullopt;
}

void Topology::index() {
  partner_index.clear();
  campaign_index.clear();
  code_owner.clear();
  for (std::size_t i = 0; i < partners.size(); ++i) {
    partner_index.emplace(partners[i].id, i);
    for (const auto& c : partners[i].referral_codes) code_owner.emplace(c, partners[i].id);
  }
  for (std::size_t i = 0; i < campaigns.size(); ++i) campaign_index.emplace(campaigns[i].id, i);
}

const PartnerConfig* Topology::partner(const std::string& id) const {
  auto it = partner_index.find(id);
  return it == partner_index.end() ? nullptr : &partners[it->second];
}

const CampaignConfig* Topology::campaign(const std::string& id) const {
  auto it = campaign_index.find(id);
  return it == campaign_index.end() ? nullptr : &campaigns[it->second];
}

DurationMs Topology::holding_of(const std::string& partner_id) const {
  const PartnerConfig* p = partner(partner_id);
  if (p != nullptr && p->contract && p->contract->holding_period) return *p->contract->holding_period;
  return holding_period;
}

}  // namespace alliance

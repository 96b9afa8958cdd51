#include "alliance/dashboard/record_filters.h"

#include <optional>

namespace alliance::dashboard {

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// application/x-www-form-urlencoded decoding; nullopt for a bad %-escape.
std::optional<std::string> decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = hex_digit(s[i + 1]);
      const int lo = hex_digit(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string fields_text(Feed feed) {
  std::string text;
  for (const auto f : filter_fields(feed)) text += (text.empty() ? "" : ", ") + std::string(f);
  return text.empty() ? "none" : text;
}

}  // namespace

const std::vector<std::string_view>& filter_fields(Feed feed) {
  static const std::vector<std::string_view> kMetrics{"dim", "key", "window_size", "currency"};
  static const std::vector<std::string_view> kStatements{"partner_id", "period", "currency"};
  static const std::vector<std::string_view> kBalances{"partner_id", "currency"};
  static const std::vector<std::string_view> kSettlements{"partner_id"};
  static const std::vector<std::string_view> kRisk{"partner_id", "period"};
  static const std::vector<std::string_view> kNone;
  switch (feed) {
    case Feed::kMetrics: return kMetrics;
    case Feed::kStatements: return kStatements;
    case Feed::kBalances: return kBalances;
    case Feed::kSettlements: return kSettlements;
    case Feed::kRisk: return kRisk;
    case Feed::kDlq: return kNone;
  }
  return kNone;
}

RecordFilters parse_record_filters(Feed feed, std::string_view query) {
  RecordFilters r;
  const auto& fields = filter_fields(feed);
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (part.empty()) continue;  // "a=1&&b=2", a trailing '&'
    const auto eq = part.find('=');
    const auto name = decode(part.substr(0, eq));
    const auto value = decode(eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1));
    if (!name || !value) {
      r.error = "malformed %-escape in the query string";
      break;
    }
    bool known = false;
    for (const auto f : fields) known = known || f == *name;
    if (!known) {
      r.error = "/api/" + std::string(to_string(feed)) + " has no filter '" + name->substr(0, 64) +
                "' (its filters: " + fields_text(feed) + ")";
      break;
    }
    if (!r.filters.emplace(*name, *value).second) {
      r.error = "filter '" + *name + "' given twice";
      break;
    }
  }
  if (!r.error.empty()) r.filters.clear();
  return r;
}

}  // namespace alliance::dashboard

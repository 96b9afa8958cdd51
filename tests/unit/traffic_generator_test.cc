// TrafficGenerator's population that turns over (set_first_user, used by
// bench/soak.sh): new users are drawn from the moved window, referrers stay
// inside it, and an open order keeps the user it was opened by.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <map>
#include <string>

#include "alliance/app/traffic_generator.h"
#include "alliance/config/topology_loader.h"

namespace alliance {
namespace {

std::int64_t user_number(std::string_view id) { return std::stoll(std::string(id.substr(1))); }

TEST(TrafficGeneratorTurnover, DrawsUsersFromTheMovedWindowAndOrdersKeepTheirUser) {
  const Topology t = load_topology_file(std::string(ALLIANCE_SOURCE_DIR) + "/topologies/spring-alliance.yaml");
  GeneratorOptions o;
  o.users = 50;
  o.bad_rate = 0;
  o.duplicate_rate = 0;
  TrafficGenerator gen(t, o);
  std::map<std::string, std::string> order_user;  // order_id -> the user that opened it
  simdjson::dom::parser parser;
  for (int phase = 0; phase < 3; ++phase) {
    const std::int64_t first = phase * 1000;
    gen.set_first_user(first);
    for (int i = 0; i < 3000; ++i) {
      const GeneratedMessage m = gen.next(/*with_type=*/true);
      const simdjson::dom::element doc = parser.parse(m.json);
      const std::string user(doc["user_id"].get_string().value());
      EXPECT_EQ(user, m.key);
      const std::string type(doc["type"].get_string().value());
      if (type == "order") {
        const std::string order(doc["order_id"].get_string().value());
        const auto [it, opened] = order_user.emplace(order, user);
        if (!opened) {
          EXPECT_EQ(it->second, user) << "an order moved to another user";
          continue;  // an order opened before the move: its old user, rightly
        }
      }
      if (type == "referral") {
        const std::string_view referrer_id = doc["referrer_id"].get_string().value();
        const std::int64_t referrer = user_number(referrer_id);
        EXPECT_GE(referrer, first);
        EXPECT_LT(referrer, first + o.users);
        EXPECT_NE(referrer_id, user);
      }
      EXPECT_GE(user_number(user), first) << m.json;
      EXPECT_LT(user_number(user), first + o.users) << m.json;
    }
  }
}

}  // namespace
}  // namespace alliance

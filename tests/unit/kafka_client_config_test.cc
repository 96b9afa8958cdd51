// KafkaClientConfig (SPEC §9): the properties file format, ${ENV}
// substitution, -X over the file, refused and unknown properties named,
// secrets never in a message; and the HTTP token check.
#include "alliance/kafka/kafka_client_config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "alliance/http/http_security.h"

namespace alliance {
namespace {

KafkaClientConfig::Env env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& n) -> std::optional<std::string> {
    const auto it = vars.find(n);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string write_file(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / (name + "-" + std::to_string(::getpid()));
  std::ofstream(path, std::ios::binary) << text;
  return path.string();
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const KafkaConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(JavaProperties, CommentsSeparatorsEscapesAndContinuations) {
  const auto p = parse_java_properties(
      "# comment\n! also a comment\n\n  a=1\nb : two words \nc three\nd=x\\\n   y\ne=\\u00e9\\t\\=\\\\\r\nf\n", "f");
  ASSERT_EQ(p.size(), 6u);
  EXPECT_EQ(p[0], std::make_tuple(std::string("a"), std::string("1"), 4));
  EXPECT_EQ(std::get<1>(p[1]), "two words ");  // Java keeps trailing spaces
  EXPECT_EQ(std::get<1>(p[2]), "three");
  EXPECT_EQ(std::get<1>(p[3]), "xy");
  EXPECT_EQ(std::get<2>(p[3]), 7);
  EXPECT_EQ(std::get<1>(p[4]), "\xc3\xa9\t=\\");
  EXPECT_EQ(p[5], std::make_tuple(std::string("f"), std::string(""), 10));
  EXPECT_NE(error_of([] { parse_java_properties("=v\n", "x.properties"); }).find("x.properties line 1"),
            std::string::npos);
}

TEST(EnvSubstitution, ReplacesNamesAndRefusesUnsetOnesWithoutTheValue) {
  const auto env = env_of({{"PW", "s3cr3t-value"}});
  EXPECT_EQ(substitute_env("${PW}", "-X", "sasl.password", env), "s3cr3t-value");
  EXPECT_EQ(substitute_env("a${PW}b$${PW}c$x", "-X", "k", env), "as3cr3t-valueb${PW}c$x");
  const std::string e = error_of([&] { substitute_env("${NOPE}", "f line 2", "sasl.password", env); });
  EXPECT_NE(e.find("f line 2: sasl.password: environment variable NOPE is not set"), std::string::npos) << e;
  EXPECT_NE(error_of([&] { substitute_env("${bad-name}", "-X", "k", env); }).find("`${`"), std::string::npos);
  EXPECT_NE(error_of([&] { substitute_env("${OPEN", "-X", "k", env); }).find("`${`"), std::string::npos);
}

TEST(KafkaClientConfig, XWinsOverTheFileAndBootstrapComesFromEither) {
  const auto file = write_file("client.properties", "bootstrap.servers=b1:9092\nclient.id=from-file\nlinger.ms=7\n");
  const auto c = KafkaClientConfig::load(file, {"client.id=from-x"}, env_of({}));
  EXPECT_EQ(c.get("client.id"), "from-x");
  EXPECT_EQ(c.get("linger.ms"), "7");
  EXPECT_EQ(c.bootstrap(""), "b1:9092");
  EXPECT_EQ(c.bootstrap("flag:1"), "flag:1");
  EXPECT_NE(error_of([] { (void)KafkaClientConfig().bootstrap(""); }).find("--bootstrap"), std::string::npos);
  std::filesystem::remove(file);
}

TEST(KafkaClientConfig, UnknownInvalidManagedAndJavaOnlyPropertiesAreNamed) {
  const auto file = write_file("bad.properties", "# x\nno.such.property=1\n");
  std::string e = error_of([&] { KafkaClientConfig::load(file, {}, env_of({})); });
  EXPECT_NE(e.find(file + " line 2: no.such.property: No such configuration property"), std::string::npos) << e;
  e = error_of([] { KafkaClientConfig::load("", {"compression.type=zstdx"}, env_of({})); });
  EXPECT_NE(e.find("-X: compression.type: Invalid value \"zstdx\""), std::string::npos) << e;
  e = error_of([] { KafkaClientConfig::load("", {"group.id=g"}, env_of({})); });
  EXPECT_NE(e.find("group.id cannot be set"), std::string::npos) << e;
  EXPECT_NE(e.find("--group"), std::string::npos) << e;
  e = error_of([] { KafkaClientConfig::load("", {"sasl.jaas.config=x password=\"pw-in-jaas\";"}, env_of({})); });
  EXPECT_NE(e.find("sasl.jaas.config is a property of Kafka's Java client"), std::string::npos) << e;
  EXPECT_EQ(e.find("pw-in-jaas"), std::string::npos) << e;
  e = error_of([] { KafkaClientConfig::load("", {"hunter2-no-equals"}, env_of({})); });
  EXPECT_NE(e.find("-X takes KEY=VALUE"), std::string::npos) << e;
  EXPECT_EQ(e.find("hunter2"), std::string::npos) << e;
  e = error_of([] { KafkaClientConfig::load("/nonexistent/client.properties", {}, env_of({})); });
  EXPECT_NE(e.find("--kafka-config /nonexistent/client.properties: cannot read it"), std::string::npos) << e;
  std::filesystem::remove(file);
}

TEST(KafkaClientConfig, SecretsAreRedactedFromMessages) {
  const auto c = KafkaClientConfig::load(
      "", {"sasl.password=${PW}", "sasl.username=alice", "ssl.key.password=kp-123", "client.id=not-secret"},
      env_of({{"PW", "pa55-word"}}));
  EXPECT_EQ(c.redact("x pa55-word y alice kp-123 not-secret"), "x [redacted] y [redacted] [redacted] not-secret");
  EXPECT_TRUE(is_secret_property("sasl.oauthbearer.client.secret"));
  EXPECT_TRUE(is_secret_property("ssl.keystore.password"));
  EXPECT_FALSE(is_secret_property("security.protocol"));
}

TEST(KafkaClientConfig, MakeAppliesDefaultsThenTheUserThenOwnedSettings) {
  const auto c = KafkaClientConfig::load("", {"linger.ms=42", "session.timeout.ms=45000", "bootstrap.servers=x:1"},
                                         env_of({}));
  auto conf = c.make({{"linger.ms", "5"}, {"bootstrap.servers", "flag:9"}, {"batch.num.messages", "77"}},
                     {{"session.timeout.ms", "6000"}});
  std::string v;
  ASSERT_EQ(conf->get("linger.ms", v), RdKafka::Conf::CONF_OK);
  EXPECT_EQ(v, "42");
  ASSERT_EQ(conf->get("batch.num.messages", v), RdKafka::Conf::CONF_OK);
  EXPECT_EQ(v, "77");
  ASSERT_EQ(conf->get("session.timeout.ms", v), RdKafka::Conf::CONF_OK);
  EXPECT_EQ(v, "6000");
  ASSERT_EQ(conf->get("bootstrap.servers", v), RdKafka::Conf::CONF_OK);
  EXPECT_EQ(v, "flag:9");
}

TEST(KafkaClientConfig, CheckClientReportsWhatLibrdkafkaChecksAtCreation) {
  const auto c = KafkaClientConfig::load("", {"security.protocol=ssl", "ssl.ca.location=/nonexistent/ca.pem"}, env_of({}));
  EXPECT_NE(error_of([&] { c.check_client(); }).find("ssl.ca.location"), std::string::npos);
  EXPECT_EQ(error_of([] { KafkaClientConfig::load("", {"client.id=ok"}, env_of({})).check_client(); }), "(no error)");
}

TEST(HttpSecurity, TokenOnEveryPathButHealthz) {
  http::HttpSecurity s;
  s.token = "0123456789abcdef-token";
  EXPECT_TRUE(s.allows("/healthz", nullptr));
  EXPECT_FALSE(s.allows("/metrics", nullptr));
  EXPECT_FALSE(s.allows("/healthz/", nullptr));
  EXPECT_TRUE(s.allows("/metrics", "Bearer 0123456789abcdef-token"));
  EXPECT_TRUE(s.allows("/", "bearer   0123456789abcdef-token "));
  EXPECT_FALSE(s.allows("/", "Bearer 0123456789abcdef-toke"));
  EXPECT_FALSE(s.allows("/", "Bearer 0123456789abcdef-tokenX"));
  EXPECT_FALSE(s.allows("/", "Basic 0123456789abcdef-token"));
  EXPECT_FALSE(s.allows("/", "Bearer"));
  EXPECT_TRUE(http::HttpSecurity{}.allows("/metrics", nullptr));
  EXPECT_TRUE(http::constant_time_equal("abc", "abc"));
  EXPECT_FALSE(http::constant_time_equal("abc", "abd"));
}

TEST(HttpSecurity, LoadChecksTheTokenFileAndTheCertificatePair) {
  const auto good = write_file("token", "  0123456789abcdef0123\n\n");
  EXPECT_EQ(http::HttpSecurity::load(good, "", "").token, "0123456789abcdef0123");
  const auto short_token = write_file("short-token", "tooshort\n");
  try {
    http::HttpSecurity::load(short_token, "", "");
    ADD_FAILURE() << "a short token was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("at least 16"), std::string::npos);
    EXPECT_EQ(std::string(e.what()).find("tooshort"), std::string::npos) << "the token is never printed";
  }
  EXPECT_THROW(http::HttpSecurity::load("", good, ""), std::invalid_argument);   // cert without key
  EXPECT_THROW(http::HttpSecurity::load("", "", good), std::invalid_argument);   // key without cert
  EXPECT_THROW(http::HttpSecurity::load("/nonexistent/token", "", ""), std::invalid_argument);
  std::filesystem::remove(good);
  std::filesystem::remove(short_token);
}

}  // namespace
}  // namespace alliance

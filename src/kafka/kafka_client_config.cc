#include "alliance/kafka/kafka_client_config.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <tuple>

namespace alliance {

namespace {

constexpr const char* kRedacted = "[redacted]";

/// Properties alliance sets itself, with what to do instead. Refused from
/// the user: the run's guarantees depend on them (SPEC §6).
const std::map<std::string, std::string>& managed_properties() {
  static const std::map<std::string, std::string> m{
      {"group.id", "alliance sets it: `run --group NAME` (the dashboard and payouts join no group)"},
      {"enable.auto.commit", "alliance commits an input offset only once its outputs are durable (SPEC §6)"},
      {"enable.auto.offset.store", "alliance stores an input offset only once its outputs are durable (SPEC §6)"},
      {"auto.offset.reset", "a new group reads its inputs from the beginning (SPEC §6)"},
      {"enable.partition.eof", "alliance needs the partition-end events"},
      {"isolation.level", "alliance reads read_committed"},
      {"enable.idempotence", "the producers are idempotent; `run --guarantee` chooses transactions"},
      {"transactional.id", "`run --guarantee exactly_once` sets one per instance"},
      {"partition.assignment.strategy", "use `run --assignor range|roundrobin`"},
  };
  return m;
}

/// Client properties of Kafka's Java client that librdkafka does not
/// have, with what to write instead (a client.properties copied from a
/// Java setup names them).
const std::map<std::string, std::string>& java_only_properties() {
  static const std::map<std::string, std::string> m{
      {"sasl.jaas.config", "librdkafka takes sasl.username and sasl.password (PLAIN, SCRAM-SHA-256/512) instead"},
      {"client.dns.lookup", "librdkafka tries every address of a name itself: drop it"},
      {"ssl.truststore.location", "librdkafka takes ssl.ca.location (a PEM file of CA certificates) instead"},
      {"ssl.truststore.password", "librdkafka takes ssl.ca.location (a PEM file, no password) instead"},
      {"ssl.truststore.type", "librdkafka takes ssl.ca.location (a PEM file) instead"},
      {"ssl.keystore.type", "librdkafka's ssl.keystore.location is a PKCS#12 file; or ssl.certificate.location and ssl.key.location (PEM)"},
      {"key.serializer", "alliance writes bytes itself: drop it"},
      {"value.serializer", "alliance writes bytes itself: drop it"},
      {"key.deserializer", "alliance reads bytes itself: drop it"},
      {"value.deserializer", "alliance reads bytes itself: drop it"},
      {"schema.registry.url", "a Schema Registry setting, not a client property: drop it"},
      {"basic.auth.credentials.source", "a Schema Registry setting, not a client property: drop it"},
      {"basic.auth.user.info", "a Schema Registry setting, not a client property: drop it"},
  };
  return m;
}

std::string canonical_key(const std::string& key) {
  return key == "metadata.broker.list" ? "bootstrap.servers" : key;
}

void append_utf8(std::string& out, unsigned cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool env_name_char(char c, bool first) {
  return c == '_' || std::isalpha(static_cast<unsigned char>(c)) || (!first && std::isdigit(static_cast<unsigned char>(c)));
}

}  // namespace

bool is_secret_property(const std::string& key) {
  static const char* const kSecret[] = {"sasl.password",       "sasl.username",    "sasl.oauthbearer.config",
                                        "sasl.jaas.config",    "ssl.key.password", "ssl.key.pem",
                                        "ssl_key",             "ssl.keystore.password",
                                        "ssl.key.location",    "ssl.ca.pem",       "basic.auth.user.info"};
  if (std::find(std::begin(kSecret), std::end(kSecret), key) != std::end(kSecret)) return true;
  return key.find("password") != std::string::npos || key.find("secret") != std::string::npos;
}

// --- KafkaClientLog ----------------------------------------------------------

std::string KafkaClientLog::redact(std::string text) const {
  for (const std::string& s : secrets_) {
    for (std::size_t at = text.find(s); at != std::string::npos; at = text.find(s, at + std::strlen(kRedacted)))
      text.replace(at, s.size(), kRedacted);
  }
  return text;
}

bool KafkaClientLog::note_security_failure(const RdKafka::Event& e) {
  if (e.type() != RdKafka::Event::EVENT_ERROR ||
      (e.err() != RdKafka::ERR__AUTHENTICATION && e.err() != RdKafka::ERR__SSL))
    return false;
  std::string what = redact(RdKafka::err2str(e.err()) + ": " + e.str());
  std::lock_guard lock(mu_);
  security_failure_ = std::move(what);
  return true;
}

std::optional<std::string> KafkaClientLog::security_failure() const {
  std::lock_guard lock(mu_);
  return security_failure_;
}

void KafkaClientLog::event_cb(RdKafka::Event& e) {
  switch (e.type()) {
    case RdKafka::Event::EVENT_LOG:
      std::fprintf(stderr, "%%%d|%s| %s\n", static_cast<int>(e.severity()), e.fac().c_str(), redact(e.str()).c_str());
      break;
    case RdKafka::Event::EVENT_ERROR:
      note_security_failure(e);
      std::fprintf(stderr, "%%3|ERROR| %s: %s\n", RdKafka::err2str(e.err()).c_str(), redact(e.str()).c_str());
      break;
    default:  // statistics, throttling: nothing reads them
      break;
  }
}

// --- parsing -----------------------------------------------------------------

std::vector<std::tuple<std::string, std::string, int>> parse_java_properties(const std::string& text,
                                                                             const std::string& name) {
  std::vector<std::tuple<std::string, std::string, int>> out;
  std::vector<std::string> lines;
  {
    std::string line;
    std::istringstream in(text);
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      lines.push_back(line);
    }
  }
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const int first_line = static_cast<int>(i) + 1;
    auto skip_ws = [](const std::string& s, std::size_t at = 0) {
      while (at < s.size() && (s[at] == ' ' || s[at] == '\t' || s[at] == '\f')) ++at;
      return at;
    };
    std::size_t start = skip_ws(lines[i]);
    if (start == lines[i].size() || lines[i][start] == '#' || lines[i][start] == '!') continue;
    // The logical line: natural lines joined while one ends in an odd number of backslashes.
    std::string logical = lines[i].substr(start);
    auto continues = [](const std::string& s) {
      std::size_t n = 0;
      for (auto it = s.rbegin(); it != s.rend() && *it == '\\'; ++it) ++n;
      return n % 2 == 1;
    };
    while (continues(logical)) {
      logical.pop_back();
      if (++i >= lines.size()) break;
      logical += lines[i].substr(skip_ws(lines[i]));
    }
    // Key: up to the first unescaped '=', ':' or whitespace.
    std::string key, value;
    std::size_t at = 0;
    auto unescape_one = [&](std::string& to) -> void {
      // logical[at] is the character after a backslash.
      const char c = logical[at++];
      switch (c) {
        case 't': to.push_back('\t'); break;
        case 'n': to.push_back('\n'); break;
        case 'r': to.push_back('\r'); break;
        case 'f': to.push_back('\f'); break;
        case 'u': {
          if (at + 4 > logical.size() ||
              !std::all_of(logical.begin() + static_cast<std::ptrdiff_t>(at),
                           logical.begin() + static_cast<std::ptrdiff_t>(at + 4),
                           [](char h) { return std::isxdigit(static_cast<unsigned char>(h)); }))
            throw KafkaConfigError(name + " line " + std::to_string(first_line) +
                                   ": \\u must be followed by 4 hex digits (Java-properties escape)");
          append_utf8(to, static_cast<unsigned>(std::stoul(logical.substr(at, 4), nullptr, 16)));
          at += 4;
          break;
        }
        default: to.push_back(c);
      }
    };
    while (at < logical.size()) {
      const char c = logical[at];
      if (c == '=' || c == ':' || c == ' ' || c == '\t' || c == '\f') break;
      ++at;
      if (c == '\\' && at < logical.size()) unescape_one(key);
      else key.push_back(c);
    }
    at = skip_ws(logical, at);
    if (at < logical.size() && (logical[at] == '=' || logical[at] == ':')) at = skip_ws(logical, at + 1);
    while (at < logical.size()) {
      const char c = logical[at++];
      if (c == '\\' && at < logical.size()) unescape_one(value);
      else value.push_back(c);
    }
    if (key.empty())
      throw KafkaConfigError(name + " line " + std::to_string(first_line) +
                             ": a value without a property name (write KEY=VALUE)");
    out.emplace_back(std::move(key), std::move(value), first_line);
  }
  return out;
}

std::string substitute_env(const std::string& value, const std::string& where, const std::string& key,
                           const KafkaClientConfig::Env& env) {
  std::string out;
  for (std::size_t i = 0; i < value.size();) {
    if (value.compare(i, 3, "$${") == 0) {
      out += "${";
      i += 3;
      continue;
    }
    if (value.compare(i, 2, "${") != 0) {
      out.push_back(value[i++]);
      continue;
    }
    const std::size_t close = value.find('}', i + 2);
    const std::string name = close == std::string::npos ? std::string() : value.substr(i + 2, close - i - 2);
    bool valid = !name.empty();
    for (std::size_t k = 0; k < name.size() && valid; ++k) valid = env_name_char(name[k], k == 0);
    if (!valid)
      throw KafkaConfigError(where + ": " + key + ": `${` must be followed by an environment variable name and `}`" +
                             " (letters, digits, _; write `$${` for a literal `${`)");
    const auto v = env(name);
    if (!v)
      throw KafkaConfigError(where + ": " + key + ": environment variable " + name +
                             " is not set (export it, or give the value another way)");
    out += *v;
    i = close + 1;
  }
  return out;
}

// --- KafkaClientConfig -------------------------------------------------------

std::optional<std::string> KafkaClientConfig::process_env(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

KafkaClientConfig::KafkaClientConfig() : log_(std::make_shared<KafkaClientLog>(std::vector<std::string>{})) {}

void KafkaClientConfig::add(Property p) {
  p.key = canonical_key(p.key);
  if (const auto m = managed_properties().find(p.key); m != managed_properties().end())
    throw KafkaConfigError(p.origin + ": " + p.key + " cannot be set: " + m->second);
  std::erase_if(props_, [&](const Property& q) { return q.key == p.key; });
  props_.push_back(std::move(p));
}

KafkaClientConfig KafkaClientConfig::load(const std::string& file, const std::vector<std::string>& overrides,
                                          const Env& env) {
  KafkaClientConfig c;
  if (!file.empty()) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw KafkaConfigError("--kafka-config " + file + ": cannot read it (give a readable properties file)");
    std::stringstream text;
    text << in.rdbuf();
    for (auto& [key, value, line] : parse_java_properties(text.str(), file)) {
      const std::string origin = file + " line " + std::to_string(line);
      c.add(Property{key, substitute_env(value, origin, key, env), origin});
    }
  }
  for (std::size_t i = 0; i < overrides.size(); ++i) {
    const std::string& kv = overrides[i];
    const auto eq = kv.find('=');
    // The word itself is not printed: it may be a secret given by mistake.
    if (eq == std::string::npos || eq == 0)
      throw KafkaConfigError("-X takes KEY=VALUE; -X number " + std::to_string(i + 1) + " has " +
                             (eq == 0 ? "no KEY before its '='" : "no '='"));
    const std::string key = kv.substr(0, eq);
    c.add(Property{key, substitute_env(kv.substr(eq + 1), "-X", key, env), "-X"});
  }
  std::vector<std::string> secrets;
  for (const auto& p : c.props_)
    if (is_secret_property(p.key) && p.value.size() >= 3) secrets.push_back(p.value);
  // Longest first: a secret that contains another is redacted whole.
  std::sort(secrets.begin(), secrets.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  c.log_ = std::make_shared<KafkaClientLog>(std::move(secrets));

  // Names and values, one by one, so the error names where each came from.
  for (const auto& p : c.props_) {
    if (const auto j = java_only_properties().find(p.key); j != java_only_properties().end())
      throw KafkaConfigError(p.origin + ": " + p.key + " is a property of Kafka's Java client; " + j->second);
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::string err;
    if (conf->set(p.key, p.value, err) != RdKafka::Conf::CONF_OK)
      throw KafkaConfigError(p.origin + ": " + p.key + ": " + c.redact(err) +
                             " (librdkafka's properties: CONFIGURATION.md of librdkafka 2.0)");
  }
  return c;
}

std::string KafkaClientConfig::bootstrap(const std::string& flag) const {
  if (!flag.empty()) return flag;
  if (auto b = get("bootstrap.servers"); b && !b->empty()) return *b;
  throw KafkaConfigError("no Kafka cluster to connect to: give --bootstrap HOST:PORT[,...] or bootstrap.servers in "
                         "--kafka-config / -X");
}

std::optional<std::string> KafkaClientConfig::get(const std::string& key) const {
  for (const auto& p : props_)
    if (p.key == canonical_key(key)) return p.value;
  return std::nullopt;
}

std::unique_ptr<RdKafka::Conf> KafkaClientConfig::make(const std::map<std::string, std::string>& defaults,
                                                       const std::map<std::string, std::string>& owned) const {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  auto set = [&](const std::string& k, const std::string& v, const std::string& origin) {
    if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK)
      throw KafkaConfigError(origin + ": " + k + ": " + redact(err));
  };
  for (const auto& [k, v] : defaults) set(k, v, "alliance's client setting");
  for (const auto& p : props_)
    if (p.key != "bootstrap.servers" && owned.count(p.key) == 0) set(p.key, p.value, p.origin);
  for (const auto& [k, v] : owned) set(k, v, "alliance's client setting");
  if (conf->set("event_cb", static_cast<RdKafka::EventCb*>(log_.get()), err) != RdKafka::Conf::CONF_OK)
    throw KafkaConfigError("event_cb: " + err);
  return conf;
}

void KafkaClientConfig::check_client() const {
  if (props_.empty()) return;
  std::string err;
  // librdkafka's message does not always name the property ("Unsupported
  // SASL mechanism: PLAN"): name the one whose key or (non-secret) value it
  // mentions, with where it came from.
  auto refused = [&] {
    std::string where = "the Kafka client properties are refused";
    for (const auto& p : props_)
      if (err.find(p.key) != std::string::npos ||
          (!is_secret_property(p.key) && p.value.size() >= 2 && err.find(p.value) != std::string::npos)) {
        where = p.origin + ": " + p.key + " is refused";
        break;
      }
    return KafkaConfigError(where + ": " + redact(err));
  };
  // The strictest combination the run uses: an idempotent producer, and a
  // consumer; no bootstrap.servers, so neither connects.
  // Quiet: their logs (no bootstrap.servers, debug lines) would only confuse.
  const std::map<std::string, std::string> quiet{{"log_level", "0"}};  // (debug, when given, still logs)
  auto pconf = make({}, [&] {
    auto o = quiet;
    o["enable.idempotence"] = "true";
    return o;
  }());
  std::unique_ptr<RdKafka::Producer> p(RdKafka::Producer::create(pconf.get(), err));
  if (!p) throw refused();
  p.reset();
  auto cconf = make({}, [&] {
    auto o = quiet;
    o["group.id"] = "alliance-check";
    return o;
  }());
  std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(cconf.get(), err));
  if (!c) throw refused();
  c->close();
}

}  // namespace alliance

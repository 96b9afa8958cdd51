// The user's librdkafka client properties (SPEC §9): `--kafka-config FILE`
// (Java-properties format, as Kafka's client.properties) and `-X KEY=VALUE`
// (repeatable; wins over the file), with `${ENV_NAME}` replaced from the
// environment. Every Kafka client a command makes — the run's consumer,
// producer, changelog producer and restore readers, the dashboard's
// consumer, the payouts reader — gets its librdkafka conf from make(), so a
// property reaches all of them or none (docs/OPERATIONS.md "Connecting to a
// secured cluster").
#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace alliance {

/// A client property that cannot be used: what() names where it came from
/// (`FILE line N` or `-X`), the key and the fix, and never a secret value.
class KafkaConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// True for properties whose values are secrets (librdkafka's sensitive
/// ones, and any name with "password" or "secret" in it): their values are
/// never printed, and are replaced by "[redacted]" in anything that is.
bool is_secret_property(const std::string& key);

/// Prints librdkafka's log lines and errors for the clients made with
/// make() (in librdkafka's own `%LEVEL|FAC| message` form, on stderr, with
/// every secret value redacted), and remembers the last authentication or
/// TLS failure any of them reported. librdkafka calls it on its own threads
/// (logs) and inside the owning client's poll (errors): every member is
/// safe to call from any thread.
class KafkaClientLog final : public RdKafka::EventCb {
 public:
  explicit KafkaClientLog(std::vector<std::string> secrets) : secrets_(std::move(secrets)) {}
  void event_cb(RdKafka::Event& e) override;
  /// `text` with every secret value replaced by "[redacted]".
  [[nodiscard]] std::string redact(std::string text) const;
  /// The last ERR__AUTHENTICATION or ERR__SSL error reported (redacted), if any.
  [[nodiscard]] std::optional<std::string> security_failure() const;
  /// Records `e` when it is an authentication or TLS failure (redacted);
  /// true when it was one. For clients with an event_cb of their own.
  bool note_security_failure(const RdKafka::Event& e);

 private:
  const std::vector<std::string> secrets_;
  mutable std::mutex mu_;
  std::optional<std::string> security_failure_;  // guarded by mu_
};

/// The properties, checked. Immutable once loaded: copies share one
/// KafkaClientLog, and any thread may call the const members. A default
/// one has no user properties (the demo's clients, tests).
class KafkaClientConfig {
 public:
  /// The environment: the value of a variable, or nothing when unset.
  using Env = std::function<std::optional<std::string>(const std::string&)>;
  /// getenv.
  static std::optional<std::string> process_env(const std::string& name);

  KafkaClientConfig();

  /// Reads `file` (none when empty), then the -X `overrides`
  /// ("KEY=VALUE"), replaces `${NAME}` from `env` (`$${` is a literal `${`),
  /// and checks every property: names and values with librdkafka, the ones
  /// alliance sets itself refused with the flag to use instead. Throws
  /// KafkaConfigError.
  static KafkaClientConfig load(const std::string& file, const std::vector<std::string>& overrides,
                                const Env& env = process_env);

  /// The bootstrap servers: `flag` (--bootstrap) when not empty, else the
  /// properties' bootstrap.servers. Throws KafkaConfigError when neither.
  [[nodiscard]] std::string bootstrap(const std::string& flag) const;
  /// A property's value as given (after substitution), if set.
  [[nodiscard]] std::optional<std::string> get(const std::string& key) const;
  /// How many properties were given.
  [[nodiscard]] std::size_t size() const { return props_.size(); }

  /// A conf for one client: `defaults` (the client's own settings), then
  /// the user's properties over them (bootstrap.servers excepted: it is
  /// `defaults`'s), then `owned` (settings the client does not let the
  /// user change), and the KafkaClientLog as its event_cb (a client may set
  /// its own after). Throws KafkaConfigError naming the key.
  [[nodiscard]] std::unique_ptr<RdKafka::Conf> make(const std::map<std::string, std::string>& defaults,
                                                    const std::map<std::string, std::string>& owned = {}) const;
  /// Makes a client from these properties without connecting anywhere:
  /// librdkafka checks what it checks only then (files named by ssl.*, a
  /// SASL mechanism's required settings). Throws KafkaConfigError.
  void check_client() const;

  [[nodiscard]] KafkaClientLog& log() const { return *log_; }
  [[nodiscard]] std::string redact(std::string text) const { return log_->redact(std::move(text)); }

 private:
  struct Property {
    std::string key, value, origin;  // origin: "FILE line N" or "-X"
  };
  void add(Property p);
  std::vector<Property> props_;  // in the order given; a later one replaces an earlier one
  std::shared_ptr<KafkaClientLog> log_;
};

/// Parses Java-properties text (comments `#`/`!`, `key=value`,
/// `key: value` or `key value`, a trailing `\` continues the line, escapes
/// `\t \n \r \f \\ \uXXXX`, `\=` `\:` `\ ` and so on). Returns (key, value,
/// line) in order. Throws KafkaConfigError naming `name` and the line.
std::vector<std::tuple<std::string, std::string, int>> parse_java_properties(const std::string& text,
                                                                             const std::string& name);

/// Replaces every `${NAME}` in `value` from `env`; `$${` is a literal `${`.
/// Throws KafkaConfigError (naming `where` and `key`, not the value) for an
/// unset variable or an unclosed `${`.
std::string substitute_env(const std::string& value, const std::string& where, const std::string& key,
                           const KafkaClientConfig::Env& env);

}  // namespace alliance

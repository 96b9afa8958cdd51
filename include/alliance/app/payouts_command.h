// `alliance payouts`: the payout batch of SPEC §5.5. Reads the latest
// partner balance per partner|currency (from a replay's output directory or
// from the partner-balances topic) and prints, as CSV on stdout, one line
// per positive payable balance for finance to review and pay. Runs on the
// calling thread.
#pragma once

#include <string>
#include <vector>

#include "alliance/kafka/kafka_client_config.h"

namespace alliance {

struct PayoutsOptions {
  std::string topology_path;  // with --bootstrap: the balances topic's name
  std::string from_dir;       // a replay's --out directory
  std::string bootstrap;      // or: read the topic
  KafkaClientConfig kafka;    // with --bootstrap: the user's client properties (-X, --kafka-config)
  int timeout_ms = 30'000;    // --bootstrap: give up reading the topic after this long
};

/// One balance as the batch needs it.
struct PayableBalance {
  std::string partner_id;
  std::string currency;
  std::int64_t payable_minor = 0;
  std::int64_t paid_minor = 0;
  std::int64_t held_minor = 0;  // pending, held by partner risk: never in the batch
};

/// The CSV (header `partner_id,currency,amount_minor,reference`) of the
/// positive payable balances, ordered by partner and currency. The
/// reference `<partner>:<currency>:paid-to:<paid + amount>` is what the
/// partner's paid total becomes once this line is paid: deterministic, and
/// unique per partner and currency because paid only grows. Text cells
/// (partner, currency, reference) that begin with `=`, `+`, `-`, `@`, tab,
/// carriage return or `'` get a `'` in front (no spreadsheet formulas,
/// SPEC §5.5); then RFC 4180 quoting when a cell holds a comma, quote or
/// line break. The amount is a bare integer.
std::string payout_batch_csv(std::vector<PayableBalance> balances);

/// Exit codes (README "Exit codes"): 0 printed (maybe only the header);
/// 1 Kafka unreachable or the topic not read to its end in time; 2 usage,
/// an unreadable or malformed balances file or record, a missing topic,
/// client properties librdkafka refuses, brokers that refuse to
/// authenticate it or a failed TLS handshake, stdout not writable.
int run_payouts(const PayoutsOptions& o);

}  // namespace alliance

#include "alliance/app/payouts_command.h"

#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string_view>

#include "alliance/codec/record_decoder.h"
#include "alliance/config/topology_loader.h"

namespace alliance {

namespace {

/// A text cell of the batch (SPEC §5.5): a cell that a spreadsheet would
/// read as a formula (it begins with `=`, `+`, `-`, `@`, tab or carriage
/// return) gets a `'` in front, and so does a cell that already begins with
/// `'`, so a reader gets the original back by dropping one leading `'`
/// (docs/FINANCE.md "How to pay"); then RFC 4180 quoting (a comma, quote or
/// line break quotes the cell, a quote is doubled). Partner ids are free
/// text: the neutralising happens here, on output only.
std::string csv_text_cell(const std::string& s) {
  std::string cell;
  if (!s.empty() && std::string_view("=+-@\t\r'").find(s.front()) != std::string_view::npos) cell.push_back('\'');
  cell += s;
  if (cell.find_first_of(",\"\r\n") == std::string::npos) return cell;
  std::string out = "\"";
  for (char c : cell) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

/// A number cell: written as the integer it is, never prefixed (the batch's
/// amounts are > 0; a `-` in front of digits is a number, not a formula).
std::string csv_number_cell(std::int64_t v) { return std::to_string(v); }

/// Keeps the latest record per partner|currency (an upsert stream).
class LatestBalances {
 public:
  /// False when `json` is not a partner-balances record.
  bool add(std::string_view json) {
    const auto r = decode_record(OutputKind::kBalances, json);
    if (!r) return false;
    const auto& b = std::get<BalanceRecord>(r->body);
    latest_[{b.partner_id, b.currency}] = PayableBalance{b.partner_id, b.currency, b.payable_minor, b.paid_minor, b.held_minor};
    return true;
  }
  [[nodiscard]] std::vector<PayableBalance> all() const {
    std::vector<PayableBalance> v;
    for (const auto& [k, b] : latest_) v.push_back(b);
    return v;
  }

 private:
  std::map<std::pair<std::string, std::string>, PayableBalance> latest_;
};

int read_dir(const std::string& dir, LatestBalances& latest) {
  const std::string path = dir + "/partner-balances.jsonl";
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "alliance payouts: cannot read %s (a replay's --out directory has it)\n", path.c_str());
    return 2;
  }
  std::string line;
  std::int64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    if (!latest.add(line)) {
      std::fprintf(stderr, "alliance payouts: %s:%lld is not a partner-balances record\n", path.c_str(),
                   static_cast<long long>(n));
      return 2;
    }
  }
  return 0;
}

/// Reads the whole topic (every partition from its beginning to its end at
/// the time of the call), without joining a group or committing.
int read_topic(const std::string& bootstrap, const KafkaClientConfig& client, const std::string& topic, int timeout_ms,
               LatestBalances& latest) {
  std::string err;
  std::unique_ptr<RdKafka::Conf> conf;
  try {
    conf = client.make({{"bootstrap.servers", bootstrap}, {"log_level", "3"}},
                       {{"group.id", "alliance-payouts"},
                        {"enable.auto.commit", "false"},
                        {"enable.partition.eof", "true"},
                        {"isolation.level", "read_committed"}});
  } catch (const KafkaConfigError& e) {
    std::fprintf(stderr, "alliance payouts: %s\n", e.what());
    return 2;
  }
  std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!c) {
    std::fprintf(stderr, "alliance payouts: cannot create a consumer: %s\n", client.redact(err).c_str());
    return 2;  // librdkafka refused the configuration
  }
  RdKafka::Metadata* raw = nullptr;
  const auto rc = c->metadata(true, nullptr, &raw, timeout_ms);
  std::unique_ptr<RdKafka::Metadata> md(raw);
  if (rc != RdKafka::ERR_NO_ERROR) {
    std::unique_ptr<RdKafka::Message>(c->consume(0));  // serves the error events
    if (const auto why = client.log().security_failure()) {
      std::fprintf(stderr,
                   "alliance payouts: cannot connect to the brokers at %s: %s (check security.protocol and the "
                   "sasl.* / ssl.* properties of --kafka-config / -X)\n",
                   bootstrap.c_str(), why->c_str());
      return 2;
    }
    std::fprintf(stderr, "alliance payouts: cannot read the metadata of %s: %s\n", bootstrap.c_str(),
                 RdKafka::err2str(rc).c_str());
    return 1;
  }
  int partitions = 0;
  for (const auto* t : *md->topics())
    if (t->topic() == topic && t->err() == RdKafka::ERR_NO_ERROR) partitions = static_cast<int>(t->partitions()->size());
  if (partitions == 0) {
    std::fprintf(stderr, "alliance payouts: topic %s does not exist on %s (outputs.balances of the topology)\n",
                 topic.c_str(), bootstrap.c_str());
    return 2;
  }
  std::vector<RdKafka::TopicPartition*> tps;
  std::set<int> open;  // partitions not yet at their end
  for (int p = 0; p < partitions; ++p) {
    std::int64_t low = 0, high = 0;
    if (c->query_watermark_offsets(topic, p, &low, &high, timeout_ms) != RdKafka::ERR_NO_ERROR) {
      std::fprintf(stderr, "alliance payouts: cannot read the end offsets of %s\n", topic.c_str());
      RdKafka::TopicPartition::destroy(tps);
      return 1;
    }
    if (high > low) open.insert(p);
    tps.push_back(RdKafka::TopicPartition::create(topic, p, RdKafka::Topic::OFFSET_BEGINNING));
  }
  c->assign(tps);
  RdKafka::TopicPartition::destroy(tps);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!open.empty()) {
    if (std::chrono::steady_clock::now() > deadline) {
      std::fprintf(stderr, "alliance payouts: %s not read to its end within %d ms\n", topic.c_str(), timeout_ms);
      c->close();
      return 1;
    }
    std::unique_ptr<RdKafka::Message> m(c->consume(200));
    if (m->err() == RdKafka::ERR__TIMED_OUT) continue;
    if (m->err() == RdKafka::ERR__PARTITION_EOF) {
      open.erase(m->partition());
      continue;
    }
    if (m->err() != RdKafka::ERR_NO_ERROR) {
      std::fprintf(stderr, "alliance payouts: %s\n", client.redact(m->errstr()).c_str());
      continue;
    }
    if (!latest.add(std::string_view(static_cast<const char*>(m->payload()), m->len()))) {
      std::fprintf(stderr, "alliance payouts: %s [%d] offset %lld is not a partner-balances record\n", topic.c_str(),
                   m->partition(), static_cast<long long>(m->offset()));
      c->close();
      return 2;
    }
  }
  c->close();
  return 0;
}

}  // namespace

std::string payout_batch_csv(std::vector<PayableBalance> balances) {
  std::sort(balances.begin(), balances.end(), [](const PayableBalance& a, const PayableBalance& b) {
    return std::tie(a.partner_id, a.currency) < std::tie(b.partner_id, b.currency);
  });
  std::string out = "partner_id,currency,amount_minor,reference\n";
  for (const PayableBalance& b : balances) {
    if (b.payable_minor <= 0) continue;  // nothing owed, or a clawback to net first
    const std::string reference =
        b.partner_id + ":" + b.currency + ":paid-to:" + std::to_string(b.paid_minor + b.payable_minor);
    out += csv_text_cell(b.partner_id) + "," + csv_text_cell(b.currency) + "," + csv_number_cell(b.payable_minor) + "," +
           csv_text_cell(reference) + "\n";
  }
  return out;
}

int run_payouts(const PayoutsOptions& o) {
  if (o.from_dir.empty() == o.bootstrap.empty()) {
    std::fprintf(stderr, "alliance payouts: give either --from DIR (a replay's output) or --bootstrap HOST:PORT (or bootstrap.servers in --kafka-config / -X)\n");
    return 2;
  }
  LatestBalances latest;
  if (!o.from_dir.empty()) {
    if (int rc = read_dir(o.from_dir, latest); rc != 0) return rc;
  } else {
    if (o.topology_path.empty()) {
      std::fprintf(stderr, "alliance payouts: --bootstrap needs --topology (the balances topic is outputs.balances)\n");
      return 2;
    }
    const auto t = load_topology_or_explain(o.topology_path, "payouts");
    if (!t) return 2;
    if (int rc = read_topic(o.bootstrap, o.kafka, t->outputs.balances, o.timeout_ms, latest); rc != 0) return rc;
  }
  std::cout << payout_batch_csv(latest.all()) << std::flush;
  // Held money is pending, never in the batch (SPEC §3.9); finance should
  // still see it, without a change to the batch's columns (SPEC §5.5).
  for (const PayableBalance& b : latest.all())
    if (b.held_minor != 0)
      std::fprintf(stderr,
                   "alliance payouts: held by partner risk, not in this batch until a risk_release: %s %s %lld "
                   "(docs/FINANCE.md \"Partner risk\")\n",
                   b.partner_id.c_str(), b.currency.c_str(), static_cast<long long>(b.held_minor));
  if (!std::cout) {
    std::fprintf(stderr, "alliance payouts: cannot write the batch to stdout\n");
    return 2;
  }
  return 0;
}

}  // namespace alliance

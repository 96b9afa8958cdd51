// Writes the binary seed corpora of the state / changelog / forward fuzzers
// (tests/fuzz/corpus/{state_restore,changelog,forward_record}) from a run of
// tests/data/sample-events.jsonl, followed by the payouts below, through the
// sample topology: real encoded values of the current formats, not guesses.
// Usage: make_seeds <corpus dir>. Run by hand when an encoding changes; the
// seeds are committed. Fails (exit 1) if a column family that the processor
// writes got no seed.
#include <array>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "alliance/codec/event_decoder.h"
#include "alliance/config/topology_loader.h"
#include "alliance/core/processor.h"
#include "alliance/state/state_codec.h"

using namespace alliance;
namespace fs = std::filesystem;

namespace {

void write(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << bytes;
}

// After the sample events (November 2026, commission payable 30 days after
// completion): a referral naming a code the topology does not know (a learned
// code) and an order using it, then an accepted payout, a repeated one and
// one larger than what is payable, so the codes, balances and payouts tables
// get values.
// Then a risk release (and the same one again: duplicate_release), so the
// releases table of partner risk gets values too.
const std::array<const char*, 8> kExtraEvents{
    R"({"type":"referral","event_id":"r90","ts":"2026-11-21T09:00:00+08:00","user_id":"u7","partner_id":"p-bank","referrer_id":"u1","referral_code":"BANK5"})",
    R"({"type":"order","event_id":"o90","ts":"2026-11-21T09:10:00+08:00","user_id":"u7","order_id":"A90","status":"completed","amount_minor":2500,"currency":"CNY","referral_code":"BANK5"})",
    R"({"type":"click","event_id":"k90","ts":"2027-01-05T09:00:00+08:00","user_id":"u1","campaign_id":"cmp-spring","source":"social","partner_id":"p-books"})",
    R"({"type":"payout","payout_id":"po-1","ts":"2027-01-05T10:00:00+08:00","partner_id":"p-books","amount_minor":300,"currency":"CNY","reference":"p-books:CNY:300"})",
    R"({"type":"payout","payout_id":"po-1","ts":"2027-01-05T10:00:01+08:00","partner_id":"p-books","amount_minor":300,"currency":"CNY"})",
    R"({"type":"payout","payout_id":"po-2","ts":"2027-01-05T10:00:02+08:00","partner_id":"p-travel","amount_minor":99999999,"currency":"CNY"})",
    R"({"type":"risk_release","release_id":"rel-1","ts":"2027-01-05T10:00:03+08:00","partner_id":"p-books","period":"2026-11","reference":"review-1"})",
    R"({"type":"risk_release","release_id":"rel-1","ts":"2027-01-05T10:00:04+08:00","partner_id":"p-books","period":"2026-11"})",
};

// fuzz_state_restore's framing of one entry: cf, key length, key, be16 value
// length, value.
std::string restore_entry_bytes(Cf cf, const std::string& key, const std::string& value) {
  std::string e;
  e += static_cast<char>(cf);
  const std::size_t klen = std::min<std::size_t>(key.size(), 255);
  e += static_cast<char>(klen);
  e += key.substr(0, klen);
  const std::size_t vlen = std::min<std::size_t>(value.size(), 0xffff);
  e += static_cast<char>(vlen >> 8);
  e += static_cast<char>(vlen & 0xff);
  e += value.substr(0, vlen);
  return e;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const fs::path out = argv[1];
  const Topology t = load_topology_file(ALLIANCE_SOURCE_DIR "/topologies/spring-alliance.yaml");
  Processor p(t, Partitioning{0, 1});  // split: stage 1 forwards to stage 2 (and writes partials)
  EventDecoder dec;
  std::vector<std::string> lines;
  {
    std::ifstream in(ALLIANCE_SOURCE_DIR "/tests/data/sample-events.jsonl");
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    lines.insert(lines.end(), kExtraEvents.begin(), kExtraEvents.end());
  }
  std::int64_t off = 0, forward_seq = 0;
  int changelogs = 0, forwards = 0, entries = 0;
  std::string rejected;  // reasons of the dead letters
  std::array<int, kCfCount> per_cf{};          // state_restore seeds per column family
  std::array<bool, kCfCount> in_changelog{};   // column families some changelog seed holds
  std::map<std::pair<Cf, std::string>, std::string> store;  // what a store would hold at the end
  // As a state session does: statement record ids are written once and read
  // back from the store (so statement_ids entries are written at all).
  p.ledger().set_id_loader([&store](const std::string& skey) {
    std::vector<std::string> ids;
    for (auto it = store.lower_bound({Cf::kStatementIds, skey});
         it != store.end() && it->first.first == Cf::kStatementIds && it->first.second.compare(0, skey.size(), skey) == 0; ++it)
      ids.push_back(it->first.second.substr(skey.size()));
    return ids;
  });
  for (const std::string& line : lines) {
    const SourcePosition pos{"events", 0, off++};
    DecodeResult r = dec.decode(line, std::nullopt);
    if (!r.ok()) {
      std::cerr << "make_seeds: rejected " << r.reason << ": " << line << "\n";
      return 1;
    }
    p.process(*r.event, pos, line);
    p.end_cycle(true);
    // The only partition is its own stage 2 (as PartitionedCore does): the
    // forwarded records come back, so partials, statements, volumes and
    // balances are written too.
    for (bool more = true; more;) {
      more = false;
      for (auto& o : p.take_outputs()) {
        if (auto* f = std::get_if<ForwardedRecord>(&o.body)) {
          if (forwards < 12) write(out / "forward_record" / ("fwd" + std::to_string(forwards++)), f->payload);
          p.accept_forward(forward_seq, f->payload, SourcePosition{"repartition", 0, forward_seq});
          ++forward_seq;
          more = true;
        } else if (auto* d = std::get_if<DeadLetter>(&o.body)) {
          rejected += " " + d->reason;
        }
      }
    }
    StateChanges changes;
    collect_changes(p, changes);
    // Changelog batches: the first four, then any that brings a column family
    // no earlier batch seed had.
    bool new_cf = false;
    for (const auto& c : changes) new_cf = new_cf || !in_changelog[static_cast<std::size_t>(c.cf)];
    if (!changes.empty() && (changelogs < 4 || new_cf)) {
      write(out / "changelog" / ("batch" + std::to_string(changelogs++)), encode_changelog(changes));
      for (const auto& c : changes) in_changelog[static_cast<std::size_t>(c.cf)] = true;
    }
    for (const auto& c : changes) {
      const std::size_t i = static_cast<std::size_t>(c.cf);
      if (c.value) {
        store[{c.cf, c.key}] = *c.value;
      } else {
        store.erase({c.cf, c.key});
      }
      if (!c.value || per_cf[i] >= 3) continue;
      ++per_cf[i];
      write(out / "state_restore" / ("entry" + std::to_string(entries++) + "-" + std::string(cf_name(c.cf))),
            restore_entry_bytes(c.cf, c.key, *c.value));
    }
  }
  // The whole final store in column family order, as a restart restores it
  // (statements before their ids, windows before their users) and as one
  // changelog slice of a complete pass carries it (src/kafka/changelog.cc;
  // the slice's flags are in the chunk framing, which fuzz_changelog does
  // not read).
  StateChanges slice;
  std::string whole;
  for (const auto& [ck, v] : store) {
    slice.push_back(StateChange{ck.first, ck.second, v});
    whole += restore_entry_bytes(ck.first, ck.second, v);
  }
  write(out / "changelog" / "slice-whole-store", encode_changelog(slice));
  write(out / "state_restore" / "store-whole", whole);
  std::cout << changelogs << " changelog batches + 1 slice, " << entries << " entries + 1 whole store ("
            << store.size() << " entries, " << whole.size() << " bytes), " << forwards << " forwards; dead letters:" << rejected
            << "\nper column family:";
  bool missing = false;
  for (std::size_t i = 0; i < kCfCount; ++i) {
    const Cf cf = static_cast<Cf>(i);
    std::cout << " " << cf_name(cf) << "=" << per_cf[i];
    // The outbox is the state session's, never the processor's.
    if (per_cf[i] == 0 && cf != Cf::kOutbox) missing = true;
  }
  std::cout << "\n";
  if (missing) {
    std::cerr << "make_seeds: a column family got no seed\n";
    return 1;
  }
  return 0;
}

// Writes the binary seed corpora of the state / changelog / forward fuzzers
// (tests/fuzz/corpus/{state_restore,changelog,forward_record}) from a run of
// tests/data/sample-events.jsonl through the sample topology: real encoded
// values, not guesses. Usage: make_seeds <corpus dir>. Run by hand when the
// encodings change; the seeds are committed.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "alliance/codec/event_decoder.h"
#include "alliance/config/topology_loader.h"
#include "alliance/core/processor.h"
#include "alliance/state/state_codec.h"

using namespace alliance;
namespace fs = std::filesystem;

static void write(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << bytes;
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const fs::path out = argv[1];
  const Topology t = load_topology_file(ALLIANCE_SOURCE_DIR "/topologies/spring-alliance.yaml");
  Processor p(t, Partitioning{0, 1});  // split: stage 1 forwards to stage 2
  EventDecoder dec;
  std::ifstream in(ALLIANCE_SOURCE_DIR "/tests/data/sample-events.jsonl");
  std::string line;
  std::int64_t off = 0;
  int changelogs = 0, forwards = 0, entries = 0;
  while (std::getline(in, line)) {
    const SourcePosition pos{"events", 0, off++};
    DecodeResult r = dec.decode(line, std::nullopt);
    if (r.ok()) p.process(*r.event, pos, line);
    p.end_cycle(true);
    StateChanges changes;
    collect_changes(p, changes);
    if (!changes.empty() && changelogs < 6) write(out / "changelog" / ("batch" + std::to_string(changelogs++)), encode_changelog(changes));
    for (const auto& c : changes) {
      if (!c.value || entries >= 40) continue;
      // fuzz_state_restore's framing: cf, key length, key, be16 value length, value
      std::string e;
      e += static_cast<char>(c.cf);
      e += static_cast<char>(std::min<std::size_t>(c.key.size(), 255));
      e += c.key.substr(0, 255);
      const std::size_t vlen = std::min<std::size_t>(c.value->size(), 0xffff);
      e += static_cast<char>(vlen >> 8);
      e += static_cast<char>(vlen & 0xff);
      e += c.value->substr(0, vlen);
      write(out / "state_restore" / ("entry" + std::to_string(entries++) + "-" + std::string(cf_name(c.cf))), e);
    }
    for (auto& o : p.take_outputs())
      if (auto* f = std::get_if<ForwardedRecord>(&o.body); f && forwards < 12)
        write(out / "forward_record" / ("fwd" + std::to_string(forwards++)), f->payload);
  }
  std::cout << changelogs << " changelogs, " << entries << " entries, " << forwards << " forwards\n";
  return 0;
}

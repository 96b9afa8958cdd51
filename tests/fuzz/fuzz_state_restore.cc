// libFuzzer target: restore_entry (src/state/state_codec.cc) into a Processor
// of the sample topology, as a restart or a changelog restore does. Input:
// a column family byte, a key length byte, the key, then the value. Any
// value is either restored or rejected with CorruptState; after_restore()
// runs on whatever was restored (and may throw CorruptState too: a
// statement key is split there; StateSession reports both as StateError).
// FUZZ_PRINT_REJECTS=1 prints each CorruptState message to stderr, to check
// which check a seed reaches:
//   FUZZ_PRINT_REJECTS=1 build-fuzz/tests/fuzz/fuzz_state_restore tests/fuzz/corpus/state_restore/regression-*
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "alliance/config/topology_loader.h"
#include "alliance/core/byte_codec.h"
#include "alliance/core/processor.h"
#include "alliance/state/state_codec.h"

using namespace alliance;

namespace {
const Topology& topology() {
  static const Topology t = load_topology_file(ALLIANCE_SOURCE_DIR "/topologies/spring-alliance.yaml");
  return t;
}

void print_reject(const char* where, const CorruptState& e) {
  static const bool print = std::getenv("FUZZ_PRINT_REJECTS") != nullptr;
  if (print) std::fprintf(stderr, "%s: CorruptState: %s\n", where, e.what());
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Processor p(topology());
  std::size_t pos = 0;
  // Several entries per input, so the tables' cross references are exercised.
  while (size - pos >= 2) {
    const Cf cf = static_cast<Cf>(data[pos] % kCfCount);
    std::size_t klen = data[pos + 1];
    pos += 2;
    if (klen > size - pos) klen = size - pos;
    const std::string key(reinterpret_cast<const char*>(data + pos), klen);
    pos += klen;
    std::size_t vlen = size - pos;
    if (vlen >= 2) {  // a two-byte value length, then the value
      vlen = (static_cast<std::size_t>(data[pos]) << 8) | data[pos + 1];
      pos += 2;
      if (vlen > size - pos) vlen = size - pos;
    }
    const std::string_view value(reinterpret_cast<const char*>(data + pos), vlen);
    pos += vlen;
    try {
      restore_entry(p, cf, key, value);
    } catch (const CorruptState& e) {
      print_reject("restore_entry", e);
      return 0;  // the store reports the corrupt entry and stops
    }
  }
  try {
    p.after_restore();  // re-indexes by key: may also find a corrupt key
  } catch (const CorruptState& e) {
    print_reject("after_restore", e);
  }
  return 0;
}

// libFuzzer target: decode_changelog (state changelog framing). Bytes either
// decode or throw CorruptState; what decodes re-encodes to a fixed point.
// An append (a users merge operand) is merged as RocksDB's merge operator
// would, onto nothing and onto a put of the same key before it: it merges
// or throws CorruptState.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "alliance/core/byte_codec.h"
#include "alliance/state/state_changes.h"

using namespace alliance;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  StateChanges changes;
  try {
    changes = decode_changelog(bytes);
  } catch (const CorruptState&) {
    return 0;
  }
  const std::string once = encode_changelog(changes);
  const StateChanges again = decode_changelog(once);
  if (encode_changelog(again) != once) std::abort();
  for (std::size_t i = 0; i < changes.size(); ++i) {
    const StateChange& c = changes[i];
    if (!c.merge || !c.value) continue;
    const std::string_view append = *c.value;
    try {
      (void)merge_values(c.cf, nullptr, &append, 1);
    } catch (const CorruptState&) {
    }
    for (std::size_t j = i; j-- > 0;) {
      const StateChange& b = changes[j];
      if (b.cf != c.cf || b.key != c.key) continue;
      if (b.value && !b.merge) {
        const std::string_view base = *b.value;
        try {
          (void)merge_values(c.cf, &base, &append, 1);
        } catch (const CorruptState&) {
        }
      }
      break;
    }
  }
  return 0;
}

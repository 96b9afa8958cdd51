// libFuzzer target: decode_changelog (state changelog framing). Bytes either
// decode or throw CorruptState; what decodes re-encodes to a fixed point.
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
  return 0;
}

// libFuzzer target: decode_forward (stage 1 -> stage 2 records). Bytes either
// decode or throw CorruptState; what decodes re-encodes to a fixed point.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "alliance/core/byte_codec.h"
#include "alliance/core/forward_record.h"

using namespace alliance;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Forward f;
  try {
    f = decode_forward(bytes);
  } catch (const CorruptState&) {
    return 0;
  }
  const std::string once = encode_forward(f);
  const Forward again = decode_forward(once);
  if (encode_forward(again) != once) std::abort();
  return 0;
}

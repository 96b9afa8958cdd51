// libFuzzer target: EventDecoder::decode (SPEC §2, §5.4). The first byte picks
// the topic kind (none, as for files, or one of the kinds); the rest is the
// message. A reject must carry a reason; a decoded event must have its ids.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "alliance/codec/event_decoder.h"

using namespace alliance;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static EventDecoder decoder;  // reused, as in the runtime: one per thread
  if (size == 0) return 0;
  std::optional<EventKind> kind;
  switch (data[0] % 6) {
    case 1: kind = EventKind::kClick; break;
    case 2: kind = EventKind::kReferral; break;
    case 3: kind = EventKind::kOrder; break;
    case 5: kind = EventKind::kPayout; break;
    default: break;  // 0, 4: no topic kind (file replay)
  }
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  const DecodeResult r = decoder.decode(bytes, kind);
  if (!r.ok() && r.reason.empty()) std::abort();  // a dead letter always has a reason
  if (r.ok() && r.event->event_id.empty()) std::abort();
  return 0;
}

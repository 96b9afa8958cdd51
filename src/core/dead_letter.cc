#include "alliance/core/dead_letter.h"

#include "alliance/core/digest.h"

namespace alliance {

void bound_payload(DeadLetter& dl) {
  if (dl.payload_bytes >= 0) return;
  dl.payload_bytes = static_cast<std::int64_t>(dl.payload.size());
  dl.payload_sha256 = sha256_hex(dl.payload);
  if (dl.payload.size() > kDeadLetterPayloadLimit) {
    dl.payload.resize(kDeadLetterPayloadLimit);
    dl.payload.shrink_to_fit();
  }
}

}  // namespace alliance

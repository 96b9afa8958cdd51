// SHA-256 digests (statement digests, topology fingerprints). Pure; any thread.
#pragma once

#include <string>
#include <string_view>

namespace alliance {

/// Lower-case hex SHA-256 of `bytes`.
std::string sha256_hex(std::string_view bytes);

}  // namespace alliance

// libFuzzer target: parse_topology (SPEC §7). Any input either parses or
// throws ConfigError (yaml-cpp's own exceptions must be wrapped into it).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "alliance/config/topology_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    (void)alliance::parse_topology(text, "fuzz.yaml");
  } catch (const alliance::ConfigError& e) {
    if (std::string(e.what()).rfind("fuzz.yaml", 0) != 0) std::abort();  // errors name the file
  }
  return 0;
}

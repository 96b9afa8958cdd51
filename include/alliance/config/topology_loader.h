// Loads and validates a topology YAML file (SPEC §7) into a Topology.
// Stateless; any thread.
#pragma once

#include <stdexcept>
#include <string>

#include "alliance/core/topology.h"

namespace alliance {

/// A configuration error. what() names the file, the key and a valid example:
/// `topologies/x.yaml: attribution.model: unknown model "lastt"; valid: ...`.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Reads `path`; throws ConfigError for an unreadable file or invalid content.
Topology load_topology_file(const std::string& path);
/// Parses YAML text; `origin` names the file in error messages.
Topology parse_topology(const std::string& yaml_text, const std::string& origin);

}  // namespace alliance

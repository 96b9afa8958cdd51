// Loads and validates a topology YAML file (SPEC §7) into a Topology.
// Stateless; any thread.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

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
/// For commands: loads `path`, or prints "alliance <command>: invalid
/// topology: <reason>" on stderr and returns nullopt (exit code 2).
std::optional<Topology> load_topology_or_explain(const std::string& path, const char* command);

/// Every top-level key parse_topology accepts; docs/TOPOLOGY.md documents
/// each (a unit test checks that).
const std::vector<std::string>& topology_top_level_keys();

/// Parses YAML text; `origin` names the file in error messages.
Topology parse_topology(const std::string& yaml_text, const std::string& origin);

}  // namespace alliance

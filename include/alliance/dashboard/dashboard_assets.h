// The page and its assets, embedded into the binary at build time
// (cmake/EmbedAssets.cmake writes dashboard_assets.cc from web/ and uPlot's
// files in web/node_modules). Pure lookups; any thread.
#pragma once

#include <optional>
#include <string_view>

namespace alliance::dashboard {

struct Asset {
  std::string_view path;  // "/index.html", "/assets/uPlot.iife.min.js", ...
  std::string_view content_type;
  std::string_view body;
};

/// The asset served at `path`, or nullopt.
std::optional<Asset> find_asset(std::string_view path);

}  // namespace alliance::dashboard

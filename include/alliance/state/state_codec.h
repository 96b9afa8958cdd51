// Binary encodings of the core's state values, and the bridge between the
// Processor's tables and StateChanges. Pure; called on the core's thread.
#pragma once

#include "alliance/core/processor.h"
#include "alliance/state/state_changes.h"

namespace alliance {

/// Drains every table's changed keys into `out` (values encoded).
void collect_changes(Processor& p, StateChanges& out);
/// Restores one persisted entry into the Processor's tables. Throws
/// CorruptState for a value it cannot decode. Call p.after_restore() after
/// the last entry.
void restore_entry(Processor& p, Cf cf, const std::string& key, std::string_view value);

}  // namespace alliance

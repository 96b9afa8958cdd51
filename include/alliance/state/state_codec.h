// Binary encodings of the core's state values, and the bridge between the
// Processor's tables and StateChanges. Pure; called on the core's thread.
#pragma once

#include <functional>
#include <optional>

#include "alliance/core/processor.h"
#include "alliance/state/state_changes.h"
#include "alliance/state/state_store.h"

namespace alliance {

/// A persisted key set (the dirty_* meta entries): i64 count, then each key
/// (ByteWriter::str) in sorted order — the bytes a std::set<std::string> gave.
std::string encode_key_set(const DirtyKeys& s);
/// Replaces `out` with the keys of encode_key_set()'s `v`; throws CorruptState.
void decode_key_set(std::string_view v, DirtyKeys& out);

/// Drains every table's changed keys into `out` (values encoded).
void collect_changes(Processor& p, StateChanges& out);
/// Restores one persisted entry into the Processor's tables. Throws
/// CorruptState for a value it cannot decode. Call p.after_restore() after
/// the last entry.
void restore_entry(Processor& p, Cf cf, const std::string& key, std::string_view value);
/// Backs the Processor's cached tables (docs/STATE.md, Residency::kCached)
/// with `read` (a store's get): a key their caches miss is read and decoded
/// (a value that does not decode throws StateError naming the table).
void bind_cached_tables(Processor& p, const std::function<std::optional<std::string>(Cf, const std::string&)>& read);
/// The StateError for a stored value of `cf` that does not decode.
StateError corrupt_value_error(Cf cf, const CorruptState& e);
/// Hands a prefetched stored value (nullopt: absent) of a cached table to
/// its cache; throws CorruptState when it does not decode.
void preload_entry(Processor& p, Cf cf, const std::string& key, const std::optional<std::string>& value);

}  // namespace alliance

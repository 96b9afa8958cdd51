// The distinct users of one metric window (SPEC §5.2 unique_users), kept as
// 128-bit fingerprints of the user ids in a flat open-addressing table: one
// 16-byte slot per member and no allocation per insert, where a set of
// strings cost a node, a copy of the id and a rehash of strings. Two ids
// share a fingerprint with probability about n²/2¹²⁹ (10⁻²⁵ for ten
// million users in one window): the count is exact for any real input.
// Plain value; owned by its window; single thread.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace alliance {

/// A user id's 128-bit fingerprint; {0, 0} never occurs (it marks empty slots).
struct UserFingerprint {
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;
  friend bool operator==(const UserFingerprint&, const UserFingerprint&) = default;
};

UserFingerprint fingerprint_of(std::string_view user_id);

class UserSet {
 public:
  /// Adds `f`; false when it was already a member.
  bool insert(const UserFingerprint& f);
  bool insert(std::string_view user_id) { return insert(fingerprint_of(user_id)); }
  [[nodiscard]] bool contains(const UserFingerprint& f) const;
  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] bool empty() const { return size_ == 0; }

  /// Calls fn(fingerprint) for every member (in slot order).
  template <class F>
  void for_each(F&& fn) const {
    for (const auto& s : slots_)
      if (s.hi != 0 || s.lo != 0) fn(s);
  }

 private:
  void grow();

  std::vector<UserFingerprint> slots_;  // power-of-two size, or empty
  std::size_t size_ = 0;
};

}  // namespace alliance

// The fingerprints of user ids are persisted (window member chunks) and the
// key hash places keys in the core's flat tables: both must stay the same
// values whatever the implementation. Pinned values were computed by the
// implementation before load_tail_bytes (a variable-length memcpy).
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>

#include "alliance/core/key_hash.h"
#include "alliance/core/user_set.h"

namespace alliance {
namespace {

TEST(LoadTailBytes, EqualsAVariableLengthCopyForEveryLength) {
  std::mt19937_64 rng(7);
  char buf[8];
  for (int round = 0; round < 1000; ++round) {
    for (char& c : buf) c = static_cast<char>(rng());
    for (std::size_t n = 0; n < 8; ++n) {
      std::uint64_t want = 0;
      std::memcpy(&want, buf, n);
      ASSERT_EQ(load_tail_bytes(buf, n), want) << "n=" << n;
    }
  }
}

struct Pinned {
  const char* id;
  std::uint64_t hi, lo, hash;
};

TEST(UserFingerprint, KeepsThePersistedValues) {
  const Pinned pinned[] = {
      {"", 0x473cc95dba94fdbaULL, 0xe669e66baab533bdULL, 0x7acdbb98b1344213ULL},
      {"u", 0xdbb0a8dac54645ddULL, 0xc316349846fe1b7fULL, 0x09d266228d66fab5ULL},
      {"u1", 0x64adec1f958c3cd9ULL, 0xc0065f336e7b7eebULL, 0xdbd92a8bed2eed07ULL},
      {"u12", 0x49b27bdec1ce2ae2ULL, 0x61c611bf32fdcfaeULL, 0xa44e8ad227192cb4ULL},
      {"user", 0x1ad2a9c6d8d03b77ULL, 0xf3f793c6dcf493c6ULL, 0x317f15e4d4f074daULL},
      {"user-00", 0xf970cd802749da37ULL, 0x08f3a3b73041f8daULL, 0xd90ae26bace926ecULL},
      {"user-001", 0xc2256a24271fec84ULL, 0x4d8d6ac43771b152ULL, 0x833a9ec81e6c7e03ULL},
      {"user-0001", 0x2daacb26f016119bULL, 0xf7a1ed6205901d63ULL, 0x69ec5e34da82eb53ULL},
      {"u-0000000123456", 0x29866c71dd47005eULL, 0x4bbeb66fbe4a3b14ULL, 0x2ac0f993b3d08e35ULL},
      {"a-much-longer-user-identifier-x", 0x6e02642d94576d64ULL, 0x1a7d8c7a50fa1bbfULL, 0x22df87539b3c7c31ULL},
  };
  for (const Pinned& p : pinned) {
    const UserFingerprint f = fingerprint_of(p.id);
    EXPECT_EQ(f.hi, p.hi) << p.id;
    EXPECT_EQ(f.lo, p.lo) << p.id;
    EXPECT_EQ(KeyHash{}(p.id), p.hash) << p.id;
  }
}

}  // namespace
}  // namespace alliance

// Dead letters always fit (SPEC §5.4; issue 16 item 3): whatever the size
// of the input, the Processor keeps at most its first 64 KiB, with the full
// size and the SHA-256 of the whole.
#include "processor_fixture.h"

#include "alliance/codec/record_encoder.h"
#include "alliance/core/digest.h"
#include "alliance/core/partitioned_core.h"

namespace alliance::testing {
namespace {

std::string large_input(std::size_t n) {
  std::string s(n, 'z');
  for (std::size_t i = 0; i < n; i += 101) s[i] = static_cast<char>('0' + i % 10);
  return s;
}

TEST_F(ProcessorTest, ARejectedLargeInputKeepsItsFirst64KiB) {
  use("name: t\n");
  const std::string big = large_input(800 * 1000);
  processor_->reject(DeadLetter{"oversized", "message is 800000 bytes", big, {"alliance.clicks", 3, 42}});
  auto out = processor_->take_outputs();
  ASSERT_EQ(out.size(), 1u);
  const auto& d = std::get<DeadLetter>(out[0].body);
  EXPECT_EQ(d.payload, big.substr(0, kDeadLetterPayloadLimit));
  EXPECT_EQ(d.payload_bytes, 800000);
  EXPECT_EQ(d.payload_sha256, sha256_hex(big));
  EXPECT_EQ(out[0].key, "alliance.clicks:3:42");
  // Encoded with base64 it stays far below a Kafka message's 1 MB.
  EXPECT_LT(encode_record(out[0]).size(), 90u * 1024);
}

TEST_F(ProcessorTest, ASmallRejectKeepsItsBytesExactly) {
  use("name: t\n");
  const std::string raw = "{\"type\":\"click\"\r\x01\xff";
  processor_->reject(DeadLetter{"malformed_json", "x", raw, {"f", 0, 0}});
  const auto d = std::get<DeadLetter>(processor_->take_outputs().at(0).body);
  EXPECT_EQ(d.payload, raw);
  EXPECT_EQ(d.payload_bytes, static_cast<std::int64_t>(raw.size()));
  EXPECT_EQ(d.payload_sha256, sha256_hex(raw));
}

TEST(DeadLetterSplitTest, TheTwoStageCoreBoundsRejectsToo) {
  const Topology t = parse_topology("name: t\n", "test.yaml");
  PartitionedCore core(t, 2);
  const std::string big = large_input(300 * 1000);
  core.reject(DeadLetter{"oversized", "big", big, {"f", 0, 1}});
  core.finish();
  std::size_t seen = 0;
  for (const auto& r : core.take_outputs())
    if (const auto* d = std::get_if<DeadLetter>(&r.body)) {
      ++seen;
      EXPECT_EQ(d->payload.size(), kDeadLetterPayloadLimit);
      EXPECT_EQ(d->payload_bytes, 300000);
    }
  EXPECT_EQ(seen, 1u);
}

}  // namespace
}  // namespace alliance::testing

// `alliance replay --state` resumes only where it is sound (SPEC §8): the
// incremental SHA-256, the ledger of consumed inputs and the decision whether
// a state may resume (pure), and the FileSource hashing what it reads and
// picking its hash up again where a state left off.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "alliance/app/file_source.h"
#include "alliance/app/replay_ledger.h"
#include "alliance/core/byte_codec.h"
#include "alliance/core/digest.h"

namespace alliance {
namespace {

using ::testing::HasSubstr;

TEST(Sha256, PiecesGiveTheDigestOfTheWhole) {
  EXPECT_EQ(Sha256().hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Sha256 h;
  h.update("a");
  h.update("");
  h.update("bc");
  EXPECT_EQ(h.hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  std::string big(300'000, 'x');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  Sha256 pieces;
  for (std::size_t i = 0; i < big.size(); i += 997) pieces.update(std::string_view(big).substr(i, 997));
  EXPECT_EQ(pieces.hex(), sha256_hex(big));
}

TEST(Sha256, ACopyGoesOnFromTheSamePoint) {
  Sha256 a;
  a.update("abc");
  Sha256 b = a;
  EXPECT_EQ(a.hex(), b.hex());  // hex() does not end the hash
  a.update("def");
  EXPECT_EQ(a.hex(), sha256_hex("abcdef"));
  EXPECT_EQ(b.hex(), sha256_hex("abc"));
  b = a;
  b.update("g");
  EXPECT_EQ(b.hex(), sha256_hex("abcdefg"));
  Sha256 moved = std::move(b);
  EXPECT_EQ(moved.hex(), sha256_hex("abcdefg"));
}

TEST(ReplayLedger, InputsRoundTripAndATruncatedValueIsCorrupt) {
  const std::vector<ConsumedInput> in{{"/data/a.jsonl", 2906, sha256_hex("a")}, {"/data/b.jsonl", 0, sha256_hex("")}};
  EXPECT_EQ(decode_inputs(encode_inputs(in)), in);
  EXPECT_TRUE(decode_inputs(encode_inputs({})).empty());
  const std::string v = encode_inputs(in);
  EXPECT_THROW(decode_inputs(std::string_view(v).substr(0, v.size() - 3)), CorruptState);
}

ReplayLedger ledger_of(std::vector<ConsumedInput> inputs) { return ReplayLedger{"/work/oa", std::move(inputs)}; }

ResumeRequest request(std::string out, std::vector<std::string> inputs) {
  return ResumeRequest{"st", std::move(out), std::move(inputs)};
}

TEST(ResumeDecision, AStateWithoutLedgerIsAFreshStartUnlessItHoldsAPosition) {
  EXPECT_EQ(layout_refusal(std::nullopt, false, request("/work/ob", {"/a"})), std::nullopt);
  const auto why = layout_refusal(std::nullopt, true, request("/work/ob", {"/a"}));
  ASSERT_TRUE(why);
  EXPECT_THAT(*why, HasSubstr("st: "));
  EXPECT_THAT(*why, HasSubstr("new --state directory"));
}

TEST(ResumeDecision, AnotherOutputDirectoryIsRefusedNamingBoth) {
  const ReplayLedger stored = ledger_of({{"/a", 10, "x"}});
  EXPECT_EQ(layout_refusal(stored, true, request("/work/oa", {"/a"})), std::nullopt);
  const auto why = layout_refusal(stored, true, request("/work/ob", {"/a"}));
  ASSERT_TRUE(why);
  EXPECT_THAT(*why, HasSubstr("/work/oa"));
  EXPECT_THAT(*why, HasSubstr("/work/ob"));
  EXPECT_THAT(*why, HasSubstr("--out /work/oa"));
  EXPECT_EQ(why->find('\n'), std::string::npos);
}

TEST(ResumeDecision, TheConsumedInputsMustLeadTheListInTheirOrder) {
  const ReplayLedger stored = ledger_of({{"/a", 10, "x"}, {"/b", 4, "y"}});
  EXPECT_EQ(layout_refusal(stored, true, request("/work/oa", {"/a", "/b"})), std::nullopt);
  EXPECT_EQ(layout_refusal(stored, true, request("/work/oa", {"/a", "/b", "/c"})), std::nullopt);  // new after the last
  const auto reordered = layout_refusal(stored, true, request("/work/oa", {"/b", "/a"}));
  ASSERT_TRUE(reordered);
  EXPECT_THAT(*reordered, HasSubstr("input 1 is /b, but this state consumed /a as input 1"));
  const auto removed = layout_refusal(stored, true, request("/work/oa", {"/a"}));
  ASSERT_TRUE(removed);
  EXPECT_THAT(*removed, HasSubstr("consumed /b as input 2, which this replay does not list"));
  const auto inserted = layout_refusal(stored, true, request("/work/oa", {"/a", "/c", "/b"}));
  ASSERT_TRUE(inserted);
  EXPECT_THAT(*inserted, HasSubstr("input 2 is /c"));
}

TEST(ResumeDecision, OnlyTheLastInputMayGrowAndOnlyAfterAWholeLine) {
  const ReplayLedger stored = ledger_of({{"/a", 10, "ha"}, {"/b", 4, "hb"}});
  auto now = [](std::int64_t a_size, std::string a_sha, std::int64_t b_size, std::string b_sha, bool b_line = true) {
    return std::vector<InputNow>{{a_size, std::move(a_sha), true}, {b_size, std::move(b_sha), b_line}};
  };
  EXPECT_EQ(content_refusal(stored, "st", now(10, "ha", 4, "hb")), std::nullopt);
  EXPECT_EQ(content_refusal(stored, "st", now(10, "ha", 900, "hb")), std::nullopt);  // grown at its end
  const auto shorter = content_refusal(stored, "st", now(10, "ha", 3, ""));
  ASSERT_TRUE(shorter);
  EXPECT_THAT(*shorter, HasSubstr("/b holds 3 bytes, fewer than the 4"));
  const auto changed = content_refusal(stored, "st", now(10, "zz", 4, "hb"));
  ASSERT_TRUE(changed);
  EXPECT_THAT(*changed, HasSubstr("/a changed in the first 10 bytes"));
  const auto grown_before_last = content_refusal(stored, "st", now(11, "ha", 4, "hb"));
  ASSERT_TRUE(grown_before_last);
  EXPECT_THAT(*grown_before_last, HasSubstr("/a grew after the state st had read on into /b"));
  const auto torn = content_refusal(stored, "st", now(10, "ha", 9, "hb", /*b_line=*/false));
  ASSERT_TRUE(torn);
  EXPECT_THAT(*torn, HasSubstr("/b grew, but the state st read its last line before"));
  // An unterminated last line that did not grow is resumed (nothing new to read).
  EXPECT_EQ(content_refusal(stored, "st", now(10, "ha", 4, "hb", false)), std::nullopt);
}

class FileSourceHashing : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("alliance-source-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(FileSourceHashing, ConsumedNamesEachInputWithTheBytesReadAndTheirDigest) {
  const std::string a = write("a.jsonl", "{\"x\":1}\n\n{\"x\":2}\n");
  const std::string b = write("b.jsonl", "{\"y\":1}\n{\"y\":2}");  // no newline at its end
  FileSource source({a, b}, /*hash=*/true);
  source.take_assigned();
  source.start(0, [](InputStream) { return std::nullopt; });
  std::vector<InputRecord> out;
  source.poll(3, 0, out);
  ASSERT_EQ(out.size(), 3u);
  // Two lines of a (and the blank one between), then the first line of b.
  const std::string a_canonical = std::filesystem::canonical(a).string();
  const std::string b_canonical = std::filesystem::canonical(b).string();
  EXPECT_EQ(source.consumed(), (std::vector<ConsumedInput>{{a_canonical, 17, sha256_hex("{\"x\":1}\n\n{\"x\":2}\n")},
                                                           {b_canonical, 8, sha256_hex("{\"y\":1}\n")}}));
  const std::string position = out.back().resume;
  source.poll(10, 0, out);
  EXPECT_TRUE(source.input_ended(0));
  EXPECT_EQ(source.consumed().back(), (ConsumedInput{b_canonical, 15, sha256_hex("{\"y\":1}\n{\"y\":2}")}));

  // A source started at the position after b's first line goes on hashing
  // from there: observe() checked the stored ledger and kept the digest.
  const std::vector<ConsumedInput> stored{{a_canonical, 17, sha256_hex("{\"x\":1}\n\n{\"x\":2}\n")},
                                          {b_canonical, 8, sha256_hex("{\"y\":1}\n")}};
  FileSource resumed({a, b}, true);
  const std::vector<InputNow> now = resumed.observe(stored, position);
  ASSERT_EQ(now.size(), 2u);
  EXPECT_EQ(now[0].prefix_sha256, stored[0].sha256);
  EXPECT_EQ(now[1].prefix_sha256, stored[1].sha256);
  EXPECT_EQ(now[1].size, 15);
  EXPECT_TRUE(now[1].prefix_ends_line);
  EXPECT_EQ(content_refusal(ReplayLedger{"", stored}, "st", now), std::nullopt);
  resumed.take_assigned();
  resumed.start(0, [&](InputStream) { return std::optional<std::string>(position); });
  std::vector<InputRecord> rest;
  resumed.poll(10, 0, rest);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].payload, "{\"y\":2}");
  EXPECT_EQ(resumed.consumed(), source.consumed());

  // The same without observe(): the source hashes the prefix itself.
  FileSource cold({a, b}, true);
  cold.take_assigned();
  cold.start(0, [&](InputStream) { return std::optional<std::string>(position); });
  cold.poll(10, 0, rest);
  EXPECT_EQ(cold.consumed(), source.consumed());
}

TEST_F(FileSourceHashing, ObserveSeesAShorterOrChangedInput) {
  const std::string a = write("a.jsonl", "{\"x\":1}\n");
  FileSource source({a}, true);
  const std::string canonical = std::filesystem::canonical(a).string();
  std::vector<InputNow> now = source.observe({{canonical, 20, sha256_hex("whatever")}}, std::nullopt);
  ASSERT_EQ(now.size(), 1u);
  EXPECT_EQ(now[0].size, 8);
  EXPECT_EQ(now[0].prefix_sha256, "");
  now = source.observe({{canonical, 4, sha256_hex("{\"x\"")}}, std::nullopt);
  EXPECT_EQ(now[0].prefix_sha256, sha256_hex("{\"x\""));
  EXPECT_FALSE(now[0].prefix_ends_line);
}

}  // namespace
}  // namespace alliance

// The one runtime's commit cycle, without a broker: the StreamDriver over an
// in-memory source and sink and a memory state store. Checks the cycle's
// order (durable before published, acknowledged before positions commit),
// emit cycles (running records once per changed key per cycle; finals,
// settlements and statements independent of the cycle length), and that a
// crash at each step of a cycle, followed by a restart on the same store,
// ends with exactly the records of an uninterrupted run.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

#include "alliance/app/traffic_generator.h"
#include "alliance/codec/record_encoder.h"
#include "alliance/config/topology_loader.h"
#include "alliance/core/byte_codec.h"
#include "alliance/runtime/stream_driver.h"

namespace alliance {
namespace {

/// A crash injected at one step of a cycle.
struct Crash : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// JSONL lines in memory, one partition, file order; a position is the
/// index of the next line.
class VectorSource final : public RecordSource {
 public:
  explicit VectorSource(const std::vector<std::string>& lines) : lines_(lines) {}
  void poll(std::size_t max, int, std::vector<InputRecord>& out) override {
    for (std::size_t n = 0; n < max && next_ < lines_.size(); ++n, ++next_) {
      InputRecord r;
      r.stream = InputStream::kFile;
      r.topic = "mem";
      r.offset = static_cast<std::int64_t>(next_);
      r.payload = lines_[next_];
      r.resume = ByteWriter().i64(static_cast<std::int64_t>(next_ + 1)).take();
      out.push_back(std::move(r));
    }
  }
  std::vector<std::int32_t> take_assigned() override {
    if (assigned_) return {};
    assigned_ = true;
    return {0};
  }
  std::vector<std::int32_t> take_revoked() override { return {}; }
  void start(std::int32_t, const std::function<std::optional<std::string>(InputStream)>& resume) override {
    if (auto t = resume(InputStream::kFile)) next_ = static_cast<std::size_t>(ByteReader(*t).i64());
  }
  [[nodiscard]] bool at_end(std::int32_t, InputStream) const override { return true; }
  [[nodiscard]] bool input_ended(std::int32_t) const override { return next_ >= lines_.size(); }
  void acknowledge(std::int32_t, const std::vector<std::pair<InputStream, std::string>>& positions) override {
    for (const auto& [s, t] : positions) acknowledged.push_back(ByteReader(t).i64());
  }

  std::vector<std::int64_t> acknowledged;  // positions committed, in order

 private:
  const std::vector<std::string>& lines_;
  std::size_t next_ = 0;
  bool assigned_ = false;
};

struct Published {
  OutputKind kind;
  std::string key;
  std::string body;
  std::int64_t cycle;
};

/// Records what is published; can hold acknowledgements back or crash.
class MemorySink final : public RecordSink {
 public:
  explicit MemorySink(std::vector<Published>& out) : out_(out) {}
  void publish(std::int32_t p, std::int64_t cycle, std::vector<OutboxEntry> entries) override {
    ++publishes_;
    if (crash_before_publish == publishes_) throw Crash("crash after the cycle was durable, before publishing");
    for (const auto& e : entries) out_.push_back({e.kind, e.key, e.body, cycle});
    if (crash_before_ack == publishes_) throw Crash("crash after publishing, before the acknowledgement");
    if (hold) held_.push_back({p, cycle, std::move(entries)});
    else acks_.push_back({p, cycle, std::move(entries)});
  }
  std::vector<AcknowledgedCycle> poll(int) override {
    std::vector<AcknowledgedCycle> a;
    a.swap(acks_);
    return a;
  }
  [[nodiscard]] std::size_t in_flight() const override { return held_.size(); }

  bool hold = false;
  int crash_before_publish = -1;
  int crash_before_ack = -1;

 private:
  std::vector<Published>& out_;
  std::vector<AcknowledgedCycle> acks_, held_;
  int publishes_ = 0;
};

/// A task's view of a memory store that outlives it (a restart reopens it);
/// can fail the n-th write, as a crash before the batch was durable.
class SharedStore final : public StateStore {
 public:
  SharedStore(MemoryStateStore& s, int crash_on_write) : s_(s), crash_on_write_(crash_on_write) {}
  using StateStore::write;
  void write(const StateChanges& b, bool sync) override {
    if (++writes_ == crash_on_write_) throw Crash("crash before the batch was durable");
    s_.write(b, sync);
  }
  std::optional<std::string> get(Cf cf, const std::string& k) override { return s_.get(cf, k); }
  void scan(Cf cf, const std::function<void(const std::string&, std::string_view)>& fn) override { s_.scan(cf, fn); }
  void scan_from(Cf cf, const std::string& from,
                 const std::function<bool(const std::string&, std::string_view)>& fn) override {
    s_.scan_from(cf, from, fn);
  }

 private:
  MemoryStateStore& s_;
  int crash_on_write_;
  int writes_ = 0;
};

class StreamDriverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    topology_ = load_topology_file(std::string(ALLIANCE_SOURCE_DIR) + "/topologies/spring-alliance.yaml");
    GeneratorOptions g;
    g.seed = 5;
    g.users = 300;
    g.mean_gap_ms = 2000;  // several hours of event time: windows and periods close
    TrafficGenerator gen(topology_, g);
    for (int i = 0; i < 4000; ++i) lines_.push_back(gen.next(true).json);
  }

  /// One run of the driver; `store` null: state in memory only.
  DriverResult run(std::size_t cycle_records, MemorySink& sink, VectorSource& source, MemoryStateStore* store,
                   int crash_on_write = -1, std::vector<TaskCycle>* cycles = nullptr) {
    DriverOptions o;
    o.cycle_records = cycle_records;
    o.commit_records = commit_records_;
    o.end_uncommitted = end_uncommitted_;
    o.finish_wait_ms = 200;
    DriverHooks h;
    h.open_task = [&](std::int32_t p) {
      std::unique_ptr<StateStore> s;
      if (store != nullptr) s = std::make_unique<SharedStore>(*store, crash_on_write);
      return std::make_unique<PartitionTask>(topology_, TaskConfig{p, 1, true}, std::move(s));
    };
    h.on_commit = [&](PartitionTask&, const TaskCycle& c, double) {
      if (cycles != nullptr) cycles->push_back(c);
    };
    StreamDriver d(source, sink, o, h);
    return d.run();
  }

  std::vector<Published> reference(std::size_t cycle_records) {
    std::vector<Published> out;
    MemorySink sink(out);
    VectorSource source(lines_);
    run(cycle_records, sink, source, nullptr);
    return out;
  }

  Topology topology_;
  std::vector<std::string> lines_;
  std::size_t commit_records_ = 0;  // DriverOptions::commit_records of run()
  bool end_uncommitted_ = false;    // DriverOptions::end_uncommitted of run()
};

std::set<std::pair<int, std::string>> distinct(const std::vector<Published>& v) {
  std::set<std::pair<int, std::string>> s;
  for (const auto& p : v) s.insert({static_cast<int>(p.kind), p.body});
  return s;
}

std::vector<std::string> bodies(const std::vector<Published>& v, OutputKind k) {
  std::vector<std::string> out;
  for (const auto& p : v)
    if (p.kind == k) out.push_back(p.body);
  return out;
}

TEST_F(StreamDriverTest, CyclesAreCutEveryNRecordsAndPositionsCommitAfterAcknowledgement) {
  std::vector<Published> out;
  MemorySink sink(out);
  VectorSource source(lines_);
  MemoryStateStore store;
  std::vector<TaskCycle> cycles;
  const DriverResult r = run(500, sink, source, &store, -1, &cycles);
  EXPECT_FALSE(r.stopped);
  EXPECT_EQ(r.unacknowledged, 0u);
  ASSERT_GE(cycles.size(), 8u);
  for (std::size_t i = 0; i < 8; ++i) EXPECT_EQ(cycles[i].events, 500u) << "cycle " << i;
  // Every cycle's positions are committed once acknowledged, in order, up to the end.
  ASSERT_FALSE(source.acknowledged.empty());
  for (std::size_t i = 1; i < source.acknowledged.size(); ++i)
    EXPECT_LT(source.acknowledged[i - 1], source.acknowledged[i]);
  EXPECT_EQ(source.acknowledged.back(), static_cast<std::int64_t>(lines_.size()));
  // The outbox is empty once everything is acknowledged.
  std::size_t outbox = 0;
  store.scan(Cf::kOutbox, [&](const std::string&, std::string_view) { ++outbox; });
  EXPECT_EQ(outbox, 0u);
}

TEST_F(StreamDriverTest, RunningRecordsLeaveOncePerChangedKeyPerCycle) {
  const std::vector<Published> out = reference(500);
  std::map<std::int64_t, std::set<std::string>> running_keys;  // cycle -> keys
  std::size_t running = 0;
  for (const auto& p : out) {
    if (p.kind != OutputKind::kMetrics || p.body.find("\"final\":false") == std::string::npos) continue;
    ++running;
    EXPECT_TRUE(running_keys[p.cycle].insert(p.key).second) << "key " << p.key << " twice in cycle " << p.cycle;
  }
  EXPECT_GT(running, 0u);
  // Far fewer than one per input record.
  EXPECT_LT(running, lines_.size());
}

TEST_F(StreamDriverTest, OneRecordPerCycleGivesTheSameFinalsSettlementsAndStatements) {
  const std::vector<Published> every = reference(1);
  const std::vector<Published> big = reference(100'000);
  EXPECT_EQ(bodies(every, OutputKind::kSettlements), bodies(big, OutputKind::kSettlements));
  EXPECT_EQ(bodies(every, OutputKind::kDlq), bodies(big, OutputKind::kDlq));
  auto finals = [](const std::vector<Published>& v) {
    std::multiset<std::string> s;
    for (const auto& b : bodies(v, OutputKind::kMetrics))
      if (b.find("\"final\":true") != std::string::npos) s.insert(b);
    return s;
  };
  EXPECT_EQ(finals(every), finals(big));
  EXPECT_FALSE(finals(big).empty());
  // The latest final statement of each key has the same numbers and digest
  // (how many revisions it took depends on the cycles).
  auto latest = [](const std::vector<Published>& v) {
    std::map<std::string, std::string> m;
    for (const auto& p : v) {
      if (p.kind != OutputKind::kStatements || p.body.find("\"final\":true") == std::string::npos) continue;
      std::string b = p.body;
      const auto at = b.find("\"revision\":");
      b.erase(at, b.find(',', at) - at);
      m[p.key] = b;
    }
    return m;
  };
  EXPECT_EQ(latest(every), latest(big));
  EXPECT_FALSE(latest(big).empty());
  EXPECT_GT(every.size(), big.size());
}

TEST_F(StreamDriverTest, NothingIsCommittedToTheSourceBeforeTheSinkAcknowledges) {
  std::vector<Published> out;
  MemoryStateStore store;
  {
    MemorySink sink(out);
    sink.hold = true;
    VectorSource source(lines_);
    const DriverResult r = run(1000, sink, source, &store);
    EXPECT_TRUE(source.acknowledged.empty());
    EXPECT_EQ(r.unacknowledged, out.size());
  }
  // A restart publishes the held outbox again, byte for byte, then goes on.
  std::vector<Published> again;
  MemorySink sink(again);
  VectorSource source(lines_);
  run(1000, sink, source, &store);
  ASSERT_GE(again.size(), out.size());
  for (std::size_t i = 0; i < out.size(); ++i) EXPECT_EQ(again[i].body, out[i].body) << i;
  EXPECT_TRUE(source.acknowledged.empty() || source.acknowledged.back() == static_cast<std::int64_t>(lines_.size()));
}

/// A crash at one step of the third cycle, then a restart on the same store:
/// the records published over both runs are exactly those of one run
/// (resends are byte-identical).
class CrashStep : public StreamDriverTest, public ::testing::WithParamInterface<int> {};

TEST_P(CrashStep, RestartEndsWithTheRecordsOfAnUninterruptedRun) {
  const std::vector<Published> want = reference(500);
  std::vector<Published> got;
  MemoryStateStore store;
  {
    MemorySink sink(got);
    VectorSource source(lines_);
    int crash_on_write = -1;
    // Writes: one per commit and one per acknowledgement.
    if (GetParam() == 0) crash_on_write = 5;  // the third cycle's commit: not durable
    if (GetParam() == 1) sink.crash_before_publish = 3;
    if (GetParam() == 2) sink.crash_before_ack = 3;
    EXPECT_THROW(run(500, sink, source, &store, crash_on_write), Crash);
  }
  MemorySink sink(got);
  VectorSource source(lines_);
  const DriverResult r = run(500, sink, source, &store);
  EXPECT_EQ(r.unacknowledged, 0u);
  EXPECT_EQ(distinct(got), distinct(want));
  EXPECT_GE(got.size(), want.size());
}

// Replay with a store commits every commit_records within an emit cycle:
// the records are those of one commit per emit cycle, and a crash between
// two commits of a cycle restarts into the same emission points.
TEST_F(StreamDriverTest, CommitsWithinAnEmitCycleChangeNoRecordEvenAcrossACrash) {
  const std::vector<Published> want = reference(500);
  commit_records_ = 70;
  {
    std::vector<Published> got;
    MemorySink sink(got);
    VectorSource source(lines_);
    MemoryStateStore store;
    std::vector<TaskCycle> cycles;
    run(500, sink, source, &store, -1, &cycles);
    EXPECT_GT(cycles.size(), 4 * lines_.size() / 500);  // several commits per emit cycle
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].body, want[i].body) << i;
  }
  std::vector<Published> got;
  MemoryStateStore store;
  {
    MemorySink sink(got);
    VectorSource source(lines_);
    // Writes alternate commit / acknowledgement: write 19 is the 10th
    // commit (640 records); the 9th (570) is durable, 70 records into the
    // second emit cycle.
    EXPECT_THROW(run(500, sink, source, &store, 19), Crash);
  }
  MemorySink sink(got);
  VectorSource source(lines_);
  run(500, sink, source, &store);
  EXPECT_EQ(distinct(got), distinct(want));
  std::size_t running = 0;
  for (const auto& p : want) running += p.body.find("\"final\":false") != std::string::npos ? 1 : 0;
  EXPECT_GT(running, 0u);
}

// Replay with a store ends its input uncommitted: the end-of-input flush is
// published, but the state stays where the events left it (inside the emit
// cycle), so a replay resumed over more input (an input grown at its end)
// publishes, after the committed records of the first run, exactly the rest
// of one run over all of it (the file sink cuts the flush off first).
TEST_F(StreamDriverTest, AReplayResumedOverGrownInputGivesTheRecordsOfOneReplay) {
  const std::vector<Published> want = reference(500);
  const std::vector<std::string> head(lines_.begin(), lines_.begin() + 2030);  // 30 records into an emit cycle
  std::vector<Published> want_head;
  {
    MemorySink sink(want_head);
    VectorSource source(head);
    run(500, sink, source, nullptr);
  }
  commit_records_ = 70;
  end_uncommitted_ = true;
  MemoryStateStore store;
  std::vector<Published> first;
  {
    MemorySink sink(first);
    VectorSource source(head);
    run(500, sink, source, &store);
  }
  // The first run alone has the records of one run over its input.
  ASSERT_EQ(first.size(), want_head.size());
  for (std::size_t i = 0; i < first.size(); ++i) EXPECT_EQ(first[i].body, want_head[i].body) << i;
  std::vector<Published> got;
  for (const auto& p : first)
    if (p.cycle != kUncommittedCycle) got.push_back(p);
  EXPECT_LT(got.size(), first.size()) << "no end-of-input flush";
  MemorySink sink(got);
  VectorSource source(lines_);
  run(500, sink, source, &store);
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].body, want[i].body) << i;
}

// A commit that does not end the emit cycle (Kafka: before emit_interval
// has passed) keeps the keys it changed marked, in the store too: the
// running records of keys changed in any commit of a cycle leave at its end
// (before, such a commit dropped them).
TEST_F(StreamDriverTest, KeysChangedInACommitInsideTheEmitCycleGetTheirRunningRecordAtItsEnd) {
  auto running_keys = [](const std::vector<OutboxEntry>& entries) {
    std::set<std::string> keys;
    for (const auto& e : entries)
      if (e.kind == OutputKind::kMetrics && e.body.find("\"final\":false") != std::string::npos) keys.insert(e.key);
    return keys;
  };
  // The next `n` lines of `source` into task `t`, processed.
  auto feed = [&](PartitionTask& t, VectorSource& source, std::size_t n) {
    std::vector<InputRecord> records;
    source.poll(n, 0, records);
    for (auto& r : records) t.enqueue(std::move(r), 0);
    t.drain(0, 0, [](InputStream) { return true; });
  };
  // Reference: one commit, which ends the cycle.
  PartitionTask ref(topology_, TaskConfig{0, 1, true}, std::make_unique<MemoryStateStore>());
  VectorSource ref_source(lines_);
  feed(ref, ref_source, 151);
  const std::set<std::string> want = running_keys(ref.commit(CycleEnd::kRunning)->entries);
  ASSERT_FALSE(want.empty());
  // The same records over two commits, the first inside the cycle; the task
  // is even reopened on its store in between (a restart).
  MemoryStateStore store;
  std::set<std::string> got;
  VectorSource source(lines_);
  {
    PartitionTask t(topology_, TaskConfig{0, 1, true}, std::make_unique<SharedStore>(store, -1));
    feed(t, source, 150);
    got = running_keys(t.commit(CycleEnd::kContinue)->entries);
    EXPECT_TRUE(got.empty()) << "running records before the emit cycle ended";
  }
  PartitionTask t(topology_, TaskConfig{0, 1, true}, std::make_unique<SharedStore>(store, -1));
  feed(t, source, 1);  // one event: most keys changed only in the first commit
  got = running_keys(t.commit(CycleEnd::kRunning)->entries);
  EXPECT_EQ(got, want);
  EXPECT_GT(want.size(), 6u);
}

/// What a consumer keeping the latest record per key ends with: settlement
/// records and dead letters as published, the latest final metric record and
/// the latest final statement per key (without the watermark and revision,
/// which depend on when cycles end).
std::map<std::pair<int, std::string>, std::string> upserted(const std::vector<Published>& v) {
  auto without = [](std::string b, const char* field) {
    if (const auto at = b.find(field); at != std::string::npos) b.erase(at, b.find_first_of(",}", at) - at);
    return b;
  };
  std::map<std::pair<int, std::string>, std::string> m;
  for (const auto& p : v) {
    const bool final = p.body.find("\"final\":true") != std::string::npos;
    if (p.kind == OutputKind::kSettlements || p.kind == OutputKind::kDlq) m[{static_cast<int>(p.kind), p.body}] = "";
    else if ((p.kind == OutputKind::kMetrics || p.kind == OutputKind::kStatements) && final)
      m[{static_cast<int>(p.kind), p.key}] = without(without(p.body, "\"watermark\":"), "\"revision\":");
  }
  return m;
}

// A bounded Kafka run (cycles cut by processing time) ends uncommitted like
// a replay with a store: the flush is published as kUncommittedCycle, the
// stored state is not ended, and a later run over more input goes on from
// the last event's watermark; what a keep-latest consumer ends with equals
// one run over all of it (the flush's records are superseded, not removed).
TEST_F(StreamDriverTest, ABoundedKafkaRunEndsUncommittedAndALaterRunGoesOnFromIt) {
  std::vector<Published> want;
  {
    MemorySink sink(want);
    VectorSource source(lines_);
    run(0, sink, source, nullptr);
  }
  const std::vector<std::string> head(lines_.begin(), lines_.begin() + 2000);
  end_uncommitted_ = true;
  MemoryStateStore store;
  std::vector<Published> got;
  {
    MemorySink sink(got);
    VectorSource source(head);
    const DriverResult r = run(0, sink, source, &store);
    EXPECT_FALSE(r.stopped);
    EXPECT_EQ(r.unacknowledged, 0u);
  }
  EXPECT_TRUE(std::any_of(got.begin(), got.end(), [](const Published& p) { return p.cycle == kUncommittedCycle; }));
  {
    PartitionTask t(topology_, TaskConfig{0, 1, true}, std::make_unique<SharedStore>(store, -1));
    EXPECT_FALSE(t.stage1_finished()) << "the bounded run stored its end";
    EXPECT_EQ(t.resume(InputStream::kFile), ByteWriter().i64(2000).take()) << "what it read is committed";
  }
  MemorySink sink(got);
  VectorSource source(lines_);
  run(0, sink, source, &store);
  const auto g = upserted(got), w = upserted(want);
  EXPECT_EQ(g.size(), w.size());
  EXPECT_TRUE(g == w);
  EXPECT_GT(w.size(), 100u);
}

// A crash (kill -9) at each step of the end: the last commit published but
// not acknowledged, the flush not published, the flush published but not
// acknowledged. Nothing of the end is stored, and a run over more input
// still ends with the records of one run over all of it.
TEST_F(StreamDriverTest, ACrashDuringTheUncommittedEndLeavesAStateALaterRunGoesOnFrom) {
  std::vector<Published> want;
  {
    MemorySink sink(want);
    VectorSource source(lines_);
    run(0, sink, source, nullptr);
  }
  const std::vector<std::string> head(lines_.begin(), lines_.begin() + 2000);
  end_uncommitted_ = true;
  // Publications of the first run: 1 its commit of all it read, 2 the flush.
  for (const auto& [before_publish, before_ack] : {std::pair{-1, 1}, std::pair{2, -1}, std::pair{-1, 2}}) {
    SCOPED_TRACE("crash before publication " + std::to_string(before_publish) + " / acknowledgement " +
                 std::to_string(before_ack));
    MemoryStateStore store;
    std::vector<Published> got;
    {
      MemorySink sink(got);
      sink.crash_before_publish = before_publish;
      sink.crash_before_ack = before_ack;
      VectorSource source(head);
      EXPECT_THROW(run(0, sink, source, &store), Crash);
    }
    {
      PartitionTask t(topology_, TaskConfig{0, 1, true}, std::make_unique<SharedStore>(store, -1));
      EXPECT_FALSE(t.stage1_finished());
    }
    MemorySink sink(got);
    VectorSource source(lines_);
    const DriverResult r = run(0, sink, source, &store);
    EXPECT_EQ(r.unacknowledged, 0u);
    EXPECT_TRUE(upserted(got) == upserted(want));
  }
}

// The sink never acknowledges what was read: the end is not published and
// the run reports it (the state holds what was read; the next run ends it).
TEST_F(StreamDriverTest, ABoundedKafkaRunWhoseSinkNeverAcknowledgesPublishesNoEnd) {
  end_uncommitted_ = true;
  MemoryStateStore store;
  std::vector<Published> got;
  MemorySink sink(got);
  sink.hold = true;
  VectorSource source(lines_);
  const DriverResult r = run(0, sink, source, &store);
  EXPECT_TRUE(r.end_unpublished);
  EXPECT_FALSE(r.stopped);
  EXPECT_FALSE(got.empty());
  EXPECT_TRUE(std::none_of(got.begin(), got.end(), [](const Published& p) { return p.cycle == kUncommittedCycle; }));
  PartitionTask t(topology_, TaskConfig{0, 1, true}, std::make_unique<SharedStore>(store, -1));
  EXPECT_FALSE(t.stage1_finished());
  EXPECT_GT(t.pending_count(), 0u);  // resent by the next run
}

INSTANTIATE_TEST_SUITE_P(Steps, CrashStep, ::testing::Values(0, 1, 2),
                         [](const auto& info) {
                           return std::string(info.param == 0 ? "BeforeDurable"
                                              : info.param == 1 ? "AfterDurableBeforePublish"
                                                                : "AfterPublishBeforeAcknowledgement");
                         });

}  // namespace
}  // namespace alliance

namespace alliance {
namespace {

// Issue 14: a partition's payouts join the event-time merge by their time
// (after the user events before them), but an empty payouts topic never
// holds the merge back.
TEST(PartitionTaskPayouts, PayoutsJoinTheMergeByTimeAndAnEmptyPayoutsTopicWaitsForNobody) {
  const Topology t = parse_topology(
      "name: t\nholding_period: 0s\npartners: [{id: p, contract: {id: c, type: percent, rate_bp: 1000}}]\n", "t.yaml");
  PartitionTask task(t, TaskConfig{}, nullptr);
  std::int64_t offset = 0;
  auto in = [&](InputStream s, std::string payload, std::int64_t now = 0) {
    InputRecord r;
    r.stream = s;
    r.topic = std::string(to_string(s));
    r.offset = offset++;
    r.payload = std::move(payload);
    r.resume = ByteWriter().i64(r.offset + 1).take();
    task.enqueue(std::move(r), now);
  };
  const auto at_end = [](InputStream) { return true; };
  // The payout (ts 3000) is read before the order that earns what it pays (ts 2000).
  in(InputStream::kPayouts, R"({"payout_id":"po","ts":3000,"partner_id":"p","amount_minor":100,"currency":"CNY"})");
  in(InputStream::kClicks, R"({"event_id":"c","ts":1000,"user_id":"u","campaign_id":"k","source":"s","partner_id":"p"})");
  in(InputStream::kOrders, R"({"event_id":"o","ts":2000,"user_id":"u","order_id":"o","status":"completed","amount_minor":1000,"currency":"CNY"})");
  // Referrals are empty and at their end: the merge waits idle_wait for them, payouts or not.
  EXPECT_EQ(task.drain(0, 50, at_end), 0u);
  EXPECT_EQ(task.drain(100, 50, at_end), 3u);
  const auto cycle = task.commit(CycleEnd::kRunning);
  ASSERT_TRUE(cycle.has_value());
  std::vector<std::string> balances, dead;
  for (const auto& e : cycle->entries) {
    if (e.kind == OutputKind::kBalances) balances.push_back(e.body);
    if (e.kind == OutputKind::kDlq) dead.push_back(e.body);
  }
  EXPECT_TRUE(dead.empty()) << dead.front();
  ASSERT_EQ(balances.size(), 1u);
  EXPECT_NE(balances[0].find(R"("payable_minor":0,"paid_minor":100,"last_payout_id":"po")"), std::string::npos)
      << balances[0];
  // Only payouts buffered: an empty user input at its end is not waited for
  // beyond idle_wait, and payouts alone never wait for each other.
  in(InputStream::kPayouts, R"({"payout_id":"po2","ts":4000,"partner_id":"p","amount_minor":1,"currency":"CNY"})", 200);
  EXPECT_EQ(task.drain(200, 50, at_end), 0u);
  EXPECT_EQ(task.drain(300, 50, at_end), 1u);
}

}  // namespace
}  // namespace alliance

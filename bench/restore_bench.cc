// Restore speed of a partition's state (issue 13): how fast a store is
// rebuilt from changelog records, in keys per second.
//   restore_bench file N       N live keys: ship them as changelog batches
//                              into a file, then time decoding and writing
//                              them into a new RocksDB store.
//   restore_bench kafka N      the same through librdkafka's mock broker
//                              (in-process, over TCP): ship N keys with
//                              Changelog, then time Changelog::catch_up into
//                              a new RocksDB store. The mock keeps ~5 MB per
//                              partition: N must fit.
// Keys and values look like the users table's (a user id, ~120 bytes).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "alliance/kafka/changelog.h"
#include "alliance/kafka/embedded_broker.h"
#include "alliance/state/state_changes.h"
#include "alliance/state/state_store.h"

namespace {

using namespace alliance;
using Clock = std::chrono::steady_clock;

StateChanges batch_of(std::int64_t from, std::int64_t n) {
  StateChanges b;
  for (std::int64_t i = from; i < from + n; ++i) {
    std::string value(120, 'v');
    value.replace(0, std::to_string(i).size(), std::to_string(i));
    b.push_back(StateChange{Cf::kUsers, "user-" + std::to_string(i * 7919 % 10'000'019), std::move(value)});
  }
  return b;
}

RocksOptions unsynced() {
  RocksOptions o;
  o.sync = false;
  return o;
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

int from_file(std::int64_t n) {
  const std::string dir = std::filesystem::temp_directory_path() / ("alliance-restore-bench-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string log = dir + "/changelog.bin";
  {
    std::ofstream out(log, std::ios::binary);
    for (std::int64_t at = 0; at < n; at += 5000) {
      const std::string bytes = encode_changelog(batch_of(at, std::min<std::int64_t>(5000, n - at)));
      const std::uint64_t size = bytes.size();
      out.write(reinterpret_cast<const char*>(&size), 8).write(bytes.data(), static_cast<std::streamsize>(size));
    }
  }
  const auto bytes = std::filesystem::file_size(log);
  auto store = open_rocks_store(dir + "/state", "bench:1", unsynced());
  const auto t0 = Clock::now();
  std::ifstream in(log, std::ios::binary);
  std::int64_t keys = 0;
  for (std::uint64_t size = 0; in.read(reinterpret_cast<char*>(&size), 8);) {
    std::string bytes_in(size, '\0');
    in.read(bytes_in.data(), static_cast<std::streamsize>(size));
    StateChanges b = decode_changelog(bytes_in);
    keys += static_cast<std::int64_t>(b.size());
    store->write(b, /*sync=*/false);
  }
  store->write(StateChanges{}, /*sync=*/true);
  const double s = seconds_since(t0);
  std::printf("file: %lld keys (%.1f MiB of changelog) restored in %.2f s: %.0f keys/s\n", static_cast<long long>(keys),
              static_cast<double>(bytes) / 1048576.0, s, static_cast<double>(keys) / s);
  store.reset();
  std::filesystem::remove_all(dir);
  return 0;
}

int from_kafka(std::int64_t n) {
  EmbeddedBroker broker(1);
  broker.create_topic("bench.changelog", 1);
  Changelog log(broker.bootstraps(), "bench.changelog");
  MemoryStateStore source;
  for (std::int64_t at = 0; at < n; at += 5000) {
    StateChanges b = batch_of(at, std::min<std::int64_t>(5000, n - at));
    log.ship(0, b, source);
    source.write(b);
  }
  const std::string dir = std::filesystem::temp_directory_path() / ("alliance-restore-bench-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto store = open_rocks_store(dir, "bench:1", unsynced());
  const auto t0 = Clock::now();
  const std::size_t batches = log.catch_up(0, *store);
  const double s = seconds_since(t0);
  std::printf("kafka (mock): %zu batches, %lld keys (%.1f MiB of batches and slices) restored in %.2f s: %.0f keys/s\n",
              batches, static_cast<long long>(log.keys_restored()),
              static_cast<double>(log.batch_bytes_sent() + log.slice_bytes_sent()) / 1048576.0, s,
              static_cast<double>(log.keys_restored()) / s);
  store.reset();
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: restore_bench file|kafka KEYS\n");
    return 2;
  }
  const std::int64_t n = std::stoll(argv[2]);
  return std::string(argv[1]) == "kafka" ? from_kafka(n) : from_file(n);
}

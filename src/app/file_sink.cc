#include "alliance/app/file_sink.h"

#include <chrono>

#include "alliance/core/byte_codec.h"

#include <unistd.h>

#include <filesystem>
#include <stdexcept>

namespace alliance {

std::string FileSink::file_name(OutputKind kind) { return std::string(to_string(kind)) + ".jsonl"; }

FileSink::FileSink(std::string dir, bool durable) : dir_(std::move(dir)), durable_(durable) {}

void FileSink::open(const std::array<std::int64_t, kOutputFiles>& truncate_to) {
  const std::string& dir = dir_;
  // A file shorter than what the state acknowledged was changed behind its
  // back: refuse before touching anything, rather than extend it with
  // bytes that are not records.
  for (std::size_t i = 0; i < files_.size(); ++i) {
    if (truncate_to[i] <= 0) continue;
    const std::string path = dir + "/" + file_name(output_of_index(i));
    std::error_code ec;
    const auto have = std::filesystem::file_size(path, ec);
    if (ec || static_cast<std::int64_t>(have) < truncate_to[i])
      throw std::runtime_error(path + " holds " + (ec ? std::string("no file") : std::to_string(have) + " bytes") +
                               ", not the " + std::to_string(truncate_to[i]) +
                               " bytes of records the state acknowledged (the outputs were changed or removed): "
                               "start over with a new --state directory");
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw std::runtime_error(dir + ": cannot create the output directory: " + ec.message());
  for (std::size_t i = 0; i < files_.size(); ++i) {
    const std::string path = dir + "/" + file_name(output_of_index(i));
    if (truncate_to[i] < 0) {
      files_[i] = std::fopen(path.c_str(), "wb");
      sizes_[i] = 0;
    } else {
      if (!std::filesystem::exists(path)) std::fclose(std::fopen(path.c_str(), "wb"));
      // Only ever shorter (checked above): a torn tail is cut off.
      std::filesystem::resize_file(path, static_cast<std::uintmax_t>(truncate_to[i]), ec);
      files_[i] = ec ? nullptr : std::fopen(path.c_str(), "ab");
      sizes_[i] = truncate_to[i];
    }
    if (files_[i] == nullptr) throw std::runtime_error(path + ": cannot open for writing");
  }
}

FileSink::~FileSink() {
  for (auto* f : files_)
    if (f != nullptr) std::fclose(f);
}

void FileSink::write(OutputKind kind, std::string_view encoded, std::int64_t emitted_at_ms) {
  if (kind == OutputKind::kRepartition || output_index(kind) >= kOutputFiles)
    throw std::logic_error("internal records (" + std::string(to_string(kind)) + ") have no output file");
  const std::string line = stamp_emitted_at(encoded, emitted_at_ms) + "\n";
  const std::size_t i = output_index(kind);
  if (std::fwrite(line.data(), 1, line.size(), files_[i]) != line.size())
    throw std::runtime_error("cannot write " + file_name(kind) + " (disk full?)");
  sizes_[i] += static_cast<std::int64_t>(line.size());
}

std::array<std::int64_t, kOutputFiles> FileSink::sync() {
  for (std::size_t i = 0; i < files_.size(); ++i) {
    if (std::fflush(files_[i]) != 0 || ::fsync(fileno(files_[i])) != 0)
      throw std::runtime_error("cannot flush " + file_name(output_of_index(i)) + " (disk full?)");
  }
  return sizes_;
}

void FileSink::publish(std::int32_t partition, std::int64_t cycle, std::vector<OutboxEntry> entries) {
  const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  for (const auto& e : entries) write(e.kind, e.body, now);
  if (durable_) sync();
  acknowledged_.push_back(AcknowledgedCycle{partition, cycle, std::move(entries)});
}

std::vector<AcknowledgedCycle> FileSink::poll(int) {
  std::vector<AcknowledgedCycle> out;
  out.swap(acknowledged_);
  return out;
}

MetaUpdates FileSink::acknowledged_meta() {
  if (!durable_) return {};
  return {{"sink_sizes", encode_sizes(sizes_)}};
}

std::string FileSink::encode_sizes(const std::array<std::int64_t, kOutputFiles>& sizes) {
  ByteWriter w;
  for (auto v : sizes) w.i64(v);
  return w.take();
}

std::array<std::int64_t, kOutputFiles> FileSink::decode_sizes(const std::optional<std::string>& value) {
  std::array<std::int64_t, kOutputFiles> sizes{};
  sizes.fill(-1);
  if (!value) return sizes;
  ByteReader r(*value);
  // Sizes written before partner-balances existed: that file starts empty.
  for (auto& v : sizes) v = r.done() ? -1 : r.i64();
  return sizes;
}

}  // namespace alliance

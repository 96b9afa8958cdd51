#include "alliance/app/file_sink.h"

#include <unistd.h>

#include <filesystem>
#include <stdexcept>

namespace alliance {

std::string FileSink::file_name(OutputKind kind) { return std::string(to_string(kind)) + ".jsonl"; }

FileSink::FileSink(const std::string& dir, const std::array<std::int64_t, 4>& truncate_to) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw std::runtime_error(dir + ": cannot create the output directory: " + ec.message());
  for (std::size_t i = 0; i < files_.size(); ++i) {
    const std::string path = dir + "/" + file_name(static_cast<OutputKind>(i));
    if (truncate_to[i] < 0) {
      files_[i] = std::fopen(path.c_str(), "wb");
      sizes_[i] = 0;
    } else {
      if (!std::filesystem::exists(path)) std::fclose(std::fopen(path.c_str(), "wb"));
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
  if (static_cast<std::size_t>(kind) >= kOutputFiles)
    throw std::logic_error("internal records (" + std::string(to_string(kind)) + ") have no output file");
  const std::string line = stamp_emitted_at(encoded, emitted_at_ms) + "\n";
  auto i = static_cast<std::size_t>(kind);
  if (std::fwrite(line.data(), 1, line.size(), files_[i]) != line.size())
    throw std::runtime_error("cannot write " + file_name(kind) + " (disk full?)");
  sizes_[i] += static_cast<std::int64_t>(line.size());
}

std::array<std::int64_t, 4> FileSink::sync() {
  for (std::size_t i = 0; i < files_.size(); ++i) {
    if (std::fflush(files_[i]) != 0 || ::fsync(fileno(files_[i])) != 0)
      throw std::runtime_error("cannot flush " + file_name(static_cast<OutputKind>(i)) + " (disk full?)");
  }
  return sizes_;
}

}  // namespace alliance

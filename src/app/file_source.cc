#include "alliance/app/file_source.h"

#include <filesystem>

#include "alliance/core/byte_codec.h"

namespace alliance {

namespace {

bool blank(std::string_view line) { return line.find_first_not_of(" \t\r") == std::string_view::npos; }

std::string position_token(std::size_t file, std::int64_t offset, std::int64_t line) {
  return ByteWriter().i64(static_cast<std::int64_t>(file)).i64(offset).i64(line).take();
}

}  // namespace

FileSource::FileSource(std::vector<std::string> paths) : paths_(std::move(paths)) {}

std::vector<std::int32_t> FileSource::take_assigned() {
  if (assigned_) return {};
  assigned_ = true;
  return {0};
}

void FileSource::start(std::int32_t, const std::function<std::optional<std::string>(InputStream)>& resume) {
  if (auto token = resume(InputStream::kFile)) {
    ByteReader r(*token);
    file_ = static_cast<std::size_t>(r.i64());
    offset_ = r.i64();
    line_ = r.i64();
  }
  for (std::size_t i = 0; i < file_ && i < paths_.size(); ++i)
    bytes_before_ += static_cast<std::int64_t>(std::filesystem::file_size(paths_[i]));
  started_ = true;
  ended_ = !open_current();
}

bool FileSource::open_current() {
  while (file_ < paths_.size()) {
    in_.close();
    in_.clear();
    in_.open(paths_[file_], std::ios::binary);
    in_.seekg(offset_);
    if (in_ && in_.peek() != std::char_traits<char>::eof()) return true;
    bytes_before_ += static_cast<std::int64_t>(std::filesystem::file_size(paths_[file_]));
    ++file_;
    offset_ = 0;
    line_ = 0;
  }
  return false;
}

void FileSource::poll(std::size_t max, int, std::vector<InputRecord>& out) {
  if (!started_ || ended_) return;
  std::size_t n = 0;
  while (n < max) {
    if (!std::getline(in_, line_buf_)) {
      // End of this file (or a read error: the next file, rather than a
      // replay that never ends).
      bytes_before_ += static_cast<std::int64_t>(std::filesystem::file_size(paths_[file_]));
      ++file_;
      offset_ = 0;
      line_ = 0;
      if (!open_current()) {
        ended_ = true;
        break;
      }
      continue;
    }
    const std::int64_t line_no = line_;
    offset_ += static_cast<std::int64_t>(line_buf_.size()) + (in_.eof() ? 0 : 1);
    line_ += 1;
    if (blank(line_buf_)) continue;
    InputRecord r;
    r.partition = 0;
    r.stream = InputStream::kFile;
    r.topic = paths_[file_];
    r.offset = line_no;
    r.payload = line_buf_;  // the original bytes, a carriage return included
    r.resume = position_token(file_, offset_, line_);
    out.push_back(std::move(r));
    ++lines_;
    ++n;
  }
}

}  // namespace alliance

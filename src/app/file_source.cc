#include "alliance/app/file_source.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>

#include "alliance/core/byte_codec.h"

namespace alliance {

namespace {

bool blank(std::string_view line) { return line.find_first_not_of(" \t\r") == std::string_view::npos; }

struct Position {
  std::size_t file = 0;
  std::int64_t offset = 0;
  std::int64_t line = 0;
};

Position decode_position(const std::string& token) {
  ByteReader r(token);
  Position p;
  p.file = static_cast<std::size_t>(r.i64());
  p.offset = r.i64();
  p.line = r.i64();
  return p;
}

std::int64_t size_of(const std::string& path) {
  std::error_code ec;
  const auto n = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<std::int64_t>(n);
}

/// What hash_prefix read of a file.
struct PrefixRead {
  std::int64_t read = 0;   // bytes read (fewer than asked: the file is shorter)
  char last = '\n';        // the last byte read
  std::optional<Sha256> at;  // `h` after `keep_at` bytes
};

/// Feeds the first `bytes` bytes of `path` into `h`, keeping a copy of the
/// digest after `keep_at` bytes (-1: none).
PrefixRead hash_prefix(const std::string& path, std::int64_t bytes, std::int64_t keep_at, Sha256& h) {
  PrefixRead r;
  std::ifstream f(path, std::ios::binary);
  std::string buf(1 << 20, '\0');
  if (keep_at == 0) r.at = h;
  while (f && r.read < bytes) {
    std::int64_t chunk = std::min<std::int64_t>(static_cast<std::int64_t>(buf.size()), bytes - r.read);
    if (keep_at > r.read) chunk = std::min(chunk, keep_at - r.read);
    f.read(buf.data(), chunk);
    const auto got = static_cast<std::int64_t>(f.gcount());
    if (got <= 0) break;
    h.update(std::string_view(buf.data(), static_cast<std::size_t>(got)));
    r.last = buf[static_cast<std::size_t>(got) - 1];
    r.read += got;
    if (keep_at == r.read) r.at = h;
  }
  return r;
}

}  // namespace

std::string canonical_path(const std::string& path) {
  std::error_code ec;
  auto p = std::filesystem::weakly_canonical(std::filesystem::absolute(path, ec), ec);
  if (ec) p = std::filesystem::absolute(path, ec).lexically_normal();
  std::string s = p.string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();  // "out/" names "out"
  return s;
}

FileSource::FileSource(std::vector<std::string> paths, bool hash) : paths_(std::move(paths)), hash_(hash) {
  for (const auto& p : paths_) {
    canonical_.push_back(canonical_path(p));
    topics_.emplace_back(p);
  }
}

std::vector<std::int32_t> FileSource::take_assigned() {
  if (assigned_) return {};
  assigned_ = true;
  return {0};
}

std::vector<InputNow> FileSource::observe(const std::vector<ConsumedInput>& stored,
                                          const std::optional<std::string>& position) {
  Position pos{SIZE_MAX, -1, 0};  // where start() will resume (none: from the start)
  if (position) pos = decode_position(*position);
  observed_ = stored;
  observed_digest_.reset();
  std::vector<InputNow> now;
  for (std::size_t i = 0; i < stored.size() && i < paths_.size(); ++i) {
    InputNow n;
    n.size = size_of(paths_[i]);
    Sha256 h;
    const std::int64_t keep_at = pos.file == i ? pos.offset : -1;
    PrefixRead r = hash_prefix(paths_[i], stored[i].bytes, keep_at, h);
    if (r.read == stored[i].bytes) n.prefix_sha256 = h.hex();
    n.prefix_ends_line = stored[i].bytes == 0 || (r.read == stored[i].bytes && r.last == '\n');
    if (r.at) observed_digest_.emplace(i, std::move(*r.at));
    now.push_back(std::move(n));
  }
  return now;
}

void FileSource::start(std::int32_t, const std::function<std::optional<std::string>(InputStream)>& resume) {
  if (auto token = resume(InputStream::kFile)) {
    const Position p = decode_position(*token);
    file_ = p.file;
    offset_ = p.offset;
    line_ = p.line;
  }
  for (std::size_t i = 0; i < file_ && i < paths_.size(); ++i) {
    bytes_before_ += size_of(paths_[i]);
    if (!hash_) continue;
    // Inputs the state read to their end: as its ledger has them (observe()
    // checked them against the files), else hashed again.
    if (i < observed_.size()) {
      done_.push_back(observed_[i]);
    } else {
      Sha256 h;
      const PrefixRead r = hash_prefix(paths_[i], size_of(paths_[i]), -1, h);
      done_.push_back(ConsumedInput{canonical_[i], r.read, h.hex()});
    }
  }
  if (hash_ && file_ < paths_.size() && offset_ > 0) {
    if (observed_digest_ && observed_digest_->first == file_) {
      digest_ = std::move(observed_digest_->second);
    } else {
      digest_ = Sha256();
      hash_prefix(paths_[file_], offset_, -1, digest_);
    }
  }
  observed_.clear();
  observed_digest_.reset();
  started_ = true;
  ended_ = !open_current();
}

void FileSource::close_current() {
  if (hash_) {
    done_.push_back(ConsumedInput{canonical_[file_], offset_, digest_.hex()});
    digest_ = Sha256();
  }
  bytes_before_ += size_of(paths_[file_]);
  ++file_;
  offset_ = 0;
  line_ = 0;
}

bool FileSource::open_current() {
  while (file_ < paths_.size()) {
    in_.close();
    in_.clear();
    in_.open(paths_[file_], std::ios::binary);
    in_.seekg(offset_);
    if (in_ && in_.peek() != std::char_traits<char>::eof()) return true;
    close_current();
  }
  return false;
}

std::vector<ConsumedInput> FileSource::consumed() const {
  std::vector<ConsumedInput> out = done_;
  if (file_ < paths_.size() && offset_ > 0) out.push_back(ConsumedInput{canonical_[file_], offset_, digest_.hex()});
  return out;
}

void FileSource::poll(std::size_t max, int, std::vector<InputRecord>& out) {
  if (!started_ || ended_) return;
  std::size_t n = 0;
  while (n < max) {
    if (!std::getline(in_, line_buf_)) {
      // End of this file (or a read error: the next file, rather than a
      // replay that never ends).
      close_current();
      if (!open_current()) {
        ended_ = true;
        break;
      }
      continue;
    }
    const std::int64_t line_no = line_;
    const bool newline = !in_.eof();
    offset_ += static_cast<std::int64_t>(line_buf_.size()) + (newline ? 1 : 0);
    line_ += 1;
    if (hash_) {
      digest_.update(line_buf_);
      if (newline) digest_.update("\n");
    }
    if (blank(line_buf_)) continue;
    InputRecord r;
    r.partition = 0;
    r.stream = InputStream::kFile;
    r.topic = topics_[file_];
    r.offset = line_no;
    r.payload = line_buf_;  // the original bytes, a carriage return included
    r.resume = ResumePosition::of(static_cast<std::int64_t>(file_), offset_, line_);  // the token: file, offset, line
    out.push_back(std::move(r));
    ++lines_;
    ++n;
  }
}

}  // namespace alliance

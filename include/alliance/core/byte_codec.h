// Byte-level encodings shared by state keys and state values: big-endian
// integers (so keys sort by time), length-prefixed strings. Pure; any thread.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace alliance {

/// Appends `v` big-endian with the sign bit flipped, so signed values sort
/// numerically as bytes.
inline void put_be64(std::string& out, std::int64_t v) {
  const auto u = static_cast<std::uint64_t>(v) ^ (std::uint64_t{1} << 63);
  char b[8];  // one append, not eight push_backs (keys are built per event)
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>((u >> ((7 - i) * 8)) & 0xff);
  out.append(b, 8);
}

inline std::int64_t get_be64(std::string_view in) {
  std::uint64_t u = 0;
  for (int i = 0; i < 8; ++i) u = (u << 8) | static_cast<unsigned char>(in[static_cast<std::size_t>(i)]);
  return static_cast<std::int64_t>(u ^ (std::uint64_t{1} << 63));
}

/// Appends `part` to a composite map key as be64(size) · bytes. Keys built
/// from such parts are unambiguous whatever bytes the parts hold (a NUL or
/// '|' in an id cannot shift a field boundary), and the leading parts of a
/// key are a byte prefix of it, so a map ordered by key can be scanned by
/// its first parts.
inline void put_key_part(std::string& key, std::string_view part) {
  put_be64(key, static_cast<std::int64_t>(part.size()));
  key.append(part);
}

/// A composite key of `parts`, each with put_key_part.
template <class... Parts>
std::string composite_key(const Parts&... parts) {
  std::string k;
  (put_key_part(k, std::string_view(parts)), ...);
  return k;
}

/// Thrown by ByteReader on truncated or corrupt state values; the state
/// store turns it into a "corrupt state" error naming the column family.
struct CorruptState : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Reads the parts of a key written with put_key_part, in order; throws
/// CorruptState on a truncated key.
class KeyPartReader {
 public:
  explicit KeyPartReader(std::string_view key) : key_(key) {}
  std::string next() {
    if (key_.size() - pos_ < 8) throw CorruptState("truncated key part length");
    const std::int64_t n = get_be64(key_.substr(pos_));
    pos_ += 8;
    if (n < 0 || static_cast<std::size_t>(n) > key_.size() - pos_) throw CorruptState("truncated key part");
    std::string part(key_.substr(pos_, static_cast<std::size_t>(n)));
    pos_ += static_cast<std::size_t>(n);
    return part;
  }
  [[nodiscard]] bool done() const { return pos_ == key_.size(); }
  /// The bytes after the parts read so far.
  [[nodiscard]] std::string_view rest() const { return key_.substr(pos_); }

 private:
  std::string_view key_;
  std::size_t pos_ = 0;
};

/// Writes a state value: fixed-width integers and length-prefixed strings.
class ByteWriter {
 public:
  ByteWriter& i64(std::int64_t v) {
    char b[8];
    std::memcpy(b, &v, 8);
    out_.append(b, 8);
    return *this;
  }
  ByteWriter& u8(std::uint8_t v) {
    out_.push_back(static_cast<char>(v));
    return *this;
  }
  ByteWriter& str(std::string_view s) {
    i64(static_cast<std::int64_t>(s.size()));
    out_.append(s);
    return *this;
  }
  /// LEB128: 7 bits a byte, low bits first (1 byte below 128).
  ByteWriter& varint(std::uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7F) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
    return *this;
  }
  /// A string with a varint length.
  ByteWriter& vstr(std::string_view s) {
    varint(s.size());
    out_.append(s);
    return *this;
  }
  ByteWriter& opt_str(const std::optional<std::string>& s) {
    u8(s ? 1 : 0);
    if (s) str(*s);
    return *this;
  }
  ByteWriter& opt_i64(const std::optional<std::int64_t>& v) {
    u8(v ? 1 : 0);
    if (v) i64(*v);
    return *this;
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

/// Reads what ByteWriter wrote; throws CorruptState past the end.
class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}
  std::int64_t i64() {
    need(8);
    std::int64_t v;
    std::memcpy(&v, in_.data() + pos_, 8);
    pos_ += 8;
    return v;
  }
  std::uint8_t u8() {
    need(1);
    return static_cast<std::uint8_t>(in_[pos_++]);
  }
  std::string str() {
    const std::int64_t n = i64();
    if (n < 0) throw CorruptState("negative string length");
    need(static_cast<std::size_t>(n));
    std::string s(in_.substr(pos_, static_cast<std::size_t>(n)));
    pos_ += static_cast<std::size_t>(n);
    return s;
  }
  std::optional<std::string> opt_str() {
    if (u8() == 0) return std::nullopt;
    return str();
  }
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      const std::uint8_t b = u8();
      v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        // The tenth byte may carry only the top bit (anything else overflows).
        if (shift == 63 && b > 1) break;
        return v;
      }
    }
    throw CorruptState("malformed varint");
  }
  /// A string written by ByteWriter::vstr, as a view into the value.
  std::string_view vstr() {
    const std::uint64_t n = varint();
    if (n > remaining()) throw CorruptState("truncated state value");
    const std::string_view s = in_.substr(pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return s;
  }
  std::optional<std::int64_t> opt_i64() {
    if (u8() == 0) return std::nullopt;
    return i64();
  }
  [[nodiscard]] bool done() const { return pos_ == in_.size(); }
  [[nodiscard]] std::size_t remaining() const { return in_.size() - pos_; }

 private:
  void need(std::size_t n) const {
    if (pos_ + n > in_.size()) throw CorruptState("truncated state value");
  }
  std::string_view in_;
  std::size_t pos_ = 0;
};

}  // namespace alliance

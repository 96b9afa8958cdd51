// An id string in 16 bytes (std::string takes 32): up to 15 bytes inline,
// longer ones on the heap. Touchpoints hold their event id in one, so a
// user's list is half the memory. Value semantics (copies are deep); no
// thread of its own: whoever owns the value may use it.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace alliance {

class CompactId {
 public:
  CompactId() { clear_inline(); }
  CompactId(std::string_view s) { assign(s); }  // NOLINT: implicit, like std::string
  CompactId(const char* s) : CompactId(std::string_view(s)) {}  // NOLINT
  CompactId(const std::string& s) : CompactId(std::string_view(s)) {}  // NOLINT
  CompactId(const CompactId& o) { assign(o.view()); }
  CompactId(CompactId&& o) noexcept {
    std::memcpy(bytes_, o.bytes_, sizeof bytes_);
    o.clear_inline();
  }
  CompactId& operator=(const CompactId& o) {
    if (this != &o) {
      release();
      assign(o.view());
    }
    return *this;
  }
  CompactId& operator=(CompactId&& o) noexcept {
    if (this != &o) {
      release();
      std::memcpy(bytes_, o.bytes_, sizeof bytes_);
      o.clear_inline();
    }
    return *this;
  }
  ~CompactId() { release(); }

  [[nodiscard]] std::string_view view() const {
    if (!on_heap()) return {bytes_, static_cast<std::size_t>(tag())};
    return {heap_ptr(), heap_size()};
  }
  operator std::string_view() const { return view(); }  // NOLINT: reads like a string
  [[nodiscard]] std::size_t size() const { return view().size(); }
  [[nodiscard]] bool empty() const { return view().empty(); }
  /// Heap bytes beyond the 16 (0 when inline), for cache weights.
  [[nodiscard]] std::size_t heap_bytes() const { return on_heap() ? heap_size() : 0; }

  friend bool operator==(const CompactId& a, const CompactId& b) { return a.view() == b.view(); }
  friend bool operator==(const CompactId& a, std::string_view b) { return a.view() == b; }
  friend auto operator<=>(const CompactId& a, const CompactId& b) { return a.view() <=> b.view(); }

 private:
  static constexpr std::uint8_t kHeap = 0xFF;
  // bytes_[15] is the inline length (0..15) or kHeap; on the heap bytes 0..7
  // hold the pointer and 8..11 the size.
  [[nodiscard]] std::uint8_t tag() const { return static_cast<std::uint8_t>(bytes_[15]); }
  [[nodiscard]] bool on_heap() const { return tag() == kHeap; }
  [[nodiscard]] char* heap_ptr() const {
    char* p;
    std::memcpy(&p, bytes_, sizeof p);
    return p;
  }
  [[nodiscard]] std::size_t heap_size() const {
    std::uint32_t n;
    std::memcpy(&n, bytes_ + 8, 4);
    return n;
  }
  void clear_inline() {
    std::memset(bytes_, 0, sizeof bytes_);
  }
  void assign(std::string_view s) {
    clear_inline();
    if (s.size() < 16) {
      std::memcpy(bytes_, s.data(), s.size());
      bytes_[15] = static_cast<char>(s.size());
      return;
    }
    char* p = new char[s.size()];
    std::memcpy(p, s.data(), s.size());
    const auto n = static_cast<std::uint32_t>(s.size());
    std::memcpy(bytes_, &p, sizeof p);
    std::memcpy(bytes_ + 8, &n, 4);
    bytes_[15] = static_cast<char>(kHeap);
  }
  void release() {
    if (on_heap()) delete[] heap_ptr();
    clear_inline();
  }

  char bytes_[16];
};

}  // namespace alliance

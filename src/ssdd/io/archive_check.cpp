#include "ssdd/io/archive_check.h"

#include <array>
#include <cstdint>
#include <initializer_list>
#include <utility>
#include <vector>

#include "ssdd/core/error.h"

namespace ssdd::io {
namespace {

constexpr char kWhat[] = "a torch.save archive of named tensors";

uint64_t little_endian(std::string_view bytes, uint64_t at, int width) {
  uint64_t v = 0;
  for (int i = width - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(bytes[at + static_cast<uint64_t>(i)]);
  return v;
}

// `count` bytes starting at `at` lie inside `bytes` (overflow-safe).
bool inside(std::string_view bytes, uint64_t at, uint64_t count) {
  return at <= bytes.size() && count <= bytes.size() - at;
}

std::string hex(unsigned char op) {
  constexpr char kDigits[] = "0123456789abcdef";
  return std::string("0x") + kDigits[op >> 4] + kDigits[op & 15];
}

bool signature_at(std::string_view bytes, uint64_t at, const char (&sig)[5]) {
  return inside(bytes, at, 4) && bytes.compare(at, 4, sig, 4) == 0;
}

}  // namespace

void check_zip_layout(std::string_view bytes, const std::string& source) {
  auto refuse = [&](const std::string& found) { throw DataError(source, kWhat, found); };
  // The end-of-central-directory record: the last one in the final 64 KiB + 22 bytes, as
  // miniz searches for it.
  constexpr uint64_t kEndSize = 22;
  if (bytes.size() < kEndSize) refuse(std::to_string(bytes.size()) + " bytes, too short for a zip archive");
  const uint64_t lowest = bytes.size() > kEndSize + 0xffff ? bytes.size() - kEndSize - 0xffff : 0;
  uint64_t end = bytes.size() - kEndSize + 1;
  do {
    --end;
  } while (end > lowest && !signature_at(bytes, end, "PK\x05\x06"));
  if (!signature_at(bytes, end, "PK\x05\x06")) refuse("no zip end-of-directory record");
  uint64_t entries = little_endian(bytes, end + 10, 2);
  uint64_t directory_size = little_endian(bytes, end + 12, 4);
  uint64_t directory_at = little_endian(bytes, end + 16, 4);
  // A zip64 locator right before it points at the zip64 end record, whose fields win.
  if (end >= 20 && signature_at(bytes, end - 20, "PK\x06\x07")) {
    const uint64_t record = little_endian(bytes, end - 20 + 8, 8);
    if (!inside(bytes, record, 56) || !signature_at(bytes, record, "PK\x06\x06"))
      refuse("a zip64 locator pointing at no zip64 end record (offset " + std::to_string(record) + ")");
    entries = little_endian(bytes, record + 32, 8);
    directory_size = little_endian(bytes, record + 40, 8);
    directory_at = little_endian(bytes, record + 48, 8);
  }
  if (!inside(bytes, directory_at, directory_size))
    refuse("a central directory of " + std::to_string(directory_size) + " bytes at offset " +
           std::to_string(directory_at) + ", past the end of " + std::to_string(bytes.size()) + " bytes");
  // Each entry: 46 fixed bytes, then name, extra field and comment.
  const uint64_t directory_end = directory_at + directory_size;
  uint64_t at = directory_at;
  for (uint64_t e = 0; e < entries; ++e) {
    if (!inside(bytes, at, 46) || at + 46 > directory_end || !signature_at(bytes, at, "PK\x01\x02"))
      refuse("a central directory shorter than its " + std::to_string(entries) + " entries");
    const uint64_t method = little_endian(bytes, at + 10, 2);
    uint64_t packed = little_endian(bytes, at + 20, 4);
    uint64_t size = little_endian(bytes, at + 24, 4);
    const uint64_t name_length = little_endian(bytes, at + 28, 2);
    const uint64_t extra_length = little_endian(bytes, at + 30, 2);
    const uint64_t comment_length = little_endian(bytes, at + 32, 2);
    uint64_t local = little_endian(bytes, at + 42, 4);
    const uint64_t extra_at = at + 46 + name_length;
    const uint64_t next = extra_at + extra_length + comment_length;
    if (next > directory_end) refuse("a central directory entry running past the directory");
    // Fields at 0xffffffff are in the zip64 extra block (id 1), in this order.
    for (uint64_t x = extra_at; x + 4 <= extra_at + extra_length;) {
      const uint64_t id = little_endian(bytes, x, 2), length = little_endian(bytes, x + 2, 2);
      if (x + 4 + length > extra_at + extra_length) refuse("a zip extra field running past its entry");
      if (id == 1) {
        uint64_t field = x + 4;
        for (uint64_t* value : {&size, &packed, &local}) {
          if (*value != 0xffffffffu) continue;
          if (field + 8 > x + 4 + length) refuse("a zip64 extra field shorter than its entry needs");
          *value = little_endian(bytes, field, 8);
          field += 8;
        }
      }
      x += 4 + length;
    }
    if (method != 0) refuse("a compressed zip entry (method " + std::to_string(method) + "); torch.save stores them");
    if (packed != size) refuse("a stored zip entry whose sizes differ (" + std::to_string(packed) + " vs " + std::to_string(size) + ")");
    // The entry's local header (30 bytes, name, extra field) and its data lie inside the archive.
    if (!signature_at(bytes, local, "PK\x03\x04") || !inside(bytes, local, 30))
      refuse("a zip entry whose local header is not at offset " + std::to_string(local));
    const uint64_t data_at = local + 30 + little_endian(bytes, local + 26, 2) + little_endian(bytes, local + 28, 2);
    if (!inside(bytes, data_at, size))
      refuse("a zip entry of " + std::to_string(size) + " bytes at offset " + std::to_string(data_at) +
             ", past the end of " + std::to_string(bytes.size()) + " bytes");
    at = next;
  }
}

namespace {

// What an opcode reads after itself, and what it does to the unpickler's stack.
enum class Arg : uint8_t { kNone, kFixed, kCounted, kLine, kTwoLines };
enum class Marked : uint8_t { kNo, kPushMark, kPopToMark };
struct Opcode {
  Arg arg = Arg::kNone;
  uint8_t width = 0;  // kFixed: argument bytes; kCounted: bytes of the count before the data
  uint8_t pops = 0;   // items taken from above the top mark (after a kPopToMark, from what is left)
  uint8_t pushes = 0;
  Marked marked = Marked::kNo;
  bool known = false;
};

// Protocols 0-5 (Python's pickletools), every opcode.
std::array<Opcode, 256> opcode_table() {
  using Ops = std::initializer_list<unsigned char>;
  std::array<Opcode, 256> t{};
  auto set = [&](unsigned char op, Arg arg, uint8_t width, uint8_t pops, uint8_t pushes, Marked marked = Marked::kNo) {
    t[op] = {arg, width, pops, pushes, marked, true};
  };
  // Push one value, reading nothing, a fixed-size, a counted or a newline-terminated argument.
  for (unsigned char op : Ops{'N', '}', ']', ')', 0x88, 0x89, 0x8f, 0x97}) set(op, Arg::kNone, 0, 0, 1);
  for (auto [op, width] : {std::pair<unsigned char, uint8_t>{'K', 1}, {'M', 2}, {'J', 4}, {'G', 8}, {'h', 1}, {'j', 4},
                           {0x82, 1}, {0x83, 2}, {0x84, 4}})
    set(op, Arg::kFixed, width, 0, 1);
  for (auto [op, width] : {std::pair<unsigned char, uint8_t>{'U', 1}, {'C', 1}, {0x8a, 1}, {0x8c, 1}, {'T', 4}, {'X', 4},
                           {'B', 4}, {0x8b, 4}, {0x8d, 8}, {0x8e, 8}, {0x96, 8}})
    set(op, Arg::kCounted, width, 0, 1);
  for (unsigned char op : Ops{'F', 'I', 'L', 'P', 'S', 'V', 'g'}) set(op, Arg::kLine, 0, 0, 1);
  set('c', Arg::kTwoLines, 0, 0, 1);                           // GLOBAL
  // Memo writes keep the stack; PROTO and FRAME read an argument and keep it too.
  set('p', Arg::kLine, 0, 1, 1);
  set('q', Arg::kFixed, 1, 1, 1);
  set('r', Arg::kFixed, 4, 1, 1);
  set(0x94, Arg::kNone, 0, 1, 1);                              // MEMOIZE
  set(0x80, Arg::kFixed, 1, 0, 0);                             // PROTO
  set(0x95, Arg::kFixed, 8, 0, 0);                             // FRAME
  // Take some values, push the result.
  set('.', Arg::kNone, 0, 1, 0);                               // STOP
  set('0', Arg::kNone, 0, 1, 0);                               // POP
  set('2', Arg::kNone, 0, 1, 2);                               // DUP
  set('Q', Arg::kNone, 0, 1, 1);                               // BINPERSID
  set(0x85, Arg::kNone, 0, 1, 1);                              // TUPLE1
  set(0x98, Arg::kNone, 0, 1, 1);                              // READONLY_BUFFER
  for (unsigned char op : Ops{'R', 'b', 0x81, 0x86, 0x93, 'a'}) set(op, Arg::kNone, 0, 2, 1);  // ..., APPEND
  for (unsigned char op : Ops{0x87, 0x92, 's'}) set(op, Arg::kNone, 0, 3, 1);  // TUPLE3, NEWOBJ_EX, SETITEM
  // Marks.
  set('(', Arg::kNone, 0, 0, 0, Marked::kPushMark);
  set('1', Arg::kNone, 0, 0, 0, Marked::kPopToMark);           // POP_MARK
  for (unsigned char op : Ops{'l', 't', 'd', 0x91, 'o'}) set(op, Arg::kNone, 0, 0, 1, Marked::kPopToMark);
  set('i', Arg::kTwoLines, 0, 0, 1, Marked::kPopToMark);       // INST
  for (unsigned char op : Ops{'e', 'u', 0x90}) set(op, Arg::kNone, 0, 1, 1, Marked::kPopToMark);  // APPENDS, SETITEMS, ADDITEMS
  return t;
}

}  // namespace

void check_pickle(std::string_view pickle, const std::string& source) {
  static const std::array<Opcode, 256> table = opcode_table();
  auto refuse = [&](const std::string& found) { throw DataError(source + " (data.pkl)", "a pickle of named tensors", found); };
  const uint64_t n = pickle.size();
  uint64_t at = 0;
  auto take = [&](uint64_t count, uint64_t op_at) {
    if (!inside(pickle, at, count))
      refuse("opcode " + hex(static_cast<unsigned char>(pickle[op_at])) + " at byte " + std::to_string(op_at) +
             " claims " + std::to_string(count) + " bytes, " + std::to_string(n - at) + " are left");
    at += count;
  };
  auto line = [&](uint64_t op_at) {
    const size_t newline = pickle.find('\n', at);
    if (newline == std::string_view::npos) refuse("opcode " + hex(static_cast<unsigned char>(pickle[op_at])) + " without its line");
    at = newline + 1;
  };
  // LibTorch's unpickler pops without looking (an empty stack or a missing mark is heap
  // corruption, found by fuzz_checkpoint), so the stack is followed here: its depth and
  // the depths at which the open marks were set.
  uint64_t depth = 0;
  std::vector<uint64_t> marks;
  while (at < n) {
    const uint64_t op_at = at;
    const auto op = static_cast<unsigned char>(pickle[at++]);
    const Opcode& o = table[op];
    if (!o.known) refuse("unknown opcode " + hex(op) + " at byte " + std::to_string(op_at));
    switch (o.arg) {
      case Arg::kNone: break;
      case Arg::kFixed: take(o.width, op_at); break;
      case Arg::kCounted: take(o.width, op_at); take(little_endian(pickle, at - o.width, o.width), op_at); break;
      case Arg::kLine: line(op_at); break;
      case Arg::kTwoLines: line(op_at); line(op_at); break;
    }
    if (op == 'r' && little_endian(pickle, at - 4, 4) > n)  // LONG_BINPUT: the memo table is sized by the id
      refuse("a memo id of " + std::to_string(little_endian(pickle, at - 4, 4)) + " in a " + std::to_string(n) + "-byte stream");
    if (o.marked == Marked::kPushMark) {
      marks.push_back(depth);
      continue;
    }
    if (o.marked == Marked::kPopToMark) {
      if (marks.empty()) refuse("opcode " + hex(op) + " at byte " + std::to_string(op_at) + " without a mark");
      depth = marks.back();
      marks.pop_back();
    }
    const uint64_t floor = marks.empty() ? 0 : marks.back();
    if (depth - floor < o.pops)
      refuse("opcode " + hex(op) + " at byte " + std::to_string(op_at) + " takes " + std::to_string(o.pops) +
             " values from a stack holding " + std::to_string(depth - floor));
    depth = depth - o.pops + o.pushes;
    if (op == '.') return;
  }
  refuse("a pickle without its STOP opcode (" + std::to_string(n) + " bytes)");
}

}  // namespace ssdd::io

#include "ssdd/io/pickle_tensors.h"

#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

#include <caffe2/serialize/inline_container.h>
#include <torch/torch.h>

#include "ssdd/core/error.h"
#include "ssdd/io/archive_check.h"
#include "ssdd/io/bounded_reader.h"
#include "ssdd/io/safe_read.h"

namespace ssdd::io {
namespace {

// A value on the pickle machine's stack. Containers are shared (the memo and the stack
// may hold the same list), as in Python.
struct Value;
using ValuePtr = std::shared_ptr<Value>;

struct Value {
  enum class Kind { other, none, integer, text, list, dict, global, object, storage, tensor };
  Kind kind = Kind::other;
  int64_t integer = 0;
  std::string text;   // a string; a global's "module.name"; a storage's record key
  std::vector<ValuePtr> items;                           // list, tuple, set; an object's appends
  std::vector<std::pair<ValuePtr, ValuePtr>> entries;    // dict; an object's items and attributes
  c10::ScalarType dtype = c10::ScalarType::Byte;         // storage
  at::Tensor tensor;
};

bool is_container(const Value& v) {
  return v.kind == Value::Kind::list || v.kind == Value::Kind::dict || v.kind == Value::Kind::object;
}

std::optional<c10::ScalarType> storage_dtype(const std::string& type_name) {
  static const std::map<std::string, c10::ScalarType> types = {
      {"torch.FloatStorage", c10::kFloat},   {"torch.DoubleStorage", c10::kDouble},
      {"torch.HalfStorage", c10::kHalf},     {"torch.BFloat16Storage", c10::kBFloat16},
      {"torch.LongStorage", c10::kLong},     {"torch.IntStorage", c10::kInt},
      {"torch.ShortStorage", c10::kShort},   {"torch.CharStorage", c10::kChar},
      {"torch.ByteStorage", c10::kByte},     {"torch.BoolStorage", c10::kBool},
      {"torch.UntypedStorage", c10::kByte}};
  const auto found = types.find(type_name);
  if (found == types.end()) return std::nullopt;
  return found->second;
}

// Runs a pickle (already walked by check_pickle) and keeps what it builds. Every read and
// pop is bounds-checked here as well: the machine must be safe on its own.
class PickleMachine {
 public:
  PickleMachine(std::string_view pickle, caffe2::serialize::PyTorchStreamReader& zip, std::string source)
      : in_(pickle), zip_(zip), source_(std::move(source)) {}

  // Containers may refer to themselves (a list appended to itself through the memo), so
  // shared ownership alone would leak them, and a long chain would be freed recursively:
  // every container is emptied here, one by one.
  ~PickleMachine() {
    for (auto& node : containers_) {
      node->items.clear();
      node->entries.clear();
    }
  }

  // The value the pickle builds (kept here, so that the destructor frees it flat).
  const ValuePtr& run() {
    for (;;) {
      const uint8_t op = byte();
      if (op == '.') return root_ = pop();
      step(op);
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw DataError(source_, "a readable torch.save pickle", what + " at byte " + std::to_string(at_));
  }

  uint8_t byte() {
    if (at_ >= in_.size()) fail("the end of the pickle before STOP");
    return static_cast<uint8_t>(in_[at_++]);
  }
  std::string_view take(uint64_t n) {
    if (n > in_.size() - at_) fail("an argument running past the end");
    const std::string_view out = in_.substr(at_, n);
    at_ += n;
    return out;
  }
  uint64_t unsigned_le(int width) {
    const std::string_view b = take(width);
    uint64_t v = 0;
    for (int i = width - 1; i >= 0; --i) v = v << 8 | static_cast<uint8_t>(b[i]);
    return v;
  }
  std::string_view line() {
    const size_t end = in_.find('\n', at_);
    if (end == std::string_view::npos) fail("a text argument without its newline");
    const size_t length = end - at_;
    return take(length + 1).substr(0, length);
  }

  ValuePtr make(Value::Kind kind) {
    auto v = std::make_shared<Value>();
    v->kind = kind;
    if (is_container(*v)) containers_.push_back(v);
    return v;
  }
  ValuePtr make_integer(int64_t i) {
    auto v = make(Value::Kind::integer);
    v->integer = i;
    return v;
  }
  ValuePtr make_text(Value::Kind kind, std::string_view text) {
    auto v = make(kind);
    v->text = std::string(text);
    return v;
  }
  ValuePtr make_list(std::vector<ValuePtr> items) {
    auto v = make(Value::Kind::list);
    v->items = std::move(items);
    return v;
  }

  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  void push(ValuePtr v) { stack_.push_back(std::move(v)); }
  ValuePtr pop() {
    if (stack_.size() <= floor()) fail("a pop from an empty stack");
    ValuePtr v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  Value& top() {
    if (stack_.size() <= floor()) fail("an empty stack");
    return *stack_.back();
  }
  std::vector<ValuePtr> pop_mark() {
    if (marks_.empty()) fail("no mark");
    std::vector<ValuePtr> items(stack_.begin() + static_cast<std::ptrdiff_t>(marks_.back()), stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }

  void memo_put(uint64_t id) {
    if (stack_.empty()) fail("a memo put with an empty stack");
    memo_[id] = stack_.back();
  }
  void memo_get(uint64_t id) {
    const auto found = memo_.find(id);
    if (found == memo_.end()) fail("an unknown memo id " + std::to_string(id));
    push(found->second);
  }

  static int64_t parse_int_line(std::string_view text) {
    std::string s(text);
    if (!s.empty() && s.back() == 'L') s.pop_back();
    return std::strtoll(s.c_str(), nullptr, 10);
  }

  // Two's complement, little-endian; wider than 64 bits is kept as an opaque number.
  ValuePtr make_long(std::string_view b) {
    if (b.size() > 8) return make(Value::Kind::other);
    uint64_t v = 0;
    for (size_t i = b.size(); i-- > 0;) v = v << 8 | static_cast<uint8_t>(b[i]);
    if (!b.empty() && b.size() < 8 && (static_cast<uint8_t>(b.back()) & 0x80)) v |= ~uint64_t{0} << (8 * b.size());
    return make_integer(static_cast<int64_t>(v));
  }

  void add_entries(Value& target, const std::vector<ValuePtr>& flat) {
    if (flat.size() % 2) fail("SETITEMS with an odd number of values");
    if (target.kind != Value::Kind::dict && target.kind != Value::Kind::object) return;
    for (size_t i = 0; i < flat.size(); i += 2) target.entries.emplace_back(flat[i], flat[i + 1]);
  }
  void add_items(Value& target, const std::vector<ValuePtr>& items) {
    if (target.kind != Value::Kind::list && target.kind != Value::Kind::object) return;
    target.items.insert(target.items.end(), items.begin(), items.end());
  }

  // An instance of a class the machine does not know: a placeholder that takes items and
  // attributes (a dict subclass such as Lightning's AttributeDict keeps its tensors found).
  ValuePtr make_object(const ValuePtr& cls) {
    return make_text(Value::Kind::object, cls->kind == Value::Kind::global ? cls->text : "");
  }

  // The only callables applied: the tensor rebuilders and OrderedDict. Anything else makes
  // a placeholder.
  ValuePtr reduce(const ValuePtr& callable, const ValuePtr& args) {
    const std::string name = callable->kind == Value::Kind::global ? callable->text : "";
    if (name == "collections.OrderedDict") return make(Value::Kind::dict);
    // LibTorch's pickler wraps a typed dict or list as restore_type_tag(value, "Dict[str, Tensor]").
    if (name == "torch.jit._pickle.restore_type_tag" && args->kind == Value::Kind::list && !args->items.empty())
      return args->items[0];
    if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor")
      return rebuild_tensor(*args);
    if ((name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") &&
        args->kind == Value::Kind::list && !args->items.empty() && args->items[0]->kind == Value::Kind::tensor)
      return args->items[0];
    return make_object(callable);
  }

  ValuePtr persistent_load(const Value& pid) {
    // ('storage', torch.FloatStorage, key, location, numel)
    if (pid.kind != Value::Kind::list || pid.items.size() < 5 || pid.items[0]->text != "storage" ||
        pid.items[1]->kind != Value::Kind::global || pid.items[2]->kind != Value::Kind::text)
      fail("a persistent id that is not a storage");
    const auto dtype = storage_dtype(pid.items[1]->text);
    if (!dtype) fail("an unknown storage type '" + pid.items[1]->text + "'");
    auto v = make_text(Value::Kind::storage, pid.items[2]->text);
    v->dtype = *dtype;
    return v;
  }

  // The record's bytes as a flat tensor, one per storage however many tensors view it.
  at::Tensor storage_tensor(const Value& storage) {
    const std::string key = storage.text + "/" + std::string(c10::toString(storage.dtype));
    if (auto found = storages_.find(key); found != storages_.end()) return found->second;
    const std::string record = "data/" + storage.text;
    if (!zip_.hasRecord(record)) fail("a tensor whose record " + record + " is missing");
    const auto [data, bytes] = zip_.getRecord(record);
    const int64_t element = static_cast<int64_t>(c10::elementSize(storage.dtype));
    at::Tensor flat = torch::empty({static_cast<int64_t>(bytes) / element}, torch::TensorOptions().dtype(storage.dtype));
    if (flat.numel() > 0) std::memcpy(flat.data_ptr(), data.get(), static_cast<size_t>(flat.numel() * element));
    storages_[key] = flat;
    return flat;
  }

  std::vector<int64_t> int_tuple(const Value& v, const char* what) {
    if (v.kind != Value::Kind::list || v.items.size() > 64) fail(std::string("a tensor's ") + what + " that is not a tuple");
    std::vector<int64_t> out;
    for (const auto& item : v.items) {
      if (item->kind != Value::Kind::integer || item->integer < 0) fail(std::string("a tensor's ") + what + " out of range");
      out.push_back(item->integer);
    }
    return out;
  }

  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, hooks[, meta]):
  // a view of the storage, once its elements are known to lie inside the record.
  ValuePtr rebuild_tensor(const Value& args) {
    if (args.kind != Value::Kind::list || args.items.size() < 4 || args.items[0]->kind != Value::Kind::storage ||
        args.items[1]->kind != Value::Kind::integer)
      fail("a tensor rebuilt from other arguments than a storage, offset, size and stride");
    const at::Tensor flat = storage_tensor(*args.items[0]);
    const int64_t offset = args.items[1]->integer;
    const std::vector<int64_t> size = int_tuple(*args.items[2], "size");
    const std::vector<int64_t> stride = int_tuple(*args.items[3], "stride");
    if (size.size() != stride.size()) fail("a tensor whose size and stride differ in length");
    __int128 last = offset, count = 1;
    for (size_t d = 0; d < size.size(); ++d) {
      last += static_cast<__int128>(size[d] == 0 ? 0 : size[d] - 1) * stride[d];
      if (last > flat.numel()) last = flat.numel();  // no overflow over 64 dimensions
      count *= size[d];
      if (count > flat.numel()) count = flat.numel() + 1;  // stays small; refused below unless empty
    }
    if (offset < 0 || (count > 0 && (count > flat.numel() || last >= flat.numel())))
      fail("a tensor claiming more elements than its record holds");
    auto v = make(Value::Kind::tensor);
    v->tensor = count == 0 ? torch::empty(size, flat.options()) : flat.as_strided(size, stride, offset);
    return v;
  }

  // long-function: one case per pickle opcode, each a few lines; the switch is the opcode table,
  // and splitting it would scatter the table without making any case shorter.
  void step(uint8_t op) {
    using K = Value::Kind;
    switch (op) {
      case 0x80: take(1); break;  // PROTO
      case 0x95: take(8); break;  // FRAME
      case '(': marks_.push_back(stack_.size()); break;
      case 'N': push(make(K::none)); break;
      case 0x88: push(make_integer(1)); break;
      case 0x89: push(make_integer(0)); break;
      case 'K': push(make_integer(static_cast<int64_t>(unsigned_le(1)))); break;
      case 'M': push(make_integer(static_cast<int64_t>(unsigned_le(2)))); break;
      case 'J': push(make_integer(static_cast<int32_t>(unsigned_le(4)))); break;
      case 'I': push(make_integer(parse_int_line(line()))); break;
      case 'L': push(make_integer(parse_int_line(line()))); break;
      case 0x8a: push(make_long(take(unsigned_le(1)))); break;
      case 0x8b: push(make_long(take(unsigned_le(4)))); break;
      case 'G': take(8); push(make(K::other)); break;
      case 'F': line(); push(make(K::other)); break;
      case 'X': push(make_text(K::text, take(unsigned_le(4)))); break;
      case 0x8c: push(make_text(K::text, take(unsigned_le(1)))); break;
      case 0x8d: push(make_text(K::text, take(unsigned_le(8)))); break;
      case 'T': case 'B': take(unsigned_le(4)); push(make(K::other)); break;
      case 'U': case 'C': take(unsigned_le(1)); push(make(K::other)); break;
      case 0x8e: case 0x96: take(unsigned_le(8)); push(make(K::other)); break;
      case 'S': case 'V': line(); push(make(K::other)); break;
      case '}': push(make(K::dict)); break;
      case ']': case ')': case 0x8f: push(make(K::list)); break;
      case 'd': {
        auto dict = make(K::dict);
        add_entries(*dict, pop_mark());
        push(dict);
        break;
      }
      case 't': case 'l': case 0x91: push(make_list(pop_mark())); break;
      case 0x85: push(make_list({pop()})); break;
      case 0x86: {
        auto b = pop(), a = pop();
        push(make_list({a, b}));
        break;
      }
      case 0x87: {
        auto c = pop(), b = pop(), a = pop();
        push(make_list({a, b, c}));
        break;
      }
      case 's': {
        auto value = pop(), key = pop();
        add_entries(top(), {key, value});
        break;
      }
      case 'u': {
        auto flat = pop_mark();
        add_entries(top(), flat);
        break;
      }
      case 'a': {
        auto value = pop();
        add_items(top(), {value});
        break;
      }
      case 'e': case 0x90: {
        auto items = pop_mark();
        add_items(top(), items);
        break;
      }
      case 'p': memo_put(static_cast<uint64_t>(parse_int_line(line()))); break;
      case 'q': memo_put(unsigned_le(1)); break;
      case 'r': memo_put(unsigned_le(4)); break;
      case 0x94: memo_put(memo_.size()); break;
      case 'g': memo_get(static_cast<uint64_t>(parse_int_line(line()))); break;
      case 'h': memo_get(unsigned_le(1)); break;
      case 'j': memo_get(unsigned_le(4)); break;
      case 'c': {
        const std::string module(line());
        push(make_text(K::global, module + "." + std::string(line())));
        break;
      }
      case 0x93: {
        auto name = pop(), module = pop();
        push(make_text(K::global, module->text + "." + name->text));
        break;
      }
      case 'R': {
        auto args = pop(), callable = pop();
        push(reduce(callable, args));
        break;
      }
      case 0x81: {
        pop();
        push(make_object(pop()));
        break;
      }
      case 0x92: {
        pop();
        pop();
        push(make_object(pop()));
        break;
      }
      case 'o': {
        auto items = pop_mark();
        if (items.empty()) fail("OBJ without a class");
        push(make_object(items[0]));
        break;
      }
      case 'i': {
        const std::string module(line());
        const std::string name(line());
        pop_mark();
        push(make_text(K::object, module + "." + name));
        break;
      }
      case 'b': {  // BUILD: a plain object takes a dict state as its attributes
        auto state = pop();
        Value& target = top();
        if (target.kind == K::object && state->kind == K::dict)
          target.entries.insert(target.entries.end(), state->entries.begin(), state->entries.end());
        break;
      }
      case 'Q': push(persistent_load(*pop())); break;
      case '0':
        if (!marks_.empty() && marks_.back() == stack_.size()) marks_.pop_back();
        else pop();
        break;
      case '1': pop_mark(); break;
      case '2': {
        ValuePtr copy = stack_.empty() ? nullptr : stack_.back();
        if (!copy) fail("DUP on an empty stack");
        push(copy);
        break;
      }
      default: fail("an unsupported pickle opcode " + std::to_string(op));
    }
  }

  std::string_view in_;
  size_t at_ = 0;
  caffe2::serialize::PyTorchStreamReader& zip_;
  std::string source_;
  std::vector<ValuePtr> stack_;
  std::vector<size_t> marks_;
  std::map<uint64_t, ValuePtr> memo_;
  std::vector<ValuePtr> containers_;
  std::map<std::string, at::Tensor> storages_;
  ValuePtr root_;
};

// Depth-first, each container once (memo references can repeat or loop).
void collect_tensors(const ValuePtr& v, const std::string& path, int depth, std::set<const Value*>& seen,
                     TensorMap& out, const std::string& source) {
  if (v->kind == Value::Kind::tensor) {
    out.emplace(path, v->tensor);
    return;
  }
  if (!is_container(*v) || !seen.insert(v.get()).second) return;
  if (depth > kMaxNestingDepth) throw DataError(source, "a torch.save pickle", "values nested deeper than 64");
  const auto child = [&](const std::string& name) { return path.empty() ? name : path + "." + name; };
  for (size_t i = 0; i < v->items.size(); ++i)
    collect_tensors(v->items[i], child(std::to_string(i)), depth + 1, seen, out, source);
  for (const auto& [key, value] : v->entries) {
    if (key->kind == Value::Kind::text) collect_tensors(value, child(key->text), depth + 1, seen, out, source);
    else if (key->kind == Value::Kind::integer) collect_tensors(value, child(std::to_string(key->integer)), depth + 1, seen, out, source);
  }
}

}  // namespace

TensorMap tensors_anywhere_from_bytes(const std::string& bytes, const std::string& source_name) {
  try {
    check_zip_layout(bytes, source_name);
    caffe2::serialize::PyTorchStreamReader zip(std::make_shared<BoundedReader>(bytes));
    if (!zip.hasRecord("data.pkl")) throw DataError(source_name, "a torch.save archive", "no data.pkl record");
    const auto [data, size] = zip.getRecord("data.pkl");
    const std::string_view pickle(static_cast<const char*>(data.get()), size);
    check_pickle(pickle, source_name);
    PickleMachine machine(pickle, zip, source_name);
    TensorMap out;
    std::set<const Value*> seen;
    collect_tensors(machine.run(), "", 0, seen, out, source_name);
    return out;
  } catch (const DataError&) {
    throw;
  } catch (const std::exception& e) {
    // LibTorch's messages carry a stack trace after the first line.
    std::string what = e.what();
    what = what.substr(0, what.find('\n'));
    throw DataError(source_name, "a torch.save archive", "unreadable data (" + what + ")");
  }
}

TensorMap load_tensors_anywhere(const std::string& path) {
  return tensors_anywhere_from_bytes(read_regular_file(path, kMaxArchiveBytes, "a torch.save archive"), path);
}

}  // namespace ssdd::io

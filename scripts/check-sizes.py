#!/usr/bin/env python3
"""Checks the size rules of src/: no file over 500 lines, no function over 80 lines, without a reason.

The architecture issue asks that no function in src/ run longer than about 80 lines and no file
longer than about 500, unless a comment says why. This check lists every file and every function
body past those limits, with its length, so anyone can rerun the evidence. A function may carry a
reason in a comment line directly above its definition (or above its template line):

  // long-function: one table, row by row; splitting it hides the layout

and a file in a comment within its first 15 lines:  // long-file: REASON
Such findings are listed as "allowed (reason)" and do not fail the check.

A function's length is counted from the line of its opening brace to the line of its closing
brace, both included. Functions are free functions and member functions (in a class or out of
line); a lambda counts towards the function around it. The braces are matched on a lexed token
stream (comments, string, raw-string and character literals and preprocessor lines skipped), and
a brace opens a function when the tokens before it end in a parameter list, optionally followed
by qualifiers (const, noexcept, override, final, -> type) or a constructor's member-initializer
list, and that list does not belong to if/for/while/switch/catch or to a lambda.

  scripts/check-sizes.py [PATH...] [--max-file-lines N] [--max-function-lines N] [--list N]
  scripts/check-sizes.py --self-test

PATH: files or folders to walk for *.h and *.cpp (default: src/ of this script's repository).
--list N: also print the N longest functions, whatever their length.
--self-test: run the parser on embedded C++ snippets with known functions and lengths.
Exit status: 0 when every finding has a reason, 1 when one has none (or a file's braces do not
balance, so it could not be measured), 2 on a usage error.
"""
import argparse
import os
import re
import sys

# ----------------------------------------------------------------------------------------------
# Lexer: tokens with their line numbers; comments are kept per line (for the reasons), strings,
# character literals and preprocessor directives never produce a brace.

STRING_PREFIXES = {"R", "u8R", "uR", "UR", "LR", "u8", "u", "U", "L"}
CHAR_PREFIXES = {"u8", "u", "U", "L"}
PUNCT3 = ("...", "<<=", ">>=", "->*")
PUNCT2 = ("::", "->", "&&", "||", "<<", ">>", "==", "!=", "<=", ">=", "++", "--", "+=", "-=", "*=",
          "/=", "%=", "&=", "|=", "^=", ".*")


class Token:
    __slots__ = ("kind", "text", "line", "after_directive")

    def __init__(self, kind, text, line, after_directive):
        self.kind, self.text, self.line, self.after_directive = kind, text, line, after_directive

    def __repr__(self):
        return f"{self.kind}:{self.text}@{self.line}"


def _quoted_end(text, i, quote):
    """Index just past the literal opening at text[i] == quote (stops at an unescaped newline)."""
    k, n = i + 1, len(text)
    while k < n:
        ch = text[k]
        if ch == "\\":
            k += 2
            continue
        if ch == quote:
            return k + 1
        if ch == "\n":
            return k
        k += 1
    return n


def lex(text):
    """(tokens, comments, code_lines): comments maps a line to the comment text on it."""
    tokens, comments, code_lines = [], {}, set()
    i, n, line = 0, len(text), 1
    line_start = True  # only blanks since the last newline
    in_directive = False
    directive_before = False  # a directive came between the last token and the next

    def emit(kind, word, at):
        nonlocal directive_before
        code_lines.add(at)
        if in_directive:
            return
        tokens.append(Token(kind, word, at, directive_before))
        directive_before = False

    while i < n:
        c = text[i]
        if c == "\n":
            line, i, line_start, in_directive = line + 1, i + 1, True, False
            continue
        if c == "\\" and text.startswith("\n", i + 1):  # line splice
            line, i = line + 1, i + 2
            continue
        if c == "\\" and text.startswith("\r\n", i + 1):
            line, i = line + 1, i + 3
            continue
        if c in " \t\r\f\v":
            i += 1
            continue
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            comments.setdefault(line, []).append(text[i:j])
            i = j
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            for k, part in enumerate(text[i:j].split("\n")):
                comments.setdefault(line + k, []).append(part)
            line += text.count("\n", i, j)
            i = j
            continue
        if c == "#" and line_start:
            in_directive, directive_before, line_start = True, True, False
            code_lines.add(line)
            i += 1
            continue
        line_start = False
        start = line
        if c.isalpha() or c == "_":
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            word = text[i:j]
            if j < n and text[j] == '"' and word in STRING_PREFIXES:
                if word.endswith("R"):  # R"delim( ... )delim"
                    open_paren = text.find("(", j + 1)
                    delim = text[j + 1:open_paren] if open_paren >= 0 else ""
                    close = text.find(")" + delim + '"', open_paren + 1) if open_paren >= 0 else -1
                    end = n if close < 0 else close + len(delim) + 2
                else:
                    end = _quoted_end(text, j, '"')
                line += text.count("\n", i, end)
                emit("str", text[i:end], start)
                i = end
                continue
            if j < n and text[j] == "'" and word in CHAR_PREFIXES:
                end = _quoted_end(text, j, "'")
                emit("chr", text[i:end], start)
                i = end
                continue
            emit("id", word, start)
            i = j
            continue
        if c.isdigit() or (c == "." and i + 1 < n and text[i + 1].isdigit()):
            j = i + 1  # a pp-number, digit separators (1'000) included
            while j < n:
                ch = text[j]
                if ch in "eEpP" and j + 1 < n and text[j + 1] in "+-":
                    j += 2
                elif ch.isalnum() or ch in "_.":
                    j += 1
                elif ch == "'" and j + 1 < n and (text[j + 1].isalnum() or text[j + 1] == "_"):
                    j += 2
                else:
                    break
            emit("num", text[i:j], start)
            i = j
            continue
        if c == '"':
            end = _quoted_end(text, i, '"')
            emit("str", text[i:end], start)
            i = end
            continue
        if c == "'":
            end = _quoted_end(text, i, "'")
            emit("chr", text[i:end], start)
            i = end
            continue
        for p in PUNCT3 + PUNCT2:
            if text.startswith(p, i):
                break
        else:
            p = c
        emit("punct", p, start)
        i += len(p)
    return tokens, comments, code_lines


def match_brackets(tokens):
    """match[i] = the index of the bracket pairing tokens[i]; problems for unbalanced ones."""
    match, stack, problems = [None] * len(tokens), [], []
    opener = {")": "(", "]": "[", "}": "{"}
    for i, t in enumerate(tokens):
        if t.kind != "punct":
            continue
        if t.text in ("(", "[", "{"):
            stack.append(i)
        elif t.text in opener:
            want = opener[t.text]
            if stack and tokens[stack[-1]].text == want:
                o = stack.pop()
                match[o], match[i] = i, o
            else:
                problems.append(f"line {t.line}: unmatched '{t.text}'")
                deeper = [k for k in stack if tokens[k].text == want]
                if deeper:
                    while tokens[stack[-1]].text != want:
                        problems.append(f"line {tokens[stack[-1]].line}: unclosed '{tokens[stack[-1]].text}'")
                        stack.pop()
                    o = stack.pop()
                    match[o], match[i] = i, o
    for k in stack:
        problems.append(f"line {tokens[k].line}: unclosed '{tokens[k].text}'")
    return match, problems


# ----------------------------------------------------------------------------------------------
# Parser: what each '{' opens.

CONTROL = {"if", "for", "while", "switch", "catch"}
QUALIFIERS = {"const", "volatile", "noexcept", "override", "final", "mutable", "constexpr", "consteval"}
NOT_A_NAME = {"return", "decltype", "sizeof", "alignof", "alignas", "noexcept", "throw", "static_assert",
              "typeid", "new", "delete", "co_return", "co_await", "else", "do", "case"}
TYPE_STOP = {"namespace", "class", "struct", "union", "enum", "return", "template", "typedef", "using",
             "case", "else", "do", "public", "private", "protected"}


class Function:
    __slots__ = ("name", "line", "open_line", "close_line", "start_line", "reason")

    def __init__(self, name, line, open_line, close_line, start_line):
        self.name, self.line, self.open_line, self.close_line = name, line, open_line, close_line
        self.start_line, self.reason = start_line, None

    @property
    def length(self):
        return self.close_line - self.open_line + 1


class Parser:
    def __init__(self, tokens, match):
        self.t, self.match = tokens, match

    def text(self, i):
        return self.t[i].text if 0 <= i < len(self.t) else None

    def is_punct(self, i, *texts):
        return 0 <= i < len(self.t) and self.t[i].kind == "punct" and self.t[i].text in texts

    def angle_open(self, k):
        """Index of the '<' matching the '>' (or '>>') at k, or None."""
        depth = 0
        while k >= 0:
            s = self.text(k)
            if s == ">":
                depth += 1
            elif s == ">>":
                depth += 2
            elif s == "<":
                depth -= 1
                if depth == 0:
                    return k
            elif s in (";", "{", "}") or (s == ")" and self.match[k] is None):
                return None
            elif s in (")", "]") and self.match[k] is not None:
                k = self.match[k]
            k -= 1
        return None

    def name_start(self, e):
        """First token of the (qualified) name ending at e: A::B<T>::~C; None if e ends none."""
        s = e
        if self.text(s) in (">", ">>"):
            o = self.angle_open(s)
            if o is None or o == 0 or self.t[o - 1].kind != "id":
                return None
            s = o - 1
        elif not (0 <= s < len(self.t)) or self.t[s].kind != "id":
            return None
        if self.is_punct(s - 1, "~"):
            s -= 1
        while self.is_punct(s - 1, "::"):
            before = s - 2
            if self.text(before) in (">", ">>"):
                o = self.angle_open(before)
                if o is None or o == 0:
                    break
                before = o - 1
            if before >= 0 and self.t[before].kind == "id" and self.t[before].text not in TYPE_STOP:
                s = before
            else:
                s -= 1  # a leading '::'
                break
        return s

    def spell(self, a, b):
        """Tokens a..b joined as written (a space only between two words)."""
        out = ""
        for k in range(a, b + 1):
            w = self.t[k].text
            if out and self.t[k].kind == "id" and self.t[k - 1].kind == "id":
                out += " "
            out += w
        return out

    def trailing_arrow(self, j):
        """Index of the '->' of a trailing return type ending at j, or None."""
        k, steps = j, 0
        while k >= 0 and steps < 80:
            t = self.t[k]
            if t.kind == "punct" and t.text == "->":
                return k
            if t.kind == "id":
                if t.text in TYPE_STOP:
                    return None
            elif t.kind == "num" or (t.kind == "punct" and t.text in ("::", "<", ">", ">>", ",", "*", "&", "&&", "...")):
                pass
            elif t.kind == "punct" and t.text in (")", "]") and self.match[k] is not None:
                k = self.match[k]
            else:
                return None
            k -= 1
            steps += 1
        return None

    def find_params(self, j, allow_init=True):
        """Index of the '(' of the parameter list that the tokens ending at j close, or None."""
        while j >= 0:
            t = self.t[j]
            if t.kind == "id" and t.text in QUALIFIERS:
                j -= 1
                continue
            if t.kind == "punct" and t.text in ("&", "&&"):
                j -= 1
                continue
            if t.kind == "punct" and t.text == ")":
                m = self.match[j]
                if m is None:
                    return None
                if self.text(m - 1) in ("noexcept", "throw"):
                    j = m - 2
                    continue
                if allow_init:
                    params = self.init_list(j)
                    if params is not None:
                        return params
                return m
            if t.kind == "punct" and t.text == "}":
                return self.init_list(j) if allow_init else None
            arrow = self.trailing_arrow(j)
            if arrow is None:
                return None
            j = arrow - 1
        return None

    def init_list(self, j):
        """A constructor's ': a_(x), b_{y}' ending at j: the '(' of the constructor's parameters."""
        while j >= 0:
            if self.is_punct(j, "..."):
                j -= 1
            if not self.is_punct(j, ")", "}") or self.match[j] is None:
                return None
            s = self.name_start(self.match[j] - 1)
            if s is None:
                return None
            if self.is_punct(s - 1, ","):
                j = s - 2
                continue
            if self.is_punct(s - 1, ":"):
                return self.find_params(s - 2, allow_init=False)
            return None
        return None

    def callee(self, p):
        """What the parameter list opening at p belongs to: ('function', name, first token),
        ('lambda',), ('control',) or None."""
        for q in range(p - 1, max(p - 5, -1), -1):  # operator==, operator(), operator[], operator new
            if self.text(q) == "operator":
                s = q
                if self.is_punct(q - 1, "::"):
                    s = self.name_start(q - 2)
                    s = q if s is None else s
                return ("function", self.spell(s, p - 1), s)
            if self.t[q].kind == "id" and self.t[q].text not in ("new", "delete"):
                break
        k = p - 1
        if k < 0:
            return None
        t = self.t[k]
        if t.kind == "id":
            if t.text in CONTROL or (t.text == "constexpr" and self.text(k - 1) == "if"):
                return ("control",)
            if t.text in NOT_A_NAME or t.text in TYPE_STOP:
                return None
        elif t.kind == "punct" and t.text == "]":
            return ("lambda",)
        elif t.kind == "punct" and t.text in (">", ">>"):
            o = self.angle_open(k)
            if o is not None and self.is_punct(o - 1, "]"):
                return ("lambda",)  # []<class T>(T x) {
        else:
            return None
        s = self.name_start(k)
        if s is None:
            return None
        if self.text(s - 1) == "operator":  # operator bool, operator std::string
            s -= 1
            if self.is_punct(s - 1, "::"):
                s = self.name_start(s - 2) or s
        return ("function", self.spell(s, k), s)

    def declaration_start(self, s):
        """The first token of the declaration whose name starts at s (its template line, if any)."""
        while s > 0 and not self.t[s].after_directive:
            prev = self.t[s - 1]
            if prev.kind == "punct" and prev.text in (";", "{", "}", ":"):
                break
            s -= 1
        return s

    def block_kind(self, b):
        """('class', name), ('namespace',), ('enum',), ('extern',) or ('block',) for the '{' at b."""
        k = b - 1
        while k >= 0 and b - k < 200:
            t = self.t[k]
            if t.kind == "punct":
                if t.text in (";", "{", "}", "=", "(", "[", ","):
                    if t.text != "," or self.class_keyword(k) is None:
                        return ("block",)
                if t.text in (")", "]") and self.match[k] is not None:
                    k = self.match[k]
            elif t.kind == "id":
                if t.text == "namespace":
                    return ("namespace",)
                if t.text == "enum":
                    return ("enum",)
                if t.text in ("class", "struct", "union"):
                    return ("class", self.class_name(k, b))
                if t.text == "return":
                    return ("block",)
            elif t.kind == "str" and self.text(k - 1) == "extern":
                return ("extern",)
            k -= 1
        return ("block",)

    def class_keyword(self, k):
        """Index of class/struct/union before the base list comma at k, within this declaration."""
        while k >= 0:
            t = self.t[k]
            if t.kind == "punct" and t.text in (";", "{", "}", "=", "(", "["):
                return None
            if t.kind == "id" and t.text in ("class", "struct", "union"):
                return k
            k -= 1
        return None

    def class_name(self, kw, b):
        words = []
        k = kw + 1
        while k < b:
            t = self.t[k]
            if t.kind == "punct" and t.text == ":":
                break
            if t.kind == "punct" and t.text in ("(", "[") and self.match[k] is not None:
                k = self.match[k] + 1  # alignas(...), [[attributes]]
                continue
            words.append(k)
            k += 1
        while words and self.text(words[-1]) == "final":
            words.pop()
        if words and self.text(words[-1]) in (">", ">>"):
            o = self.angle_open(words[-1])
            words = [w for w in words if o is None or w < o]
        return self.t[words[-1]].text if words and self.t[words[-1]].kind == "id" else ""

    def functions(self):
        """Every function body: Function objects, in order of their opening braces."""
        found, scopes = [], []  # scopes: (kind, class name or None)
        for b, t in enumerate(self.t):
            if t.kind != "punct":
                continue
            if t.text == "}":
                if scopes:
                    scopes.pop()
                continue
            if t.text != "{":
                continue
            kind, name = "block", None
            params = self.find_params(b - 1) if b > 0 else None
            what = self.callee(params) if params is not None else None
            if what and what[0] == "function":
                kind = "function"
                _, spelled, s = what
                if "::" not in spelled:  # a member defined in its class: name it Class::f
                    outer = []
                    for scope_kind, scope_name in reversed(scopes):
                        if scope_kind != "class" or not scope_name:
                            break
                        outer.insert(0, scope_name)
                    spelled = "::".join(outer + [spelled])
                close = self.match[b]
                if close is not None:
                    found.append(Function(spelled, self.t[s].line, t.line, self.t[close].line,
                                          self.t[self.declaration_start(s)].line))
            elif what:
                kind = what[0]
            else:
                block = self.block_kind(b)
                kind, name = block[0], (block[1] if len(block) > 1 else None)
            scopes.append((kind, name))
        return found


# ----------------------------------------------------------------------------------------------
# Reasons and measuring a file.

FUNCTION_REASON = re.compile(r"long-function:\s*(.*)")
FILE_REASON = re.compile(r"long-file:\s*(.*)")


def _reason(regex, comment):
    m = regex.search(comment)
    if not m:
        return None
    reason = m.group(1).strip()
    if reason.endswith("*/"):
        reason = reason[:-2].strip()
    return reason or None


def reason_above(line, comments, code_lines):
    """The long-function reason in the comment-only lines directly above line, if any."""
    k = line - 1
    while k >= 1 and k in comments and k not in code_lines:
        for c in comments[k]:
            r = _reason(FUNCTION_REASON, c)
            if r:
                return r
        k -= 1
    return None


def measure(text):
    """(line count, long-file reason or None, [Function], [parse problem])."""
    lines = text.count("\n") + (1 if text and not text.endswith("\n") else 0)
    tokens, comments, code_lines = lex(text)
    match, problems = match_brackets(tokens)
    file_reason = None
    for k in range(1, 16):
        for c in comments.get(k, []):
            file_reason = file_reason or _reason(FILE_REASON, c)
    functions = Parser(tokens, match).functions()
    for f in functions:
        f.reason = (reason_above(f.start_line, comments, code_lines) or reason_above(f.line, comments, code_lines)
                    or next((_reason(FUNCTION_REASON, c) for c in comments.get(f.line, []) if _reason(FUNCTION_REASON, c)), None))
    return lines, file_reason, functions, problems


# ----------------------------------------------------------------------------------------------
# Self-test: snippets whose functions and lengths are known.

SELF_TESTS = [
    ("lexing: braces in comments, strings, raw strings, characters; nested lambdas; namespace a::b", r'''
#include <string>
#define OPEN {
#define CALL(x) \
  { x; }
namespace a::b {
// a comment with { a brace
/* a block { comment
   } that ends here */
const char* s = "}{\"{";
const char* r = R"x(a ) " } { )x";
const char* e = R"(})";
const char c = '{', q = '\'', d = '"';
const int big = 1'000'000;
int f(int x) {
  if (x > 0) {
    return '}';
  } else if constexpr (sizeof(int) == 4) {
    x = u8"{"[0];
  }
  for (int i = 0; i < x; ++i) {
    auto g = [&](int y) {
      return [y] { return y + R"re([{(]+)re"[0]; };
    };
    while (x) { --x; }
  }
  switch (x) { default: break; }
  try { f(1); } catch (const std::exception& err) { return 0; }
  return 1;
}
}  // namespace a::b
''', [("f", 16)], None),
    ("classes: inline members, constructors with initializer lists, operators, enums, extern C", r'''
template <typename T>
struct Box {
  Box() = default;
  explicit Box(T v) : value_(v), count_{1} {
    ++count_;
  }
  T get() const { return value_; }
  int operator()(int k) const {
    return k + count_;
  }
  bool operator==(const Box& o) const noexcept { return value_ == o.value_; }
  auto twice() const -> std::vector<T> {
    return {value_, value_};
  }
  operator bool() const { return true; }
  struct Inner {
    void poke() noexcept(true) override final {}
  };
  T value_;
  int count_{0};
  int table_[2] = {1, 2};
};
enum class Colour : int { red, green };
class Widget final : public Base<int, 2>, private Other {
 public:
  Widget(int a, int b);
  ~Widget() override;
};
Widget::Widget(int a, int b)
    : Base<int, 2>(a),
      size_{b} {
  setup();
}
Widget::~Widget() {}
extern "C" {
int c_entry(void) { return 0; }
}
''', [("Box::Box", 3), ("Box::get", 1), ("Box::operator()", 3), ("Box::operator==", 1),
            ("Box::twice", 3), ("Box::operator bool", 1), ("Box::Inner::poke", 1),
            ("Widget::Widget", 3), ("Widget::~Widget", 1), ("c_entry", 1)], None),
    ("templates, a function returning a lambda, initializers, operators out of line", r'''
namespace {
template <typename T, int N = 3>
T clamp(T x, T lo, T hi) {
  std::vector<int> v{1, 2, 3};
  int w[] = {4, 5};
  return x < lo ? lo : (x > hi ? hi : x);
}
}  // namespace
std::function<int(int)> make_adder(int n) {
  return [n](int x) {
    return x + n;
  };
}
auto make_other() {
  return [](auto x) mutable -> int { return x; };
}
template <>
int pick<int>(int x) { return x; }
std::ostream& operator<<(std::ostream& os, const Widget& w) {
  return os << w.size();
}
const auto global_lambda = [](int x) {
  return x;
};
Point origin{0, 0};
Grid::Cell& Grid::operator[](int k) {
  return cells_[k];
}
''', [("clamp", 5), ("make_adder", 5), ("make_other", 3), ("pick<int>", 1), ("operator<<", 3),
            ("Grid::operator[]", 3)], None),
    ("reasons: above the definition, above the template line, none", r'''
// long-file: one generated table, kept whole
namespace {
// long-function: one table, row by row; splitting it hides the layout
int table() {
  return 1;
}
// a plain comment

template <typename T>
T other(T x) {
  return x;
}
// A comment about third.
// long-function: the reason sits above the template line
template <typename T>
T third(T x) {
  return x;
}
// long-function:
int empty_reason() {
  return 0;
}
}  // namespace
''', [("table", 3, "one table, row by row; splitting it hides the layout"), ("other", 3, None),
         ("third", 3, "the reason sits above the template line"), ("empty_reason", 3, None)],
     "one generated table, kept whole"),
]


def self_test():
    failures = 0
    for title, code, expected, file_reason in SELF_TESTS:
        lines, got_file_reason, functions, problems = measure(code)
        got = [(f.name, f.length) + ((f.reason,) if len(expected[0]) == 3 else ()) for f in functions]
        ok = got == expected and not problems and got_file_reason == file_reason
        print(f"{'ok  ' if ok else 'FAIL'} {title}")
        if not ok:
            failures += 1
            print(f"     expected {expected}" + (f", file reason {file_reason!r}" if file_reason else ""))
            print(f"     found    {got}" + (f", file reason {got_file_reason!r}" if got_file_reason else ""))
            for p in problems:
                print(f"     {p}")
    if failures:
        print(f"\ncheck-sizes --self-test: {failures} of {len(SELF_TESTS)} snippet(s) parsed wrongly")
        return 1
    print(f"\ncheck-sizes --self-test: all {len(SELF_TESTS)} snippets parsed as expected")
    return 0


# ----------------------------------------------------------------------------------------------

def sources(paths):
    for path in paths:
        if os.path.isfile(path):
            yield path
            continue
        if not os.path.isdir(path):
            sys.exit(f"check-sizes: no such file or folder: {path}")
        for folder, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files):
                if name.endswith((".h", ".cpp")):
                    yield os.path.join(folder, name)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files or folders (default: src/)")
    parser.add_argument("--max-file-lines", type=int, default=500, metavar="N")
    parser.add_argument("--max-function-lines", type=int, default=80, metavar="N")
    parser.add_argument("--list", type=int, default=0, metavar="N", help="also print the N longest functions")
    parser.add_argument("--self-test", action="store_true", help="check the parser on embedded snippets")
    args = parser.parse_args()
    if args.self_test:
        return self_test()

    def shown(path):
        full = os.path.abspath(path)
        return os.path.relpath(full, root) if full.startswith(root + os.sep) else path

    long_files, long_functions, allowed, everything, broken = [], [], [], [], []
    files = list(sources(args.paths or [os.path.join(root, "src")]))
    for path in files:
        with open(path, errors="replace") as f:
            lines, file_reason, functions, problems = measure(f.read())
        name = shown(path)
        for p in problems:
            broken.append(f"{name}: {p}")
        if lines > args.max_file_lines:
            (allowed if file_reason else long_files).append((f"{name}  {lines} lines", file_reason))
        for fn in functions:
            everything.append((fn.length, name, fn))
            if fn.length > args.max_function_lines:
                (allowed if fn.reason else long_functions).append((describe(name, fn), fn.reason))

    def section(heading, rows):
        print(heading)
        for row, reason in rows or [("none", None)]:
            print(f"  {row}" + (f"  -- {reason}" if reason else ""))

    section(f"files over {args.max_file_lines} lines:", long_files)
    section(f"functions over {args.max_function_lines} lines:", long_functions)
    section("allowed (reason):", allowed)
    if broken:
        section("could not be measured (braces do not balance):", [(b, None) for b in broken])
    if args.list:
        everything.sort(key=lambda e: (-e[0], e[1], e[2].open_line))
        section(f"the {args.list} longest functions:", [(describe(n, fn), fn.reason) for _, n, fn in everything[:args.list]])
    failing = len(long_files) + len(long_functions) + len(broken)
    print(f"\ncheck-sizes: {len(files)} files, {len(everything)} functions; {len(long_files)} file(s) over "
          f"{args.max_file_lines} lines and {len(long_functions)} function(s) over {args.max_function_lines} lines "
          f"without a reason, {len(allowed)} allowed with one"
          + (f", {len(broken)} brace problem(s)" if broken else ""))
    return 1 if failing else 0


def describe(name, fn):
    return f"{name}:{fn.line}  {fn.name}  {fn.length} lines  (body {fn.open_line}-{fn.close_line})"


if __name__ == "__main__":
    sys.exit(main())

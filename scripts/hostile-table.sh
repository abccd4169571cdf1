#!/usr/bin/env bash
# Hostile use (issue 27): does to the built executable what a careless or hostile user does --
# bad options, odd paths, two runs at once, a damaged cache, non-regular files, signals --
# and prints a table of scenario, expected and outcome ("held", or "FAILED: what happened"),
# each with the exit status. Every scenario runs in its own temporary folder with its own
# SSDD_CACHE, on tiny generated data (256 + 64 IDX images of 16x16; python3 writes them);
# one tiny teacher and one tiny run are made first and copied by the scenarios that need them.
# Where a scenario involves the user's files, it also checks that they are unchanged.
# 3 to 5 minutes on 2 cores.
#   scripts/hostile-table.sh [--write] [--only N,N,...] [--keep]
#     --write    also write the table into docs/reliability.md (between its hostile markers)
#     --only L   run only these scenarios (numbers as in the table, comma-separated)
#     --keep     keep the temporary folders, for a look at a failure (the path is printed)
# Exit status: 0 when every scenario held, 1 when any FAILED, 2 for a bad argument.
# Environment: SSDD_BIN (default build/ssdd).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
write=0 keep=0 only=""
while [ $# -gt 0 ]; do
  case $1 in
    --write) write=1 ;;
    --keep) keep=1 ;;
    --only) [ $# -ge 2 ] || { echo "hostile-table: --only needs a list of numbers" >&2; exit 2; }; only=",$2,"; shift ;;
    -h|--help) sed -n 2,15p "$0"; exit 0 ;;
    *) echo "hostile-table: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$only" ] && [ "$write" = 1 ] && { echo "hostile-table: --write needs every scenario (no --only)" >&2; exit 2; }
ssdd=$(realpath "${SSDD_BIN:-build/ssdd}")
[ -x "$ssdd" ] || { echo "hostile-table: $ssdd is not built (scripts/build.sh)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "hostile-table: needs python3 (it writes the tiny data)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/ssdd-hostile.XXXXXX")
# A copy of the executable: a rebuild while the scenarios run must not swap it under them.
cp "$ssdd" "$work/ssdd" && ssdd=$work/ssdd
# Background ssdd processes this script started; ended on exit if still running.
cleanup() {
  if [ -f "$work/bg.pids" ]; then
    while read -r pid; do
      grep -qF "$ssdd" "/proc/$pid/cmdline" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    done <"$work/bg.pids"
  fi
  if [ "$keep" = 1 ]; then echo "hostile-table: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- tiny inputs (python3, no numpy) ----------------------------------------------------
cat >"$work/tool.py" <<'PY'
import os, random, struct, sys, zipfile, zlib

def idx(d, seed):
    """256 train + 64 test 16x16 grey images of 4 classes (a bright square per class), IDX."""
    os.makedirs(d, exist_ok=True)
    rnd, side = random.Random(int(seed)), 16
    for name, n in (("train", 256), ("t10k", 64)):
        labels = [rnd.randrange(4) for _ in range(n)]
        images = bytearray()
        for k in labels:
            for y in range(side):
                for x in range(side):
                    bright = y // 8 == k // 2 and x // 8 == k % 2
                    images.append(min(255, rnd.randrange(40) + (200 if bright else 0)))
        with open(f"{d}/{name}-images-idx3-ubyte", "wb") as f:
            f.write(struct.pack(">IIII", 0x803, n, side, side) + images)
        with open(f"{d}/{name}-labels-idx1-ubyte", "wb") as f:
            f.write(struct.pack(">II", 0x801, n) + bytes(labels))

def pixel(d):
    """One pixel of the first training image changed: same name, size and format."""
    path = f"{d}/train-images-idx3-ubyte"
    b = bytearray(open(path, "rb").read())
    b[16 + 5] ^= 0x5A
    open(path, "wb").write(b)

def rgb_folder(d):
    """A folder: data set of 16x16 RGB PNGs, train/ and test/, two classes."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rnd = random.Random(3)
    for split in ("train", "test"):
        for cls in ("a", "b"):
            os.makedirs(f"{d}/{split}/{cls}", exist_ok=True)
            for i in range(12):
                rows = b"".join(b"\0" + bytes(rnd.randrange(256) for _ in range(48)) for _ in range(16))
                png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0))
                       + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
                open(f"{d}/{split}/{cls}/{i}.png", "wb").write(png)

def largest_record(path):
    """(start, size) of the largest stored tensor record of a torch zip archive."""
    raw = open(path, "rb").read()
    best = None
    for info in zipfile.ZipFile(path).infolist():
        if "/data/" not in info.filename or info.compress_type != zipfile.ZIP_STORED:
            continue
        at = info.header_offset
        name_len, extra_len = struct.unpack("<HH", raw[at + 26:at + 30])
        if best is None or info.file_size > best[1]:
            best = (at + 30 + name_len + extra_len, info.file_size)
    if best is None:
        sys.exit(f"{path}: no stored tensor record")
    return best

def flip(path):
    """One bit flipped in the middle of the largest tensor: the archive still parses."""
    start, size = largest_record(path)
    b = bytearray(open(path, "rb").read())
    b[start + size // 2] ^= 0x04
    open(path, "wb").write(b)

def zero(path):
    """The largest tensor's bytes zeroed in place."""
    start, size = largest_record(path)
    b = bytearray(open(path, "rb").read())
    b[start:start + size] = bytes(size)
    open(path, "wb").write(b)

def halve(path):
    b = open(path, "rb").read()
    open(path, "wb").write(b[: len(b) // 2])

def deep_json(path, depth):
    open(path, "w").write("[" * int(depth) + "]" * int(depth) + "\n")

def deep_toml(path, depth):
    open(path, "w").write("a." * int(depth) + "a = 1\n")

getattr(sys.modules[__name__], sys.argv[1])(*sys.argv[2:])
PY
tool() { python3 "$work/tool.py" "$@"; }

# The experiment config of tests/test_ownership.cpp (HostileRun::config): a teacher in the run
# folder, krrst and random, a one-seed grid. $3 goes into [distill.krrst], $4 into [evaluate].
tiny_config() {  # FILE DATA_DIR [KRRST_EXTRA] [EVALUATE_EXTRA]
  printf '%s' "name = \"tiny\"
preset = \"quick\"
data = \"mnist\"
data_dir = \"$2\"
budget = 10
threads = 1
[teacher]
cache = false
arch = \"convnet:8-16:gap\"
projector = [32, 32]
epochs = 1
batch_size = 64
probe_epochs = 1
[distill]
iterations = 4
checkpoint_every = 2
real_batch = 32
[distill.pool]
arch = \"convnet:8-8\"
[distill.krrst]
method = \"krrst\"
real_augment = \"none\"
${3:-}[baselines]
methods = [\"random\"]
[evaluate]
archs = [\"convnet:8-8\"]
seeds = 1
pretrain_epochs = 1
probe_epochs = 1
${4:-}" >"$1"
}
# The shared tiny run's config: its grid's targets are the source and $TGT (as fashion-mnist).
run_config() {  # FILE [DATA_DIR] [KRRST_EXTRA] [TARGET_DIR]
  tiny_config "$1" "${2:-$D}" "${3:-}" "targets = [\"source\", \"fashion-mnist=${4:-$TGT}\"]
"
}

# ---- shared fixtures, made once -----------------------------------------------------------
shared=$work/shared
D=$shared/data TGT=$shared/target T=$shared/teacher T2=$shared/teacher2 R=$shared/run
declare -A fixture_error=()
fixture() {  # NAME LOG COMMAND...: runs it; on failure remembers why
  local name=$1 log=$2; shift 2
  if ! "$@" >"$log" 2>&1; then
    fixture_error[$name]="fixture $name failed: $(grep -m1 -i 'error' "$log" || tail -n1 "$log")"
    echo "hostile-table: ${fixture_error[$name]}" >&2
  fi
}
teacher_args=(teacher --preset quick --data mnist --data-dir "$D" --arch convnet:8-16:gap --projector "32,32"
              --epochs 1 --batch-size 64 --probe-epochs 1 --threads 1)
started=$SECONDS
mkdir -p "$shared"
export SSDD_CACHE=$shared/cache
echo "hostile-table: tiny data, two tiny teachers and a tiny run in $work ..." >&2
tool idx "$D" 5 && tool idx "$TGT" 6
fixture teacher "$shared/teacher.log" "$ssdd" "${teacher_args[@]}" --out "$T"
fixture teacher2 "$shared/teacher2.log" "$ssdd" "${teacher_args[@]}" --seed 1 --out "$T2"
run_config "$shared/run.toml"
fixture run "$shared/run.log" "$ssdd" run "$shared/run.toml" --out "$R"
echo "hostile-table: fixtures took $((SECONDS - started)) s" >&2

# ---- what a scenario uses (each runs in a subshell, in its folder $S) ----------------------
rc="" rcs=() why="" log=""
cli_count=0
# cli [--limit S] ARGS...: runs ssdd ARGS (killed after S seconds, default 180); sets rc and log.
cli() {
  local limit=180
  [ "$1" = --limit ] && { limit=$2; shift 2; }
  cli_count=$((cli_count + 1))
  log=$S/cmd$cli_count.log
  printf '%s\n' "ssdd $*" >"$S/cmd$cli_count.args"
  timeout -k 5 "$limit" "$ssdd" "$@" >"$log" 2>&1
  rc=$?
  [ "$rc" = 124 ] || [ "$rc" = 137 ] && rc="$rc: killed after ${limit} s"
  rcs+=("$rc")
}
# bg NAME ARGS...: starts ssdd ARGS in the background; sets bgpid and bglog. SIGINT is reset to
# its default first, as for a command typed at a terminal (a non-interactive shell's background
# job ignores it, and ssdd keeps a signal ignored that its parent ignored).
bg() {
  bglog=$S/$1.log; shift
  python3 -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])' \
    "$ssdd" "$@" >"$bglog" 2>&1 &
  bgpid=$!
  echo "$bgpid" >>"$work/bg.pids"
}
# bg_wait: waits for the background ssdd (at most 180 s); sets rc and log to its own.
bg_wait() {
  local deadline=$((SECONDS + 180))
  while kill -0 "$bgpid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
  kill -0 "$bgpid" 2>/dev/null && kill -KILL "$bgpid"
  wait "$bgpid"; rc=$?
  log=$bglog
  rcs+=("$rc")
}
# cli ARGS while the background ssdd runs, then waits for that one, which must end with exit 0;
# rc and log are the foreground command's again afterwards.
cli_while_bg_runs() {
  cli "$@"
  local fg_rc=$rc fg_log=$log
  bg_wait
  exit_is 0 || { why="the background run: $why"; return 1; }
  rc=$fg_rc log=$fg_log
}
# until_true SECONDS COMMAND...: polls the command every 0.1 s until it succeeds.
until_true() {
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.1
  done
}
# The first error line of the last output (or its last line), short and table-safe.
said() {
  local line
  line=$(grep -m1 -E 'error|what\(\)|Segmentation|Aborted|terminate' "$log" 2>/dev/null || tail -n1 "$log" 2>/dev/null)
  line=${line//|//}
  [ ${#line} -gt 140 ] && line="${line:0:140}..."
  printf '%s' "${line:-no output}"
}
# Checks: each sets `why` and fails when it does not hold.
exit_is() {
  local c
  for c; do [ "$rc" = "$c" ] && return 0; done
  why="exit $rc, expected $(IFS=/; echo "$*"): $(said)"
  return 1
}
says() { grep -qF -- "$1" "$log" || { why="the output lacks '$1': $(said)"; return 1; }; }
says_any() {  # TEXT...: one of them
  local text
  for text; do grep -qF -- "$text" "$log" && return 0; done
  why="the output lacks '$1': $(said)"
  return 1
}
says_last() {  # TEXT: in the last line, and in no other
  local last count
  last=$(tail -n1 "$log"); count=$(grep -cF -- "$1" "$log")
  [[ $last == *"$1"* ]] && [ "$count" = 1 ] || { why="'$1' is not the one last line ($count such lines): $(said)"; return 1; }
}
says_not() { ! grep -qF -- "$1" "$log" || { why="the output has '$1': $(said)"; return 1; }; }
says_one_line() {  # the failure is one line: one line in all, or one "ssdd: error:" line
  local lines errors
  lines=$(grep -c . "$log"); errors=$(grep -c 'ssdd: error:' "$log")
  [ "$lines" = 1 ] || [ "$errors" = 1 ] || { why="not one line ($lines lines, $errors error lines): $(said)"; return 1; }
}
absent() { [ ! -e "$1" ] || { why="${1#"$S"/} exists"; return 1; }; }
present() { [ -e "$1" ] || { why="no ${1#"$S"/}: $(said)"; return 1; }; }
need() {
  local f
  for f; do [ -z "${fixture_error[$f]:-}" ] || { why=${fixture_error[$f]}; rc="-"; return 1; }; done
}
# user_files DIR: the user's files in DIR (made if missing), recorded to be checked afterwards.
user_files() {
  mkdir -p "$1"
  printf 'the user%s notes, %s\n' "'s" "$RANDOM" >"$1/notes.txt"
  printf '{"my": "experiment"}\n' >"$1/config.json"
  printf 'not a png of ssdd%s\n' "'s" >"$1/loss.png"
  sha256sum "$1/notes.txt" "$1/config.json" "$1/loss.png" >>"$S/user.sha256"
}
user_file() {  # FILE [TEXT]
  mkdir -p "$(dirname "$1")"
  local default="the user's file"
  printf '%s\n' "${2:-$default}" >"$1"
  sha256sum "$1" >>"$S/user.sha256"
}
copy_of() { cp -a "$1" "$2"; }  # a private copy of a shared fixture
run_actions() {  # CONFIG OUT: `ssdd run --dry-run`, one "stage=action" per line into $S/plan
  cli run "$1" --out "$2" --dry-run
  awk '{ for (i = 2; i <= NF; i++) if ($i == "skipped" || $i == "planned" || $i == "reused") {
           name = $1; for (j = 2; j < i; j++) name = name " " $j; print name "=" $i; break } }' "$log" >"$S/plan"
}
action_of() { sed -n "s/^$1=//p" "$S/plan"; }
plan_is() {  # STAGE ACTION
  local found plan
  found=$(action_of "$1")
  [ "$found" = "$2" ] && return 0
  plan=$(tr '\n' ' ' <"$S/plan")
  why="dry run: $1 is '$found', expected $2 (plan: $plan)"
  return 1
}
# The tiny distillation: krrst (or $METHOD) of the tiny set with $TEACHER, budget and the rest
# given by the caller; $POOL (default convnet:8-8; empty: the preset's) and $THREADS (default 1).
distill_args() {
  printf '%s\n' distill --preset quick --teacher "$TEACHER" --data mnist --data-dir "$D" --method "${METHOD:-krrst}" \
    --checkpoint-every 2 --real-batch 32 --real-augment none --threads "${THREADS:-1}"
  [ -z "${POOL-convnet:8-8}" ] || printf '%s\n' --pool-arch "${POOL-convnet:8-8}"
}
distill() {  # [--limit S] ARGS
  local limit=() args
  [ "$1" = --limit ] && { limit=(--limit "$2"); shift 2; }
  mapfile -t args < <(distill_args)
  cli "${limit[@]}" "${args[@]}" "$@"
}
bg_distill() { local name=$1 args; shift; mapfile -t args < <(distill_args); bg "$name" "${args[@]}" "$@"; }
# A private copy of the tiny run at ./run, with a file of the user's in it.
my_run() { need run && copy_of "$R" "$S/run" && user_file "$S/run/notes.txt"; }
# The tiny run's copy, rerun in the background with krrst at ITERATIONS iterations (so its
# distill stage runs again); returns once that stage has started.
bg_run_distilling() {  # ITERATIONS
  my_run || return 1
  run_config cfg.toml "$D" "iterations = $1
"
  bg first run cfg.toml --out run
  until_true 60 grep -q "starting in .*distill/krrst" "$bglog" && return 0
  bg_wait
  why="the run did not start distilling: $(said)"
  return 1
}
my_teacher() { need teacher && copy_of "$T" "$S/teacher" && TEACHER=$S/teacher; }

# ---- the scenarios ----------------------------------------------------------------------
# Each is a function that returns 0 when the behaviour held; `why` says what happened if not.

# 1. Deleting what is not ours
s_label() {  # LABEL
  user_files out
  tiny_config cfg.toml "$D" "[distill.\"$1\"]
method = \"krrst\"
"
  cli run cfg.toml --out out --force
  exit_is 1 && says_any "not a plain name" "must start with a letter or digit" && absent out/.ssdd
}
s_label_dotdot() { s_label ..; }
s_label_dot() { s_label .; }
s_name_dotdot() {
  user_files here
  tiny_config cfg.toml "$D"
  sed -i 's/^name = "tiny"/name = ".."/' cfg.toml
  cd here || return 1; cli run ../cfg.toml; cd "$S" || return 1
  exit_is 1 && absent here/.ssdd && absent here/config.toml
}
s_out_unmarked_run() {
  user_files mine
  tiny_config cfg.toml "$D"
  cli run cfg.toml --out mine
  exit_is 1 && says "was not made by ssdd" && says "--force" && absent mine/.ssdd
}
s_out_unmarked_teacher() {
  user_files mine
  cli "${teacher_args[@]}" --out mine
  exit_is 1 && says "was not made by ssdd" && absent mine/teacher.pt
}
s_out_unmarked_distill() {
  my_teacher || return 1
  user_files mine
  distill --budget 10 --iterations 4 --out mine
  exit_is 1 && says "was not made by ssdd" && absent mine/distilled.pt
}
s_out_unmarked_baseline() {
  need teacher || return 1
  copy_of "$T" teacher
  user_files mine
  cli baseline random --teacher teacher --data-dir "$D" --budget 10 --threads 1 --out mine
  exit_is 1 && says "was not made by ssdd" && absent mine/distilled.pt
}
s_out_unmarked_evaluate() {
  need teacher run || return 1
  copy_of "$T" teacher && cp "$R/baselines/random/distilled.pt" set.pt
  user_files mine
  cli evaluate --preset quick --distilled set.pt --teacher teacher --data-dir "$D" --arch convnet:8-8 --seeds 1 \
    --pretrain-epochs 1 --probe-epochs 1 --threads 1 --out mine
  exit_is 1 && says "was not made by ssdd" && absent mine/results.json
}
s_out_dot() {
  user_files here
  tiny_config cfg.toml "$D"
  cd here || return 1; cli run ../cfg.toml --out .; cd "$S" || return 1
  exit_is 1 && says "was not made by ssdd" && absent here/.ssdd
}
s_out_is_a_file() {
  user_file notes.txt
  tiny_config cfg.toml "$D"
  cli run cfg.toml --out notes.txt
  exit_is 1 && says "notes.txt"
}
s_force_keeps_other_names() {
  my_teacher || return 1
  user_file mine/notes.txt
  user_file mine/thesis.tex '\section{Results}'
  distill --budget 10 --iterations 4 --out mine --force
  exit_is 0 && present mine/distilled.pt
}
s_stage_linked_outside() {
  my_run || return 1
  mv run/distill/krrst elsewhere && ln -s "$S/elsewhere" run/distill/krrst
  sha256sum elsewhere/distilled.pt >>user.sha256
  user_file elsewhere/precious.txt
  run_config cfg.toml "$D" "iterations = 6
"
  cli run cfg.toml --out run
  exit_is 1 && says "refusing to clear"
}
s_stage_replaced_by_users() {
  my_run || return 1
  rm -rf run/distill/krrst
  user_files run/distill/krrst
  run_config cfg.toml "$D" "iterations = 6
"
  cli run cfg.toml --out run
  exit_is 1 && says "run/distill/krrst" && absent run/distill/krrst/distilled.pt
}
s_clear_keeps_users_files() {
  my_run || return 1
  user_file run/distill/notes.txt
  run_config cfg.toml "$D" "iterations = 6
"
  cli run cfg.toml --out run/
  exit_is 0 && says "clearing it and starting again" && present run/distill/krrst/distilled.pt
}
s_odd_out_path() {
  my_teacher || return 1
  distill --budget 10 --iterations 4 --out "my runs/ü 1"
  exit_is 0 && present "my runs/ü 1/distilled.pt"
}
s_report_only_foreign() {
  user_files mine
  cli run quick --out mine --report-only
  exit_is 1 && says "made by ssdd" && absent mine/report.md
}

# 2. Stale results
s_other_images_rerun() {
  my_run || return 1
  copy_of "$D" data
  run_config cfg.toml "$S/data"
  run_actions cfg.toml run
  exit_is 0 && plan_is teacher skipped && plan_is "distill krrst" skipped || { why="premise (same images): $why"; return 1; }
  tool pixel data
  run_actions cfg.toml run
  exit_is 0 && plan_is teacher planned && plan_is "distill krrst" planned && plan_is "baseline random" planned &&
    plan_is "evaluate main" planned
}
s_other_images_run_reruns() {
  my_run || return 1
  copy_of "$D" data
  run_config cfg.toml "$S/data"
  tool pixel data
  cli run cfg.toml --out run
  exit_is 0 || return 1
  local skipped
  skipped=$(python3 -c 'import json,sys; print(" ".join(s["name"] for s in json.load(open(sys.argv[1]))["stages"] if s["action"] == "skipped"))' run/run.json)
  [ -z "$skipped" ] || { why="served as current: $skipped"; return 1; }
}
s_same_images_elsewhere() {
  my_run || return 1
  cp -r "$D" data  # new mtimes
  run_config cfg.toml "$S/data"
  run_actions cfg.toml run
  exit_is 0 && plan_is teacher skipped && plan_is "distill krrst" skipped && plan_is "baseline random" skipped &&
    plan_is "evaluate main" skipped
}
s_target_changed() {
  my_run || return 1
  copy_of "$TGT" target
  run_config cfg.toml "$D" "" "$S/target"
  cli run cfg.toml --out run  # the grid, now naming a copy of the same images, is current
  exit_is 0 && says "evaluate main] skipped" || return 1
  local before after
  before=$(wc -l < run/evaluate/main/cells.jsonl)
  run_actions cfg.toml run
  exit_is 0 && plan_is "evaluate main" skipped || { why="premise (same target): $why"; return 1; }
  tool pixel target
  run_actions cfg.toml run
  exit_is 0 && plan_is teacher skipped && plan_is "distill krrst" skipped && plan_is "evaluate main" planned || return 1
  cli run cfg.toml --out run
  after=$(sed -n 's/.* cells, \([0-9]*\) already done.*/\1/p' "$log" | tail -n1)
  exit_is 0 && [ -n "$after" ] && [ "$after" -lt "$before" ] || { why="${why:-cells reused after the change: $after of $before}"; return 1; }
}
s_folder_as_config() {
  mkdir -p folder
  cli run folder --dry-run
  exit_is 1 && says "is a folder, not a config file"
}
s_folder_named_quick() {
  mkdir -p quick && user_file quick/notes.txt
  cli run quick --out quick --dry-run
  exit_is 0 && says "using the built-in config 'quick'" && says "distill ours"
}

# 3. Checksums
# The tiny teacher's copy damaged by COMMAND, then distilled from: refused, naming teacher.pt.
teacher_refused() {  # COMMAND...
  my_teacher || return 1
  "$@"
  distill --budget 10 --iterations 4 --out out
  exit_is 1 && says "teacher/teacher.pt" && says_one_line && absent out/distilled.pt
}
s_teacher_flipped() { teacher_refused tool flip teacher/teacher.pt; }
s_teacher_swapped() { need teacher2 && teacher_refused cp "$T2/teacher.pt" teacher/teacher.pt; }
s_teacher_truncated() { teacher_refused tool halve teacher/teacher.pt; }
s_reps_zeroed() {
  my_teacher || return 1
  distill --budget 10 --iterations 4 --out first
  exit_is 0 || return 1
  local cache
  cache=$(ls teacher/reps/*.pt 2>/dev/null | head -n1)
  [ -n "$cache" ] || { why="no representation cache in the teacher folder"; return 1; }
  tool zero "$cache"
  distill --budget 10 --iterations 4 --out second
  exit_is 0 && says "failed its checksum; recomputing" || return 1
  cli info --digest first/distilled.pt && sed 's/^[^ ]* //' "$log" >first.digest
  cli info --digest second/distilled.pt && sed 's/^[^ ]* //' "$log" >second.digest
  cmp -s first.digest second.digest || { why="the set made after the rebuild differs from the first"; return 1; }
}
s_set_flipped_inspect() {
  need run || return 1
  cp "$R/baselines/random/distilled.pt" set.pt
  tool flip set.pt
  cli inspect set.pt
  exit_is 1 && says "checksum" && says_one_line
}
s_set_flipped_evaluate() {
  need teacher run || return 1
  copy_of "$T" teacher && cp "$R/baselines/random/distilled.pt" set.pt
  tool flip set.pt
  cli evaluate --preset quick --distilled set.pt --teacher teacher --data-dir "$D" --arch convnet:8-8 --seeds 1 \
    --pretrain-epochs 1 --probe-epochs 1 --threads 1 --out out
  exit_is 1 && says "set.pt" && says_one_line && absent out/results.json
}

# 4. Locks
s_two_runs_one_folder() {
  bg_run_distilling 300 || return 1
  cli_while_bg_runs run cfg.toml --out run || return 1
  exit_is 1 && says "in use by another ssdd process (pid $bgpid" || return 1
  local dup
  dup=$(python3 -c 'import json,sys,collections; c=collections.Counter(json.loads(l).get("key") for l in open(sys.argv[1]) if l.strip()); print(" ".join(k for k,n in c.items() if n>1))' run/evaluate/main/cells.jsonl)
  [ -z "$dup" ] || { why="cells written twice: $dup"; return 1; }
}
s_stage_into_running_run() {
  bg_run_distilling 300 || return 1
  TEACHER=$S/run/teacher
  distill --budget 10 --iterations 4 --out run/distill/krrst
  local stage_rc=$rc stage_log=$log
  kill -TERM "$bgpid"; bg_wait
  rc=$stage_rc log=$stage_log
  exit_is 1 && says "in use by another ssdd process"
}
s_shared_teacher_waits() {
  tiny_config a.toml "$D"
  sed -i -e 's/^cache = false$/cache = true/' -e 's/^epochs = 1$/epochs = 30/' a.toml
  bg first run a.toml --out a
  local first=$bgpid
  until_true 60 grep -q "teacher\] starting in" "$bglog" || { bg_wait; why="the first run never started its teacher: $(said)"; return 1; }
  cli_while_bg_runs run a.toml --out b || return 1
  exit_is 0 && says "waiting for pid $first" || return 1
  python3 -c 'import json,sys; s=[s for s in json.load(open(sys.argv[1]))["stages"] if s["name"]=="teacher"][0]; sys.exit(s["action"]!="skipped")' b/run.json ||
    { why="the second run trained the teacher again"; return 1; }
}
s_killed_run_no_stale_lock() {
  bg_run_distilling 60 || return 1
  kill -KILL "$bgpid"; bg_wait
  cli run cfg.toml --out run
  exit_is 0 && says "resuming in" && present run/report.md
}

# 5. Resource limits
s_budget_zero() {
  my_teacher || return 1
  distill --limit 30 --budget 0 --iterations 4 --out out
  exit_is 1 2 && says "budget" && absent out/distilled.pt
}
s_budget_negative() {
  my_teacher || return 1
  distill --limit 30 --budget -1 --iterations 4 --out out
  exit_is 1 2 && says "budget" && absent out/distilled.pt
}
s_budget_word() {
  my_teacher || return 1
  distill --limit 30 --budget abc --iterations 4 --out out
  exit_is 2 && says "--budget" && absent out/distilled.pt
}
s_baseline_budget_zero() {
  need teacher || return 1
  copy_of "$T" teacher
  cli --limit 30 baseline random --teacher teacher --data-dir "$D" --budget 0 --threads 1 --out out
  exit_is 1 2 && says "budget" && absent out/distilled.pt
}
s_threads_10000() {
  my_teacher || return 1
  THREADS=10000 distill --limit 30 --budget 10 --iterations 4 --out out
  exit_is 1 2 && says "threads" && absent out/distilled.pt
}
s_pool_size() {
  my_teacher || return 1
  distill --limit 30 --pool-size 100000 --budget 10 --iterations 4 --out out
  exit_is 1 && says "pool.size" && says "at most" && absent out/distilled.pt
}
s_pool_memory() {
  my_teacher || return 1
  POOL=convnet:1024-1024-1024 distill --limit 60 --pool-size 1000 --budget 10 --iterations 4 --out out
  exit_is 1 && says "needed" && says "pool" && absent out/distilled.pt
}
s_bench_m() {
  cli --limit 60 bench --m 100000 --threads 1
  exit_is 1 && says "needed"
}
s_config_dev_zero() {
  cli --limit 20 run /dev/zero --dry-run
  exit_is 1 && says "/dev/zero" && says_one_line
}
s_config_fifo() {
  mkfifo cfg.toml
  cli --limit 20 run cfg.toml --dry-run
  exit_is 1 && says "cfg.toml" && says_one_line
}
s_distill_config_fifo() {
  mkfifo cfg.json
  cli --limit 20 distill --config cfg.json --out out
  exit_is 1 2 && says "cfg.json"
}
s_inspect_dev_zero() {
  cli --limit 20 inspect /dev/zero
  exit_is 1 && says "/dev/zero" && says_one_line
}
s_inspect_fifo() {
  mkfifo set.pt
  cli --limit 20 inspect set.pt
  exit_is 1 && says "set.pt" && says_one_line
}
s_idx_fifo() {
  copy_of "$D" data
  rm data/train-images-idx3-ubyte && mkfifo data/train-images-idx3-ubyte
  cli --limit 20 info --data mnist --data-dir data
  exit_is 1 && says "train-images" && says_one_line
}
s_config_huge() {
  truncate -s 200M cfg.toml
  cli --limit 20 run cfg.toml --dry-run
  exit_is 1 && says "cfg.toml" && says_one_line
}
s_deep_json() {
  tool deep_json cfg.json 100000
  cli --limit 20 run cfg.json --dry-run
  exit_is 1 && says "cfg.json" && says "deep" && says_one_line
}
s_deep_toml() {
  tool deep_toml cfg.toml 100000
  cli --limit 20 run cfg.toml --dry-run
  exit_is 1 && says "cfg.toml" && says_one_line
}

# 6. Words
s_sigterm_distill() {  # SIGNAL EXIT
  local signal=${1:-TERM} code=${2:-143}
  my_teacher || return 1
  bg_distill first --budget 10 --iterations 400 --out out
  until_true 60 compgen -G "$S/out/checkpoints/checkpoint.ckpt" >/dev/null || { bg_wait; why="no checkpoint appeared: $(said)"; return 1; }
  kill -"$signal" "$bgpid"; bg_wait
  exit_is "$code" && says_last "stopped by SIG$signal at " && says "resume with" && absent out/distilled.pt || return 1
  distill --budget 10 --iterations 400 --out out --resume
  exit_is 0 && present out/distilled.pt
}
s_sigint_distill() { s_sigterm_distill INT 130; }
s_sigterm_run() {
  bg_run_distilling 300 || return 1
  sleep 1
  kill -TERM "$bgpid"; bg_wait
  exit_is 143 && says "stopped by SIGTERM at " && says "resume with" || return 1
  grep -q "stopped by SIGTERM" run/log || { why="the run's log does not say it was stopped"; return 1; }
  cli run cfg.toml --out run
  exit_is 0 && present run/report.md
}
s_budget_string() {
  tiny_config cfg.toml "$D"
  sed -i 's/^budget = 10/budget = "ten"/' cfg.toml
  cli run cfg.toml --dry-run --out out
  exit_is 1 && says "budget" && says_one_line
}
s_ours_over_budget() {
  my_teacher || return 1
  METHOD=ours distill --limit 60 --budget 1000 --image-bases 4 --rep-bases 4 --iterations 4 --out out
  exit_is 1 && says "budget" && says_not "initial indices" && says_one_line
}
s_channel_mismatch() {
  need teacher || return 1
  copy_of "$T" teacher
  tool rgb_folder rgb
  cli distill --preset quick --teacher teacher --data "folder:$S/rgb" --method krrst --budget 4 --iterations 2 \
    --real-batch 8 --pool-arch convnet:8-8 --real-augment none --threads 1 --out out
  exit_is 1 && says_any "channel" "1x16x16 images" && says_not "weight of size" && says_not "Exception raised from" && says_one_line
}
s_teacher_epochs_zero() {
  cli --limit 30 "${teacher_args[@]}" --epochs 0 --out t
  exit_is 1 2 && says "epochs" && absent t/teacher.pt
}
s_relative_paths() {
  my_run || return 1
  mkdir -p cfgdir elsewhere && copy_of "$D" cfgdir/data && tool idx elsewhere/data 9  # other images at ./data
  run_config cfgdir/cfg.toml data
  cd elsewhere || return 1; run_actions ../cfgdir/cfg.toml ../run; cd "$S" || return 1
  exit_is 0 && plan_is teacher skipped && plan_is "distill krrst" skipped
}
s_misspelled_option() {
  cli distill --budgt 10 --out out
  exit_is 2 && says "--budgt" && absent out
}

# ---- the table ----------------------------------------------------------------------------
rows=() number=0 failures=0
scenario() {  # CLASS FUNCTION "scenario" "expected"
  number=$((number + 1))
  [ -z "$only" ] || [[ $only == *",$number,"* ]] || return 0
  local S=$work/s$number start=$SECONDS verdict
  mkdir -p "$S/cache"
  verdict=$(
    cd "$S" && export SSDD_CACHE=$S/cache
    if "$2" >>"$S/trace" 2>&1; then
      if [ -f "$S/user.sha256" ] && ! sha256sum --quiet -c "$S/user.sha256" >"$S/user.check" 2>&1; then
        why="the user's files changed: $(head -n1 "$S/user.check")"
        false
      fi
    else false; fi
    ok=$?
    exits=$(IFS=','; echo "${rcs[*]:-none}"); exits=${exits//,/, }
    if [ $ok = 0 ]; then echo "held (exit $exits)"; else echo "FAILED: ${why:-no reason given} (exit $exits)"; fi
  )
  verdict=${verdict//|//}
  rows+=("| $number | $1 | $3 | $4 | $verdict |")
  [[ $verdict == held* ]] || failures=$((failures + 1))
  printf 'hostile-table: %2d %-11s %3d s  %s\n' "$number" "$1" $((SECONDS - start)) "${verdict:0:110}" >&2
}

c1="deleting" c2="stale results" c3="checksums" c4="locks" c5="resources" c6="words"
scenario "$c1" s_label_dotdot 'a distilled set labelled `..` (`[distill.".."]`), `--force` on a folder of the user'"'"'s' \
  'refused naming the rule for names; the folder untouched and unmarked'
scenario "$c1" s_label_dot 'a distilled set labelled `.`' 'refused naming the rule for names; the folder untouched'
scenario "$c1" s_name_dotdot 'run name `..` (no `--out`: `runs/..` is the working folder)' \
  'refused; nothing written into the working folder'
scenario "$c1" s_out_unmarked_run '`ssdd run --out` a non-empty folder ssdd did not make (its own config.json, loss.png)' \
  'refused, "was not made by ssdd" and `--force`; files unchanged'
scenario "$c1" s_out_unmarked_teacher '`ssdd teacher --out` the same' 'refused; no teacher.pt'
scenario "$c1" s_out_unmarked_distill '`ssdd distill --out` the same' 'refused; no distilled.pt'
scenario "$c1" s_out_unmarked_baseline '`ssdd baseline --out` the same' 'refused; no distilled.pt'
scenario "$c1" s_out_unmarked_evaluate '`ssdd evaluate --out` the same' 'refused; no results.json'
scenario "$c1" s_out_dot '`ssdd run --out .` in a working folder of the user'"'"'s' 'refused; nothing written'
scenario "$c1" s_out_is_a_file '`ssdd run --out` a file of the user'"'"'s' 'refused naming it; the file unchanged'
scenario "$c1" s_force_keeps_other_names '`ssdd distill --force` into a folder of the user'"'"'s' \
  'runs; the files of other names unchanged'
scenario "$c1" s_stage_linked_outside 'a stage folder replaced by a link to a folder elsewhere, then a settings change' \
  'refused, "refusing to clear"; the linked folder untouched'
scenario "$c1" s_stage_replaced_by_users 'a stage folder replaced by a folder of the user'"'"'s, then a settings change' \
  'refused naming the folder; its files unchanged'
scenario "$c1" s_clear_keeps_users_files 'files of the user'"'"'s in a run folder and in its distill/, then a settings change (`--out run/`)' \
  'the stage cleared and re-run; the user'"'"'s files unchanged'
scenario "$c1" s_odd_out_path '`--out` with a space and a non-ASCII letter' 'works like any other path'
scenario "$c1" s_report_only_foreign '`ssdd run --report-only --out` a folder of the user'"'"'s' \
  'refused; no report written'
scenario "$c2" s_other_images_rerun 'other images under the same data name (one pixel changed), `--dry-run`' \
  'every stage planned again (all skipped before the change)'
scenario "$c2" s_other_images_run_reruns 'the same, `ssdd run` itself' 'exit 0; no stage skipped'
scenario "$c2" s_same_images_elsewhere 'the same images copied to another folder (new mtimes), `--dry-run`' \
  'every stage skipped: nothing re-run for nothing'
scenario "$c2" s_target_changed 'a target data set changed under its name, `--dry-run`' \
  'the grid planned, teacher and distillation skipped; the run re-runs that target'"'"'s cells'
scenario "$c2" s_folder_as_config 'a folder as the config path' 'refused, "is a folder, not a config file"'
scenario "$c2" s_folder_named_quick '`ssdd run quick --out quick` beside a folder named quick' \
  'the built-in quick config, with a note saying so'
scenario "$c3" s_teacher_flipped 'one bit flipped inside teacher.pt'"'"'s weights (the archive still parses)' \
  'distill refused in one line naming teacher.pt'
scenario "$c3" s_teacher_swapped 'another teacher'"'"'s teacher.pt (same architecture) in a teacher folder' \
  'refused in one line naming teacher.pt'
scenario "$c3" s_teacher_truncated 'teacher.pt cut to half its length' 'refused in one line naming teacher.pt'
scenario "$c3" s_reps_zeroed 'the teacher-representation cache entry zeroed in place' \
  'rebuilt with a log line; the distilled set equals the one made before'
scenario "$c3" s_set_flipped_inspect 'one bit flipped inside a distilled.pt, `ssdd inspect`' \
  'refused in one line naming the checksum'
scenario "$c3" s_set_flipped_evaluate 'the same set given to `ssdd evaluate`' 'refused in one line naming the file'
scenario "$c4" s_two_runs_one_folder 'two `ssdd run` into one folder at once' \
  'the second refused naming the first'"'"'s pid; the first ends with exit 0, every grid cell once'
scenario "$c4" s_stage_into_running_run '`ssdd distill --out` a stage folder of a running run' \
  'refused, "in use by another ssdd process"'
scenario "$c4" s_shared_teacher_waits 'two runs that share one cached teacher, started together' \
  'the second waits ("waiting for pid"), then skips the teacher; both exit 0'
scenario "$c4" s_killed_run_no_stale_lock 'a run killed (SIGKILL) mid-distillation, then run again' \
  'no stale lock: it resumes and finishes'
scenario "$c5" s_budget_zero '`ssdd distill --budget 0`' 'refused at once naming budget'
scenario "$c5" s_budget_negative '`ssdd distill --budget -1`' 'refused at once naming budget'
scenario "$c5" s_budget_word '`ssdd distill --budget abc`' 'usage error (exit 2) naming --budget'
scenario "$c5" s_baseline_budget_zero '`ssdd baseline random --budget 0`' 'refused at once naming budget'
scenario "$c5" s_threads_10000 '`ssdd distill --threads 10000`' 'refused within 30 s naming threads'
scenario "$c5" s_pool_size '`ssdd distill --pool-size 100000`' 'refused at once: at most 1,000 models'
scenario "$c5" s_pool_memory '`ssdd distill --pool-size 1000` of ConvNet 1024-1024-1024' \
  'refused with a memory estimate, before allocating'
scenario "$c5" s_bench_m '`ssdd bench --m 100000`' 'refused with a memory estimate, before allocating'
scenario "$c5" s_config_dev_zero '`/dev/zero` as the config' 'refused within 20 s in one line'
scenario "$c5" s_config_fifo 'a FIFO (no writer) as the config' 'refused within 20 s in one line'
scenario "$c5" s_distill_config_fifo 'a FIFO as `ssdd distill --config`' 'refused within 20 s naming it'
scenario "$c5" s_inspect_dev_zero '`ssdd inspect /dev/zero`' 'refused within 20 s in one line'
scenario "$c5" s_inspect_fifo '`ssdd inspect` a FIFO' 'refused within 20 s in one line'
scenario "$c5" s_idx_fifo 'a FIFO in place of train-images-idx3-ubyte' 'refused within 20 s in one line'
scenario "$c5" s_config_huge 'a 200 MB (sparse) config file' 'refused within 20 s, unread'
scenario "$c5" s_deep_json 'a JSON config nested 100,000 deep' 'refused in one line naming the depth; no crash'
scenario "$c5" s_deep_toml 'a TOML config of one key 100,000 dotted parts deep' 'refused in one line; no crash'
scenario "$c6" s_sigterm_distill 'SIGTERM to a running `ssdd distill`, then `--resume`' \
  'exit 143, one line "stopped by SIGTERM at ... resume with ..."; the resume finishes'
scenario "$c6" s_sigint_distill 'SIGINT to a running `ssdd distill`, then `--resume`' \
  'exit 130, one line "stopped by SIGINT ..."; the resume finishes'
scenario "$c6" s_sigterm_run 'SIGTERM to a running `ssdd run`, then the run again' \
  'exit 143, the stop line on screen and in the log; the rerun finishes'
scenario "$c6" s_budget_string '`budget = "ten"` in a config' 'one line naming budget'
scenario "$c6" s_ours_over_budget '`ours` with budget 1000 and small bases (256 images)' \
  'one line naming budget, not "initial indices"'
scenario "$c6" s_channel_mismatch 'a 1-channel teacher on 3-channel images' \
  'one line naming both image shapes, no raw LibTorch error'
scenario "$c6" s_teacher_epochs_zero '`ssdd teacher --epochs 0`' 'refused naming epochs; no teacher.pt'
scenario "$c6" s_relative_paths 'a config with `data_dir = "data"`, run from another folder that has its own data/' \
  'the config'"'"'s folder'"'"'s data/ is read (every stage skipped)'
scenario "$c6" s_misspelled_option 'a misspelled option (`--budgt`)' 'usage error (exit 2) naming it; nothing written'

seconds=$((SECONDS - started))
table=$(printf '| # | class | scenario | expected | outcome |\n|---|---|---|---|---|\n'; printf '%s\n' "${rows[@]}")
echo "$table"
echo "hostile-table: ${#rows[@]} scenarios, $failures FAILED, $seconds s" >&2
if [ "$write" = 1 ]; then
  { echo "\`scripts/hostile-table.sh\` on $(date -u +%Y-%m-%d), $(nproc) cores, $seconds s: ${#rows[@]} scenarios, $failures failed."
    echo; echo "$table"; } | scripts/doc-block.sh docs/reliability.md hostile
  echo "hostile-table: wrote the table into docs/reliability.md" >&2
fi
[ "$failures" = 0 ]

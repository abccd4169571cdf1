#!/usr/bin/env bash
# Carries a teacher that takes longer than one sitting from one machine to the next (issue 24:
# "trained in pieces with --resume"). The run folder and the cache do not survive a session;
# the repository does, so a piece is its resumable state committed under teachers/in-progress/.
#
#   scripts/teacher-piece.sh save ID      after stopping the run (Ctrl-C / SIGTERM: it checkpoints):
#                                         copies $SSDD_CACHE/teachers/ID's checkpoint, config, log
#                                         and stamp into teachers/in-progress/ID/
#   scripts/teacher-piece.sh restore ID   on a fresh machine: puts them back into the cache, so
#                                         `build/ssdd run <config>` resumes the teacher where it stopped
#
# ID is the cache folder's name, e.g. cifar10-1b31d2d7edbbb85f (`build/ssdd run <config> --dry-run`
# prints it). Once the teacher is finished and shipped (`ssdd teacher ship`), delete its piece.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { sed -n '2,14p' "$0" >&2; exit 2; }
action=$1 id=$2
case "$id" in */*|.*|"") echo "teacher-piece: '$id' is not a cache folder name" >&2; exit 2 ;; esac
cache=${SSDD_CACHE:-$HOME/.cache/ssdd}/teachers/$id
piece=teachers/in-progress/$id
files=(.ssdd config.json stage.json log checkpoints/checkpoint.ckpt)
case "$action" in
  save)
    [ -f "$cache/checkpoints/checkpoint.ckpt" ] || { echo "teacher-piece: no checkpoint in $cache" >&2; exit 1; }
    if [ -e "$cache/.ssdd.lock" ] && kill -0 "$(cat "$cache/.ssdd.lock" 2>/dev/null)" 2>/dev/null; then
      echo "teacher-piece: $cache is in use (pid $(cat "$cache/.ssdd.lock")); stop the run first" >&2; exit 1
    fi
    mkdir -p "$piece.tmp/checkpoints"
    for f in "${files[@]}"; do cp "$cache/$f" "$piece.tmp/$f"; done
    rm -rf "$piece" && mv "$piece.tmp" "$piece"
    echo "teacher-piece: saved $(grep -o 'teacher [0-9]*/[0-9]*' "$piece/log" | tail -1) into $piece"
    ;;
  restore)
    [ -f "$piece/checkpoints/checkpoint.ckpt" ] || { echo "teacher-piece: no piece in $piece" >&2; exit 1; }
    if [ -e "$cache/checkpoints/checkpoint.ckpt" ]; then
      echo "teacher-piece: $cache already holds a checkpoint; not overwriting it" >&2; exit 1
    fi
    mkdir -p "$cache/checkpoints"
    for f in "${files[@]}"; do cp "$piece/$f" "$cache/$f"; done
    echo "teacher-piece: restored $piece into $cache; rerun its config to resume"
    ;;
  *) echo "teacher-piece: expected save or restore, found '$action'" >&2; exit 2 ;;
esac

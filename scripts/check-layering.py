#!/usr/bin/env python3
"""Checks the house's arrows (src/ssdd/LAYERS) against the includes of src/ssdd.

Prints, per folder, the folders it may use and those it does use, and fails (exit 1) on
any include that crosses a boundary: a folder it may not use, a stage's internal header
where only the public ones are allowed, a public header that leans on an internal one of
its own folder (the floors above could not compile it), or a folder missing from LAYERS.
The build enforces the same arrows (CMakeLists.txt compiles each folder against only the
headers it may see); this check names every breach at once, with its file and line.

  scripts/check-layering.py [--root DIR] [--build-tree DIR --cxx CXX]

--root: the repository (default: this script's). --build-tree: build/layers, the header trees
CMakeLists.txt makes from LAYERS; each must hold exactly the headers its folder may include,
and CXX must refuse to preprocess a forbidden include through one (the build's enforcement,
shown working).
"""
import argparse
import os
import re
import subprocess
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"ssdd/([a-z_]+)/([A-Za-z0-9_.]+)"')


def read_layers(path):
    order, uses, public = [], {}, {}
    with open(path) as f:
        for number, raw in enumerate(f, 1):
            words = raw.split("#", 1)[0].split()
            if not words:
                continue
            kind, folder, rest = words[0], words[1] if len(words) > 1 else "", words[2:]
            if kind == "uses" and folder:
                for dep in rest:
                    name = dep.split(":")[0]
                    if name not in uses:
                        sys.exit(f"{path}:{number}: {folder} uses {name}, which is not listed before it")
                uses[folder] = {d.split(":")[0]: d.endswith(":public") for d in rest}
                order.append(folder)
            elif kind == "public" and folder in uses:
                public[folder] = set(rest)
            else:
                sys.exit(f"{path}:{number}: expected 'uses FOLDER DEP...' or 'public FOLDER HEADER...' "
                         f"of a folder listed before, found '{raw.strip()}'")
    return order, uses, public


def scan(src, folder):
    """(file, line, used folder, header) for every ssdd include of a folder's files."""
    found = []
    for name in sorted(os.listdir(os.path.join(src, folder))):
        path = os.path.join(src, folder, name)
        with open(path, errors="replace") as f:
            for number, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if m:
                    found.append((f"{folder}/{name}", number, m.group(1), m.group(2)))
    return found


def headers(src, folder):
    return sorted(h for h in os.listdir(os.path.join(src, folder)) if h.endswith(".h"))


def may_include(folder, dep, header, uses, public):
    if dep == folder:
        return True
    if dep not in uses[folder]:
        return False
    return not uses[folder][dep] or header in public.get(dep, set())


def check_build_tree(tree_root, cxx, src, order, uses, public):
    """Problems of the build's header trees, and the compiler's verdict on a forbidden include."""
    problems, probe = [], None
    for folder in order:
        for dep in order:
            for header in headers(src, dep):
                allowed = may_include(folder, dep, header, uses, public)
                present = os.path.exists(os.path.join(tree_root, folder, "ssdd", dep, header))
                if allowed and not present:
                    problems.append(f"{tree_root}/{folder} lacks ssdd/{dep}/{header}, which {folder} may include")
                elif present and not allowed:
                    problems.append(f"{tree_root}/{folder} holds ssdd/{dep}/{header}, which {folder} may not include")
                elif not allowed and probe is None and dep in uses[folder]:
                    probe = (folder, dep, header)  # an internal header of a stage it may use
    if probe and cxx:
        folder, dep, header = probe
        run = subprocess.run([cxx, "-E", "-x", "c++", "-I", os.path.join(tree_root, folder), "-o", os.devnull, "-"],
                             input=f'#include "ssdd/{dep}/{header}"\n', capture_output=True, text=True)
        verdict = "refused" if run.returncode != 0 and header in run.stderr else "ACCEPTED"
        print(f"compiler on {folder}/ including ssdd/{dep}/{header}: {verdict}")
        if verdict != "refused":
            problems.append(f"{cxx} preprocessed ssdd/{dep}/{header} through {tree_root}/{folder}: not enforced")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    parser.add_argument("--build-tree", help="build/layers: check the build's header trees too")
    parser.add_argument("--cxx", help="with --build-tree: the compiler that must refuse a forbidden include")
    args = parser.parse_args()
    src = os.path.join(args.root, "src", "ssdd")
    order, uses, public = read_layers(os.path.join(src, "LAYERS"))
    problems = []
    folders = sorted(d for d in os.listdir(src) if os.path.isdir(os.path.join(src, d)))
    for folder in folders:
        if folder not in uses:
            problems.append(f"src/ssdd/{folder}/ is not in src/ssdd/LAYERS: say what it may use")
    for folder, headers in public.items():
        for header in sorted(headers):
            if not os.path.isfile(os.path.join(src, folder, header)):
                problems.append(f"src/ssdd/LAYERS names {folder}/{header} public; no such file")

    rows = []
    for folder in order:
        if not os.path.isdir(os.path.join(src, folder)):
            problems.append(f"src/ssdd/LAYERS lists {folder}; there is no src/ssdd/{folder}/")
            continue
        actual = set()
        for file, line, dep, header in scan(src, folder):
            where = f"src/ssdd/{file}:{line}"
            if dep == folder:
                own_public = public.get(folder, set())
                if os.path.basename(file) in own_public and header not in own_public:
                    problems.append(f"{where}: the public header includes {folder}/{header}, which is not public")
                continue
            actual.add(dep)
            if dep not in uses[folder]:
                problems.append(f"{where}: {folder} may not use {dep} (includes ssdd/{dep}/{header})")
            elif not may_include(folder, dep, header, uses, public):
                problems.append(f"{where}: {folder} may use only {dep}'s public headers; {header} is internal")
        allowed = " ".join(d + (":public" if p else "") for d, p in uses[folder].items()) or "-"
        used = " ".join(d for d in uses[folder] if d in actual)
        used += "".join(f" {d}(!)" for d in sorted(actual - set(uses[folder])))
        rows.append((folder, allowed, used.strip() or "-"))
    width = max([len(r[1]) for r in rows] + [7])
    print(f"{'folder':<11} {'may use':<{width}}  uses")
    for folder, allowed, used in rows:
        print(f"{folder:<11} {allowed:<{width}}  {used}")

    if args.build_tree and not problems:
        problems += check_build_tree(args.build_tree, args.cxx, src, order, uses, public)

    if problems:
        print(f"\ncheck-layering: {len(problems)} include(s) cross a boundary:", file=sys.stderr)
        for p in problems:
            print("  " + p, file=sys.stderr)
        return 1
    print("\ncheck-layering: every include follows src/ssdd/LAYERS")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""add_run.py - copies a kvbench run directory into papers/alexstorage/runs/LABEL/ and names it in runs.txt.

usage: add_run.py LABEL RUN_DIR "what the run is"
Only what the paper is built from is kept: manifest.json and the result JSONs, written compactly (the same
JSON values); summary.csv is kept for readers, histograms.csv is dropped (the JSONs hold the histograms).
Run under Debian's /usr/bin/python3."""
import json
import os
import re
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    if len(sys.argv) != 4 or not re.match(r"^[a-z0-9][a-z0-9-]*$", sys.argv[1]):
        sys.exit(__doc__.strip().splitlines()[2] + "\n(LABEL: lower-case letters, digits and dashes)")
    label, src, desc = sys.argv[1:]
    if not os.path.isfile(os.path.join(src, "manifest.json")):
        sys.exit("add_run.py: %s is not a run directory (no manifest.json)" % src)
    dst = os.path.join(HERE, "runs", label)
    if os.path.exists(dst):
        shutil.rmtree(dst)
    os.makedirs(dst)
    n = 0
    for name in sorted(os.listdir(src)):
        path = os.path.join(src, name)
        if name.endswith(".json"):
            with open(path) as f:
                value = json.load(f)
            with open(os.path.join(dst, name), "w") as f:
                json.dump(value, f, separators=(",", ":"))
            n += 1
        elif name == "summary.csv":
            shutil.copy(path, dst)
    runs = os.path.join(HERE, "runs.txt")
    lines = [l for l in open(runs).read().splitlines() if not re.match(r"^%s\s" % re.escape(label), l)]
    lines.append("%-10s papers/alexstorage/runs/%s  # %s" % (label, label, desc))
    with open(runs, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("add_run.py: %s <- %s (%d JSON files)" % (dst, src, n))


if __name__ == "__main__":
    main()

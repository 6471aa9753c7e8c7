#!/usr/bin/python3
"""lint.py - the paper's prose holds no TODO and no typed-in number: every figure is a macro.

usage: lint.py paper.tex      exit 1 naming each line that breaks a rule.
Digits are allowed only in the preamble, the bibliography, comments, and identifiers that name a type
(int64, uint64, uint32)."""
import re
import sys

ALLOWED = re.compile(r"\b(u?int(32|64))\b")


def main():
    text = open(sys.argv[1]).read()
    body = text.split("\\begin{document}", 1)[1].split("\\begin{thebibliography}", 1)[0]
    bad = []
    for no, line in enumerate(body.splitlines(), start=text.split("\\begin{document}")[0].count("\n") + 1):
        line = re.sub(r"(?<!\\)%.*", "", line)
        if "TODO" in line:
            bad.append((no, "TODO", line))
        prose = ALLOWED.sub("", line)
        prose = re.sub(r"\\(ref|label|cite|gen|genfig|input)\{[^}]*\}", "", prose)
        if re.search(r"[0-9]", prose):
            bad.append((no, "typed-in number", line.strip()))
    for no, why, line in bad:
        print("%s:%d: %s: %s" % (sys.argv[1], no, why, line))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()

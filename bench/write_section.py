"""Replaces one named section of docs/BENCHMARKS.md (between <!-- NAME:start --> and
<!-- NAME:end -->) with standard input, so each benchmark script updates only its own figures."""

import sys

path, name = sys.argv[1], sys.argv[2]
body = sys.stdin.read().rstrip() + "\n"
start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
try:
    text = open(path).read()
except FileNotFoundError:
    text = "# Herald benchmarks\n\nFigures come from the commands shown, never from timed unit tests.\n"
if start in text and end in text:
    before, rest = text.split(start, 1)
    after = rest.split(end, 1)[1]
    text = f"{before}{start}\n{body}{end}{after}"
else:
    text = f"{text.rstrip()}\n\n{start}\n{body}{end}\n"
open(path, "w").write(text)

#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check that libamanuensis.so exports exactly the documented public API.

usage: check_api.py LIBRARY.so HEADER...

Every function declared in the given headers must carry a kernel-doc comment
(a "/**" block whose first line names it: "/** name - what it does") and be
exported by the library; every symbol the library exports (nm -D
--defined-only) must be one of those functions. Prints one line per problem
and a closing "api: N passed, N failed" line; exits 1 on any problem.
"""
import re
import subprocess
import sys

# a file-scope prototype: starts at column 0, ends with ");"
DECL = re.compile(r"^(?!static|typedef|#|struct [\w ]*\{|enum [\w ]*\{)[A-Za-z_][^;{}]*?\b([a-z_][a-z0-9_]*)\s*\([^;{}]*\)\s*;", re.M)
DOC = re.compile(r"/\*\*(?:\s|\*)*([a-z_][a-z0-9_]*)\s+-\s[^\0]*?\*/", re.M)


def declared(path):
    """Map each function declared at file scope in @path to whether the
    kernel-doc block just before it names it."""
    text = open(path, encoding="utf-8").read()
    docs = [(m.start(), m.end(), m.group(1)) for m in DOC.finditer(text)]
    out = {}
    for m in DECL.finditer(text):
        name = m.group(1)
        before = [d for d in docs if d[1] <= m.start()]
        out[name] = bool(before) and before[-1][2] == name and \
            text[before[-1][1]:m.start()].strip() == ""
    return out


def exported(lib):
    res = subprocess.run(["nm", "-D", "--defined-only", lib], capture_output=True, text=True, check=True)
    syms = set()
    for line in res.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TtWwDdBbRr":
            syms.add(parts[2])
    # the C++ runtime and linker add these to any shared object
    return {s for s in syms if not s.startswith(("_init", "_fini", "_edata", "_end", "__bss_start"))}


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    lib, headers = argv[1], argv[2:]
    api = {}
    for h in headers:
        for name, documented in declared(h).items():
            api[name] = (h, documented)
    syms = exported(lib)
    problems = 0
    for name, (h, documented) in sorted(api.items()):
        if not documented:
            print(f"api: {name} ({h}) has no kernel-doc comment")
            problems += 1
        if name not in syms:
            print(f"api: {name} ({h}) is declared but not exported by {lib}")
            problems += 1
    for s in sorted(syms - set(api)):
        print(f"api: {lib} exports {s}, which no public header declares")
        problems += 1
    print(f"api: {len(api) + len(syms - set(api)) - problems} passed, {problems} failed"
          f" ({len(api)} functions in {len(headers)} headers, {len(syms)} exported)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

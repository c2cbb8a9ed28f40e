#!/usr/bin/python3
"""amalgamate.py - libcxmetrics as one cxmetrics.c plus cxmetrics.h.

Usage: amalgamate.py [--srcdir DIR] [--out DIR] [--cc CC] [--no-check]
                     [--line-directives]

Writes OUT/cxmetrics.c and OUT/cxmetrics.h (OUT defaults to ./amalgamation):

  * cxmetrics.h is include/cxmetrics.h, copied unchanged.
  * cxmetrics.c is lib/internal.h, lib/timeparse.h and the library's .c files
    (in the order of lib_libcxmetrics_la_SOURCES in Makefile.am, i.e. exactly
    what goes into libcxmetrics) concatenated. Local includes ("internal.h",
    any other lib/*.h) are inlined once and removed afterwards; system
    includes stay where they are; "cxmetrics.h" is included by name.
  * CXM_HIDDEN (the library's internal linkage marker) is defined as
    `static` at the top, so every internal function is file-local. Macros a
    .c file defines are #undef'd after it, so they cannot leak into the
    next file.
  * File-scope names that two .c files define alike (static helpers, types,
    enumerators) would clash in one translation unit. They are found by
    compiling the amalgamation (CC -std=c11 -Wall -Wextra -Werror, with
    #line directives so errors name the original file) and renamed in the
    later file to FILE__NAME (e.g. csv__is_digit); repeated until it compiles.
    The sources in lib/ are never changed. The renames are listed on stderr
    and in the file's banner.

Then, unless --no-check, it verifies the result:
  * it compiles with -Werror and needs no config.h (no unresolved local
    include, no HAVE_* / PACKAGE_* macro);
  * the object's global symbols are exactly the public ones (the names in
    lib/libcxmetrics.sym): no internal name leaks;
  * with -DCXM_API=static (-Wno-unused-function) it defines no global
    symbol at all.

Exit status: 0 on success, 1 on any failure (with the compiler's output).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

# Headers inlined first, in this order (the brief order: internal, timeparse).
HEADERS_FIRST = ["internal.h", "timeparse.h"]
# Macros that must precede every system header: hoisted to the top.
FEATURE_MACROS = {"_POSIX_C_SOURCE", "_XOPEN_SOURCE", "_GNU_SOURCE",
                  "_DEFAULT_SOURCE", "_BSD_SOURCE", "_DARWIN_C_SOURCE"}
MAX_PASSES = 20

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
DEFINE_RE = re.compile(r'^\s*#\s*define\s+([A-Za-z_]\w*)')
HIDDEN_DEFINE_RE = re.compile(r'^\s*#\s*define\s+CXM_HIDDEN\b')
# gcc/clang diagnostics that mean "this name is already defined elsewhere".
CLASH_RE = re.compile(
    r"^(?P<file>[^:\s]+):(?P<line>\d+):(?:\d+:)? error: (?:"
    r"redefinition of|conflicting types for|redeclaration of(?: enumerator)?|"
    r"nested redefinition of|static declaration of|"
    r"redefinition of typedef)"
    r" ['\u2018](?:(?:struct|union|enum) )?(?P<name>[A-Za-z_]\w*)['\u2019]")
CLASH_RE2 = re.compile(
    r"^(?P<file>[^:\s]+):(?P<line>\d+):(?:\d+:)? error: "
    r"['\u2018](?P<name>[A-Za-z_]\w*)['\u2019] redeclared as different kind of symbol")
PREV_RE = re.compile(
    r"^(?P<file>[^:\s]+):(?P<line>\d+):(?:\d+:)? note: (?:previous|originally)")


def die(msg):
    sys.stderr.write("amalgamate: %s\n" % msg)
    sys.exit(1)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def library_sources(srcdir):
    """lib/*.c in the order of lib_libcxmetrics_la_SOURCES in Makefile.am."""
    mk = read(os.path.join(srcdir, "Makefile.am"))
    m = re.search(r"^lib_libcxmetrics_la_SOURCES\s*=((?:.*\\\n)*.*)$", mk, re.M)
    if not m:
        die("lib_libcxmetrics_la_SOURCES not found in Makefile.am")
    listed = [w for w in m.group(1).replace("\\\n", " ").split()]
    sources = [w for w in listed if w.endswith(".c")]
    if not sources:
        die("no .c file in lib_libcxmetrics_la_SOURCES")
    on_disk = sorted("lib/" + f for f in os.listdir(os.path.join(srcdir, "lib"))
                     if f.endswith(".c"))
    for f in on_disk:
        if f not in sources:
            sys.stderr.write("amalgamate: warning: %s is not in "
                             "lib_libcxmetrics_la_SOURCES: left out, as from "
                             "the library\n" % f)
    for f in sources:
        if not os.path.isfile(os.path.join(srcdir, f)):
            die("%s (in Makefile.am) does not exist" % f)
    return sources


# ---- token-level renaming (outside comments, strings and char literals) ----
TOKEN_RE = re.compile(r"""
    (?P<comment>/\*.*?\*/|//[^\n]*|\#[ \t]*include[^\n]*)
  | (?P<string>"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')
  | (?P<ident>[A-Za-z_]\w*)
  | (?P<other>.)
""", re.S | re.X)


def rename_identifiers(text, renames):
    if not renames:
        return text
    parts = []
    for m in TOKEN_RE.finditer(text):
        tok = m.group(0)
        if m.lastgroup == "ident" and tok in renames:
            tok = renames[tok]
        parts.append(tok)
    return "".join(parts)


# ---- building the amalgamation text ------------------------------------------
class Builder:
    def __init__(self, srcdir, sources, renames, line_directives):
        self.srcdir = srcdir
        self.sources = sources
        self.renames = renames          # {"lib/x.c": {old: new}}
        self.lines = line_directives
        self.inlined = set()
        self.have_cxmetrics_h = False
        self.feature_macros = []

    def header_path(self, name):
        p = os.path.join(self.srcdir, "lib", name)
        return p if os.path.isfile(p) else None

    def emit_file(self, rel, out):
        text = read(os.path.join(self.srcdir, rel))
        text = rename_identifiers(text, self.renames.get(rel, {}))
        is_c = rel.endswith(".c")
        defined = []
        out.append("/* ======== %s ======== */\n" % rel)
        if self.lines:
            out.append('#line 1 "%s"\n' % rel)
        lineno = 0
        # Logical lines: keep backslash continuations together.
        physical = text.splitlines(keepends=True)
        i = 0
        while i < len(physical):
            line = physical[i]
            start = i
            while line.rstrip("\n").endswith("\\") and i + 1 < len(physical):
                i += 1
                line += physical[i]
            i += 1
            lineno = i
            resync = False
            inc = INCLUDE_RE.match(line)
            d = DEFINE_RE.match(line)
            if inc and inc.group(1) == '"':
                name = inc.group(2)
                if name == "cxmetrics.h":
                    if self.have_cxmetrics_h:
                        out.append("/* #include \"cxmetrics.h\": above */\n")
                    else:
                        out.append('#include "cxmetrics.h"\n')
                        self.have_cxmetrics_h = True
                    continue
                hp = self.header_path(name)
                if hp is None:
                    die('%s:%d: local include "%s" is not in lib/ (an '
                        'amalgamation needs no config.h or other generated '
                        'header)' % (rel, start + 1, name))
                if name in self.inlined:
                    out.append("/* #include \"%s\": inlined above */\n" % name)
                else:
                    self.emit_header(name, out)
                    resync = True
            elif HIDDEN_DEFINE_RE.match(line):
                out.append("/* %s: CXM_HIDDEN is static here */\n"
                           % line.strip().replace("*/", "* /"))
            elif d and d.group(1) in FEATURE_MACROS:
                self.feature_macros.append(line.strip())
                out.append("/* %s: hoisted to the top */\n" % d.group(1))
            else:
                if d and is_c:
                    defined.append(d.group(1))
                out.append(line)
            if resync and self.lines:
                out.append('#line %d "%s"\n' % (lineno + 1, rel))
        if not text.endswith("\n"):
            out.append("\n")
        if defined:
            out.append("/* %s's own macros end here */\n" % rel)
            for name in sorted(set(defined)):
                out.append("#undef %s\n" % name)
        out.append("\n")

    def emit_header(self, name, out):
        self.inlined.add(name)
        self.emit_file("lib/" + name, out)

    def build(self, banner):
        body = []
        for h in HEADERS_FIRST:
            if h not in self.inlined and self.header_path(h):
                self.emit_header(h, body)
        for c in self.sources:
            self.emit_file(c, body)
        head = [banner]
        if self.feature_macros:
            seen = set()
            for fm in self.feature_macros:
                name = DEFINE_RE.match(fm).group(1)
                if name in seen:
                    continue
                seen.add(name)
                head.append("#ifndef %s\n%s\n#endif\n" % (name, fm))
        head.append(
            "#define CXM_AMALGAMATION 1\n"
            "/* Internal functions and data: file-local in the amalgamation. */\n"
            "#undef CXM_HIDDEN\n"
            "#define CXM_HIDDEN static\n\n")
        if not self.have_cxmetrics_h:
            head.append('#include "cxmetrics.h"\n\n')
        return "".join(head + body)


def version(srcdir):
    h = read(os.path.join(srcdir, "include", "cxmetrics.h"))
    parts = []
    for k in ("MAJOR", "MINOR", "PATCH"):
        m = re.search(r"#define CXM_VERSION_%s (\d+)" % k, h)
        parts.append(m.group(1) if m else "?")
    return ".".join(parts)


def make_banner(srcdir, sources, renames):
    lines = [
        "/*",
        " * cxmetrics.c - libcxmetrics %s as a single C file (amalgamation)." % version(srcdir),
        " * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.",
        " *",
        " * GENERATED by scripts/amalgamate.py (make amalgamation): do not edit;",
        " * change lib/ and regenerate. See docs/vendoring.md.",
        " *",
        " * Compile it beside cxmetrics.h as C11 with any options, e.g.",
        " *   cc -std=c11 -O2 -c cxmetrics.c        and link with -lm",
        " * It needs only the C library and libm: no config.h, no -D option.",
        " * Optional: -DCXM_API=static when you #include \"cxmetrics.c\" into one",
        " * of your own files (all of the library becomes file-local there).",
        " *",
        " * Contents: lib/internal.h, lib/timeparse.h, then",
    ]
    for s in sources:
        lines.append(" *   %s" % s)
    flat = [(f, o, n) for f in sources for o, n in sorted(renames.get(f, {}).items())]
    if flat:
        lines.append(" * File-local names renamed to avoid clashes in one file:")
        for f, o, n in flat:
            lines.append(" *   %s: %s -> %s" % (f, o, n))
    lines.append(" */")
    return "\n".join(lines) + "\n"


def run(cmd, cwd=None):
    env = dict(os.environ, LC_ALL="C")  # plain quotes in diagnostics
    p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, env=env,
                       stderr=subprocess.STDOUT, universal_newlines=True)
    return p.returncode, p.stdout


def public_symbols(srcdir):
    sym = read(os.path.join(srcdir, "lib", "libcxmetrics.sym"))
    sym = re.sub(r"/\*.*?\*/", "", sym, flags=re.S)
    sym = re.sub(r"#[^\n]*", "", sym)
    names = set()
    for m in re.finditer(r"\b(cxm_\w+)\s*;", sym):
        names.add(m.group(1))
    return names


def global_symbols(obj, nm):
    rc, out = run(nm.split() + ["-g", "--defined-only", "-P", obj])
    if rc != 0:
        die("%s failed on %s:\n%s" % (nm, obj, out))
    return {l.split()[0] for l in out.splitlines() if l.strip()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--srcdir", default=os.path.join(os.path.dirname(
        os.path.abspath(__file__)), ".."))
    ap.add_argument("--out", default="amalgamation")
    ap.add_argument("--cc", default=os.environ.get("CC") or "cc")
    ap.add_argument("--nm", default=os.environ.get("NM") or "nm")
    ap.add_argument("--no-check", action="store_true",
                    help="do not compile: no clash detection, no checks")
    ap.add_argument("--line-directives", action="store_true",
                    help="keep #line directives naming lib/ files")
    a = ap.parse_args()
    srcdir = os.path.normpath(a.srcdir)
    cc = a.cc.split()
    sources = library_sources(srcdir)
    os.makedirs(a.out, exist_ok=True)
    out_h = os.path.join(a.out, "cxmetrics.h")
    out_c = os.path.join(a.out, "cxmetrics.c")
    shutil.copyfile(os.path.join(srcdir, "include", "cxmetrics.h"), out_h)

    renames = {}
    tmp = tempfile.mkdtemp(prefix="cxm-amalg.")
    try:
        if not a.no_check:
            # Clash detection: compile with #line so errors name lib/ files.
            for _ in range(MAX_PASSES):
                b = Builder(srcdir, sources, renames, True)
                text = b.build(make_banner(srcdir, sources, renames))
                probe = os.path.join(tmp, "cxmetrics.c")
                with open(probe, "w", encoding="utf-8") as f:
                    f.write(text)
                shutil.copyfile(out_h, os.path.join(tmp, "cxmetrics.h"))
                rc, log = run(cc + ["-std=c11", "-Wall", "-Wextra", "-Werror",
                                    "-fsyntax-only", "-I", tmp, probe],
                              cwd=srcdir)
                if rc == 0:
                    break
                new = find_clashes(log, sources)
                if not new:
                    sys.stderr.write(log)
                    die("the amalgamation does not compile (above)")
                for f, name in new:
                    stem = os.path.splitext(os.path.basename(f))[0]
                    renames.setdefault(f, {})[name] = "%s__%s" % (stem, name)
                    sys.stderr.write("amalgamate: %s: file-local '%s' clashes "
                                     "with an earlier file: renamed %s__%s\n"
                                     % (f, name, stem, name))
            else:
                die("clashes remain after %d passes" % MAX_PASSES)

        b = Builder(srcdir, sources, renames, a.line_directives)
        text = b.build(make_banner(srcdir, sources, renames))
        for bad in re.findall(r"\b(?:HAVE_\w+|PACKAGE_\w+)\b", text):
            die("the amalgamation uses %s, a configure result: it must not "
                "need config.h" % bad)
        with open(out_c, "w", encoding="utf-8") as f:
            f.write(text)

        if not a.no_check:
            check(a, cc, srcdir, out_c, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("amalgamation: %s (%d lines), %s; %d file-local renames"
          % (out_c, text.count("\n"), out_h,
             sum(len(v) for v in renames.values())))


def find_clashes(log, sources):
    """(later file, name) for each clash between two lib/*.c files."""
    clashes = []
    lines = log.splitlines()
    for i, line in enumerate(lines):
        m = CLASH_RE.match(line) or CLASH_RE2.match(line)
        if not m:
            continue
        f, name = m.group("file"), m.group("name")
        prev = None
        for nxt in lines[i + 1:i + 6]:
            pm = PREV_RE.match(nxt)
            if pm:
                prev = pm.group("file")
                break
        if f not in sources or prev not in sources or prev == f:
            # A clash with a header or the public API is a real error.
            continue
        if name.startswith("cxm_") and not name.startswith("cxm__"):
            continue
        if (f, name) not in clashes:
            clashes.append((f, name))
    return clashes


def check(a, cc, srcdir, out_c, tmp):
    base = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-O2",
            "-I", os.path.dirname(os.path.abspath(out_c))]
    obj = os.path.join(tmp, "cxmetrics.o")
    rc, log = run(cc + base + ["-c", "-o", obj, out_c])
    if rc != 0:
        sys.stderr.write(log)
        die("%s does not compile with -Wall -Wextra -Werror" % out_c)
    have = global_symbols(obj, a.nm)
    want = public_symbols(srcdir)
    leaked = sorted(have - want)
    missing = sorted(want - have)
    if leaked:
        die("non-public global symbols in the amalgamation (make them static "
            "or CXM_HIDDEN in lib/): %s" % " ".join(leaked))
    if missing:
        die("public symbols of lib/libcxmetrics.sym not defined by the "
            "amalgamation: %s" % " ".join(missing))
    obj2 = os.path.join(tmp, "cxmetrics-static.o")
    rc, log = run(cc + base + ["-DCXM_API=static", "-Wno-unused-function",
                               "-c", "-o", obj2, out_c])
    if rc != 0:
        sys.stderr.write(log)
        die("%s does not compile with -DCXM_API=static" % out_c)
    left = sorted(global_symbols(obj2, a.nm))
    if left:
        die("with -DCXM_API=static these symbols are still global: %s"
            % " ".join(left))
    print("amalgamation: checked: -Wall -Wextra -Werror clean; %d global "
          "symbols = lib/libcxmetrics.sym; none with -DCXM_API=static"
          % len(have))


if __name__ == "__main__":
    main()

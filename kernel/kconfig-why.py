#!/usr/bin/python3
"""kconfig-why.py KSRC CONFIG SYM...: say why each Kconfig symbol has the
value it has in CONFIG: its dependencies (including enclosing if/menu
blocks) and what selects it, each symbol annotated with its value.

Uses Debian's kconfiglib. kconfiglib 14.1 predates the bare `modules`
attribute of kernel 6.1's MODULES symbol, so that one line is rewritten to
the older `option modules` spelling while reading.
"""
import io
import os
import re
import sys

import kconfiglib


def open_compat(orig):
    def _open(self, filename, mode):
        with orig(self, filename, mode) as f:
            text = f.read()
        return io.StringIO(re.sub(r"(?m)^(\s+)modules\s*$", r"\1option modules", text))
    return _open


def value_of(sc):
    if isinstance(sc, kconfiglib.Symbol):
        if not sc.nodes:          # undefined here, e.g. another arch's symbol
            return sc.name
        return "%s [=%s]" % (sc.name, sc.str_value)
    return str(sc)


def main():
    if len(sys.argv) < 4:
        sys.exit("usage: kconfig-why.py KSRC CONFIG SYM...")
    src, cfg, syms = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3:]
    # What the kernel's Makefile exports before running its Kconfig.
    env = {"srctree": ".", "ARCH": "x86", "SRCARCH": "x86", "KERNELVERSION": "6.1",
           "CC": "gcc", "LD": "ld", "HOSTCC": "gcc", "HOSTCXX": "g++",
           "OBJCOPY": "objcopy", "RUSTC": "rustc", "BINDGEN": "bindgen"}
    for k, v in env.items():
        os.environ.setdefault(k, v)
    os.environ.setdefault("CC_VERSION_TEXT", os.popen("gcc --version").readline().strip())
    os.chdir(src)
    kconfiglib.Kconfig._open = open_compat(kconfiglib.Kconfig._open)
    kconf = kconfiglib.Kconfig("Kconfig", warn=False)
    kconf.load_config(cfg)

    for name in syms:
        sym = kconf.syms.get(name)
        if sym is None or not sym.nodes:
            print("CONFIG_%s: no such symbol in this kernel" % name)
            continue
        node = sym.nodes[0]
        print("CONFIG_%s [=%s] (%s:%d)" % (name, sym.str_value, node.filename, node.linenr))
        if sym.direct_dep is not kconf.y:
            print("    depends on: " + kconfiglib.expr_str(sym.direct_dep, value_of))
        if not any(n.prompt for n in sym.nodes):
            print("    no prompt: only set by its default or a select")
        if sym.rev_dep is not kconf.n:
            print("    selected by: " + kconfiglib.expr_str(sym.rev_dep, value_of))
        if sym.choice is not None:
            print("    in a choice; selected: %s" %
                  (sym.choice.selection.name if sym.choice.selection else "none"))


if __name__ == "__main__":
    main()

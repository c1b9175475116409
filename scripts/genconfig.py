#!/usr/bin/python3
"""Write husk's config header and make fragment from .config.

The header has "#define CONFIG_X value" for every set symbol, like the
kernel's autoconf.h, plus "#define IS_ENABLED_CONFIG_X 0|1" for every bool
symbol, which lib/kconfig.h's IS_ENABLED() reads.

usage: genconfig.py KCONFIG DOTCONFIG HEADER MAKEFRAG
"""
import os
import sys

import kconfiglib


def write_if_changed(path, text):
    try:
        with open(path) as f:
            if f.read() == text:
                return
    except FileNotFoundError:
        pass
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    kconfig, dotconfig, header, makefrag = sys.argv[1:5]
    kconf = kconfiglib.Kconfig(kconfig, warn_to_stderr=True)
    kconf.load_config(dotconfig)

    lines = ["/* Generated from .config by scripts/genconfig.py. */",
             "#ifndef HUSK_CONFIG_H", "#define HUSK_CONFIG_H", ""]
    for sym in kconf.unique_defined_syms:
        val = sym.str_value
        name = "CONFIG_" + sym.name
        if sym.orig_type in (kconfiglib.BOOL, kconfiglib.TRISTATE):
            on = val in ("y", "m")
            if on:
                lines.append("#define %s 1" % name)
            lines.append("#define IS_ENABLED_%s %d" % (name, 1 if on else 0))
        elif sym.orig_type == kconfiglib.STRING:
            lines.append('#define %s "%s"' % (name, kconfiglib.escape(val)))
        elif sym.orig_type in (kconfiglib.INT, kconfiglib.HEX) and val:
            lines.append("#define %s %s" % (name, val))
    lines += ["", "#endif", ""]
    write_if_changed(header, "\n".join(lines))

    kconf.write_config(makefrag + ".tmp", header="# Generated from .config\n")
    os.replace(makefrag + ".tmp", makefrag)


if __name__ == "__main__":
    main()

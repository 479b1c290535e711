#!/usr/bin/env python3
"""Generate unicode_data.h: the Unicode character classes the byte-level BPE pre-tokenizer needs.

    python3 tools/gen_unicode.py [--ucd DIR] [-o unicode_data.h]

Reads UnicodeData.txt (general categories) and PropList.txt (White_Space) from the Unicode
Character Database, by default Debian's `unicode-data` package (/usr/share/unicode), and
writes a sorted table of code point ranges, one class per range:

    UC_OTHER   everything else (punctuation, symbols, controls, unassigned, ...)
    UC_LETTER  \\p{L}   general categories Lu Ll Lt Lm Lo
    UC_NUMBER  \\p{N}   Nd Nl No
    UC_SPACE   \\s      the White_Space property (what \\s matches in the Llama 3 / Qwen2 regexes)
    UC_MARK    \\p{M}   Mn Mc Me, only with --marks (the Llama 3 / Qwen2 patterns do not use \\p{M}:
                       marks are "other" there, so by default they are UC_OTHER; 1562 vs 1919 ranges)

White_Space is not in UnicodeData.txt. It is read from PropList.txt; if that file is missing
the list below (White_Space of Unicode 15.0, unchanged since Unicode 6.0) is used instead.
Each table entry is (first code point << 3) | class; a range runs to the next entry's start.
Python 3 standard library only.
"""
import argparse
import os
import re
import sys

UC_OTHER, UC_LETTER, UC_NUMBER, UC_SPACE, UC_MARK = range(5)
NAMES = ["UC_OTHER", "UC_LETTER", "UC_NUMBER", "UC_SPACE", "UC_MARK"]
CATEGORY_CLASS = {
    "Lu": UC_LETTER, "Ll": UC_LETTER, "Lt": UC_LETTER, "Lm": UC_LETTER, "Lo": UC_LETTER,
    "Nd": UC_NUMBER, "Nl": UC_NUMBER, "No": UC_NUMBER,
    "Mn": UC_MARK, "Mc": UC_MARK, "Me": UC_MARK,
}
MAX_CP = 0x10FFFF

# PropList.txt White_Space (used only when PropList.txt is absent)
WHITE_SPACE_FALLBACK = [
    (0x0009, 0x000D),  # <control> TAB, LF, VT, FF, CR
    (0x0020, 0x0020),  # SPACE
    (0x0085, 0x0085),  # <control> NEXT LINE
    (0x00A0, 0x00A0),  # NO-BREAK SPACE
    (0x1680, 0x1680),  # OGHAM SPACE MARK
    (0x2000, 0x200A),  # EN QUAD .. HAIR SPACE
    (0x2028, 0x2029),  # LINE SEPARATOR, PARAGRAPH SEPARATOR
    (0x202F, 0x202F),  # NARROW NO-BREAK SPACE
    (0x205F, 0x205F),  # MEDIUM MATHEMATICAL SPACE
    (0x3000, 0x3000),  # IDEOGRAPHIC SPACE
]


def read_categories(path):
    """Class of every code point from UnicodeData.txt (First/Last pairs are ranges)."""
    cls = bytearray(MAX_CP + 1)
    first = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = line.rstrip("\n").split(";")
            if len(fields) < 3:
                continue
            cp, name, cat = int(fields[0], 16), fields[1], fields[2]
            c = CATEGORY_CLASS.get(cat, UC_OTHER)
            if name.endswith(", First>"):
                first = cp
                continue
            lo = first if (first is not None and name.endswith(", Last>")) else cp
            first = None
            for x in range(lo, cp + 1):
                cls[x] = c
    return cls


def read_white_space(path):
    ranges = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^([0-9A-F]+)(?:\.\.([0-9A-F]+))?\s*;\s*White_Space\b", line)
            if m:
                lo = int(m.group(1), 16)
                ranges.append((lo, int(m.group(2), 16) if m.group(2) else lo))
    if not ranges:
        sys.exit("%s: no White_Space entries" % path)
    return ranges


def unicode_version(ucd):
    """"15.0.0" from ReadMe.txt ("... for Version 15.0.0 ...") or a file header ("PropList-15.0.0.txt")."""
    for name in ("ReadMe.txt", "PropList.txt", "UnicodeData.txt"):
        try:
            with open(os.path.join(ucd, name), encoding="utf-8", errors="replace") as f:
                head = f.read(20000)
        except OSError:
            continue
        m = re.search(r"Version (\d+\.\d+\.\d+)", head) or re.search(r"-(\d+\.\d+\.\d+)\.txt", head)
        if m:
            return m.group(1)
    return "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ucd", default="/usr/share/unicode", help="directory of the Unicode Character Database")
    ap.add_argument("--unicode-data", help="UnicodeData.txt (default: UCD/UnicodeData.txt)")
    ap.add_argument("--proplist", help="PropList.txt (default: UCD/PropList.txt, built-in list if absent)")
    ap.add_argument("--marks", action="store_true", help="give \\p{M} its own class UC_MARK (default: UC_OTHER)")
    ap.add_argument("-o", "--output", default="unicode_data.h")
    a = ap.parse_args()

    ud = a.unicode_data or os.path.join(a.ucd, "UnicodeData.txt")
    pl = a.proplist or os.path.join(a.ucd, "PropList.txt")
    cls = read_categories(ud)
    if not a.marks:
        cls = cls.replace(bytes([UC_MARK]), bytes([UC_OTHER]))
    if os.path.exists(pl):
        ws, ws_src = read_white_space(pl), "PropList.txt"
    else:
        ws, ws_src = WHITE_SPACE_FALLBACK, "the list in tools/gen_unicode.py"
    for lo, hi in ws:
        for x in range(lo, hi + 1):
            cls[x] = UC_SPACE

    entries = []                                  # (start, class), runs of equal class merged
    for cp in range(MAX_CP + 1):
        if not entries or entries[-1][1] != cls[cp]:
            entries.append((cp, cls[cp]))

    version = unicode_version(a.ucd if not a.unicode_data else os.path.dirname(ud))
    out = []
    out.append("/* unicode_data.h - Unicode character classes for the byte-level BPE pre-tokenizer.")
    out.append(" * GENERATED by tools/gen_unicode.py from the Unicode Character Database %s" % version)
    out.append(" * (UnicodeData.txt general categories, White_Space from %s). Do not edit." % ws_src)
    out.append(" * Classes: UC_LETTER \\p{L}, UC_NUMBER \\p{N}, UC_SPACE White_Space (\\s), %sUC_OTHER the rest" %
               ("UC_MARK \\p{M}, " if a.marks else ""))
    out.append(" * (%sunassigned included). Entry = (first code point << 3) | class; a range runs up to" %
               ("" if a.marks else "marks and "))
    out.append(" * the next entry's first code point; %d ranges. */" % len(entries))
    out.append("#ifndef UNICODE_DATA_H")
    out.append("#define UNICODE_DATA_H")
    out.append("#include <stdint.h>")
    out.append("")
    out.append("enum { %s };" % ", ".join("%s = %d" % (n, i) for i, n in enumerate(NAMES)))
    out.append("")
    out.append("static const uint32_t unicode_ranges[%d] = {" % len(entries))
    line = " "
    for start, c in entries:
        item = " 0x%x," % ((start << 3) | c)
        if len(line) + len(item) > 100:
            out.append(line)
            line = " "
        line += item
    out.append(line)
    out.append("};")
    out.append("")
    out.append("/* class of code point cp (UC_OTHER beyond U+10FFFF) */")
    out.append("static int unicode_class(uint32_t cp) {")
    out.append("    if (cp > 0x10FFFF) return UC_OTHER;")
    out.append("    uint32_t key = (cp << 3) | 7;")
    out.append("    int lo = 0, hi = (int)(sizeof unicode_ranges / sizeof unicode_ranges[0]) - 1;")
    out.append("    while (lo < hi) {                     /* last entry <= key */")
    out.append("        int mid = (lo + hi + 1) / 2;")
    out.append("        if (unicode_ranges[mid] <= key) lo = mid; else hi = mid - 1;")
    out.append("    }")
    out.append("    return (int)(unicode_ranges[lo] & 7);")
    out.append("}")
    out.append("#endif /* UNICODE_DATA_H */")
    with open(a.output, "w", encoding="ascii") as f:
        f.write("\n".join(out) + "\n")
    print("%s: %d ranges, Unicode %s" % (a.output, len(entries), version), file=sys.stderr)


if __name__ == "__main__":
    main()

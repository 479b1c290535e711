#!/usr/bin/env python3
"""Static check of XTheadVector (RVV 0.7.1) code: every th.v* instruction of a disassembly
against the vtype (SEW, LMUL) of the th.vsetvli in force, on every path through its function.

    riscv64-linux-gnu-objdump -d llm-rv-xthead > llm.dis    (binutils >= 2.42 decodes th.v*)
    python3 tests/xthead_check.py [--no-spills] llm.dis ... exit status 1 if anything is flagged
    python3 tests/xthead_check.py --selftest                each rule on a small example

A compiler's register allocation can produce operands that the C920 rejects (illegal
instruction) or, where the spec calls an encoding reserved, executes with undefined results.
The rules (RVV 0.7.1; T-Head's emulator enforces the same ones):
  - a register group of EMUL registers starts at a multiple of EMUL; EMUL is LMUL, or 2*LMUL
    for the wide operands of widening and narrowing instructions (so these need LMUL <= 4 and
    SEW <= 32); segment accesses need nf * LMUL <= 8; no fractional LMUL, no EDIV other than 1;
  - a widening destination overlaps none of its narrow sources, a narrowing destination not its
    wide source; a compare's mask destination overlaps no source group when LMUL > 1;
  - a masked instruction (v0.t) does not write v0 unless LMUL = 1 (never a widening one);
    vmerge / vadc write v0 only at LMUL = 1; slide-up, vrgather, vcompress: vd is no source;
  - floating-point arithmetic needs SEW >= 16;
  - every instruction of the vector major opcodes (OP-V, and LOAD-FP / STORE-FP with a vector
    width) decodes as th.v*: no RVV 1.0 instruction (vsetivli, vzext, ...) slipped in.
Reductions, scalar moves (vmv.s.x, vfmv.f.s, ...) and mask logic take single registers.
The vtype is followed through each function's branches and jumps (unknown at entry and after
a call); a vector instruction reached without a th.vsetvli in force is flagged too.
--no-spills also flags every function that reads vlenb: GCC reads it only to lay out stack
slots for vector register groups, i.e. spill code, and GCC 14's spill code for XTheadVector
reloads register groups under another LMUL (misaligned, or overwriting the next registers).
Without the option such functions are listed as notes.
"""
import io
import re
import sys

VREG = re.compile(r"^v([0-9]|[12][0-9]|3[01])$")
BRANCHES = {"beq", "bne", "blt", "bge", "bltu", "bgeu", "beqz", "bnez", "blez", "bgez",
            "bltz", "bgtz", "bgt", "ble", "bgtu", "bleu"}
UNKNOWN = "?"   # the vtype is not set by a th.vsetvli on some path

WIDEN = {"vwaddu", "vwadd", "vwsubu", "vwsub", "vwmul", "vwmulu", "vwmulsu", "vwmaccu", "vwmacc",
         "vwmaccsu", "vwmaccus", "vwsmaccu", "vwsmacc", "vwsmaccsu", "vwsmaccus", "vfwadd",
         "vfwsub", "vfwmul", "vfwmacc", "vfwnmacc", "vfwmsac", "vfwnmsac", "vwcvt", "vwcvtu",
         "vfwcvt"}
NARROW = {"vnsrl", "vnsra", "vnclipu", "vnclip", "vncvt", "vfncvt"}
REDUCE = {"vredsum", "vredmaxu", "vredmax", "vredminu", "vredmin", "vredand", "vredor",
          "vredxor", "vwredsum", "vwredsumu", "vfredsum", "vfredosum", "vfredmax", "vfredmin",
          "vfwredsum", "vfwredosum"}
MASK_LOGIC = {"vmand", "vmnand", "vmandnot", "vmxor", "vmor", "vmnor", "vmornot", "vmxnor",
              "vmnot", "vmcpy", "vmmv", "vmclr", "vmset", "vmsbf", "vmsif", "vmsof"}
SCALAR_MOVES = {"vext.x.v", "vmv.x.s", "vmv.s.x", "vfmv.f.s", "vfmv.s.f", "vmpopc.m",
                "vmfirst.m"}                 # one register (or a mask), whatever LMUL
CARRY_MERGE = {"vadc", "vsbc", "vmerge", "vfmerge"}
CARRY_OUT = {"vmadc", "vmsbc"}
NO_VD_SRC = {"vslideup", "vslide1up", "vrgather", "vcompress"}
MEMORY = re.compile(r"^v([ls])(s|x|ux)?(seg([2-8]))?(b|h|w|e|bu|hu|wu)(ff)?\.v$")


def roles(mn, nops):
    """EMUL class of the vector operands of an arithmetic instruction, in printed order (vd
    first): 'W' 2*LMUL, 'L' LMUL, '1' one register, 'M' one mask register"""
    base, _, form = mn.partition(".")
    n = nops - 1
    if mn in SCALAR_MOVES:
        return ["1"] * nops
    if base in REDUCE:
        return ["1", "L", "1"][:nops]
    if base in MASK_LOGIC:
        return ["M"] * nops
    if base == "viota":
        return ["L", "M"]
    if base == "vcompress":
        return ["L", "L", "M"]
    if base.startswith(("vms", "vmf")) or base in CARRY_OUT:   # compares: a mask result
        return ["M"] + ["L"] * n
    if base in WIDEN:
        return ["W", "W", "L"][:nops] if form.startswith("w") else ["W"] + ["L"] * n
    if base in NARROW:
        return ["L", "W", "L"][:nops]
    return ["L"] * nops


def parse_vtype(ops):
    """th.vsetvli rd,rs1,eSEW,mLMUL,dEDIV -> (sew, lmul, problem or None)"""
    sew = lmul = problem = None
    for f in ops[2:]:
        if re.fullmatch(r"e(8|16|32|64)", f):
            sew = int(f[1:])
        elif re.fullmatch(r"m[1248]", f):
            lmul = int(f[1:])
        elif re.fullmatch(r"mf[248]", f):
            problem = "fractional LMUL %s (RVV 1.0 only)" % f
        elif re.fullmatch(r"d[248]", f):
            problem = "EDIV %s (not implemented on the C920)" % f
        elif f != "d1":
            problem = "vtype field %r not understood" % f
    if not problem and (sew is None or lmul is None):
        problem = "vtype %r not understood" % ",".join(ops[2:])
    return sew, lmul, problem


def group_ok(reg, n):
    return n <= 8 and reg % n == 0


def overlap(a, na, b, nb):
    return a < b + nb and b < a + na


def check_insn(mn, ops, sew, lmul):
    """the problems of one th.v* instruction (mnemonic without th., operands) under a vtype"""
    out = []
    masked = bool(ops) and ops[-1] == "v0.t"
    if masked:
        ops = ops[:-1]
    regs = [(k, int(o[1:])) for k, o in enumerate(ops) if VREG.match(o)]
    mem = MEMORY.match(mn)
    if mem:   # vd / vs3 first, then the address, then a stride register or an index vector
        nf = int(mem.group(4) or 1)
        if nf * lmul > 8:
            out.append("%d fields x LMUL %d > 8" % (nf, lmul))
        for k, r in regs:
            if not group_ok(r, lmul) or (k == 0 and r + nf * lmul > 32):
                out.append("v%d: group of %d misaligned" % (r, lmul))
        if masked and mem.group(1) == "l" and regs and regs[0] == (0, 0) and lmul > 1:
            out.append("masked load writes v0 at LMUL %d" % lmul)
        return out
    base = mn.partition(".")[0]
    cls = roles(mn, len(ops))
    size = {"W": 2 * lmul, "L": lmul, "1": 1, "M": 1}
    if "W" in cls:
        if lmul == 8:
            out.append("widening/narrowing at LMUL 8")
        if sew == 64:
            out.append("widening/narrowing at SEW 64")
    if base.startswith(("vf", "vmf")) and sew == 8:
        out.append("floating-point at SEW 8")
    vregs = [(r, cls[k] if k < len(cls) else "L") for k, r in regs]
    for r, c in vregs:
        if not group_ok(r, size[c]):
            out.append("v%d: %s group of %d registers misaligned" % (r, "wide" if c == "W" else "LMUL", size[c]))
    if not regs or regs[0][0] != 0:
        return out                           # no vector destination (stores, vmpopc, ...)
    vd, vdc = vregs[0]
    srcs = vregs[1:]
    if vdc == "W":
        for r, c in srcs:
            if c == "L" and overlap(vd, 2 * lmul, r, lmul):
                out.append("widening destination v%d overlaps source v%d" % (vd, r))
    if base in NARROW:
        for r, c in srcs:
            if c == "W" and overlap(vd, lmul, r, 2 * lmul):
                out.append("narrowing destination v%d overlaps wide source v%d" % (vd, r))
    if vdc == "M" and base not in MASK_LOGIC and lmul > 1:
        for r, c in srcs:
            if overlap(vd, 1, r, lmul):
                out.append("mask destination v%d overlaps source group v%d" % (vd, r))
    if masked and vd == 0 and vdc in ("W", "L") and (vdc == "W" or lmul > 1 or base in NO_VD_SRC):
        out.append("masked instruction writes v0")
    if base in CARRY_MERGE and vd == 0 and lmul > 1:
        out.append("%s writes v0 at LMUL %d" % (base, lmul))
    if base in NO_VD_SRC and any(r == vd and c == "L" for r, c in srcs):
        out.append("%s destination v%d is also a source" % (base, vd))
    return out


def parse(lines):
    """objdump -d text -> [(function, [(addr, word, mnemonic, operands, branch target)])]"""
    funcs, cur = [], None
    head = re.compile(r"^([0-9a-f]+) <(.+)>:$")
    insn = re.compile(r"^\s*([0-9a-f]+):\s+([0-9a-f]+)\s+(\S+)\s*(.*)$")
    for line in lines:
        line = line.rstrip("\n")
        m = head.match(line)
        if m:
            if not (m.group(2).startswith(".L") and cur is not None):   # .L: a label inside
                cur = (m.group(2), [])
                funcs.append(cur)
            continue
        m = insn.match(line)
        if not m or cur is None:
            continue
        rest = m.group(4).split("#")[0].strip()
        target = None
        t = re.search(r"\b([0-9a-f]+) <[^>]*>$", rest)
        if t:
            target = int(t.group(1), 16)
            rest = rest[:t.start()].rstrip(", ")
        ops = [o.strip() for o in rest.split(",")] if rest else []
        cur[1].append((int(m.group(1), 16), m.group(2), m.group(3), ops, target))
    return funcs


def vector_major(word):
    """a 32-bit instruction of a vector major opcode: OP-V, or LOAD-FP / STORE-FP whose width
    field is not a scalar one (RVV 0.7.1 and 1.0 share these encodings)"""
    if len(word) != 8:
        return False
    w = int(word, 16)
    return (w & 0x7f) == 0x57 or ((w & 0x7f) in (0x07, 0x27) and ((w >> 12) & 7) not in (1, 2, 3, 4))


def vtypes_in_force(insns):
    """for each instruction, the set of vtypes (sew, lmul) it can execute under, following
    the control flow of the function; UNKNOWN at entry and after calls"""
    idx = {a: i for i, (a, _w, _m, _o, _t) in enumerate(insns)}
    n = len(insns)
    succ = []   # (next instruction, vtype unknown after it)
    for i, (_a, _w, mn, ops, tgt) in enumerate(insns):
        call = mn in ("jal", "jalr", "call") and (not ops or ops[0] == "ra")
        if mn in BRANCHES:
            s = [(i + 1, False)] + ([(idx[tgt], False)] if tgt in idx else [])
        elif mn == "j" or (mn == "jal" and ops and ops[0] == "zero"):
            s = [(idx[tgt], False)] if tgt in idx else []
        elif mn in ("ret", "jr", "tail", "ebreak", "unimp") or (mn == "jalr" and not call):
            s = []   # leaves the function, or an indirect jump (its targets: see below)
        elif call or mn == "ecall":
            s = [(i + 1, True)]
        else:
            s = [(i + 1, False)]
        succ.append([(j, unk) for j, unk in s if j < n])
    state = [None] * n
    entry = 0
    while entry is not None:
        state[entry] = frozenset([UNKNOWN])
        work = [entry]
        while work:
            i = work.pop()
            _a, _w, mn, ops, _t = insns[i]
            out = state[i]
            if mn == "th.vsetvli":
                sew, lmul, _p = parse_vtype(ops)
                out = frozenset([(sew, lmul) if sew and lmul else UNKNOWN])
            elif mn == "th.vsetvl":
                out = frozenset([UNKNOWN])
            for j, unk in succ[i]:
                o = frozenset([UNKNOWN]) if unk else out
                new = o if state[j] is None else state[j] | o
                if new != state[j]:
                    state[j] = new
                    work.append(j)
        # code reached only through indirect jumps (jump tables): from an unknown vtype
        entry = next((i for i in range(n) if state[i] is None), None)
    return state


def check_function(insns):
    """yield (addr, text, problem) for every problem of one function"""
    state = vtypes_in_force(insns)
    for i, (a, w, mn, ops, _t) in enumerate(insns):
        text = "%s %s" % (mn, ",".join(ops))
        if not mn.startswith("th.v"):
            if vector_major(w):
                yield a, text, "vector-opcode instruction that is not XTheadVector"
            continue
        if mn in ("th.vsetvli", "th.vsetvl"):
            p = parse_vtype(ops)[2] if mn == "th.vsetvli" else None
            if p:
                yield a, text, p
            continue
        if UNKNOWN in state[i]:
            yield a, text, "no th.vsetvli in force on some path"
        for sew, lmul in sorted(v for v in state[i] if v != UNKNOWN):
            for p in check_insn(mn[3:], ops, sew, lmul):
                yield a, text, "%s (e%d,m%d)" % (p, sew, lmul)


def run(lines, no_spills=False, out=sys.stdout):
    """check every function with vector code; returns (th.v* count, functions, problems)"""
    nvec = nfunc = problems = 0
    for name, insns in parse(lines):
        if not any(mn.startswith("th.v") or vector_major(w) for _a, w, mn, _o, _t in insns):
            continue
        nfunc += 1
        nvec += sum(1 for _a, _w, mn, _o, _t in insns if mn.startswith("th.v"))
        for a, text, p in check_function(insns):
            problems += 1
            print("FAIL %x <%s>: %s: %s" % (a, name, text, p), file=out)
        vlenb = [a for a, _w, mn, ops, _t in insns
                 if mn in ("csrr", "csrrs") and ("vlenb" in ops or "th.vlenb" in ops)]
        if vlenb:
            what = "%x <%s>: %d reads of vlenb: stack slots for vector registers (spill code)" % (vlenb[0], name, len(vlenb))
            if no_spills:
                problems += 1
                print("FAIL " + what, file=out)
            else:
                print("note " + what, file=out)
    return nvec, nfunc, problems


SELFTEST = [  # (a problem the checker must report, or None for clean code; one function body)
    (None, ["th.vsetvli zero,a0,e32,m8,d1", "th.vle.v v8,(a1)", "th.vse.v v24,(a2)"]),
    ("v20: group of 8 misaligned", ["th.vsetvli zero,t1,e32,m8,d1", "th.vlse.v v20,(a3),t3"]),
    ("v4: wide group of 8 registers misaligned", ["th.vsetvli zero,a0,e8,m4,d1", "th.vwmul.vv v4,v8,v12"]),
    ("v3: LMUL group of 2 registers misaligned", ["th.vsetvli zero,a0,e8,m2,d1", "th.vadd.vv v3,v4,v6"]),
    ("widening destination v8 overlaps source v8", ["th.vsetvli zero,a0,e8,m2,d1", "th.vwmul.vv v8,v8,v12"]),
    ("v2: wide group of 4 registers misaligned", ["th.vsetvli zero,a0,e16,m2,d1", "th.vncvt.x.x.v v4,v2"]),
    ("narrowing destination v4 overlaps", ["th.vsetvli zero,a0,e16,m2,d1", "th.vncvt.x.x.v v4,v4"]),
    ("widening/narrowing at LMUL 8", ["th.vsetvli zero,a0,e8,m8,d1", "th.vwcvtu.x.x.v v16,v8"]),
    (None, ["th.vsetvli zero,a0,e16,m4,d1", "th.vwredsum.vs v1,v4,v2", "th.vwmacc.vx v8,a1,v4"]),
    ("v6: LMUL group of 4 registers misaligned", ["th.vsetvli zero,a0,e16,m4,d1", "th.vwredsum.vs v1,v6,v2"]),
    ("mask destination v8 overlaps", ["th.vsetvli zero,a0,e32,m4,d1", "th.vmsltu.vx v8,v8,a1"]),
    (None, ["th.vsetvli zero,a0,e32,m1,d1", "th.vmsltu.vx v0,v0,a1", "th.vmerge.vvm v0,v1,v2,v0"]),
    ("vmerge writes v0 at LMUL 4", ["th.vsetvli zero,a0,e32,m4,d1", "th.vmerge.vvm v0,v4,v8,v0"]),
    ("masked instruction writes v0", ["th.vsetvli zero,a0,e32,m2,d1", "th.vadd.vv v0,v2,v4,v0.t"]),
    ("fractional LMUL mf2", ["th.vsetvli zero,a0,e8,mf2,d1"]),
    ("no th.vsetvli in force", ["th.vle.v v8,(a1)"]),
    ("no th.vsetvli in force", ["th.vsetvli zero,a0,e8,m1,d1", "jal ra,0 <f>", "th.vle.v v8,(a1)"]),
    ("5 fields x LMUL 2 > 8", ["th.vsetvli zero,a0,e32,m2,d1", "th.vlseg5e.v v0,(a1)"]),
    ("floating-point at SEW 8", ["th.vsetvli zero,a0,e8,m1,d1", "th.vfadd.vv v1,v2,v3"]),
    ("vslideup destination v1 is also a source", ["th.vsetvli zero,a0,e32,m1,d1", "th.vslideup.vx v1,v1,a2"]),
    ("not XTheadVector", ["th.vsetvli zero,a0,e32,m1,d1", "vsetivli zero,1,e32,m1,ta,ma"]),
]


def disassembly(name, body):
    """objdump-like lines for a function whose instructions are the strings in body"""
    lines = ["0000000000001000 <%s>:" % name]
    for k, ins in enumerate(body):
        mn, _, ops = ins.partition(" ")
        word = "00000013"
        if mn.startswith("vset"):
            word = "c0807057"   # an OP-V encoding (what a vsetivli looks like to the checker)
        lines.append("    %x:\t%s          \t%s\t%s" % (0x1000 + 4 * k, word, mn, ops))
    return lines


def selftest():
    failed = 0
    for expect, body in SELFTEST:
        buf = io.StringIO()
        _n, _f, probs = run(disassembly("f", body), out=buf)
        ok = probs == 0 if expect is None else expect in buf.getvalue()
        print("%s selftest %s%s" % ("PASS" if ok else "FAIL", " | ".join(body),
                                    "" if ok else ": got " + (buf.getvalue().strip() or "nothing")))
        failed += not ok
    # control flow: the only th.vsetvli follows the use in address order and reaches it
    # through the back edge; a use after a call has no vtype
    lines = ["0000000000001000 <g>:",
             "    1000:\t00000013          \tj\t100c <g+0xc>",
             "    1004:\t00000013          \tth.vle.v\tv20,(a1)",
             "    1008:\t00000013          \tret\t",
             "    100c:\t00000013          \tth.vsetvli\tzero,a0,e32,m8,d1",
             "    1010:\t00000013          \tj\t1004 <g+0x4>"]
    buf = io.StringIO()
    run(lines, out=buf)
    ok = "v20: group of 8 misaligned (e32,m8)" in buf.getvalue() and "no th.vsetvli" not in buf.getvalue()
    print("%s selftest control flow: a th.vsetvli reaching its use through a back edge" % ("PASS" if ok else "FAIL"))
    failed += not ok
    spill = ["th.vsetvli zero,a0,e32,m8,d1", "csrr a2,th.vlenb", "add a2,a2,sp", "th.vse.v v8,(a2)"]
    for flag in (False, True):
        buf = io.StringIO()
        _n, _f, probs = run(disassembly("h", spill), no_spills=flag, out=buf)
        ok = "reads of vlenb" in buf.getvalue() and probs == (1 if flag else 0)
        print("%s selftest spill code %s" % ("PASS" if ok else "FAIL", "flagged (--no-spills)" if flag else "noted"))
        failed += not ok
    return failed


def main(argv):
    args = argv[1:]
    if args == ["--selftest"]:
        return 1 if selftest() else 0
    no_spills = "--no-spills" in args
    files = [a for a in args if a != "--no-spills"]
    if not files or any(f.startswith("-") for f in files):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    bad = 0
    for path in files:
        with open(path) as f:
            nvec, nfunc, problems = run(f.readlines(), no_spills)
        if nvec == 0:
            print("FAIL %s: no th.v* instruction (not an XTheadVector disassembly?)" % path)
            bad += 1
            continue
        print("%s %s: %d th.v* instructions in %d functions, %d problems"
              % ("ok  " if problems == 0 else "FAIL", path, nvec, nfunc, problems))
        bad += problems > 0
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

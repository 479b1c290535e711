"""Sampler behaviour on stories260K: reproducible for a seed, seed-dependent when sampling,
seed-independent when greedy, and the degenerate settings (top-k 1, min-p 1, tiny top-p,
repeat penalty 1) equal greedy decoding."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llmtest import T1, check, finish, first_diff, need_shared, run, shared, tmpdir

N = ["-n", "256"] + T1


def main():
    names = ["sampling.same_seed_same_output", "sampling.different_seeds_differ",
             "sampling.top_k_1_is_greedy", "sampling.temp0_ignores_seed",
             "sampling.min_p_1_is_greedy", "sampling.tiny_top_p_is_greedy",
             "sampling.repeat_penalty_1_is_greedy", "sampling.repeat_penalty_changes_greedy",
             "sampling.bin_stops_at_bos"]
    if not need_shared(names):
        return
    M = ["-m", shared("assets", "gguf", "stories260K.gguf")]

    def gen(*args):
        r = run(["run"] + M + N + list(args))
        if r.rc != 0 or r.crashed():
            return None, r
        return r.out, r

    def same(name, a, b, want_equal=True, note=""):
        (oa, ra), (ob, rb) = a, b
        if oa is None or ob is None:
            check(name, False, (ra if oa is None else rb).describe())
            return
        eq = oa == ob
        if eq == want_equal:
            check(name, True)
        elif want_equal:
            check(name, False, "`%s` and `%s` differ: %s" % (ra.cmd, rb.cmd, first_diff(oa, ob)))
        else:
            check(name, False, "`%s` and `%s` print the same text%s" % (ra.cmd, rb.cmd, note))

    samp = ["--temp", "0.8", "--top-p", "0.9"]
    s1 = gen(*samp, "--seed", "42")
    same("sampling.same_seed_same_output", s1, gen(*samp, "--seed", "42"))
    same("sampling.different_seeds_differ", s1, gen(*samp, "--seed", "43"), want_equal=False)
    greedy = gen("--temp", "0")
    same("sampling.top_k_1_is_greedy", greedy, gen("--temp", "0.8", "--top-k", "1", "--seed", "5"))
    same("sampling.temp0_ignores_seed", gen("--temp", "0", "--seed", "1"),
         gen("--temp", "0", "--seed", "999"))
    same("sampling.min_p_1_is_greedy", greedy, gen("--temp", "1", "--min-p", "1", "--seed", "5"))
    same("sampling.tiny_top_p_is_greedy", greedy,
         gen("--temp", "1", "--top-p", "0.000001", "--seed", "5"))
    same("sampling.repeat_penalty_1_is_greedy", greedy, gen("--temp", "0", "--repeat-penalty", "1"))
    # the greedy story repeats whole sentences; a strong penalty must change it
    same("sampling.repeat_penalty_changes_greedy", greedy,
         gen("--temp", "0", "--repeat-penalty", "1.5"), want_equal=False,
         note=" (is --repeat-penalty applied?)")

    # llama2.c checkpoints stop at BOS: over a few long sampled runs BOS (1) may appear only at
    # index 0 and, when generation stopped early, at most as the last token (llama2.c's run does
    # not print or count the BOS that stops it, so the dump may also end just before it).
    name = "sampling.bin_stops_at_bos"
    B = ["-m", shared("assets", "llama2c", "stories260K.bin"), "-z",
         shared("assets", "llama2c", "tok512.bin")]
    problems, stopped = [], 0
    with tmpdir() as td:
        for seed in range(1, 7):
            tf = os.path.join(td, "t%d.tok" % seed)
            r = run(["run"] + B + T1 + ["-n", "480", "--temp", "1", "--seed", str(seed),
                                   "--dump-tokens", tf])
            try:
                with open(tf) as f:
                    toks = [int(x) for x in f.read().split()]
            except (OSError, ValueError) as e:
                problems.append("%s: %s" % (r.describe(), e))
                continue
            if r.rc != 0 or r.crashed():
                problems.append(r.describe())
                continue
            if toks[:1] != [1]:
                problems.append("seed %d: dump does not start with BOS: %s" % (seed, toks[:3]))
            if 1 in toks[1:-1]:
                problems.append("seed %d: BOS at index %d and generation went on" % (seed, toks.index(1, 1)))
            if len(toks) < 481:
                stopped += 1
    if not problems and not stopped:
        problems.append("none of 6 runs of 480 sampled tokens stopped early; is BOS a stop token?")
    check(name, not problems, "; ".join(problems) if problems else
          "%d of 6 runs stopped early" % stopped)


main()
finish()

#!/usr/bin/env python3
"""How far apart two correct float32 evaluations of a quantized model's perplexity can be.

A model with Q8_0/Q4_0 weights meets Q8_0 activations: every activation becomes a code
round(x * 127 / amax). An x whose scaled value sits within a few float32 ulps of a .5 boundary
gets a different code in two implementations whose float32 arithmetic differs only in the
order of its roundings, and each such flip moves the later logits a little. So perplexity has a
noise floor that no tolerance below it can honestly test. This tool measures it: it runs
tests/ref_numpy.py (float64, quantized activations as llama.cpp rounds them) K times with every
activation moved one float32 ulp up or down at random before quantization (a smaller difference
than llm's float32 arithmetic has from float64: its logits differ from the float64 ones rounded
to float32 by a median of 2 ulps), then compares `llm perplexity` with that spread.

    python3 tools/ppl_noise.py [--llm ./llm] [--chars N] [-k K] [-c CTX] MODEL.gguf TEXT

Prints the unperturbed reference, the mean and standard deviation of the K perturbed ones (also
relative to the mean), llm's perplexity and its distance from the mean in standard deviations.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import ref_numpy  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("text")
    ap.add_argument("--llm", default="./llm")
    ap.add_argument("--chars", type=int, default=0, help="only the first N characters of TEXT (0: all)")
    ap.add_argument("-k", type=int, default=16, help="perturbed reference runs (default 16)")
    ap.add_argument("-c", "--ctx", type=int, default=128, help="chunk length (default 128)")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if a.k < 2:
        sys.exit("ppl_noise: -k must be at least 2")

    with open(a.text, encoding="utf-8") as f:
        text = f.read()
    if a.chars:
        text = text[:a.chars]
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8", delete=False) as f:
        f.write(text)
        part = f.name
    try:
        tok = subprocess.run([a.llm, "tokenize", "-m", a.model, "-f", part], capture_output=True, text=True)
        if tok.returncode != 0:
            sys.exit("ppl_noise: llm tokenize failed: " + tok.stderr.strip())
        toks = [int(t) for t in tok.stdout.split()]
        pp = subprocess.run([a.llm, "perplexity", "-m", a.model, "-t", "1", "-f", part, "-c", str(a.ctx)],
                            capture_output=True, text=True)
        m = re.search(r"PPL\s*=\s*([0-9.eE+-]+)", pp.stdout)
        if pp.returncode != 0 or not m:
            sys.exit("ppl_noise: llm perplexity failed: " + pp.stderr.strip()[-300:])
        ours = float(m.group(1))
    finally:
        os.unlink(part)

    kv, w = ref_numpy.read_gguf(a.model)
    if not w["quantized"]:
        print("note: %s has no quantized weights, so the perturbations change nothing" % a.model)
    ref = ref_numpy.perplexity(kv, w, toks, a.ctx, toks[0])
    rng = np.random.default_rng(a.seed)
    runs = []
    for i in range(a.k):
        runs.append(ref_numpy.perplexity(kv, w, toks, a.ctx, toks[0], jitter=rng)[0])
        print("  perturbed %2d: %.6f" % (i + 1, runs[-1]), file=sys.stderr, flush=True)
    runs = np.array(runs)
    mean, sd = runs.mean(), runs.std(ddof=1)
    print("text: %d characters, %d tokens, %d scored (chunks of %d)" % (len(text), len(toks), ref[2], a.ctx))
    print("reference, unperturbed:     %.6f" % ref[0])
    print("reference, %2d x +-1 ulp:    mean %.6f, sd %.6f (%.2e relative), range %.6f .. %.6f"
          % (a.k, mean, sd, sd / mean, runs.min(), runs.max()))
    print("llm:                        %.6f  (%+.2e relative to the mean, %+.2f sd)"
          % (ours, (ours - mean) / mean, (ours - mean) / sd if sd > 0 else 0.0))


if __name__ == "__main__":
    main()

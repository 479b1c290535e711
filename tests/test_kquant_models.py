"""K-quant models end to end: a random dim-256 F32 model (tools/mkmodel) quantized with
`llm quantize` to Q2_K..Q6_K runs, and its logits stay close to the F32 logits. Measured
rms(diff)/rms(F32 logits): Q6_K 0.060, Q5_K 0.126, Q4_K 0.223, Q3_K 0.598, Q2_K 0.959 -- about
3.5x each format's weight error (1.7 %, 3.6 %, 7.2 %, 14.5 %, 26 %) on this random model, whose
logits are flat; limits are ~1.5x the measurement. The kernels themselves are checked exactly
in test_kquants.c.
Also: rows that are not a multiple of 256 fall back to Q8_0, and -t 1/3 give identical logits;
tools/mkmodel --type Q4_K_M writes Q4_K_M's mix of Q4_K and Q6_K tensors, which runs the same
with and without --no-repack."""
import os
import struct
import subprocess
import tempfile

LLM = os.environ.get("LLM", "./llm").split()
MKMODEL = os.environ.get("MKMODEL", "tools/mkmodel")
LIMITS = {"Q6_K": 0.1, "Q5_K": 0.2, "Q4_K": 0.35, "Q3_K": 0.9, "Q2_K": 1.4}


def logits(model, tmp, threads=1):
    f = os.path.join(tmp, "l.f32")
    r = subprocess.run(LLM + ["run", "-m", model, "-p", "hello world and more", "-n", "1", "--temp", "0",
                              "-t", str(threads), "--dump-logits", f], capture_output=True, timeout=300)
    if r.returncode:
        return None
    b = open(f, "rb").read()
    return struct.unpack("<%df" % (len(b) // 4), b)


def rms(v):
    return (sum(x * x for x in v) / len(v)) ** 0.5


def types_of(model):
    r = subprocess.run(LLM + ["info", "-m", model], capture_output=True, text=True)
    return {l.split()[0]: l.split()[1] for l in r.stdout.splitlines() if l.startswith(("  blk.", "  token_embd", "  output."))}


def main():
    if not os.path.exists(MKMODEL):
        print("SKIP kquant_models: %s not built" % MKMODEL)
        return
    tmp = tempfile.mkdtemp(prefix="llmkq-")
    f32 = os.path.join(tmp, "f32.gguf")
    subprocess.run([MKMODEL, f32, "--dim", "256", "--ffn", "768", "--layers", "2", "--heads", "4", "--kv-heads", "2",
                    "--vocab", "600"], check=True)
    ref = logits(f32, tmp)
    for t, limit in LIMITS.items():
        q = os.path.join(tmp, t + ".gguf")
        r = subprocess.run(LLM + ["quantize", f32, q, t], capture_output=True, text=True)
        ty = types_of(q) if r.returncode == 0 else {}
        ok_types = ty.get("blk.0.attn_q.weight") == t and ty.get("blk.1.ffn_down.weight") == t
        got = logits(q, tmp) if r.returncode == 0 else None
        err = rms([a - b for a, b in zip(got, ref)]) / rms(ref) if got else float("inf")
        ok = ok_types and err <= limit
        print("%s kquant_models.%s: tensors %s, rms(diff)/rms(ref) = %.3f (limit %.2f)"
              % ("PASS" if ok else "FAIL", t, "ok" if ok_types else ty, err, limit))
        if t == "Q4_K":
            same = got is not None and logits(q, tmp, 3) == got
            print("%s kquant_models.Q4_K.threads: -t 1 and -t 3 logits %s" % ("PASS" if same else "FAIL",
                                                                              "identical" if same else "differ"))
    # ffn 352 is not a multiple of 256: ffn_down's rows (352 wide) fall back to Q8_0
    odd = os.path.join(tmp, "odd.gguf")
    subprocess.run([MKMODEL, odd, "--dim", "256", "--ffn", "352", "--layers", "1", "--heads", "4", "--kv-heads", "2",
                    "--vocab", "600"], check=True)
    q = os.path.join(tmp, "odd-q4k.gguf")
    r = subprocess.run(LLM + ["quantize", odd, q, "Q4_K"], capture_output=True, text=True)
    ty = types_of(q) if r.returncode == 0 else {}
    ok = ty.get("blk.0.ffn_down.weight") == "Q8_0" and ty.get("blk.0.ffn_up.weight") == "Q4_K" and logits(q, tmp) is not None
    print("%s kquant_models.fallback: ffn_down %s, ffn_up %s" % ("PASS" if ok else "FAIL", ty.get("blk.0.ffn_down.weight"),
                                                                 ty.get("blk.0.ffn_up.weight")))

    # Q4_K_M: Q6_K for the output and for attn_v and ffn_down of layers 0, 3, 6, 7, 8 of 9
    mix = os.path.join(tmp, "q4_k_m.gguf")
    subprocess.run([MKMODEL, mix, "--type", "Q4_K_M", "--dim", "256", "--ffn", "512", "--layers", "9", "--heads", "4",
                    "--kv-heads", "2", "--vocab", "600"], check=True)
    ty = types_of(mix)
    want = {"output.weight": "Q6_K", "token_embd.weight": "Q4_K"}
    for l in range(9):
        for name in ("attn_v", "ffn_down"):
            want["blk.%d.%s.weight" % (l, name)] = "Q6_K" if l in (0, 3, 6, 7, 8) else "Q4_K"
        for name in ("attn_q", "attn_k", "attn_output", "ffn_gate", "ffn_up"):
            want["blk.%d.%s.weight" % (l, name)] = "Q4_K"
    wrong = ["%s %s" % (k, ty.get(k)) for k in sorted(want) if ty.get(k) != want[k]]
    print("%s kquant_models.Q4_K_M.types: %s" % ("FAIL" if wrong else "PASS", "; ".join(wrong[:4]) or "the tensors of a Q4_K_M file"))
    f = os.path.join(tmp, "m.f32")
    outs = []
    for extra in ([], ["--no-repack"]):
        r = subprocess.run(LLM + ["run", "-m", mix, "-p", "hello world and more", "-n", "8", "--temp", "0", "-t", "3",
                                  "--dump-logits", f] + extra, capture_output=True, timeout=300)
        outs.append((r.returncode, r.stdout, open(f, "rb").read() if r.returncode == 0 else b""))
    ok = outs[0][0] == 0 and outs[0] == outs[1]
    print("%s kquant_models.Q4_K_M.no-repack: -t 3 text and logits %s" % ("PASS" if ok else "FAIL",
          "identical with and without --no-repack" if ok else "differ (exit %d, %d)" % (outs[0][0], outs[1][0])))


main()

"""`llm bench` on small random models (tools/mkmodel): the table and JSON have one row per
(threads, test) in order; the bytes per token and the model size agree with the GGUF file's
tensors (parsed here, independently of llm.c); the roofline columns are the bandwidth divided by
those bytes and tg divided by that; peak RSS is compared with model file + KV cache + 64 MiB,
also for a model (146 MiB) whose double would exceed that;
bad arguments are refused. Only the shape of the numbers is checked, never a speed."""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llmtest import check, finish, run, skip, tmpdir  # noqa: I100
import gguf  # noqa: E402

MKMODEL = os.environ.get("MKMODEL", "tools/mkmodel")
SHAPE = dict(dim=256, layers=2, heads=4, kv_heads=2, ffn=512, vocab=500)


def make(td, ttype, tied=False):
    p = os.path.join(td, "b-%s%s.gguf" % (ttype, "-tied" if tied else ""))
    subprocess.run([MKMODEL, p, "--type", ttype, "--dim", str(SHAPE["dim"]), "--layers", str(SHAPE["layers"]),
                    "--heads", str(SHAPE["heads"]), "--kv-heads", str(SHAPE["kv_heads"]), "--ffn", str(SHAPE["ffn"]),
                    "--vocab", str(SHAPE["vocab"])] + (["--tied"] if tied else []), check=True)
    return p


def expected_bytes(path):
    """(matrix bytes, weight bytes read per generated token) from the file's tensor table:
    every layer tensor (7 matrices, 2 norms), the classifier (token_embd when tied) and one
    embedding row."""
    by = {t["name"]: t["nbytes"] for t in gguf.Reader(path).tensors}
    emb = by["token_embd.weight"]
    mats = sum(b for n, b in by.items() if n.startswith("blk.") and not n.endswith("norm.weight"))
    norms = sum(b for n, b in by.items() if n.startswith("blk.") and n.endswith("norm.weight"))
    out = by.get("output.weight")
    size = mats + emb + (out or 0)
    per_token = mats + norms + (out if out is not None else emb) + emb // SHAPE["vocab"]
    return size, per_token


def text(b):
    return b.decode("utf-8", "replace")


def close(a, b, rel=2e-3):
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-12)


def main():
    if not os.path.exists(MKMODEL):
        skip("bench", "%s not built" % MKMODEL)
        return finish()
    with tmpdir() as td:
        # the type column names every type of the matrices, most bytes first (a Q4_K_M file mixes two)
        for ttype, tied in (("Q4_0", False), ("Q8_0", True), ("F16", False), ("Q4_K_M", False)):
            name = "bench.%s%s" % (ttype, ".tied" if tied else "")
            model = make(td, ttype, tied)
            size, per_token = expected_bytes(model)
            r = run(["bench", "-m", model, "-p", "8,16", "-n", "4", "-t", "1,2", "-r", "2", "-o", "json", "--membw", "10"])
            check(name + ".runs", r.rc == 0, r.describe() if r.rc else "")
            if r.rc != 0:
                continue
            try:
                rows = json.loads(r.out)
            except ValueError as e:
                check(name + ".json", False, "not JSON: %s" % e)
                continue
            order = [(t, k) for t in (1, 2) for k in ("pp8", "pp16", "tg4")]
            check(name + ".rows", [(x.get("threads"), x.get("test")) for x in rows] == order,
                  "got %s" % [(x.get("threads"), x.get("test")) for x in rows])
            bad = []
            for x in rows:
                roof = 10e9 / per_token
                if x["type"] != {"Q4_K_M": "Q4_K+Q6_K"}.get(ttype, ttype) or x["model"] != os.path.basename(model):
                    bad.append("%s: model/type %s %s" % (x["test"], x["model"], x["type"]))
                if x["size_bytes"] != size or x["weight_bytes_per_token"] != per_token:
                    bad.append("%s: size %s (file %d), bytes/token %s (file %d)" % (x["test"], x["size_bytes"], size,
                                                                                  x["weight_bytes_per_token"], per_token))
                if not (x["tps_mean"] > 0 and x["tps_stddev"] >= 0):
                    bad.append("%s: tok/s %s +- %s" % (x["test"], x["tps_mean"], x["tps_stddev"]))
                if x["membw_gbs"] != 10 or not close(x["roof_tps"], roof):
                    bad.append("%s: bandwidth %s, roof %s (expected %.3f)" % (x["test"], x["membw_gbs"], x["roof_tps"], roof))
                frac = x["tps_mean"] / x["roof_tps"] if x["test"].startswith("tg") else 0
                if not close(x["roof_fraction"], frac, 1e-3) and abs(x["roof_fraction"] - frac) > 1e-4:
                    bad.append("%s: roof fraction %s, tok/s / roof = %s" % (x["test"], x["roof_fraction"], frac))
            check(name + ".values", not bad, "; ".join(bad))
            # peak RSS line: the budget is the file, the KV cache of max(pp, tg) = 16 positions, 64 MiB
            kv = 2 * SHAPE["layers"] * 16 * (SHAPE["dim"] // SHAPE["heads"] * SHAPE["kv_heads"]) * 4
            budget = (os.path.getsize(model) + kv + 64 * 2**20) / 2**20
            m = re.search(r"peak RSS ([0-9.]+) MiB, (within|OVER) the ([0-9.]+) MiB", text(r.err))
            check(name + ".rss", m is not None and m.group(2) == "within" and abs(float(m.group(3)) - budget) < 0.06
                  and float(m.group(1)) > 0, "stderr: %s; budget %.2f MiB" % (r.errline, budget))

        # peak RSS while loading a model much larger than the 64 MiB margin (146 MiB, Q8_0,
        # repacked): the file's pages are dropped behind the copy into the threads' arenas, so
        # the process never holds the file and the weights both (that would be about twice it)
        big = os.path.join(td, "big-Q8_0.gguf")
        subprocess.run([MKMODEL, big, "--type", "Q8_0", "--dim", "1024", "--layers", "12", "--heads", "8",
                        "--kv-heads", "4", "--ffn", "2816", "--vocab", "1000"], check=True)
        for threads in ("1", "2"):
            r = run(["bench", "-m", big, "-p", "8", "-n", "4", "-t", threads, "-r", "1", "--membw", "10"], timeout=300)
            m = re.search(r"peak RSS ([0-9.]+) MiB, (within|OVER) the ([0-9.]+) MiB", text(r.err))
            check("bench.rss_large_model.t" + threads, r.rc == 0 and m is not None and m.group(2) == "within"
                  and float(m.group(1)) > os.path.getsize(big) / 2**20 * 0.9,
                  r.describe() if r.rc else "stderr: %s" % r.errline)
        os.remove(big)

        # the markdown table: header, separator, one row per test with ten cells
        model = make(td, "Q4_0")
        r = run(["bench", "-m", model, "-p", "8", "-n", "4", "-t", "1", "-r", "1", "--membw", "10"])
        lines = [l for l in text(r.out).splitlines() if l.startswith("|")]
        cells = [[c.strip() for c in l.strip("|").split("|")] for l in lines]
        ok = (r.rc == 0 and len(cells) == 4 and cells[0][0] == "model" and cells[0][-1] == "% of roof"
              and all(len(c) == 10 for c in cells) and cells[2][5] == "pp8" and cells[3][5] == "tg4"
              and re.fullmatch(r"[0-9.]+ ± [0-9.]+", cells[3][6]) is not None and cells[3][9].endswith("%")
              and cells[2][9] == "")
        check("bench.markdown", ok, r.describe() if r.rc else "table: %s" % lines)

        # bandwidth measured (no --membw): a positive number, said to be measured
        r = run(["bench", "-m", model, "-p", "0", "-n", "2", "-t", "1", "-r", "1", "-o", "json"], timeout=300)
        try:
            rows = json.loads(r.out) if r.rc == 0 else []
        except ValueError:
            rows = []
        check("bench.membw_measured", len(rows) == 1 and rows[0]["test"] == "tg2" and rows[0]["membw_gbs"] > 0
              and "(measured" in text(r.err), r.describe() if r.rc else "rows %s; stderr %s" % (rows, r.errline))

        r = run(["bench", "--help"])
        check("bench.help", r.rc == 0 and "roof" in text(r.out) and "--membw" in text(r.out), r.describe())
        for case, args, word in (("format", ["-m", model, "-o", "xml"], "md or json"),
                                 ("no_model", ["-p", "8"], "no model"),
                                 ("threads_0", ["-m", model, "-t", "0"], "-t"),
                                 ("reps_0", ["-m", model, "-r", "0"], "-r"),
                                 ("bad_list", ["-m", model, "-p", "8,x"], "-p"),
                                 ("unknown", ["-m", model, "--fast", "1"], "unknown option"),
                                 ("unknown_last", ["-m", model, "--fast"], "unknown option"),
                                 ("missing_value", ["-m", model, "-t"], "-t needs a value")):
            r = run(["bench"] + args)
            check("bench.refuses_" + case, r.rc == 2 and word in text(r.err) and text(r.out).strip() == "", r.describe())
        missing = os.path.join(td, "missing.gguf")
        r = run(["bench", "-m", missing, "--membw", "10"])
        check("bench.refuses_missing_file", r.rc == 1 and "missing.gguf" in text(r.err), r.describe())
    finish()


main()

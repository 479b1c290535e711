#!/usr/bin/env python3
"""Time to first token of llm-server over a chat conversation, with and without KV-cache reuse.

    python3 tools/bench_server.py [-m MODEL] [--turns 10] [--max-tokens 32] [-t THREADS] [-c CTX] [--chat-template T]

A chat client resends the whole conversation every turn. For each mode (the server as it is, then
with --no-cache-reuse) this starts ./llm-server on a free port, plays the same conversation (a
system prompt, then one user message per turn; each answer, greedy and at most --max-tokens long,
goes back into the conversation as the client got it) and measures, per turn, the time from sending
the request to the first streamed piece of answer text. Prints a Markdown table: the prompt's size,
how much of it came from the cache (timings.cache_n), TTFT in each mode. Standard library only.
"""
import argparse
import http.client
import json
import os
import platform
import re
import subprocess
import sys
import threading
import time

SYSTEM = "You answer questions about the King James Bible briefly, quoting the verse when you can."
QUESTIONS = [
    "What did God create in the beginning, according to the first verse of Genesis?",
    "And what was the earth like before the light was made, and what moved upon the waters?",
    "What did God say on the first day, and what did he call the light and the darkness?",
    "Tell me what was made on the second day and how the firmament was named by God.",
    "On the third day, what appeared when the waters were gathered together into one place?",
    "What lights were set in the firmament of the heaven on the fourth day, and for what purpose?",
    "Which creatures did the waters bring forth abundantly on the fifth day of the creation?",
    "On the sixth day, in whose image was man created, and what dominion was he given?",
    "What did God do on the seventh day, and why did he bless it and sanctify it?",
    "Where did the LORD God plant a garden, and which two trees grew in the midst of it?",
    "What river went out of Eden to water the garden, and into how many heads was it parted?",
    "Summarise the whole account of the creation that we have read together in a few sentences.",
]


class Server:
    def __init__(self, binary, args):
        self.p = subprocess.Popen([binary] + args + ["--port", "0"], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.port = None
        while True:
            line = self.p.stderr.readline().decode("utf-8", "replace")
            if not line:
                raise RuntimeError("llm-server did not start")
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                break
        threading.Thread(target=lambda: [None for _ in self.p.stderr], daemon=True).start()

    def stop(self):
        self.p.terminate()
        self.p.wait(timeout=60)


def turn(port, messages, max_tokens):
    """one streamed chat request: (seconds to the first answer text, answer, usage, timings)"""
    body = {"messages": messages, "max_tokens": max_tokens, "temperature": 0, "stream": True,
            "stream_options": {"include_usage": True}}
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
    t0 = time.perf_counter()
    c.request("POST", "/v1/chat/completions", body=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    r = c.getresponse()
    if r.status != 200:
        raise RuntimeError("HTTP %d: %s" % (r.status, r.read()[:300]))
    ttft, text, usage, timings, buf = None, "", None, None, b""
    while True:
        chunk = r.read1(65536)
        if not chunk:
            break
        buf += chunk
        while b"\n\n" in buf:
            event, buf = buf.split(b"\n\n", 1)
            if not event.startswith(b"data: ") or event == b"data: [DONE]":
                continue
            e = json.loads(event[6:])
            if e.get("usage"):
                usage, timings = e["usage"], e.get("timings")
            for ch in e.get("choices", []):
                piece = ch.get("delta", {}).get("content")
                if piece:
                    if ttft is None:
                        ttft = time.perf_counter() - t0
                    text += piece
    c.close()
    return (ttft if ttft is not None else time.perf_counter() - t0), text, usage, timings


def conversation(port, turns, max_tokens):
    messages, rows = [{"role": "system", "content": SYSTEM}], []
    for i in range(turns):
        messages.append({"role": "user", "content": QUESTIONS[i % len(QUESTIONS)]})
        ttft, text, usage, timings = turn(port, messages, max_tokens)
        messages.append({"role": "assistant", "content": text})
        rows.append((ttft, usage["prompt_tokens"], timings["cache_n"], usage["completion_tokens"]))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-m", "--model", default="models/kjv-q8_0.gguf")
    ap.add_argument("--server", default="./llm-server")
    ap.add_argument("--turns", type=int, default=10)
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("-t", "--threads", type=int, default=0)
    ap.add_argument("-c", "--ctx-size", type=int, default=0)
    ap.add_argument("--chat-template", default=None, help="passed to llm-server (default: the model's)")
    a = ap.parse_args()
    args = ["-m", a.model] + (["-t", str(a.threads)] if a.threads else []) + (["-c", str(a.ctx_size)] if a.ctx_size else [])
    args += ["--chat-template", a.chat_template] if a.chat_template else []
    results = {}
    for mode, extra in (("reuse", []), ("no reuse", ["--no-cache-reuse"])):
        srv = Server(a.server, args + extra)
        try:
            results[mode] = conversation(srv.port, a.turns, a.max_tokens)
        finally:
            srv.stop()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print("%s, %s, %d CPUs, load %.1f; commit %s; %s, %d turns, answers of at most %d tokens (greedy)%s" % (
        platform.machine(), platform.processor() or platform.platform(), os.cpu_count(), os.getloadavg()[0], commit,
        os.path.basename(a.model), a.turns, a.max_tokens, ", chat template " + a.chat_template if a.chat_template else ""))
    print()
    print("| turn | prompt tokens | from the cache | TTFT with reuse | TTFT without reuse |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for i, (r, n) in enumerate(zip(results["reuse"], results["no reuse"])):
        same = "" if r[1] == n[1] else " (%d)" % n[1]
        print("| %d | %d%s | %d | %.0f ms | %.0f ms |" % (i + 1, r[1], same, r[2], r[0] * 1e3, n[0] * 1e3))
    tr = sum(r[0] for r in results["reuse"])
    tn = sum(r[0] for r in results["no reuse"])
    print("| all | | | %.0f ms | %.0f ms |" % (tr * 1e3, tn * 1e3))
    sys.stdout.flush()


if __name__ == "__main__":
    main()

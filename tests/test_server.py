"""llm-server (tools/server.c) against the default model, with Python's standard library as the client.

Each server is started on a free port of 127.0.0.1 (--port 0: the server prints the one it got) and
stopped here (SIGTERM); its log must hold no sanitizer report. Checks:
  - /health, /v1/models; greedy /v1/completions equals `llm run --temp 0` (text and token count),
    on a fresh server and after other requests (the cache then holds other prompts);
  - streaming equals non-streaming, ends with data: [DONE]; usage and finish_reason; stop strings;
  - /v1/chat/completions equals `llm chat` (one turn with a system prompt, and two turns with the
    first answer sent back), and the second turn is served from the cache (timings.cache_n) with the
    same answer as a server that reuses nothing (--no-cache-reuse);
  - bad requests (HTTP and JSON, wrong types, too long, too large, unsupported) get a 4xx with an
    OpenAI-style error and the server keeps serving; --api-key; slow clients time out while others
    are served; a client that disconnects mid-stream stops its generation; the queue bound gives 503;
  - 40 concurrent requests, some malformed, some cut off mid-body: every well-formed one gets its
    whole answer.
Environment: LLM_SERVER (default ./llm-server), LLM, MKMODEL (default tools/mkmodel)."""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llmtest import LLM, check, finish, note, skip  # noqa: E402

SERVER = os.environ.get("LLM_SERVER", "./llm-server").split()
MKMODEL = os.environ.get("MKMODEL", "tools/mkmodel")
MODEL = "models/kjv-q8_0.gguf"
C_PATH = "/v1/chat/completions"
ASAN = "asan" in " ".join(SERVER)


class Server:
    def __init__(self, *args, model=MODEL):
        self.log = []
        self.p = subprocess.Popen(SERVER + ["-m", model, "--port", "0", "-t", "1"] + list(args),
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.port = None
        deadline = time.time() + 60
        while time.time() < deadline:
            line = self.p.stderr.readline().decode("utf-8", "replace")
            if not line:
                break
            self.log.append(line)
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                break
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        if not self.port:
            self.p.kill()
            raise RuntimeError("the server did not start: " + "".join(self.log)[-500:])

    def _read(self):
        for line in self.p.stderr:
            self.log.append(line.decode("utf-8", "replace"))

    def text(self):
        return "".join(self.log)

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            rc = self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = None
        self.reader.join(timeout=5)
        return rc

    def request(self, method, path, body=None, headers=None, timeout=120):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        raw = r.read()
        c.close()
        try:
            return r.status, json.loads(raw)
        except ValueError:
            return r.status, raw

    def post(self, path, body, **kw):
        return self.request("POST", path, body, **kw)

    def stream(self, path, body):
        """the data: events of a streamed answer, decoded (the last one is the string [DONE])"""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        c.request("POST", path, body=json.dumps(dict(body, stream=True)).encode(),
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        raw = r.read().decode()
        c.close()
        events = [e[6:] for e in raw.split("\n\n") if e.startswith("data: ")]
        return r.status, [e if e == "[DONE]" else json.loads(e) for e in events]

    def raw(self, data, timeout=10, read=True):
        """send bytes on a new connection, return what comes back until the server closes"""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        s.sendall(data)
        out = b""
        try:
            while read:
                b = s.recv(65536)
                if not b:
                    break
                out += b
        except socket.timeout:
            pass
        s.close()
        return out


def finished(name, srv):
    rc = srv.stop()
    log = srv.text()
    bad = [x for x in log.split("\n") if "Sanitizer" in x or "runtime error" in x]
    check(name + ".clean_exit", rc == 0 and not bad, "exit %s; %s" % (rc, bad[:3] or log[-300:]))


def run_llm(args, stdin=None):
    r = subprocess.run(LLM + args, input=stdin, capture_output=True, timeout=300)
    return r.returncode, r.stdout, r.stderr.decode("utf-8", "replace")


def greedy_run(prompt, n):
    """llm run --temp 0: the generated text (stdout after the echoed prompt) and its token count"""
    with tempfile.TemporaryDirectory() as d:
        dump = os.path.join(d, "t")
        rc, out, err = run_llm(["run", "-m", MODEL, "--temp", "0", "-n", str(n), "-p", prompt, "-t", "1", "--dump-tokens", dump])
        rc0, echo, _ = run_llm(["run", "-m", MODEL, "-n", "0", "-p", prompt, "-t", "1"])
        n_all = len(open(dump).read().split())
        n_prompt = int(re.search(r"prompt (\d+) tokens", err).group(1))
    assert out.startswith(echo), "the echoed prompt differs"
    return out[len(echo):].decode("utf-8"), n_all - n_prompt, n_prompt


def is_error(st, body, status, param=None, code=None):
    e = body.get("error") if isinstance(body, dict) else None
    return (st == status and isinstance(e, dict) and isinstance(e.get("message"), str) and e["message"]
            and "type" in e and (param is None or e.get("param") == param) and (code is None or e.get("code") == code))


def test_basics(srv):
    st, body = srv.request("GET", "/health")
    check("server.health", st == 200 and body == {"status": "ok"}, "%s %s" % (st, body))
    st, body = srv.request("GET", "/v1/models")
    ok = st == 200 and body.get("object") == "list" and body["data"][0]["id"] == os.path.basename(MODEL)
    check("server.models", ok, "%s %s" % (st, body))


def test_completions(srv, when):
    for prompt in ("In the beginning", "And God said", ""):
        want, n_want, n_prompt = greedy_run(prompt, 24)
        st, body = srv.post("/v1/completions", {"prompt": prompt, "max_tokens": 24, "temperature": 0})
        ok = st == 200 and body["choices"][0]["text"] == want and body["usage"]["completion_tokens"] == n_want \
            and body["usage"]["prompt_tokens"] == n_prompt
        check("server.completion_equals_run.%s.%r" % (when, prompt), ok,
              "%s: got %r (%s), llm run: %r (%d tokens)" % (st, body.get("choices", [{}])[0].get("text") if st == 200 else body,
                                                            body.get("usage") if st == 200 else "", want, n_want))


def test_streaming(srv):
    req = {"prompt": "And the earth", "max_tokens": 30, "temperature": 0}
    st, whole = srv.post("/v1/completions", req)
    st2, events = srv.stream("/v1/completions", req)
    text = "".join(e["choices"][0]["text"] for e in events[:-1])
    last = events[-2]["choices"][0] if len(events) > 1 else {}
    ok = st == st2 == 200 and events[-1] == "[DONE]" and text == whole["choices"][0]["text"] \
        and last.get("finish_reason") == whole["choices"][0]["finish_reason"] \
        and all(e["choices"][0]["finish_reason"] is None for e in events[:-2])
    check("server.stream.completion", ok, "%d events, %r vs %r" % (len(events), text, whole["choices"][0]["text"]))
    st, events = srv.stream("/v1/completions", dict(req, stream_options={"include_usage": True}))
    usage = events[-2].get("usage") if len(events) > 1 else None
    check("server.stream.include_usage", st == 200 and usage and usage["completion_tokens"] == whole["usage"]["completion_tokens"],
          str(events[-2:]))
    chat = {"messages": [{"role": "user", "content": "Who made the heaven?"}], "max_tokens": 20, "temperature": 0}
    st, whole = srv.post("/v1/chat/completions", chat)
    st2, events = srv.stream("/v1/chat/completions", chat)
    first = events[0]["choices"][0]["delta"] if events else {}
    text = "".join(e["choices"][0]["delta"].get("content", "") for e in events[:-1])
    ok = st == st2 == 200 and first.get("role") == "assistant" and events[-1] == "[DONE]" \
        and text == whole["choices"][0]["message"]["content"] \
        and events[-2]["choices"][0]["finish_reason"] == whole["choices"][0]["finish_reason"] \
        and all(e["object"] == "chat.completion.chunk" for e in events[:-1])
    check("server.stream.chat", ok, "%r vs %r" % (text, whole["choices"][0]["message"]["content"]))


def test_limits_and_stops(srv):
    st, body = srv.post("/v1/completions", {"prompt": "In the beginning", "max_tokens": 5, "temperature": 0})
    ok = st == 200 and body["choices"][0]["finish_reason"] == "length" and body["usage"]["completion_tokens"] == 5 \
        and body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + 5
    check("server.max_tokens", ok, str(body))
    st, body = srv.post("/v1/completions", {"prompt": "In the beginning", "max_tokens": 40, "temperature": 0})
    full = body["choices"][0]["text"]
    stop = full[12:16]
    want = full[:full.index(stop)]
    for stream in (False, True):
        req = {"prompt": "In the beginning", "max_tokens": 40, "temperature": 0, "stop": [stop, "\u00e9\u00e9never"]}
        if stream:
            st, events = srv.stream("/v1/completions", req)
            got = "".join(e["choices"][0]["text"] for e in events[:-1])
            reason = events[-2]["choices"][0]["finish_reason"]
        else:
            st, body = srv.post("/v1/completions", req)
            got, reason = body["choices"][0]["text"], body["choices"][0]["finish_reason"]
        check("server.stop.%s" % ("stream" if stream else "whole"), st == 200 and got == want and reason == "stop",
              "stop %r: got %r (%s), want %r" % (stop, got, reason, want))
    st, body = srv.post("/v1/completions", {"prompt": "In the beginning", "max_tokens": 40, "temperature": 0, "stop": stop})
    check("server.stop.string", st == 200 and body["choices"][0]["text"] == want, str(body)[:300])
    st, body = srv.post("/v1/completions", {"prompt": "In the", "max_tokens": 8, "temperature": 0.8, "seed": 7, "top_k": 20,
                                            "top_p": 0.9, "min_p": 0.02, "repeat_penalty": 1.1, "frequency_penalty": 0.5,
                                            "presence_penalty": 0.3})
    st2, body2 = srv.post("/v1/completions", {"prompt": "In the", "max_tokens": 8, "temperature": 0.8, "seed": 7, "top_k": 20,
                                              "top_p": 0.9, "min_p": 0.02, "repeat_penalty": 1.1, "frequency_penalty": 0.5,
                                              "presence_penalty": 0.3})
    check("server.sampling.seeded", st == st2 == 200 and body["choices"] == body2["choices"], "%s / %s" % (body, body2))


def test_chat(srv):
    # one turn, with a system prompt: the same answer as llm chat
    sys_p, u1, u2 = "Answer as the scripture does.", "Who created the heaven and the earth?", "And what did he say?"
    rc, out, err = run_llm(["chat", "-m", MODEL, "--temp", "0", "-n", "16", "-t", "1", "--system", sys_p],
                           ("%s\n%s\n" % (u1, u2)).encode())
    out = out.decode("utf-8", "replace")           # llm chat prints each answer and a newline
    st, body = srv.post("/v1/chat/completions", {"messages": [{"role": "system", "content": sys_p}, {"role": "user", "content": u1}],
                                                 "max_tokens": 16, "temperature": 0})
    a1 = body["choices"][0]["message"]["content"] if st == 200 else None
    check("server.chat.equals_llm_chat.turn1", rc == 0 and a1 is not None and out.startswith(a1 + "\n"),
          "server %r, llm chat %r" % (a1, out))
    conv = {"messages": [{"role": "system", "content": sys_p}, {"role": "user", "content": u1},
                         {"role": "assistant", "content": a1}, {"role": "user", "content": u2}],
            "max_tokens": 16, "temperature": 0}
    st, body = srv.post("/v1/chat/completions", conv)
    a2 = body["choices"][0]["message"]["content"] if st == 200 else None
    check("server.chat.equals_llm_chat.turn2", a2 is not None and out == "%s\n%s\n" % (a1, a2), "server %r, llm chat %r" % (a2, out))
    cache_n, n_prompt = body["timings"]["cache_n"], body["usage"]["prompt_tokens"]
    check("server.chat.cache_reused", cache_n > n_prompt // 2 and body["timings"]["prompt_n"] == n_prompt - cache_n,
          "%d of %d prompt tokens from the cache" % (cache_n, n_prompt))
    # the same two requests on a server that reuses nothing: the same answers
    fresh = Server("--no-cache-reuse")
    st1, b1 = fresh.post("/v1/chat/completions", dict(conv, messages=conv["messages"][:2]))
    st2, b2 = fresh.post("/v1/chat/completions", conv)
    ok = st1 == st2 == 200 and b1["choices"][0]["message"]["content"] == a1 and b2["choices"][0]["message"]["content"] == a2 \
        and b2["timings"]["cache_n"] == 0
    check("server.chat.reuse_same_answer", ok, "no reuse: %r / %r" % (b1.get("choices"), b2.get("choices")))
    finished("server.no_reuse", fresh)
    # a conversation streamed turn after turn: each turn finds the previous one and its answer in
    # the cache (the answer comes back as the tokens it was generated as, even right after [DONE])
    msgs, prev, ok, seen = [{"role": "system", "content": sys_p}], None, True, []
    for q in (u1, u2, "Tell me more.", "What came next?"):
        msgs.append({"role": "user", "content": q})
        st, events = srv.stream(C_PATH, {"messages": msgs, "max_tokens": 12, "temperature": 0, "stream_options": {"include_usage": True}})
        usage = [e for e in events if e != "[DONE]" and e.get("usage")][0]
        text = "".join(e["choices"][0]["delta"].get("content", "") for e in events if e != "[DONE]" and e["choices"])
        cache_n, n = usage["timings"]["cache_n"], usage["usage"]
        seen.append((n["prompt_tokens"], cache_n))
        if prev and cache_n < prev["prompt_tokens"] + prev["completion_tokens"] - 1:
            ok = False
        prev = n
        msgs.append({"role": "assistant", "content": text})
    check("server.chat.cache_every_turn", ok, "(prompt tokens, from the cache) per turn: %s" % seen)
    # content as text parts, developer role
    st, body = srv.post("/v1/chat/completions", {"messages": [{"role": "developer", "content": sys_p},
                                                              {"role": "user", "content": [{"type": "text", "text": u1}]}],
                                                 "max_tokens": 16, "temperature": 0})
    check("server.chat.text_parts", st == 200 and body["choices"][0]["message"]["content"] == a1, str(body)[:300])


def test_bad_requests(srv):
    P = "/v1/completions"
    C = "/v1/chat/completions"
    cases = [
        ("json.malformed", P, b'{"prompt": "x", ', 400, None),
        ("json.trailing", P, b'{"prompt": "x"} x', 400, None),
        ("json.not_object", P, b'[1, 2]', 400, None),
        ("json.bad_utf8", P, b'{"prompt": "\xff\xfe"}', 400, None),
        ("json.lone_surrogate", P, b'{"prompt": "\\ud800"}', 400, None),
        ("json.deep", P, b"[" * 5000 + b"]" * 5000, 400, None),
        ("json.empty_body", P, b"", 400, None),
        ("type.max_tokens", P, {"prompt": "x", "max_tokens": "ten"}, 400, "max_tokens"),
        ("type.max_tokens_fraction", P, {"prompt": "x", "max_tokens": 2.5}, 400, "max_tokens"),
        ("type.max_tokens_negative", P, {"prompt": "x", "max_tokens": -1}, 400, "max_tokens"),
        ("type.temperature", P, {"prompt": "x", "temperature": -1}, 400, "temperature"),
        ("type.temperature_string", P, {"prompt": "x", "temperature": "hot"}, 400, "temperature"),
        ("type.top_p", P, {"prompt": "x", "top_p": 2}, 400, "top_p"),
        ("type.seed", P, {"prompt": "x", "seed": "s"}, 400, "seed"),
        ("type.stream", P, {"prompt": "x", "stream": "yes"}, 400, "stream"),
        ("type.stop", P, {"prompt": "x", "stop": 5}, 400, "stop"),
        ("type.stop_items", P, {"prompt": "x", "stop": ["a", 1]}, 400, "stop"),
        ("type.stop_too_many", P, {"prompt": "x", "stop": ["a"] * 40}, 400, "stop"),
        ("type.model", P, {"prompt": "x", "model": 3}, 400, "model"),
        ("type.prompt", P, {"prompt": 3}, 400, "prompt"),
        ("prompt.missing", P, {"max_tokens": 3}, 400, "prompt"),
        ("prompt.two", P, {"prompt": ["a", "b"]}, 400, "prompt"),
        ("prompt.bad_token", P, {"prompt": [1, 99999999]}, 400, "prompt"),
        ("unsupported.n", P, {"prompt": "x", "n": 2}, 400, "n"),
        ("unsupported.echo", P, {"prompt": "x", "echo": True}, 400, "echo"),
        ("unsupported.logit_bias", P, {"prompt": "x", "logit_bias": {"1": 5}}, 400, "logit_bias"),
        ("chat.no_messages", C, {"max_tokens": 3}, 400, "messages"),
        ("chat.messages_type", C, {"messages": "hi"}, 400, "messages"),
        ("chat.messages_empty", C, {"messages": []}, 400, "messages"),
        ("chat.message_type", C, {"messages": ["hi"]}, 400, "messages"),
        ("chat.role", C, {"messages": [{"role": "tool", "content": "x"}]}, 400, "messages"),
        ("chat.role_type", C, {"messages": [{"role": 1, "content": "x"}]}, 400, "messages"),
        ("chat.content_type", C, {"messages": [{"role": "user", "content": 5}]}, 400, "messages"),
        ("chat.content_missing", C, {"messages": [{"role": "user"}]}, 400, "messages"),
        ("chat.content_image", C, {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]}, 400, "messages"),
        ("chat.content_nul", C, {"messages": [{"role": "user", "content": "a\u0000b"}]}, 400, "messages"),
        ("chat.tools", C, {"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function"}]}, 400, "tools"),
        ("chat.response_format", C, {"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_object"}}, 400,
         "response_format"),
        ("chat.max_tokens_type", C, {"messages": [{"role": "user", "content": "x"}], "max_tokens": [1]}, 400, "max_tokens"),
    ]
    for name, path, body, status, param in cases:
        st, b = srv.post(path, body)
        check("server.bad.%s" % name, is_error(st, b, status, param), "%s %s" % (st, str(b)[:200]))
    long_prompt = "and it came to pass " * 400
    st, b = srv.post(P, {"prompt": long_prompt})
    check("server.bad.prompt_too_long", is_error(st, b, 400, "prompt", "context_length_exceeded"), "%s %s" % (st, str(b)[:200]))
    st, b = srv.post(C, {"messages": [{"role": "user", "content": long_prompt}]})
    check("server.bad.chat_too_long", is_error(st, b, 400, "messages", "context_length_exceeded"), "%s %s" % (st, str(b)[:200]))
    st, b = srv.request("GET", "/v1/nothing")
    check("server.bad.not_found", is_error(st, b, 404), "%s %s" % (st, b))
    st, b = srv.request("GET", P)
    check("server.bad.method", is_error(st, b, 405), "%s %s" % (st, b))
    st, b = srv.request("DELETE", "/health")
    check("server.bad.method_health", is_error(st, b, 405), "%s %s" % (st, b))
    # the HTTP layer: answered with an error and a closed connection
    raw_cases = [
        ("http.garbage", b"GARBAGE\r\n\r\n", 400),
        ("http.no_version", b"GET /health\r\n\r\n", 400),
        ("http.version", b"GET /health HTTP/2.0\r\n\r\n", 505),
        ("http.target", b"GET http://x/health HTTP/1.1\r\n\r\n", 400),
        ("http.control_char", b"GET /health HTTP/1.1\r\nX: a\x01b\r\n\r\n", 400),
        ("http.folding", b"GET /health HTTP/1.1\r\nX: a\r\n b\r\n\r\n", 400),
        ("http.no_length", b"POST /v1/completions HTTP/1.1\r\nHost: x\r\n\r\n", 411),
        ("http.chunked", b"POST /v1/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 501),
        ("http.smuggle", b"POST /v1/completions HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
        ("http.bad_length", b"POST /v1/completions HTTP/1.1\r\nContent-Length: -3\r\n\r\n", 400),
        ("http.body_too_large", b"POST /v1/completions HTTP/1.1\r\nContent-Length: 5000000\r\n\r\n{", 413),
        ("http.line_too_long", b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\n\r\n", 414),
        ("http.head_too_large", b"GET /health HTTP/1.1\r\n" + b"X-Pad: " + b"b" * 8000 + b"\r\n" + b"X-Pad2: " + b"c" * 8000
         + b"\r\n" + b"X-Pad3: " + b"d" * 8000 + b"\r\n\r\n", 431),
        ("http.expect", b"POST /v1/completions HTTP/1.1\r\nExpect: nothing\r\nContent-Length: 2\r\n\r\n{}", 417),
    ]
    for name, data, status in raw_cases:
        out = srv.raw(data)
        m = re.match(rb"HTTP/1\.1 (\d+) [^\r]*\r\n(.*?)\r\n\r\n(.*)", out, re.S)
        ok = m and int(m.group(1)) == status and b"Connection: close" in m.group(2)
        try:
            ok = ok and "message" in json.loads(m.group(3))["error"]
        except (ValueError, KeyError, TypeError):
            ok = False
        check("server.bad.%s" % name, ok, out[:200])
    # an error answer keeps the connection: a good request on the same one after it
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
    got = []
    for body in ({"prompt": "x", "max_tokens": "bad"}, {"prompt": "In", "max_tokens": 2, "temperature": 0}):
        c.request("POST", P, body=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
        r = c.getresponse()
        got.append((r.status, r.read()[:80]))
    c.close()
    check("server.http.keep_alive_after_error", [g[0] for g in got] == [400, 200], got)
    # keep-alive: two requests on one connection, and Expect: 100-continue
    body = json.dumps({"prompt": "In", "max_tokens": 2, "temperature": 0}).encode()
    req = b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    out = srv.raw(req + req[:-len(body)].replace(b"Host: x", b"Connection: close") + body)
    check("server.http.keep_alive", out.count(b"HTTP/1.1 200 OK") == 2 and out.count(b'"finish_reason"') == 2, out[:300])
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    s.sendall(b"POST /v1/completions HTTP/1.1\r\nExpect: 100-continue\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body))
    first = s.recv(100)
    s.sendall(body)
    rest = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        rest += b
    s.close()
    check("server.http.expect_continue", first.startswith(b"HTTP/1.1 100 Continue\r\n\r\n") and b"200 OK" in first + rest, first + rest[:100])
    # an HTTP/1.0 client gets its stream without the chunked coding, ended by the close
    body = json.dumps({"prompt": "In the beginning", "max_tokens": 6, "temperature": 0, "stream": True}).encode()
    out = srv.raw(b"POST /v1/completions HTTP/1.0\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    head, _, rest = out.partition(b"\r\n\r\n")
    events = [e for e in rest.split(b"\n\n") if e]
    check("server.http.stream_http10", head.startswith(b"HTTP/1.1 200") and b"chunked" not in head and events[-1:] == [b"data: [DONE]"]
          and all(e.startswith(b"data: ") for e in events), out[:300])
    st, b = srv.request("GET", "/health")
    st2, b2 = srv.post(P, {"prompt": "In the beginning", "max_tokens": 4, "temperature": 0})
    check("server.bad.still_serving", st == 200 and st2 == 200 and b2["usage"]["completion_tokens"] == 4, "%s %s" % (st2, b2))


def test_api_key():
    srv = Server("--api-key", "s3cret")
    st, b = srv.request("GET", "/v1/models")
    check("server.api_key.missing", is_error(st, b, 401, code="invalid_api_key"), "%s %s" % (st, b))
    st, b = srv.request("GET", "/v1/models", headers={"Authorization": "Bearer wrong"})
    check("server.api_key.wrong", is_error(st, b, 401), "%s %s" % (st, b))
    st, b = srv.post("/v1/completions", {"prompt": "x"}, headers={"Authorization": "Bearer s3cre"})
    check("server.api_key.prefix", is_error(st, b, 401), "%s %s" % (st, b))
    st, b = srv.request("GET", "/v1/models", headers={"Authorization": "Bearer s3cret"})
    check("server.api_key.right", st == 200 and b["data"][0]["id"], "%s %s" % (st, b))
    st, b = srv.request("GET", "/health")
    check("server.api_key.health_open", st == 200, "%s %s" % (st, b))
    finished("server.api_key", srv)


def test_timeouts():
    srv = Server("--timeout", "2")
    slow = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    slow.sendall(b"POST /v1/completions HTTP/1.1\r\nContent-")
    slow_body = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    slow_body.sendall(b"POST /v1/completions HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"prompt\":")
    t0 = time.time()
    st, b = srv.post("/v1/completions", {"prompt": "In the beginning", "max_tokens": 4, "temperature": 0})
    check("server.timeout.others_served", st == 200 and time.time() - t0 < 2, "%s after %.1f s" % (st, time.time() - t0))
    outs = []
    for s in (slow, slow_body):
        out = b""
        try:
            while True:
                x = s.recv(4096)
                if not x:
                    break
                out += x
        except socket.timeout:
            out += b"(no close)"
        s.close()
        outs.append(out)
    waited = time.time() - t0
    check("server.timeout.head", outs[0].startswith(b"HTTP/1.1 408") and 1.5 < waited < 9, "%r after %.1f s" % (outs[0][:60], waited))
    check("server.timeout.body", outs[1].startswith(b"HTTP/1.1 408"), outs[1][:60])
    # an idle connection is closed quietly
    idle = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    t0 = time.time()
    got = idle.recv(100)
    check("server.timeout.idle", got == b"" and time.time() - t0 < 9, "%r after %.1f s" % (got, time.time() - t0))
    idle.close()
    finished("server.timeout", srv)


def slow_model(tmp):
    """a random model slow enough (one thread, 2048 positions) that a long answer takes seconds"""
    path = os.path.join(tmp, "slow.gguf")
    subprocess.run([MKMODEL, path, "--dim", "512", "--layers", "8", "--heads", "8", "--kv-heads", "8", "--ffn", "1536",
                    "--ctx", "2048", "--vocab", "400", "--type", "Q8_0"], check=True, capture_output=True)
    return path


def test_disconnect_and_queue(tmp):
    if not os.path.exists(MKMODEL):
        skip("server.disconnect", "%s not built (make tools/mkmodel)" % MKMODEL)
        return
    model = slow_model(tmp)
    srv = Server("--max-queue", "1", model=model)
    long_req = {"prompt": "hello", "max_tokens": 1000, "temperature": 0}
    # a client that goes away after the first streamed token stops its generation
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    body = json.dumps(dict(long_req, stream=True)).encode()
    s.sendall(b"POST /v1/completions HTTP/1.1\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    got = b""
    while b"data: " not in got:
        got += s.recv(4096)
    s.close()
    t0 = time.time()
    st, b = srv.post("/v1/completions", {"prompt": "hello", "max_tokens": 2, "temperature": 0})
    m = None
    for _ in range(100):
        m = re.search(r"client gone after (\d+) generated tokens", srv.text())
        if m:
            break
        time.sleep(0.05)
    check("server.disconnect.stops", m and int(m.group(1)) < 900 and st == 200,
          "%s; next request %s after %.2f s" % (m.group(0) if m else "no 'client gone' in the log", st, time.time() - t0))
    # queue: one running (a stream we have seen start), one waiting (--max-queue 1), the next gets 503;
    # the running and the waiting ones finish whole
    results = {}

    def go(k, req):
        results[k] = srv.post("/v1/completions", req)
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=120)
    body = json.dumps(dict(long_req, stream=True)).encode()
    s.sendall(b"POST /v1/completions HTTP/1.1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    stream = b""
    while b"data: " not in stream:
        stream += s.recv(65536)
    waiting = [threading.Thread(target=go, args=(k, dict(long_req, max_tokens=20))) for k in ("b", "c")]
    for t in waiting:
        t.start()
        time.sleep(0.2)
    for t in waiting:
        t.join()
    while True:
        x = s.recv(65536)
        if not x:
            break
        stream += x
    s.close()
    events = [e[6:] for e in stream.decode("utf-8", "replace").split("\n") if e.startswith("data: ")]
    done = [r for r in results.values() if r[0] == 200]
    busy = [r for r in results.values() if is_error(r[0], r[1], 503)]
    ok = events[-1:] == ["[DONE]"] and len(done) == 1 and len(busy) == 1 and done[0][1]["usage"]["completion_tokens"] == 20
    check("server.queue.bound", ok, "stream: %d events, then: %s" % (len(events), [(r[0], str(r[1])[:100]) for r in results.values()]))
    finished("server.slow", srv)


def test_mixed_load(srv):
    """40 requests at once: some malformed, some cut off mid-body; the well-formed ones all complete"""
    want = srv.post("/v1/completions", {"prompt": "In the beginning", "max_tokens": 12, "temperature": 0})[1]["choices"][0]["text"]
    results = []
    lock = threading.Lock()

    def one(i):
        kind = i % 4
        try:
            if kind == 0 or kind == 3:
                st, b = srv.post("/v1/completions", {"prompt": "In the beginning", "max_tokens": 12, "temperature": 0}, timeout=300)
                r = ("good", st == 200 and b["choices"][0]["text"] == want, st, str(b)[:200])
            elif kind == 1:
                st, b = srv.post("/v1/completions", b'{"prompt": [1, 2,', timeout=300)
                r = ("bad", st == 400)
            else:
                s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
                s.sendall(b"POST /v1/completions HTTP/1.1\r\nContent-Length: 200\r\n\r\n{\"prompt\": \"In the")
                s.close()
                r = ("cut", True)
        except Exception as e:  # noqa: BLE001
            r = ("good" if kind in (0, 3) else "other", False, repr(e))
        with lock:
            results.append(r)
    threads = [threading.Thread(target=one, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    good = [r for r in results if r[0] == "good"]
    check("server.load.mixed", len(good) == 20 and all(r[1] for r in results),
          "%d well-formed answered right of 20; failures: %s" % (sum(1 for r in good if r[1]), [r for r in results if not r[1]][:3]))


def main():
    if not os.path.exists(SERVER[-1]):
        skip("server", "%s not built (make server)" % SERVER[-1])
        return
    if not os.path.exists(MODEL):
        skip("server", "%s missing" % MODEL)
        return
    if ASAN:
        note("server under ASan: %s" % " ".join(SERVER))
    srv = Server("--max-queue", "64")                   # the mixed load queues up to 20 requests
    test_basics(srv)
    test_completions(srv, "fresh")
    test_streaming(srv)
    test_limits_and_stops(srv)
    test_chat(srv)
    test_completions(srv, "after_others")
    test_bad_requests(srv)
    test_mixed_load(srv)
    finished("server.main", srv)
    test_api_key()
    test_timeouts()
    with tempfile.TemporaryDirectory(prefix="llmserver-") as tmp:
        test_disconnect_and_queue(tmp)
    rc = subprocess.run(SERVER + ["-m", MODEL, "--port", "99999"], capture_output=True, timeout=60)
    check("server.bad_option", rc.returncode == 2 and b"--port" in rc.stderr, rc.stderr.decode()[:200])


main()
finish()

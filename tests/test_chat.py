"""llm chat: a scripted two-turn session per template on a small random model whose synthetic
vocabulary has every template's control tokens (tools/mkmodel). Checks, from --verbose-prompt:
the exact token sequence of each turn, rebuilt here from the template's definition (control
tokens by id, text through `llm tokenize`), and that the second turn starts where the first
ended (the KV cache keeps turn one and its answer: only the end-of-turn token and the new turn
are evaluated; DeepSeek-R1 evaluates its kept answer again from after <｜Assistant｜>). Also the
template detection from tokenizer.chat_template, an unknown template name, and conversations
longer than the context: the oldest turns are dropped and the chat goes on; a message or system
prompt that cannot fit even alone is refused with exit 1."""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llmtest  # noqa: E402,F401  (puts tools/ on the path)
import gguf  # noqa: E402

LLM = os.environ.get("LLM", "./llm").split()
MKMODEL = os.environ.get("MKMODEL", "tools/mkmodel")
SYSTEM, U1, U2, N = "be brief", "hello there", "second turn", 4


def run(args, stdin=b"", raw=False):
    r = subprocess.run(LLM + args, input=stdin, capture_output=True, timeout=120)
    if raw:
        return r.returncode, r.stdout, r.stderr.decode("utf-8", "replace")
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def piece_bytes(p):
    """the text of a SentencePiece vocabulary piece: <0xXX> is that byte, U+2581 a space"""
    m = re.fullmatch(r"<0x([0-9A-Fa-f]{2})>", p)
    return bytes([int(m.group(1), 16)]) if m else p.replace("\u2581", " ").encode()


def main():
    if not os.path.exists(MKMODEL):
        print("SKIP chat: %s not built (make tools/mkmodel)" % MKMODEL)
        return
    tmp = tempfile.mkdtemp(prefix="llmchat-")
    model = os.path.join(tmp, "chat.gguf")
    subprocess.run([MKMODEL, model, "--vocab", "400", "--seed", "5"], check=True)
    pieces = gguf.Reader(model).kv["tokenizer.ggml.tokens"]
    sid = {p: i for i, p in enumerate(pieces)}

    def tok(text):
        rc, out, err = run(["tokenize", "-m", model, "--no-bos", "-p", text])
        return [int(x) for x in out.split()]

    def tok_bytes(text):
        r = subprocess.run(LLM + ["tokenize", "-m", model, "--no-bos", "-p", text], capture_output=True, timeout=120)
        return [int(x) for x in r.stdout.split()]

    def S(p):
        return [sid[p]]

    ds = lambda w: "<\uff5c%s\uff5c>" % w  # noqa: E731
    expect = {
        "llama2": (S("<s>") + tok("[INST] <<SYS>>\n%s\n<</SYS>>\n\n%s [/INST]" % (SYSTEM, U1)),
                   S("<s>") + tok("[INST] %s [/INST]" % U2), S("</s>")),
        "llama3": (S("<|begin_of_text|>") + S("<|start_header_id|>") + tok("system") + S("<|end_header_id|>") + tok("\n\n")
                   + tok(SYSTEM) + S("<|eot_id|>") + S("<|start_header_id|>") + tok("user") + S("<|end_header_id|>")
                   + tok("\n\n") + tok(U1) + S("<|eot_id|>") + S("<|start_header_id|>") + tok("assistant")
                   + S("<|end_header_id|>") + tok("\n\n"),
                   S("<|start_header_id|>") + tok("user") + S("<|end_header_id|>") + tok("\n\n") + tok(U2) + S("<|eot_id|>")
                   + S("<|start_header_id|>") + tok("assistant") + S("<|end_header_id|>") + tok("\n\n"), S("<|eot_id|>")),
        "chatml": (S("<|im_start|>") + tok("system\n") + tok(SYSTEM) + S("<|im_end|>") + tok("\n") + S("<|im_start|>")
                   + tok("user\n") + tok(U1) + S("<|im_end|>") + tok("\n") + S("<|im_start|>") + tok("assistant\n"),
                   tok("\n") + S("<|im_start|>") + tok("user\n") + tok(U2) + S("<|im_end|>") + tok("\n") + S("<|im_start|>")
                   + tok("assistant\n"), S("<|im_end|>")),
        "deepseek-r1": (S(ds("begin\u2581of\u2581sentence")) + tok(SYSTEM) + S(ds("User")) + tok(U1) + S(ds("Assistant"))
                        + tok("<think>\n"),
                        S(ds("User")) + tok(U2) + S(ds("Assistant")) + tok("<think>\n"), None),
    }
    for name, (turn1, turn2, end) in expect.items():
        rc, out, err = run(["chat", "-m", model, "--chat-template", name, "--system", SYSTEM, "--verbose-prompt",
                            "-n", str(N), "--temp", "0", "-t", "1"], ("%s\n%s\n" % (U1, U2)).encode(), raw=True)
        turns = re.findall(r"chat: turn (\d+): (\d+) new tokens at position (\d+):([ \d]*)", err)
        answers = re.findall(r"chat: answer: (\d+) tokens:([ \d]*)", err)
        if rc != 0 or len(turns) != 2 or len(answers) != 2:
            print("FAIL chat.%s: exit %d, %d turns seen: %s" % (name, rc, len(turns), err.strip()[-300:]))
            continue
        got1 = [int(x) for x in turns[0][3].split()]
        got2 = [int(x) for x in turns[1][3].split()]
        pos2 = int(turns[1][2])
        if name == "deepseek-r1":      # turn one's answer goes in again after <｜Assistant｜>, then the end token:
            ids = [int(i) for i in answers[0][1].split()]   # as generated, or what follows </think> tokenized anew
            answer = b"".join(piece_bytes(pieces[i]) for i in ids)
            kept = tok_bytes(answer.split(b"</think>")[-1].strip(b" \t\r\n")) if b"</think>" in answer else ids
            turn2 = kept + S(ds("end\u2581of\u2581sentence")) + turn2
            want_pos2 = len(turn1) - len(tok("<think>\n"))
        else:                          # turn one + its answer are kept: the end token and the new turn follow
            turn2 = end + turn2
            want_pos2 = len(got1) + int(answers[0][0])
        ok1, ok2, ok_pos = got1 == turn1, got2 == turn2, pos2 == want_pos2
        print("%s chat.%s.turn1: %d tokens%s" % ("PASS" if ok1 else "FAIL", name, len(got1), "" if ok1 else " got %s want %s" % (got1, turn1)))
        print("%s chat.%s.turn2: %d new tokens only%s" % ("PASS" if ok2 else "FAIL", name, len(got2), "" if ok2 else " got %s want %s" % (got2, turn2)))
        print("%s chat.%s.cache_kept: turn 2 evaluated at position %d after %d prompt tokens of turn 1 (want %d)"
              % ("PASS" if ok_pos else "FAIL", name, pos2, len(got1), want_pos2))
    # detection from the real Jinja templates' markers
    import json
    shared = os.environ.get("SHARED", "../shared")
    for fname, want in (("llama3.tokenizer_config.json", "llama3"), ("qwen3.tokenizer_config.json", "chatml")):
        path = os.path.join(shared, "assets", "chat", fname)
        if not os.path.exists(path):
            print("SKIP chat.detect.%s: %s not found" % (want, path))
            continue
        jinja = os.path.join(tmp, fname + ".jinja")
        open(jinja, "w").write(json.load(open(path))["chat_template"])
        m2 = os.path.join(tmp, want + ".gguf")
        subprocess.run([MKMODEL, m2, "--vocab", "400", "--chat-template-file", jinja], check=True)
        rc, out, err = run(["chat", "-m", m2, "-n", "1", "-t", "1"], b"hi\n")
        ok = rc == 0 and ("chat: template %s," % want) in err
        print("%s chat.detect.%s: %s" % ("PASS" if ok else "FAIL", want, err.strip().split("\n")[0]))
    for name, marker in (("deepseek-r1", "<\uff5cAssistant\uff5c>"), ("llama2", "[INST]")):
        jinja = os.path.join(tmp, name + ".jinja")
        open(jinja, "w").write("{%% for m in messages %%}%s{{ m.content }}{%% endfor %%}" % marker)
        m2 = os.path.join(tmp, name + ".gguf")
        subprocess.run([MKMODEL, m2, "--vocab", "400", "--chat-template-file", jinja], check=True)
        rc, out, err = run(["chat", "-m", m2, "-n", "1", "-t", "1"], b"hi\n")
        ok = rc == 0 and ("chat: template %s," % name) in err
        print("%s chat.detect.%s: %s" % ("PASS" if ok else "FAIL", name, err.strip().split("\n")[0]))
    rc, out, err = run(["chat", "-m", model, "--chat-template", "nosuch"], b"")
    print("%s chat.unknown_template: exit %d: %s" % ("PASS" if rc == 2 and "nosuch" in err else "FAIL", rc, err.strip()))
    overflow(model)


def overflow(model):
    """Conversations longer than the context go on; what cannot fit even alone is refused."""
    base = ["chat", "-m", model, "--temp", "0", "-t", "1", "--chat-template", "chatml"]
    # twelve turns in a context that holds about three: every message gets its answer line
    msgs = "".join("message number %d here\n" % i for i in range(12)).encode()
    rc, out, err = run(base + ["-c", "96", "-n", "8", "--verbose-prompt"], msgs, raw=True)
    n_answers = err.count("chat: answer: ")
    ok = rc == 0 and n_answers == 12 and "oldest turns dropped" in err
    print("%s chat.overflow.keeps_going: exit %d, %d answers to 12 messages, %s" % (
        "PASS" if ok else "FAIL", rc, n_answers, "turns dropped" if "oldest turns dropped" in err else err.strip()[-200:]))
    # an answer that reaches the context end goes on after the oldest turn is dropped
    seen = 0
    for c, n in ((96, 40), (96, 60), (128, 60), (80, 40)):
        rc, out, err = run(base + ["-c", str(c), "-n", str(n), "--verbose-prompt"],
                           b"hi\nsecond turn\nthird one\nfourth\n", raw=True)
        lines = err.split("\n")
        for i, line in enumerate(lines):
            if "outgrew the context of %d tokens during an answer" % c not in line:
                continue
            # the turn's prompt ended at position + new tokens; the answer's length comes after the note
            turn = [re.search(r"turn \d+: (\d+) new tokens at position (\d+)", x) for x in lines[:i]]
            turn = [t for t in turn if t][-1]
            start = int(turn.group(1)) + int(turn.group(2))
            answer = int(re.search(r"chat: answer: (\d+) tokens", "\n".join(lines[i:])).group(1))
            seen += 1
            ok = rc == 0 and answer > c - start
            print("%s chat.overflow.during_answer.c%d: the answer went on to %d tokens where %d positions were free" % (
                "PASS" if ok else "FAIL", c, answer, c - start))
    if not seen:
        print("FAIL chat.overflow.during_answer: no answer reached the context end in any setting tried")
    long_text = " ".join(["word"] * 200)
    rc, out, err = run(base + ["-c", "64", "-n", "4", "--verbose-prompt"], ("hi\n%s\nbye\n" % long_text).encode(), raw=True)
    n_answers = err.count("chat: answer: ")
    ok = rc == 1 and n_answers == 2 and "not sent" in err
    print("%s chat.overflow.message_too_long: exit %d, %d answers to the 2 messages that fit: %s" % (
        "PASS" if ok else "FAIL", rc, n_answers, [x for x in err.split("\n") if "not sent" in x or "context" in x][-1:]))
    rc, out, err = run(base + ["-c", "64", "-n", "4", "--system", long_text], b"hi\n", raw=True)
    ok = rc == 1 and out == b"" and "system prompt needs" in err
    print("%s chat.overflow.system_too_long: exit %d: %s" % ("PASS" if ok else "FAIL", rc, err.strip().split("\n")[-1]))


main()

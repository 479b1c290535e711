// The official `openai` npm client (4.x) against llm-server with the default model.
// Run by tests/test_openai_node.sh (NODE_PATH points at the installed package). Prints one
// PASS/FAIL line per check; exits 1 if any failed.
//   1. completions and chat, streaming and not: the client parses every answer; greedy
//      completions equal `llm run --temp 0`, streams equal whole answers, usage and finish_reason
//      are there; a bad request is a BadRequestError (400) with the server's message.
//   2. 200 requests, 32 at a time: well-formed ones through the client (completions and chat,
//      streamed and not), malformed ones and ones cut off mid-body on raw sockets; every
//      well-formed one must get its whole answer (equal to the answer asked for alone).
'use strict';
const { spawn, execFileSync } = require('child_process');
const net = require('net');
const OpenAI = require('openai');

const SERVER = (process.env.LLM_SERVER || './llm-server').split(' ');
const LLM = (process.env.LLM || './llm').split(' ');
const MODEL = 'models/kjv-q8_0.gguf';
let failed = 0;

function check(name, ok, why) {
  if (ok) console.log(`PASS ${name}`);
  else { failed++; console.log(`FAIL ${name}: ${String(why).replace(/\n/g, '\\n').slice(0, 400)}`); }
}

function startServer(args) {
  return new Promise((resolve, reject) => {
    const p = spawn(SERVER[0], SERVER.slice(1).concat(['-m', MODEL, '--port', '0', '-t', '1'], args), { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    p.stderr.on('data', (d) => {
      log += d.toString();
      const m = log.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
      if (m && !p.port) { p.port = Number(m[1]); resolve(p); }
    });
    p.log = () => log;
    p.on('exit', (code) => { p.exitCode_ = code; if (!p.port) reject(new Error('server did not start: ' + log)); });
  });
}

function stopServer(p) {
  return new Promise((resolve) => {
    if (p.exitCode_ !== undefined) return resolve(p.exitCode_);
    p.on('exit', (code) => resolve(code));
    p.kill('SIGTERM');
  });
}

// greedy `llm run`: the text after the echoed prompt
function greedyRun(prompt, n) {
  const opts = { stdio: ['ignore', 'pipe', 'ignore'] };
  const all = execFileSync(LLM[0], LLM.slice(1).concat(['run', '-m', MODEL, '--temp', '0', '-n', String(n), '-p', prompt, '-t', '1']), opts);
  const echo = execFileSync(LLM[0], LLM.slice(1).concat(['run', '-m', MODEL, '-n', '0', '-p', prompt, '-t', '1']), opts);
  return all.subarray(echo.length).toString('utf8');
}

// bytes on a raw connection; resolves with what came back (or '' if we cut it off): the server
// closes, or a whole response head has come (a request it refused in HTTP terms is a complete
// request, and the connection stays open for the next one until --timeout)
function raw(port, data, cutOff) {
  return new Promise((resolve) => {
    const s = net.createConnection({ host: '127.0.0.1', port }, () => {
      s.write(data);
      if (cutOff) { s.destroy(); resolve(''); }
    });
    let out = '';
    s.on('data', (d) => {
      out += d.toString();
      if (out.includes('\r\n\r\n')) { s.destroy(); resolve(out); }
    });
    s.on('end', () => resolve(out));
    s.on('error', () => resolve(out));
    s.on('close', () => resolve(out));
  });
}

async function streamText(iter, chat) {
  let text = '', finish = null, chunks = 0;
  for await (const ch of iter) {
    chunks++;
    const c = ch.choices[0];
    if (!c) continue;
    text += chat ? (c.delta.content || '') : c.text;
    if (c.finish_reason) finish = c.finish_reason;
  }
  return { text, finish, chunks };
}

async function part1(client) {
  for (const prompt of ['In the beginning', 'And God said']) {
    const r = await client.completions.create({ model: 'kjv', prompt, max_tokens: 24, temperature: 0 });
    const want = greedyRun(prompt, 24);
    check(`node.completions.equals_run.${JSON.stringify(prompt)}`, r.choices[0].text === want && r.usage.completion_tokens > 0,
      `client ${JSON.stringify(r.choices[0].text)} vs llm run ${JSON.stringify(want)}`);
    const s = await streamText(await client.completions.create({ model: 'kjv', prompt, max_tokens: 24, temperature: 0, stream: true }), false);
    check(`node.completions.stream.${JSON.stringify(prompt)}`, s.text === want && s.finish === r.choices[0].finish_reason && s.chunks > 2,
      `${s.chunks} chunks: ${JSON.stringify(s.text)} (${s.finish})`);
  }
  const messages = [{ role: 'system', content: 'Answer as the scripture does.' }, { role: 'user', content: 'Who made the light?' }];
  const c = await client.chat.completions.create({ model: 'kjv', messages, max_tokens: 20, temperature: 0 });
  const m = c.choices[0].message;
  check('node.chat.whole', m.role === 'assistant' && typeof m.content === 'string' && m.content.length > 0 &&
    ['stop', 'length'].includes(c.choices[0].finish_reason) && c.usage.prompt_tokens > 0 && c.usage.completion_tokens > 0, JSON.stringify(c));
  const s = await streamText(await client.chat.completions.create({ model: 'kjv', messages, max_tokens: 20, temperature: 0, stream: true }), true);
  check('node.chat.stream', s.text === m.content && s.finish === c.choices[0].finish_reason, `${JSON.stringify(s.text)} vs ${JSON.stringify(m.content)}`);
  const c2 = await client.chat.completions.create({ model: 'kjv', max_tokens: 20, temperature: 0,
    messages: messages.concat([m, { role: 'user', content: 'And then?' }]) });
  check('node.chat.second_turn', c2.choices[0].message.content.length > 0 && c2.usage.prompt_tokens > c.usage.prompt_tokens + c.usage.completion_tokens,
    JSON.stringify(c2.usage));
  const models = await client.models.list();
  check('node.models', models.data.length === 1 && models.data[0].id === 'kjv-q8_0.gguf', JSON.stringify(models.data));
  try {
    await client.completions.create({ model: 'kjv', prompt: 'x', max_tokens: -1 });
    check('node.error.bad_request', false, 'no error thrown');
  } catch (e) {
    check('node.error.bad_request', e instanceof OpenAI.BadRequestError && e.status === 400 && /max_tokens/.test(e.message), `${e.constructor.name}: ${e.message}`);
  }
  try {
    await client.completions.create({ model: 'kjv', prompt: 'and it came to pass '.repeat(400), max_tokens: 4 });
    check('node.error.context_length', false, 'no error thrown');
  } catch (e) {
    check('node.error.context_length', e.status === 400 && e.code === 'context_length_exceeded', `${e.status} ${e.code}: ${e.message}`);
  }
}

async function part2(client, port) {
  // the answers each well-formed request must get, asked for alone
  const kinds = [
    { chat: false, stream: false, body: { model: 'kjv', prompt: 'In the beginning', max_tokens: 16, temperature: 0 } },
    { chat: false, stream: true, body: { model: 'kjv', prompt: 'And the LORD', max_tokens: 16, temperature: 0 } },
    { chat: true, stream: false, body: { model: 'kjv', messages: [{ role: 'user', content: 'Who made the earth?' }], max_tokens: 16, temperature: 0 } },
    { chat: true, stream: true, body: { model: 'kjv', messages: [{ role: 'user', content: 'Who made the sea?' }], max_tokens: 16, temperature: 0 } },
  ];
  const ask = async (k) => {
    if (k.chat && !k.stream) return (await client.chat.completions.create(k.body)).choices[0].message.content;
    if (!k.chat && !k.stream) return (await client.completions.create(k.body)).choices[0].text;
    const it = k.chat ? await client.chat.completions.create({ ...k.body, stream: true }) : await client.completions.create({ ...k.body, stream: true });
    return (await streamText(it, k.chat)).text;
  };
  for (const k of kinds) k.want = await ask(k);
  const bad = [
    'POST /v1/completions HTTP/1.1\r\nContent-Length: 9\r\n\r\n{"prompt"',
    'POST /v1/chat/completions HTTP/1.1\r\nContent-Length: 14\r\n\r\n{"messages":3}',
    'GARBAGE\r\n\r\n',
    'POST /v1/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    'GET /v1/completions HTTP/1.1\r\n\r\n',
  ];
  const jobs = [];
  for (let i = 0; i < 200; i++) jobs.push(i);
  const res = { good: 0, goodOk: 0, bad: 0, badOk: 0, cut: 0, errors: [] };
  const worker = async () => {
    while (jobs.length) {
      const i = jobs.shift();
      const kind = i % 10;
      try {
        if (kind < 6) {                                   // well-formed, through the client
          const k = kinds[i % 4];
          res.good++;
          const got = await ask(k);
          if (got === k.want) res.goodOk++;
          else res.errors.push(`request ${i}: ${JSON.stringify(got)} != ${JSON.stringify(k.want)}`);
        } else if (kind < 8) {                            // malformed
          res.bad++;
          const out = await raw(port, bad[i % bad.length], false);
          if (/^HTTP\/1\.1 4\d\d /.test(out) || /^HTTP\/1\.1 50[15] /.test(out)) res.badOk++;
          else res.errors.push(`malformed request ${i}: ${JSON.stringify(out.slice(0, 80))}`);
        } else {                                          // cut off mid-body
          res.cut++;
          const body = JSON.stringify(kinds[0].body);
          await raw(port, `POST /v1/completions HTTP/1.1\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 20)}`, true);
        }
      } catch (e) {
        res.errors.push(`request ${i}: ${e.constructor.name} ${e.status || ''} ${e.message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  check('node.load.200_requests', res.good === 120 && res.goodOk === 120 && res.badOk === res.bad && res.cut === 40,
    `${res.goodOk}/${res.good} well-formed answered whole, ${res.badOk}/${res.bad} malformed refused, ${res.cut} cut off; ${res.errors.slice(0, 3).join('; ')}`);
  const h = await fetch(`http://127.0.0.1:${port}/health`);
  check('node.load.still_serving', h.status === 200, h.status);
}

async function main() {
  const srv = await startServer(['--max-queue', '64']);
  const client = new OpenAI({ baseURL: `http://127.0.0.1:${srv.port}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 300000 });
  try {
    await part1(client);
    await part2(client, srv.port);
  } catch (e) {
    check('node.client', false, e.stack || e);
  }
  const code = await stopServer(srv);
  const log = srv.log();
  const bad = log.split('\n').filter((l) => /Sanitizer|runtime error/.test(l));
  check('node.server_clean_exit', code === 0 && bad.length === 0, `exit ${code}; ${bad.slice(0, 3).join(' | ')}`);
  process.exit(failed ? 1 : 0);
}

main();

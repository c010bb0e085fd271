// Strophe.js, a client we did not write, in headless Debian Chromium against Herald: one user over
// BOSH (/http-bind/) and one over WebSocket (/ws/) exchange messages with a slixmpp user on TCP,
// and the BOSH user survives a silence longer than `wait` (an empty body, then the next request
// continues the session). Prints PASS and exits 0 when every step happened.
import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    https: { type: 'string' },
    domain: { type: 'string', default: 'localhost' },
    password: { type: 'string' },
    peer: { type: 'string' },
    silence: { type: 'string', default: '35' },
  },
});
const origin = `https://localhost:${args.https}`;
const strophe = readFileSync(new URL('./node_modules/strophe.js/dist/strophe.umd.min.js', import.meta.url), 'utf8');

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', '--ignore-certificate-errors',
    // The test page is routed by Playwright and so has no address space of its own; without this
    // Chromium treats it as public and blocks its WebSocket to localhost.
    '--disable-features=LocalNetworkAccessChecks'],
});
let failed = false;
try {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  page.on('console', (m) => console.log(`[browser] ${m.text()}`));
  // The test page is served on Herald's own origin, so BOSH requests are same-origin.
  await page.route(`${origin}/interop/strophe.html`, (route) =>
    route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>strophe interop</title>' }));
  await page.goto(`${origin}/interop/strophe.html`);
  await page.addScriptTag({ content: strophe });

  const run = ({ url, jid, password, peer, tag, silenceMs }) => new Promise((resolve, reject) => {
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    const conn = new Strophe.Connection(url);
    let emptyBodies = 0;
    conn.xmlInput = (el) => { if (el.tagName === 'body' && el.childNodes.length === 0 && !el.getAttribute('type')) emptyBodies += 1; };
    const received = [];
    conn.addHandler((msg) => {
      const body = msg.getElementsByTagName('body')[0];
      if (body) received.push({ from: msg.getAttribute('from'), text: body.textContent });
      return true;
    }, null, 'message');
    const waitFor = async (text, ms) => {
      const until = Date.now() + ms;
      while (Date.now() < until) {
        const hit = received.find((m) => m.text === text);
        if (hit) return hit;
        await sleep(50);
      }
      throw new Error(`${tag}: no message "${text}" within ${ms} ms; got ${JSON.stringify(received)}`);
    };
    const timer = setTimeout(() => reject(new Error(`${tag}: could not connect`)), 20000);
    conn.connect(jid, password, async (status, condition) => {
      if ([Strophe.Status.CONNFAIL, Strophe.Status.AUTHFAIL, Strophe.Status.ERROR].includes(status)) {
        clearTimeout(timer);
        reject(new Error(`${tag}: connection failed with status ${status} ${condition || ''}`));
        return;
      }
      if (status !== Strophe.Status.CONNECTED) return;
      clearTimeout(timer);
      try {
        conn.send($pres());
        conn.send($msg({ to: peer, type: 'chat' }).c('body').t(`ping ${tag}`));
        const pong = await waitFor(`pong ${tag}`, 15000);
        if (!pong.from.startsWith(peer)) throw new Error(`${tag}: pong from ${pong.from}`);
        if (silenceMs > 0) {
          await sleep(silenceMs);
          if (emptyBodies < 1) throw new Error(`${tag}: no empty body arrived during ${silenceMs} ms of silence`);
          conn.send($msg({ to: peer, type: 'chat' }).c('body').t(`ping ${tag} after silence`));
          await waitFor(`pong ${tag} after silence`, 15000);
        }
        conn.flush();
        await sleep(200);
        conn.disconnect('done');
        resolve({ tag, emptyBodies, jid: conn.jid });
      } catch (err) {
        reject(err);
      }
    }, 30, 1);
  });

  const common = { password: args.password, peer: args.peer };
  const [bosh, ws] = await Promise.all([
    page.evaluate(run, { ...common, url: `${origin}/http-bind/`, jid: `bob@${args.domain}/strophe-bosh`, tag: 'bosh', silenceMs: Number(args.silence) * 1000 }),
    page.evaluate(run, { ...common, url: `wss://localhost:${args.https}/ws/`, jid: `carol@${args.domain}/strophe-ws`, tag: 'websocket', silenceMs: 0 }),
  ]);
  console.log(`PASS: BOSH as ${bosh.jid} (${bosh.emptyBodies} empty bodies during the silence), WebSocket as ${ws.jid}`);
} catch (err) {
  failed = true;
  console.log(`FAIL: ${err.message}`);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);

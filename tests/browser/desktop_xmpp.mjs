// The desktop's own XMPP client (crates/desktop/assets/js/xmpp.js) in headless Debian Chromium
// against a running Herald, loaded from the real served page (https://127.0.0.1:<api>/desktop/).
// For BOSH and then WebSocket, as agent 1001: a wrong password is refused with authFailed; the
// right one connects (SCRAM), sees finesse@<domain> available, subscribes to its ClientLog node,
// is refused the subscription to another agent's User node (item-not-found: Herald hides it),
// reads the last User item, gets the User Update of a REST LOGIN as a notification, and answers
// iqs addressed to it (ping: result; anything else: service-unavailable). Over BOSH also:
// SCRAM-SHA-1 and PLAIN each sign in (the client's list narrowed in the page), a SCRAM success
// with a forged server signature is refused by the client, and one /http-bind/ request is
// aborted by the browser's network layer: the client must say `retrying`, resend, come back to
// `connected` and lose no event. `disconnect()` ends with `disconnected` / `signed out`. Every
// wait is at most 10 s. Prints PASS and exits 0, or FAIL with what the page saw and exits 1.
import { chromium } from 'playwright-core';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    api: { type: 'string' }, // REST listener port (serves /desktop/)
    https: { type: 'string' }, // BOSH and WebSocket listener port
    domain: { type: 'string', default: 'localhost' },
    password: { type: 'string', default: 'herald-demo' },
    token: { type: 'string' }, // the simulator's bearer token (accepted for the common arguments)
  },
});
if (!args.api || !args.https) {
  console.log('FAIL usage: desktop_xmpp.mjs --api <port> --https <port> [--domain d] [--password p] [--token t]');
  process.exit(1);
}
const WAIT_MS = 10000;
const AGENT = '1001';
const userNode = `/finesse/api/User/${AGENT}`;

class StepError extends Error {}

// Installed in the page once: makes clients and records everything they report.
async function installHarness(page) {
  await page.evaluate(async () => {
    const { XmppClient } = await import(new URL('js/xmpp.js', location.href).href);
    window.h = {
      client: null, statuses: [], notes: [], presences: [], logs: [],
      make(opts) {
        this.statuses = []; this.notes = []; this.presences = [];
        const c = new XmppClient({ ...opts, log: (m) => this.logs.push(m) });
        c.onStatus = (status, detail) => this.statuses.push({ status, ...detail });
        c.onNotification = (n) => this.notes.push(n);
        c.onPresence = (p) => this.presences.push(p);
        this.client = c;
        return c;
      },
      async connect(opts) {
        const c = this.make(opts);
        try {
          await c.connect();
          return { ok: true, jid: c.jid };
        } catch (err) {
          return { ok: false, message: err.message, authFailed: !!err.authFailed };
        }
      },
      async call(method, ...a) {
        try {
          return { ok: true, value: await this.client[method](...a) };
        } catch (err) {
          return { ok: false, message: err.message, condition: err.condition };
        }
      },
      async rest(method, path, body, user, password) {
        const r = await fetch(path, { method, body, headers: {
          Authorization: `Basic ${btoa(`${user}:${password}`)}`, 'Content-Type': 'application/xml' } });
        return { status: r.status, text: await r.text() };
      },
    };
  });
}

async function waitIn(page, what, fn, arg) {
  try {
    await page.waitForFunction(fn, arg, { timeout: WAIT_MS, polling: 50 });
  } catch {
    throw new StepError(`timed out (${WAIT_MS / 1000} s) waiting for ${what}`);
  }
}

async function putState(page, state, tag) {
  const body = state === 'LOGIN'
    ? `<User><state>LOGIN</state><extension>${AGENT}</extension></User>`
    : `<User><state>${state}</state></User>`;
  const r = await page.evaluate((a) => window.h.rest('PUT', ...a), [userNode, body, AGENT, args.password]);
  if (r.status !== 202) throw new StepError(`${tag}: PUT ${state}: HTTP ${r.status} ${r.text}`);
}

/** Waits for a User notification whose Update carries `<state>state</state>`. */
async function waitUserState(page, state, tag) {
  await waitIn(page, `${tag}: User notification with state ${state}`, ([node, st]) =>
    window.h.notes.some((n) => n.node === node && n.text.includes(`<state>${st}</state>`)), [userNode, state]);
}

async function run(page, transport, url) {
  const tag = transport;
  const opts = { transport, url, domain: args.domain, username: AGENT, resource: 'desktop', wait: 10, pingSecs: 20 };

  // A wrong password is refused with authFailed, and the client says disconnected.
  const bad = await page.evaluate((o) => window.h.connect(o), { ...opts, password: 'not-the-password' });
  if (bad.ok || !bad.authFailed) throw new StepError(`${tag}: wrong password: ${JSON.stringify(bad)}`);
  const badStatus = await page.evaluate(() => window.h.statuses.at(-1));
  if (badStatus?.status !== 'disconnected' || !badStatus.authFailed) {
    throw new StepError(`${tag}: wrong password status: ${JSON.stringify(badStatus)}`);
  }

  if (transport === 'bosh') await saslChecks(page, { ...opts, password: args.password });

  const good = await page.evaluate((o) => window.h.connect(o), { ...opts, password: args.password });
  if (!good.ok) throw new StepError(`${tag}: connect: ${good.message}`);
  if (!good.jid.startsWith(`${AGENT}@${args.domain}/`)) throw new StepError(`${tag}: bound jid ${good.jid}`);
  await waitIn(page, `${tag}: connected`, () => window.h.statuses.some((s) => s.status === 'connected'));
  await waitIn(page, `${tag}: finesse@${args.domain} available`, (f) =>
    window.h.presences.some((p) => p.from.split('/')[0] === f && p.type === 'available'), `finesse@${args.domain}`);

  const sub = await page.evaluate((n) => window.h.call('subscribe', n), `${userNode}/ClientLog`);
  if (!sub.ok) throw new StepError(`${tag}: subscribe ClientLog: ${sub.message}`);
  const other = await page.evaluate(() => window.h.call('subscribe', '/finesse/api/User/1002'));
  // Herald hides another agent's node (docs/security.md "Hidden nodes"): the refusal is the
  // answer a missing node gets, item-not-found, so the node's existence is not revealed.
  if (other.ok || other.condition !== 'item-not-found') {
    throw new StepError(`${tag}: subscribe to User/1002 should be refused: ${JSON.stringify(other)}`);
  }
  const items = await page.evaluate((n) => window.h.call('items', n, 1), userNode);
  if (!items.ok || !Array.isArray(items.value) || items.value.length > 1) {
    throw new StepError(`${tag}: items: ${JSON.stringify(items)}`);
  }
  if (items.value.length === 1 && !items.value[0].text.includes('<Update')) {
    throw new StepError(`${tag}: last User item is not an Update: ${items.value[0].text.slice(0, 200)}`);
  }

  await putState(page, 'LOGIN', tag);
  await waitUserState(page, 'NOT_READY', tag);

  await iqAnswers(page, tag);
  if (transport === 'bosh') await resendCheck(page, tag);

  const ping = await page.evaluate(() => window.h.call('ping'));
  if (!ping.ok) throw new StepError(`${tag}: ping: ${ping.message}`);

  await page.evaluate(() => window.h.client.disconnect());
  const last = await page.evaluate(() => window.h.statuses.at(-1));
  if (last?.status !== 'disconnected' || last.reason !== 'signed out') {
    throw new StepError(`${tag}: after disconnect: ${JSON.stringify(last)}`);
  }
  await putState(page, 'LOGOUT', tag); // back to where the next run starts
}

// The client answers iqs sent to it (here by itself, through the server): a ping with a result,
// anything else with service-unavailable.
async function iqAnswers(page, tag) {
  const answers = await page.evaluate(async () => {
    const c = window.h.client;
    const outcome = (p) => p.then(() => 'result', (err) => err.condition || err.message);
    return {
      ping: await outcome(c.iq('get', c.jid, '<ping xmlns="urn:xmpp:ping"/>', 'ping to self')),
      version: await outcome(c.iq('get', c.jid, '<query xmlns="jabber:iq:version"/>', 'version of self')),
    };
  });
  if (answers.ping !== 'result' || answers.version !== 'service-unavailable') {
    throw new StepError(`${tag}: iq answers: ${JSON.stringify(answers)}`);
  }
}

// Each SASL mechanism Herald offers works (the client's preference list narrowed in the page),
// and a SCRAM success whose server signature is wrong fails the sign-in.
async function saslChecks(page, opts) {
  for (const mechanism of ['SCRAM-SHA-1', 'PLAIN']) {
    const r = await page.evaluate(async ([o, m]) => {
      const { MECHANISMS } = await import(new URL('js/sasl.js', location.href).href);
      const saved = MECHANISMS.splice(0, MECHANISMS.length, m);
      try {
        const res = await window.h.connect(o);
        window.h.client.disconnect();
        return { ...res, chose: window.h.logs.filter((l) => l.includes('SASL mechanism')).at(-1) };
      } finally {
        MECHANISMS.splice(0, MECHANISMS.length, ...saved);
      }
    }, [opts, mechanism]);
    if (!r.ok || !r.chose.endsWith(mechanism)) throw new StepError(`sasl ${mechanism}: ${JSON.stringify(r)}`);
  }
  const pattern = '**/http-bind/**';
  let forged = 0;
  const handler = async (route) => {
    try {
      if (route.request().method() !== 'POST') return await route.continue();
      const response = await route.fetch();
      const body = await response.text();
      const wrong = Buffer.from('v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=').toString('base64');
      const changed = body.replace(/(<success[^>]*>)[^<]*(<\/success>)/, (m, open, close) => { forged += 1; return open + wrong + close; });
      return await route.fulfill({ response, body: changed });
    } catch {
      return undefined; // the client gave the request up (it aborts what is in flight on failure)
    }
  };
  await page.route(pattern, handler);
  const r = await page.evaluate((o) => window.h.connect(o), opts);
  await page.unroute(pattern, handler);
  if (forged !== 1 || r.ok || !/signature/.test(r.message) || r.authFailed) {
    throw new StepError(`sasl: a wrong server signature must fail the sign-in: forged ${forged}, ${JSON.stringify(r)}`);
  }
}

// One POST to /http-bind/ is aborted in the browser while a User Update is on its way.
async function resendCheck(page, tag) {
  let aborted = 0;
  const pattern = `**/http-bind/**`;
  const handler = async (route) => {
    try {
      if (route.request().method() === 'POST' && aborted === 0) {
        aborted += 1;
        await route.abort('connectionreset');
      } else {
        await route.continue();
      }
    } catch {
      // the request was given up by the page meanwhile: nothing to route
    }
  };
  await page.route(pattern, handler);
  await page.evaluate(() => window.h.call('ping')); // makes a request that the route catches
  // LOGOUT and LOGIN rather than READY: the sample scenario's queues route calls to a READY agent.
  await putState(page, 'LOGOUT', tag);
  await waitUserState(page, 'LOGOUT', tag);
  await waitIn(page, `${tag}: retrying then connected again`, () => {
    const s = window.h.statuses.map((x) => x.status);
    const r = s.indexOf('retrying');
    return r >= 0 && s.indexOf('connected', r) > r;
  });
  await page.unroute(pattern, handler);
  if (aborted !== 1) throw new StepError(`${tag}: expected one aborted request, saw ${aborted}`);
  const resent = await page.evaluate(() => window.h.logs.some((l) => /resen/.test(l)));
  if (!resent) throw new StepError(`${tag}: no resend in the client log`);
  await putState(page, 'LOGIN', tag);
  await waitUserState(page, 'NOT_READY', `${tag} after resend`);
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
let failure = null;
let page;
try {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  page = await context.newPage();
  page.on('pageerror', (err) => { failure ??= `page error: ${err.message}`; });
  await page.goto(`https://127.0.0.1:${args.api}/desktop/`);
  await installHarness(page);
  await run(page, 'bosh', `https://127.0.0.1:${args.https}/http-bind/`);
  await run(page, 'websocket', `wss://127.0.0.1:${args.https}/ws/`);
  const logs = await page.evaluate(() => window.h.logs);
  if (logs.some((l) => l.includes(args.password))) failure ??= 'the client log holds the password';
} catch (err) {
  failure ??= err instanceof StepError ? err.message : `${err.stack || err}`;
}
if (failure) {
  let seen = '';
  try {
    seen = JSON.stringify(await page.evaluate(() => ({ statuses: window.h.statuses, logs: window.h.logs,
      presences: window.h.presences, notes: window.h.notes.map((n) => ({ node: n.node, itemId: n.itemId, state: (n.text.match(/<state>([^<]*)<\/state>/) || [])[1] })) })), null, 1);
  } catch { /* the page is gone: the failure says why */ }
  console.log(`FAIL ${failure}\n${seen}`);
  await browser.close();
  process.exit(1);
}
await browser.close();
console.log('PASS');
process.exit(0);

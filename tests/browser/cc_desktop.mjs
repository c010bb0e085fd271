// A Finesse-style agent desktop built from parts we did not write: Strophe.js in headless Debian
// Chromium holds the notification connection (BOSH, then a second run over WebSocket) and the page
// calls Herald's REST web services cross-origin with fetch, as a desktop served from another
// origin does. Each run: sign in over XMPP, wait for finesse@<domain>'s available presence,
// receive nothing unasked, PUT LOGIN and READY with requestIds and see both User Updates carry
// them (the escaped <Update> inside <notification> parsed as the Cisco JS library does), then a
// call injected through the simulator endpoint arrives as a Dialogs POST (ALERTING, ANSWER
// offered) and is answered, held, retrieved and dropped through REST with each Update seen, then
// NOT_READY and LOGOUT. Every wait is at most 10 s. Prints PASS and exits 0 when every step
// happened; otherwise prints FAIL with everything the page received.
import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    https: { type: 'string' }, // BOSH and WebSocket listener port
    api: { type: 'string' }, // REST listener port
    domain: { type: 'string', default: 'localhost' },
    password: { type: 'string', default: 'herald-demo' },
    token: { type: 'string' }, // the simulator endpoint's bearer token
    origin: { type: 'string', default: 'https://desk.herald.test' },
  },
});
const WAIT_MS = 10000;
const strophe = readFileSync(new URL('./node_modules/strophe.js/dist/strophe.umd.min.js', import.meta.url), 'utf8');
const apiBase = `https://localhost:${args.api}`;

// Installed in the page: the desktop's notification side. Every <notification> is decoded the way
// finesse.js does (text content parsed as XML) and kept as a small summary plus its raw text.
const deskScript = `
window.desk = {
  updates: [], presences: [], errors: [], conn: null,
  summarize(node, text) {
    const doc = new DOMParser().parseFromString(text, 'text/xml');
    const root = doc.documentElement;
    const child = (el, name) => el ? Array.from(el.children).find((c) => c.localName === name) : undefined;
    const txt = (el, name) => { const c = child(el, name); return c ? c.textContent : undefined; };
    const data = child(root, 'data');
    const dataRoot = data ? data.firstElementChild : null;
    const u = { node, event: txt(root, 'event'), requestId: txt(root, 'requestId') || '', source: txt(root, 'source'),
      root: root.localName, dataRoot: dataRoot ? dataRoot.localName : null, text };
    if (dataRoot && dataRoot.localName === 'user') { u.state = txt(dataRoot, 'state'); u.extension = txt(dataRoot, 'extension'); }
    // finesse.js normalises the case of data roots: <dialogs><Dialog> on the collection, <Dialog>
    // (or <dialog>) for one call.
    const root0 = dataRoot ? dataRoot.localName.toLowerCase() : '';
    const dialog = root0 === 'dialogs' ? Array.from(dataRoot.children).find((c) => c.localName.toLowerCase() === 'dialog')
      : (root0 === 'dialog' ? dataRoot : null);
    if (dialog) {
      u.dialogId = txt(dialog, 'id'); u.dialogState = txt(dialog, 'state');
      u.callVariables = Array.from(dialog.getElementsByTagName('CallVariable')).map((v) => [txt(v, 'name'), txt(v, 'value')]);
      const parts = child(dialog, 'participants');
      u.participants = parts ? Array.from(parts.children).map((p) => ({
        mediaAddress: txt(p, 'mediaAddress'), state: txt(p, 'state'),
        actions: Array.from((child(p, 'actions') || { children: [] }).children).map((a) => a.textContent),
      })) : [];
    }
    return u;
  },
  connect({ url, jid, password, finesse }) {
    return new Promise((resolve, reject) => {
      const conn = new Strophe.Connection(url);
      desk.conn = conn;
      conn.addHandler((msg) => {
        const items = msg.getElementsByTagName('items')[0];
        const node = items ? items.getAttribute('node') : null;
        for (const n of Array.from(msg.getElementsByTagName('notification'))) {
          try { desk.updates.push(desk.summarize(node, n.textContent)); } catch (e) { desk.errors.push(String(e)); }
        }
        return true;
      }, null, 'message');
      conn.addHandler((pres) => {
        desk.presences.push({ from: pres.getAttribute('from'), type: pres.getAttribute('type') || 'available' });
        return true;
      }, null, 'presence');
      const timer = setTimeout(() => reject(new Error('could not connect within 10 s')), ${WAIT_MS});
      conn.connect(jid, password, (status, condition) => {
        if ([Strophe.Status.CONNFAIL, Strophe.Status.AUTHFAIL, Strophe.Status.ERROR].includes(status)) {
          clearTimeout(timer);
          reject(new Error('connection failed with status ' + status + ' ' + (condition || '')));
        } else if (status === Strophe.Status.CONNECTED) {
          clearTimeout(timer);
          conn.send($pres());
          resolve(conn.jid);
        }
      }, 30, 1);
    });
  },
  finesseAvailable(finesse) {
    return desk.presences.some((p) => p.from && p.from.split('/')[0] === finesse && p.type === 'available');
  },
  async rest(base, user, password, method, path, body, requestId) {
    const headers = { Authorization: 'Basic ' + btoa(user + ':' + password) };
    if (body !== null) headers['Content-Type'] = 'application/xml';
    if (requestId) headers.requestId = requestId;
    const response = await fetch(base + path, { method, headers, body: body === null ? undefined : body, mode: 'cors' });
    return { status: response.status, body: await response.text(), requestId: response.headers.get('requestId') };
  },
  find(spec) {
    return desk.updates.find((u) => Object.entries(spec).every(([k, v]) => {
      if (k === 'me') {
        const p = (u.participants || []).find((x) => x.mediaAddress === v.mediaAddress);
        return p && (!v.state || p.state === v.state) && (!v.action || p.actions.includes(v.action));
      }
      return u[k] === v;
    })) || null;
  },
  disconnect() { if (desk.conn) { desk.conn.flush(); desk.conn.disconnect('done'); } },
};`;

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', '--ignore-certificate-errors',
    // The page is routed by Playwright (no address of its own): Chromium would treat it as public
    // and block its requests to localhost.
    '--disable-features=LocalNetworkAccessChecks,PrivateNetworkAccessSendPreflights,PrivateNetworkAccessRespectPreflightResults'],
});

class StepError extends Error {}

async function runDesk(context, { tag, url, agent, queue, ani }) {
  const page = await context.newPage();
  // Strophe logs every request at debug level: keep what the page reports as a problem.
  page.on('console', (m) => { if (['error', 'warning'].includes(m.type())) console.log(`[${tag} browser] ${m.text()}`); });
  await page.route(`${args.origin}/desktop.html`, (route) =>
    route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>herald cc desktop</title>' }));
  await page.goto(`${args.origin}/desktop.html`);
  await page.addScriptTag({ content: strophe });
  await page.addScriptTag({ content: deskScript });
  const seen = [];
  const step = (text) => { seen.push(text); console.log(`[${tag}] ${text}`); };
  const finesse = `finesse@${args.domain}`;
  const waitUpdate = async (what, spec) => {
    try {
      const handle = await page.waitForFunction((s) => window.desk.find(s), spec, { timeout: WAIT_MS, polling: 50 });
      const update = await handle.jsonValue();
      const mine = (update.participants || []).find((p) => p.mediaAddress === agent);
      const state = mine ? `${agent} ${mine.state} [${mine.actions.join(' ')}]` : (update.state || '');
      step(`${what}: ${update.event} ${update.source} ${state} requestId=${update.requestId}`);
      return update;
    } catch (err) {
      throw new StepError(`${tag}: ${what}: no Update matching ${JSON.stringify(spec)} within ${WAIT_MS} ms (${err.message.split('\n')[0]})`);
    }
  };
  const rest = async (what, method, path, body, requestId, expected = 202) => {
    const reply = await page.evaluate((a) => window.desk.rest(...a), [apiBase, agent, args.password, method, path, body, requestId]);
    if (reply.status !== expected) throw new StepError(`${tag}: ${what}: HTTP ${reply.status} (expected ${expected}) ${reply.body}`);
    if (expected === 202 && reply.body !== '') throw new StepError(`${tag}: ${what}: a 202 has an empty body, got ${reply.body}`);
    step(`${what}: HTTP ${reply.status}${reply.requestId ? ` requestId=${reply.requestId}` : ''}`);
    return reply;
  };
  try {
    const jid = await page.evaluate((a) => window.desk.connect(a), { url, jid: `${agent}@${args.domain}/herald-e2e`, password: args.password, finesse });
    step(`connected as ${jid}`);
    try {
      await page.waitForFunction((f) => window.desk.finesseAvailable(f), finesse, { timeout: WAIT_MS, polling: 50 });
    } catch {
      throw new StepError(`${tag}: no available presence from ${finesse} within ${WAIT_MS} ms`);
    }
    step(`${finesse} is available`);
    // Nothing arrives unasked: after the presence exchange, still no notification.
    await page.waitForTimeout(500);
    const early = await page.evaluate(() => window.desk.updates.length);
    if (early !== 0) throw new StepError(`${tag}: ${early} notifications arrived before any request`);

    const userNode = `/finesse/api/User/${agent}`;
    const dialogsNode = `${userNode}/Dialogs`;
    await rest('PUT LOGIN', 'PUT', userNode, `<User><state>LOGIN</state><extension>${agent}</extension></User>`, `${tag}-login`);
    await waitUpdate('LOGIN Update', { node: userNode, requestId: `${tag}-login`, event: 'PUT', source: userNode, dataRoot: 'user', state: 'NOT_READY' });
    await rest('PUT READY', 'PUT', userNode, '<User><state>READY</state></User>', `${tag}-ready`);
    await waitUpdate('READY Update', { node: userNode, requestId: `${tag}-ready`, dataRoot: 'user', state: 'READY' });

    // The CTI side (the simulator) rings the agent: not the page's doing.
    const injected = await context.request.post(
      `${apiBase}/herald/sim/call?queue=${queue}&from=${ani}&var=${encodeURIComponent('callVariable1=Chuck <Smith>')}`,
      { headers: { Authorization: `Bearer ${args.token}` } });
    const injectedBody = await injected.text();
    if (injected.status() !== 202) throw new StepError(`${tag}: sim call injection: HTTP ${injected.status()} ${injectedBody}`);
    const callId = (injectedBody.match(/<id>([^<]*)<\/id>/) || [])[1];
    step(`call ${callId} injected into queue ${queue}`);
    const me = { mediaAddress: agent };
    const offered = await waitUpdate('Dialogs POST (ALERTING)', {
      node: dialogsNode, event: 'POST', source: dialogsNode, dataRoot: 'dialogs', dialogState: 'ALERTING',
      me: { ...me, state: 'ALERTING', action: 'ANSWER' }, ...(callId ? { dialogId: callId } : {}),
    });
    const dialogId = offered.dialogId;
    if (!offered.callVariables.some(([n, v]) => n === 'callVariable1' && v === 'Chuck <Smith>')) {
      throw new StepError(`${tag}: the call variable did not arrive intact: ${JSON.stringify(offered.callVariables)}`);
    }
    const dialogPath = `/finesse/api/Dialog/${dialogId}`;
    const act = async (action, state, extra = {}) => {
      await rest(`PUT ${action}`, 'PUT', dialogPath,
        `<Dialog><requestedAction>${action}</requestedAction><targetMediaAddress>${agent}</targetMediaAddress></Dialog>`, `${tag}-${action}`);
      return waitUpdate(`${action} Update`, {
        node: dialogsNode, event: 'PUT', source: dialogPath, requestId: `${tag}-${action}`, me: { ...me, state, ...extra },
      });
    };
    await act('ANSWER', 'ACTIVE', { action: 'HOLD' });
    await act('HOLD', 'HELD', { action: 'RETRIEVE' });
    await act('RETRIEVE', 'ACTIVE', { action: 'DROP' });
    await rest('PUT DROP', 'PUT', dialogPath,
      `<Dialog><requestedAction>DROP</requestedAction><targetMediaAddress>${agent}</targetMediaAddress></Dialog>`, `${tag}-DROP`);
    await waitUpdate('Dialogs DELETE', { node: dialogsNode, event: 'DELETE', source: dialogsNode, dialogId });

    await rest('PUT NOT_READY', 'PUT', userNode, '<User><state>NOT_READY</state><reasonCodeId>1</reasonCodeId></User>', `${tag}-nr`);
    await waitUpdate('NOT_READY Update', { node: userNode, requestId: `${tag}-nr`, state: 'NOT_READY' });
    await rest('PUT LOGOUT', 'PUT', userNode, '<User><state>LOGOUT</state><reasonCodeId>5</reasonCodeId></User>', `${tag}-logout`);
    await waitUpdate('LOGOUT Update', { node: userNode, requestId: `${tag}-logout`, state: 'LOGOUT' });

    const all = await page.evaluate(() => window.desk.updates.map(({ text, ...u }) => u));
    const foreign = all.filter((u) => ![userNode, dialogsNode, '/finesse/api/SystemInfo'].includes(u.node));
    if (foreign.length) throw new StepError(`${tag}: notifications from nodes the agent did not ask for: ${JSON.stringify(foreign)}`);
    const errors = await page.evaluate(() => window.desk.errors);
    if (errors.length) throw new StepError(`${tag}: undecodable notifications: ${errors.join('; ')}`);
    await page.evaluate(() => window.desk.disconnect());
    return `${tag}: ${all.length} Updates`;
  } catch (err) {
    const dump = await page.evaluate(() => ({ updates: window.desk.updates, presences: window.desk.presences, errors: window.desk.errors }))
      .catch(() => ({}));
    console.log(`[${tag}] steps done: ${JSON.stringify(seen)}`);
    console.log(`[${tag}] everything received: ${JSON.stringify(dump, null, 1)}`);
    throw err;
  } finally {
    await page.close();
  }
}

let failed = false;
try {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const bosh = await runDesk(context, { tag: 'bosh', url: `https://localhost:${args.https}/http-bind/`, agent: '1001', queue: '100', ani: '5550100' });
  const ws = await runDesk(context, { tag: 'websocket', url: `wss://localhost:${args.https}/ws/`, agent: '1006', queue: '200', ani: '5550200' });
  console.log(`PASS: ${bosh}; ${ws}`);
} catch (err) {
  failed = true;
  console.log(`FAIL: ${err.message}`);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);

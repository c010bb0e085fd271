// Herald's own agent desktop (served at /desktop/) in headless Debian Chromium, driven only
// through the page as a person would: the ids it relies on are listed in
// docs/architecture/desktop.md. Run by crates/server/tests/desktop.rs, which starts three
// `herald serve` processes: S (agent 1001, supervisor 2001, lost connection, out of service,
// error report, a call made, consulted to 1002 and transferred), and the pair A/B (agent 1003
// fails over from A to B when A is killed).
// Every wait is bounded; prints PASS and exits 0 when every step happened, otherwise FAIL with
// the step, the page's client log and what the page showed.
import { chromium } from 'playwright-core';
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import https from 'node:https';

const { values: args } = parseArgs({
  options: {
    's-api': { type: 'string' },
    's-token': { type: 'string' },
    'a-api': { type: 'string' },
    'a-token': { type: 'string' },
    'a-pid': { type: 'string' },
    'b-api': { type: 'string' },
    'b-https': { type: 'string' },
    shots: { type: 'string' },
    // Each node's self-signed certificate, for the test's own requests.
    's-cert': { type: 'string' },
    'a-cert': { type: 'string' },
    'b-cert': { type: 'string' },
    password: { type: 'string', default: 'herald-demo' },
  },
});
const S = `https://127.0.0.1:${args['s-api']}`;
const A = `https://127.0.0.1:${args['a-api']}`;
const B = `https://127.0.0.1:${args['b-api']}`;
const STEP_MS = 10000;
/// The documented bound for the red banner after the notification connection fails: the first
/// failed request shows it at once; a request that hangs is given up after wait + 5 s.
const BANNER_MS = 10000;

let step = 'start';
const pages = [];
const started = Date.now();
const say = (text) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${text}`);
function begin(name) {
  step = name;
  say(name);
}
function check(ok, what) {
  if (!ok) throw new Error(`check failed: ${what}`);
}

/// One HTTPS request from the test itself (not the page), verifying the node's certificate
/// (issued to `localhost`) against that node's certificate as the harness passed it.
const certs = { [S]: readFileSync(args['s-cert']), [A]: readFileSync(args['a-cert']), [B]: readFileSync(args['b-cert']) };
function request(base, method, path, headers, body) {
  const url = new URL(path, base);
  const ca = certs[base];
  return new Promise((resolve, reject) => {
    const req = https.request({ host: url.hostname, port: url.port, path: url.pathname + url.search, method, headers, ca, servername: 'localhost', timeout: STEP_MS }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer in ${STEP_MS} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/// Server-side calls the test makes outside any page: REST as an agent, the simulator.
async function rest(base, method, path, user, body) {
  const auth = `Basic ${Buffer.from(`${user}:${args.password}`).toString('base64')}`;
  const res = await request(base, method, `/finesse/api/${path}`, { Authorization: auth, 'Content-Type': 'application/xml' }, body);
  if (res.status !== 202 && res.status !== 200) throw new Error(`${method} ${path} as ${user}: ${res.status} ${res.body}`);
  return res.body;
}
async function sim(base, token, what) {
  const res = await request(base, 'POST', `/herald/sim/${what}`, { Authorization: `Bearer ${token}` });
  if (res.status >= 300) throw new Error(`sim ${what}: ${res.status} ${res.body}`);
  return res.body;
}

/// A page signed in as `user` on `base`, through the keyboard when `keyboard` is set.
async function signIn(context, base, user, { transport = 'bosh', keyboard = false, prepare } = {}) {
  const page = await context.newPage();
  pages.push({ user, page });
  if (prepare) await prepare(page);
  await page.goto(`${base}/desktop/`);
  await page.waitForSelector('#signin', { timeout: STEP_MS });
  await page.selectOption('#transport', transport);
  if (keyboard) {
    await page.focus('#login-id');
    await page.keyboard.type(user);
    await page.keyboard.press('Tab');
    await page.keyboard.type(args.password);
    await page.keyboard.press('Tab');
    await page.keyboard.type(user);
    await page.keyboard.press('Enter');
  } else {
    await page.fill('#login-id', user);
    await page.fill('#password', args.password);
    await page.fill('#extension', user);
    await page.click('#signin-button');
  }
  await page.waitForSelector('#connection-status[data-status="connected"]', { timeout: STEP_MS });
  await page.waitForSelector('#agent-state[data-state="NOT_READY"]', { timeout: STEP_MS });
  return page;
}
const teamStateIs = (page, agent, state) =>
  page.waitForSelector(`#team tr[data-agent-id="${agent}"] .agent-state[data-state="${state}"]`, { timeout: STEP_MS });
const stateIs = (page, state, timeout = STEP_MS) => page.waitForSelector(`#agent-state[data-state="${state}"]`, { timeout });
const call = (page) => page.locator('#calls li.call').first();
/// The call controls enabled on the page are exactly the actions the server gives the agent's
/// own participant (read from REST here, independently of the page).
async function controlsMatchServer(page, base, user) {
  const xml = await rest(base, 'GET', `User/${user}/Dialogs`, user);
  const own = xml.split('<Participant>').slice(1).find((p) => p.includes(`<mediaAddress>${user}</mediaAddress>`)) || '';
  const offered = new Set([...(own.split('</actions>')[0].matchAll(/<action>([A-Z_]+)<\/action>/g))].map((m) => m[1]));
  const controls = ['ANSWER', 'HOLD', 'RETRIEVE', 'DROP', 'CONSULT_CALL', 'TRANSFER', 'CONFERENCE'];
  const want = controls.filter((a) => offered.has(a)).sort().join(',');
  const enabled = await page.evaluate((names) => names.filter((a) => {
    const b = document.querySelector(`#calls li.call button[data-action="${a}"]`);
    return b && !b.disabled;
  }), controls);
  check(enabled.sort().join(',') === want, `enabled controls [${enabled}] = the server's actions [${want}]`);
  return offered;
}
async function actionEnabled(page, action) {
  const button = call(page).locator(`button[data-action="${action}"]`);
  return (await button.count()) > 0 && (await button.isEnabled());
}

/// Every visible form control has an accessible name (a label, aria-label or its text).
async function unlabelled(page) {
  return page.evaluate(() => Array.from(document.querySelectorAll('input, select, button, textarea'))
    .filter((el) => el.offsetParent !== null)
    .filter((el) => !((el.labels && el.labels.length) || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || (el.tagName === 'BUTTON' && el.textContent.trim())))
    .map((el) => el.id || el.outerHTML.slice(0, 80)));
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  const viewport = { width: 1280, height: 720 };
  const agentContext = await browser.newContext({ ignoreHTTPSErrors: true, viewport });
  const supervisorContext = await browser.newContext({ ignoreHTTPSErrors: true, viewport });

  begin('agent 1001 signs in with the keyboard (BOSH)');
  const agent = await signIn(agentContext, S, '1001', { keyboard: true });
  check((await unlabelled(agent)).length === 0, `every control labelled: ${await unlabelled(agent)}`);
  check((await agent.textContent('#agent-name')).includes('Maria'), 'the agent name shows');
  check(await agent.isHidden('#lost-connection'), 'no banner while connected');

  begin('supervisor 2001 signs in and sees team 1');
  const supervisor = await signIn(supervisorContext, S, '2001');
  await supervisor.waitForSelector('#team tr[data-agent-id="1001"] .agent-state[data-state="NOT_READY"]', { timeout: STEP_MS });

  begin('READY from the page; the supervisor sees it live');
  await agent.click('#go-ready');
  await stateIs(agent, 'READY');
  await teamStateIs(supervisor, '1001', 'READY');
  check(/^\d+:\d\d/.test((await agent.textContent('#time-in-state')).trim()), 'time in state shown');

  begin('a simulated call arrives: only ANSWER is offered');
  await sim(S, args['s-token'], 'call?queue=100&from=5551234&var=callVariable1%3DChuck%20Smith');
  await call(agent).waitFor({ timeout: STEP_MS });
  await agent.waitForFunction(() => {
    const b = document.querySelector('#calls li.call button[data-action="ANSWER"]');
    return b && !b.disabled;
  }, null, { timeout: STEP_MS });
  check((await controlsMatchServer(agent, S, '1001')).has('ANSWER'), 'ANSWER offered on an alerting call');
  check((await call(agent).locator('dl.call-variables').textContent()).includes('Chuck Smith'), 'call variables shown');
  check((await call(agent).locator('.participant').count()) >= 2, 'participants shown');
  check((await agent.locator('#queues tr[data-queue-id="100"]').count()) === 1, 'queue 100 statistics shown');

  begin('ANSWER, HOLD, RETRIEVE from the page');
  await call(agent).locator('button[data-action="ANSWER"]').click();
  await agent.waitForSelector('#calls li.call .call-state[data-state="ACTIVE"]', { timeout: STEP_MS });
  await stateIs(agent, 'TALKING');
  await controlsMatchServer(agent, S, '1001');
  check(!(await actionEnabled(agent, 'ANSWER')), 'ANSWER no longer offered once answered');
  check(await actionEnabled(agent, 'HOLD') && await actionEnabled(agent, 'DROP'), 'HOLD and DROP offered on an active call');
  check(!(await actionEnabled(agent, 'RETRIEVE')), 'RETRIEVE not offered on an active call');
  check(await agent.isDisabled('#go-ready'), 'READY is off while talking');
  await call(agent).locator('button[data-action="HOLD"]').click();
  await agent.waitForFunction(() => {
    const b = document.querySelector('#calls li.call button[data-action="RETRIEVE"]');
    return b && !b.disabled;
  }, null, { timeout: STEP_MS });
  check(!(await actionEnabled(agent, 'HOLD')), 'HOLD not offered on a held call');
  await controlsMatchServer(agent, S, '1001');
  await call(agent).locator('button[data-action="RETRIEVE"]').click();
  await agent.waitForFunction(() => {
    const b = document.querySelector('#calls li.call button[data-action="HOLD"]');
    return b && !b.disabled;
  }, null, { timeout: STEP_MS });
  await teamStateIs(supervisor, '1001', 'TALKING');
  // Queue statistics arrive as notifications (every second on S): 1001 talking on Sales.
  await agent.waitForFunction(() => document.querySelector('#queues tr[data-queue-id="100"] .agents-talking')?.textContent.trim() === '1', null, { timeout: STEP_MS });
  await agent.screenshot({ path: join(args.shots, 'agent.png') });
  await supervisor.screenshot({ path: join(args.shots, 'supervisor.png') });

  begin('DROP from the page: the call leaves the screen');
  await call(agent).locator('button[data-action="DROP"]').click();
  await agent.waitForFunction(() => document.querySelectorAll('#calls li.call').length === 0, null, { timeout: STEP_MS });
  await agent.waitForFunction(() => document.querySelector('#agent-state')?.dataset.state !== 'TALKING', null, { timeout: STEP_MS });

  begin('NOT_READY with a reason from the page');
  await agent.selectOption('#not-ready-reason', { label: 'Lunch' });
  await agent.click('#go-not-ready');
  await stateIs(agent, 'NOT_READY');
  await agent.waitForFunction(() => document.querySelector('#agent-reason')?.textContent.includes('Lunch'), null, { timeout: STEP_MS });

  begin('lost connection: /http-bind/ cut, state changed meanwhile');
  let blocked = true;
  await agent.route('**/http-bind/**', (route) => (blocked ? route.abort('connectionrefused') : route.continue()));
  const cutAt = Date.now();
  // The held request answers with this change; the next request meets the cut.
  await rest(S, 'PUT', 'User/1001', '1001', '<User><state>READY</state></User>');
  await agent.waitForSelector('#lost-connection:not([hidden])', { timeout: BANNER_MS });
  const bannerAfter = Date.now() - cutAt;
  const banner = (await agent.textContent('#lost-connection')).trim();
  check(banner.includes('Lost connection to 127.0.0.1'), `banner text: ${banner}`);
  const bannerColour = await agent.evaluate(() => getComputedStyle(document.querySelector('#lost-connection')).backgroundColor);
  const [red, green, blue] = bannerColour.match(/\d+/g).map(Number);
  check(red >= 150 && green <= 60 && blue <= 60, `the banner is red (${bannerColour})`);
  await agent.screenshot({ path: join(args.shots, 'banner.png') });
  say(`banner after ${bannerAfter} ms`);
  // Missed while cut: the server's BOSH session dies (inactivity 10 s on S) and the desktop
  // must catch up from the node's items, not from its own session.
  await rest(S, 'PUT', 'User/1001', '1001', '<User><state>NOT_READY</state><reasonCodeId>3</reasonCodeId></User>');
  await new Promise((r) => setTimeout(r, 14000));
  check(await agent.isVisible('#lost-connection'), 'the banner stays while the connection is down');
  blocked = false;
  await agent.waitForSelector('#lost-connection', { state: 'hidden', timeout: 30000 });
  await stateIs(agent, 'NOT_READY', 5000);
  await agent.waitForFunction(() => document.querySelector('#agent-reason')?.textContent.includes('Meeting'), null, { timeout: 5000 });
  await agent.waitForSelector('#connection-status[data-status="connected"]', { timeout: STEP_MS });
  say(`reconnected ${((Date.now() - cutAt) / 1000).toFixed(1)} s after the cut, missed state shown`);

  begin('the CTI link drops: OUT_OF_SERVICE shown, state controls off, then back');
  await sim(S, args['s-token'], 'link?state=closed');
  await agent.waitForFunction(() => {
    const s = document.querySelector('#service-status');
    return s && !s.hidden && s.textContent.includes('OUT_OF_SERVICE');
  }, null, { timeout: STEP_MS });
  check(await agent.isDisabled('#go-ready'), 'READY is off while out of service');
  await sim(S, args['s-token'], 'link?state=up');
  await agent.waitForSelector('#service-status', { state: 'hidden', timeout: STEP_MS });

  begin('Send Error Report');
  await agent.click('#send-error-report');
  await agent.waitForFunction(() => document.querySelector('#report-status')?.textContent.includes('sent'), null, { timeout: STEP_MS });

  begin('a narrow window: one column, nothing wider than the window');
  await supervisor.setViewportSize({ width: 420, height: 800 });
  check(await supervisor.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), 'no horizontal scrolling at 420 px');
  await supervisor.screenshot({ path: join(args.shots, 'narrow.png'), fullPage: true });

  begin('WebSocket selected: agent 1002 signs in and goes READY');
  const wsContext = await browser.newContext({ ignoreHTTPSErrors: true, viewport });
  // Every WebSocket of this page passes through here, so the test can cut it.
  let wsBlocked = false;
  const sockets = [];
  const wsAgent = await signIn(wsContext, S, '1002', {
    transport: 'websocket',
    prepare: (page) => page.routeWebSocket(/\/ws\/?$/, (ws) => {
      if (wsBlocked) return ws.close();
      ws.connectToServer();
      sockets.push(ws);
    }),
  });
  check(sockets.length === 1, 'the notification connection is a WebSocket');
  await wsAgent.click('#go-ready');
  await stateIs(wsAgent, 'READY');
  await teamStateIs(supervisor, '1002', 'READY');

  begin('the WebSocket is cut: banner at once, state missed meanwhile shown after');
  wsBlocked = true;
  const wsCutAt = Date.now();
  for (const ws of sockets) await ws.close();
  await wsAgent.waitForSelector('#lost-connection:not([hidden])', { timeout: BANNER_MS });
  say(`banner after ${Date.now() - wsCutAt} ms`);
  await rest(S, 'PUT', 'User/1002', '1002', '<User><state>NOT_READY</state><reasonCodeId>1</reasonCodeId></User>');
  await new Promise((r) => setTimeout(r, 3000));
  wsBlocked = false;
  await wsAgent.waitForSelector('#lost-connection', { state: 'hidden', timeout: 30000 });
  await stateIs(wsAgent, 'NOT_READY', 5000);
  await wsAgent.waitForFunction(() => document.querySelector('#agent-reason')?.textContent.includes('Break'), null, { timeout: 5000 });
  say(`reconnected ${((Date.now() - wsCutAt) / 1000).toFixed(1)} s after the cut, missed state shown`);

  begin('make call, consult and transfer from the pages');
  await agent.fill('#dial-number', '5551234567');
  await agent.click('#make-call');
  // The outside party answers after 2-6 s (the sample's outside_answer_secs).
  await agent.waitForSelector('#calls li.call .call-state[data-state="ACTIVE"]', { timeout: STEP_MS });
  await controlsMatchServer(agent, S, '1001');
  await call(agent).locator('input.consult-number').fill('1002');
  await call(agent).locator('button[data-action="CONSULT_CALL"]').click();
  await wsAgent.waitForFunction(() => {
    const b = document.querySelector('#calls li.call button[data-action="ANSWER"]');
    return b && !b.disabled;
  }, null, { timeout: STEP_MS });
  // The held call and the consult call, both on 1001's page.
  await agent.waitForFunction(() => document.querySelectorAll('#calls li.call').length === 2, null, { timeout: STEP_MS });
  await wsAgent.locator('#calls li.call button[data-action="ANSWER"]').click();
  await agent.waitForFunction(() => [...document.querySelectorAll('#calls li.call button[data-action="TRANSFER"]')].some((b) => !b.disabled), null, { timeout: STEP_MS });
  await agent.locator('#calls li.call button[data-action="TRANSFER"]:not([disabled])').first().click();
  await agent.waitForFunction(() => document.querySelectorAll('#calls li.call').length === 0, null, { timeout: STEP_MS });
  await wsAgent.waitForFunction(() => [...document.querySelectorAll('#calls li.call .participant')].some((p) => p.dataset.address === '5551234567'), null, { timeout: STEP_MS });
  await wsAgent.locator('#calls li.call button[data-action="DROP"]').first().click();
  await wsAgent.waitForFunction(() => document.querySelectorAll('#calls li.call').length === 0, null, { timeout: STEP_MS });

  begin('failover: agent 1003 on A; A is killed; the desktop moves to B');
  const foContext = await browser.newContext({ ignoreHTTPSErrors: true, viewport });
  const foAgent = await signIn(foContext, A, '1003');
  check((await foAgent.textContent('#connection-node')).includes(args['a-api']), 'connected to A');
  process.kill(Number(args['a-pid']), 'SIGTERM');
  const killedAt = Date.now();
  await foAgent.waitForSelector('#lost-connection:not([hidden])', { timeout: BANNER_MS });
  await foAgent.waitForFunction((port) => document.querySelector('#connection-node')?.textContent.includes(port)
    && document.querySelector('#connection-status')?.dataset.status === 'connected', args['b-api'], { timeout: 60000 });
  await foAgent.waitForSelector('#lost-connection', { state: 'hidden', timeout: STEP_MS });
  say(`on B ${((Date.now() - killedAt) / 1000).toFixed(1)} s after A was killed`);
  await stateIs(foAgent, 'NOT_READY');
  await foAgent.click('#go-ready');
  await stateIs(foAgent, 'READY');
  const onB = await rest(B, 'GET', 'User/1003', '1003');
  check(onB.includes('<state>READY</state>'), 'B holds the state set from the failed-over page');

  console.log('PASS');
  await browser.close();
  process.exit(0);
} catch (e) {
  console.log(`FAIL at "${step}": ${e.stack || e}`);
  for (const { user, page } of pages) {
    try {
      const log = await page.evaluate(() => (window.heraldSession?.log?.lines?.() || []).slice(-40).join('\n'));
      console.log(`--- ${user}: client log (last lines)\n${log}`);
      console.log(`--- ${user}: page text\n${(await page.textContent('body')).replace(/\s+/g, ' ').slice(0, 2000)}`);
    } catch (inner) {
      console.log(`--- ${user}: page unreadable (${inner})`);
    }
  }
  await browser.close();
  process.exit(1);
}

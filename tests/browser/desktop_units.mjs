// The desktop's modules checked one by one in headless Chromium, on the page Herald serves
// (`/desktop/`): applying Updates to the model (dialogs POST/PUT/DELETE, asynchronous apiErrors,
// team and queue updates), the client log (dashes while the drift is unknown, drift and round trip,
// the server's time zone, escaping, the bound by lines and by 1.5 MiB, the report's 1,048,576-char
// cap keeping the newest), the reconnect schedule and failover choice (a pair, and a cluster's list of N nodes), catch-up's choice of items,
// and ApiError for 401, 400 and an unreachable node. Prints PASS and exits 0, or FAIL lines.
import { chromium } from 'playwright-core';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: { api: { type: 'string' }, https: { type: 'string' }, domain: { type: 'string' }, password: { type: 'string' } },
});
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(e.message));
await page.goto(`https://127.0.0.1:${args.api}/desktop/`);
const results = await page.evaluate(async () => {
  const out = [];
  const check = (ok, what) => out.push(`${ok ? 'OK  ' : 'FAIL'} ${what}`);
  const { parseUpdate, emptyModel } = await import('./js/model.js');
  const { applyUpdate } = await import('./js/session-apply.js');
  const { ClientLog, formatTime, REPORT_LOGDATA_CHARS } = await import('./js/clientlog.js');
  const { FinesseApi, ApiError } = await import('./js/api.js');
  const m = emptyModel();
  const dlg = (id, st) => `<Dialog><uri>/finesse/api/Dialog/${id}</uri><id>${id}</id><state>${st}</state><mediaProperties><callvariables><CallVariable><name>callVariable1</name><value>x</value></CallVariable></callvariables></mediaProperties><participants><Participant><actions><action>ANSWER</action></actions><mediaAddress>1001</mediaAddress><state>${st}</state></Participant></participants></Dialog>`;
  const up = (data, event, source, req = '') => `<Update><data>${data}</data><event>${event}</event><requestId>${req}</requestId><source>${source}</source></Update>`;
  const N = '/finesse/api/User/1001/Dialogs';
  applyUpdate(m, N, parseUpdate(up(`<dialogs>${dlg(7, 'ALERTING')}</dialogs>`, 'POST', N)), '1001');
  check(m.dialogs.get('7')?.state === 'ALERTING' && m.dialogs.get('7').callVariables[0][1] === 'x', 'POST adds a dialog');
  applyUpdate(m, N, parseUpdate(up(dlg(7, 'ACTIVE'), 'PUT', '/finesse/api/Dialog/7')), '1001');
  check(m.dialogs.get('7')?.state === 'ACTIVE', 'PUT changes it');
  applyUpdate(m, N, parseUpdate(up(`<dialogs>${dlg(7, 'DROPPED')}</dialogs>`, 'DELETE', N)), '1001');
  check(m.dialogs.size === 0, 'DELETE removes it');
  const r = applyUpdate(m, '/finesse/api/User/1001', parseUpdate(up('<apiErrors><apiError><errorType>Invalid State</errorType><errorMessage>CF_INVALID_OBJECT_STATE</errorMessage><errorData>22</errorData></apiError></apiErrors>', 'put', '/finesse/api/User/1001', 'abc')), '1001');
  check(r.what === 'error' && m.error.message.includes('CF_INVALID_OBJECT_STATE') && m.error.requestId === 'abc', `async apiErrors -> model.error ${JSON.stringify(m.error)}`);
  applyUpdate(m, '/finesse/api/Team/1/Users', parseUpdate(up('<user><loginId>1003</loginId><state>READY</state><stateChangeTime>2026-01-01T00:00:00.000Z</stateChangeTime></user>', 'PUT', '/finesse/api/User/1003')), '1001');
  check(m.team.get('1003')?.state === 'READY' && m.team.get('1003').teamId === '1', 'team user update');
  applyUpdate(m, '/finesse/api/Queue/100', parseUpdate(up('<Queue><name>Sales</name><statistics><callsInQueue>3</callsInQueue><startTimeOfLongestCallInQueue>2026-01-01T00:00:00Z</startTimeOfLongestCallInQueue></statistics><uri>/finesse/api/Queue/100</uri></Queue>', 'PUT', '/finesse/api/Queue/100')), '1001');
  check(m.queues.get('100')?.stats.callsInQueue === 3, 'queue stats');
  // client log
  const log = new ClientLog({ maxLines: 3, host: 'h', sessionId: 's', now: () => Date.UTC(2026, 0, 2, 3, 4, 5, 6) });
  log.log('a'); 
  check(/: s: h: --- -- ---- --:--:--\.--- -----: a$/.test(log.lines()[0]), `unknown drift dashes: ${log.lines()[0]}`);
  const doc = new DOMParser().parseFromString('<SystemInfo><currentTimestamp>2026-01-02T03:04:05.106Z</currentTimestamp><timezoneOffset>-480</timezoneOffset></SystemInfo>', 'application/xml');
  const d = log.measure(doc, Date.UTC(2026, 0, 2, 3, 4, 4, 906), Date.UTC(2026, 0, 2, 3, 4, 5, 6));
  check(d.driftMs === 150 && d.roundTripMs === 100, `drift ${JSON.stringify(d)}`);
  log.log('b <&> "q"\nnext');
  check(log.lines().length === 3 && log.lines()[2].endsWith('Jan 01 2026 19:04:05.156 -0800: b <&> "q"\nnext'), `bounded + drifted server time: ${log.lines()[2]}`);
  check(log.buffer[2].includes('&lt;&amp;&gt; &quot;q&quot;&#10;next'), 'escaped in buffer');
  check(formatTime(Date.UTC(2026, 4, 6, 7, 8, 9, 10), 330) === 'May 06 2026 12:38:09.010 +0530', formatTime(Date.UTC(2026, 4, 6, 7, 8, 9, 10), 330));
  const big = new ClientLog({ maxLines: 100000, host: 'h', sessionId: 's' });
  const chunk = 'x'.repeat(1000);
  for (let i = 0; i < 2000; i++) big.log(`${i} ${chunk}`);
  check(big.escapedChars <= 1572864 && big.buffer.length < 2000, `buffer bounded by escaped chars: ${big.buffer.length} lines, ${big.escapedChars} chars`);
  const body = big.reportBody('UA');
  const logData = body.slice('<ClientLog><logData>'.length, -'</logData></ClientLog>'.length);
  check(logData.length <= REPORT_LOGDATA_CHARS && logData.startsWith('UA&#10;') && logData.endsWith(`1999 ${chunk}`), `report capped at ${logData.length}, newest kept`);
  // api errors
  const api = new FinesseApi('', '1001', 'wrong');
  const e = await api.get('User/1001').catch((x) => x);
  check(e instanceof ApiError && e.status === 401, `401 as ApiError: ${e.message} type=${e.errorType}`);
  const e2 = await new FinesseApi('https://127.0.0.1:1', '1001', 'x').get('SystemInfo').catch((x) => x);
  check(e2 instanceof ApiError && e2.status === 0, `network failure status 0: ${e2.message}`);
  const ok = new FinesseApi('', '1001', 'herald-demo');
  const e3 = await ok.put('User/1001', '<User><state>BOGUS</state></User>').catch((x) => x);
  check(e3 instanceof ApiError && e3.status === 400 && e3.errorType, `400 fields: ${e3.status} ${e3.errorType} / ${e3.errorMessage} / ${e3.errorData}; rtt ${ok.lastRoundTripMs}`);
  // reconnect.js: the schedule, the 3-tries rule and which node is the other one
  const { retryDelayMs, shouldFailOver, alternateNode } = await import('./js/reconnect.js');
  check([1, 2, 3, 4, 5, 6, 9].map(retryDelayMs).join(',') === '1000,2000,4000,8000,15000,15000,15000', 'back-off 1, 2, 4, 8, 15 s, then 15 s');
  const other = { host: 'b', port: '8445' };
  check(!shouldFailOver(2, other) && shouldFailOver(3, other) && !shouldFailOver(5, null), 'three failed tries, then the other node (if any)');
  const pair = { xmppDomain: 'a', primaryNode: { host: 'a', httpsPort: '8445' }, secondaryNode: { host: 'b', httpsPort: '9445' } };
  check(alternateNode(pair, { host: 'a', port: '8445' })?.host === 'b' && alternateNode(pair, { host: 'a', port: '8445' }).port === '9445', 'primary -> secondary with its REST port');
  check(alternateNode(pair, { host: 'b', port: '9445' })?.host === 'a', 'secondary -> primary');
  check(alternateNode({ ...pair, secondaryNode: { host: '' } }, { host: 'a', port: '8445' }) === null, 'single node: nowhere to fail over');
  // A cluster's SystemInfo lists its live nodes: the next one after the current node, wrapping round.
  const { parseSystemInfo } = await import('./js/model.js');
  const clusterXml = '<SystemInfo><status>IN_SERVICE</status><xmppDomain>d</xmppDomain><primaryNode><host>a</host><httpsPort>8445</httpsPort></primaryNode><secondaryNode><host>b</host><httpsPort>9445</httpsPort></secondaryNode><uri>/finesse/api/SystemInfo</uri><nodes><node><host>a</host><httpsPort>8445</httpsPort><xmppPort>5222</xmppPort></node><node><host>b</host><httpsPort>9445</httpsPort><xmppPort>5223</xmppPort></node><node><host>c</host><httpsPort>10445</httpsPort><xmppPort>5224</xmppPort></node></nodes></SystemInfo>';
  const cluster = parseSystemInfo(new DOMParser().parseFromString(clusterXml, 'application/xml').documentElement);
  check(cluster.nodes.map((n) => `${n.host}:${n.httpsPort}:${n.xmppPort}`).join() === 'a:8445:5222,b:9445:5223,c:10445:5224', `SystemInfo's nodes parsed: ${JSON.stringify(cluster.nodes)}`);
  const hop = (host, port) => { const n = alternateNode(cluster, { host, port }); return n ? `${n.host}:${n.port}` : 'none'; };
  check(hop('a', '8445') === 'b:9445' && hop('b', '9445') === 'c:10445', `each node fails over to the next listed: ${hop('a', '8445')}, ${hop('b', '9445')}`);
  check(hop('c', '10445') === 'a:8445', `the third of three still has somewhere to go, the first: ${hop('c', '10445')}`);
  check(hop('elsewhere', '8445') === 'a:8445', `a node reached by another name goes to the first listed: ${hop('elsewhere', '8445')}`);
  const alone = { ...cluster, nodes: [cluster.nodes[0]] };
  check(alternateNode(alone, { host: 'a', port: '8445' }) === null, 'a cluster of one: nowhere to fail over');
  const lost = { ...cluster, nodes: [cluster.nodes[0], cluster.nodes[2]] };
  check(alternateNode(lost, { host: 'c', port: '10445' })?.host === 'a' && alternateNode(lost, { host: 'a', port: '8445' })?.host === 'c', 'a node gone from the list is skipped');
  const single = parseSystemInfo(new DOMParser().parseFromString('<SystemInfo><primaryNode><host>a</host><httpsPort>8445</httpsPort></primaryNode><secondaryNode><host/></secondaryNode></SystemInfo>', 'application/xml').documentElement);
  check(single.nodes.length === 0 && alternateNode(single, { host: 'a', port: '8445' }) === null, 'no nodes list (one node, or Finesse): the pair rule');
  const { missedItems } = await import('./js/session-link.js');
  const items = [{ itemId: '1' }, { itemId: '2' }, { itemId: '3' }];
  check(missedItems(items, '2').map((i) => i.itemId).join() === '3', 'catch-up applies the items after the last one seen');
  check(missedItems(items, 'gone').length === 3 && missedItems(items, '3').length === 0, 'an unknown last item: all, in order; none missed: nothing');
  // NodeLink's catch-up with a stand-in session and client: ids are per node, a gap is read again
  const { NodeLink } = await import('./js/session-link.js');
  const delivered = [];
  const reloaded = [];
  const fakeSession = { loginId: '1001', log: { log() {} }, onUpdate: (node, text) => delivered.push(`${node}#${text}`), reload: async (node) => { reloaded.push(node); } };
  const kept = { '/finesse/api/User/1001': [{ itemId: '7', text: 'u7' }, { itemId: '8', text: 'u8' }], '/finesse/api/User/1001/Dialogs': [{ itemId: '3', text: 'd3' }, { itemId: '4', text: 'd4' }], '/finesse/api/SystemInfo': [] };
  const link = new NodeLink({ session: fakeSession, api: {}, system: {}, config: {}, subscribed: new Set() });
  link.client = { items: async (node, max) => (kept[node] || []).slice(-max) };
  await link.recordBaseline();
  check(link.lastItemIds.get('/finesse/api/User/1001') === '8' && link.lastItemIds.get('/finesse/api/SystemInfo') === '', 'baseline: each node\'s newest item, empty for an empty node');
  kept['/finesse/api/User/1001'].push({ itemId: '9', text: 'u9' });
  kept['/finesse/api/SystemInfo'].push({ itemId: '1', text: 's1' });
  link.lastItemIds.set('/finesse/api/User/1001/Dialogs', '2'); // no longer kept: a gap
  link.holdNotifications();
  link.onNotification({ node: '/finesse/api/User/1001', itemId: '9', text: 'u9' });
  link.onNotification({ node: '/finesse/api/Team/1/Users', itemId: '9', text: 't9' });
  await link.catchUp();
  link.releaseNotifications();
  check(delivered.join() === '/finesse/api/User/1001#u9,/finesse/api/SystemInfo#s1,/finesse/api/Team/1/Users#t9', `catch-up applies what is new once, another node's same item id is not skipped: ${delivered}`);
  check(reloaded.join() === '/finesse/api/User/1001/Dialogs', `a node whose last item is gone is read again: ${reloaded}`);
  const { DesktopSession } = await import('./js/session.js');
  const s = new DesktopSession({ loginId: '1001', password: 'nope', extension: '1001', log: new ClientLog({}) });
  const e4 = await s.signIn().catch((x) => x);
  check(e4 instanceof Error && /wrong login id or password/.test(e4.message) && s.model.connection.status === 'signed-out', `bad password: ${e4.message}`);
  return out;
});
console.log(results.join('\n'));
const failed = results.filter((r) => r.startsWith('FAIL')).length + pageErrors.length;
for (const e of pageErrors) console.log(`FAIL page error: ${e}`);
console.log(failed === 0 && results.length > 20 ? 'PASS' : `FAIL: ${failed} of ${results.length}`);
await browser.close();
process.exit(failed === 0 && results.length > 20 ? 0 : 1);

// session.js — DesktopSession: one signed-in agent's desktop (docs/architecture/desktop.md).
// Owns the sign-in sequence, session.model kept from notifications after the initial GETs,
// the agent's actions, drift re-measurement, reconnect with back-off, failover to the other
// node, catch-up of missed items, Send Error Report and sign out. The notification connection
// is an XmppClient (js/xmpp.js); the rules it applies live in session-apply.js and reconnect.js.

import { FinesseApi, ApiError, REQUEST_TIMEOUT_MS, newRequestId } from './api.js';
import { escapeXml } from './xml.js';
import {
  emptyModel, parseUser, parseDialogs, parseQueue, parseQueues, parseReasonCodes, parseTeam, parseSystemInfo, parseUpdate,
} from './model.js';
import { applyUpdate } from './session-apply.js';
import { retryDelayMs, shouldFailOver, alternateNode, nodeBase } from './reconnect.js';
import { NodeLink } from './session-link.js';

/** Milliseconds Send Error Report waits for the POST event on the ClientLog node. */
export const REPORT_TIMEOUT_MS = 15000;

/** The desktop of one agent: an EventTarget firing 'change' (detail: { what }) on each change. */
export class DesktopSession extends EventTarget {
  /** `log` is the page's ClientLog; `clientFactory(options)` makes the XmppClient (tests may
   *  pass their own); `base` is the first REST node ('' = the page's origin). */
  constructor({ loginId, password, extension, transport, log, clientFactory, base = '' }) {
    super();
    this.loginId = String(loginId || '').trim();
    this.password = password;
    this.extension = String(extension || '').trim();
    this.transport = transport || '';
    this.log = log;
    this.clientFactory = clientFactory || defaultClientFactory;
    this.model = emptyModel();
    this.link = null;           // NodeLink of the node in use
    this.firstBase = base;
    this.base = base;           // the REST node in use
    this.timers = new Set();
    this.reconnecting = false;
    this.signingOut = false;
    this.reportWaiter = null;
    // What a person (or a test) may look at from the browser's console: the model and the
    // client log, not the credentials the session holds.
    if (typeof window !== 'undefined') {
      const session = this;
      window.heraldSession = Object.freeze({ get model() { return session.model; }, log: this.log });
    }
  }

  /** Fires 'change' with `what` (the part of the model that changed). */
  changed(what) {
    this.dispatchEvent(new CustomEvent('change', { detail: { what } }));
  }

  /** Sets the connection part of the model and announces it. */
  setConnection(fields) {
    Object.assign(this.model.connection, fields);
    this.log.log(`connection: ${this.model.connection.status} (node ${this.model.connection.node}, attempt ${this.model.connection.attempt})`);
    this.changed('connection');
  }

  /** Signs in: SystemInfo (+ drift), config.json, GET User, XMPP, explicit subscriptions,
   *  the initial GETs, PUT User LOGIN. Throws Error(message) for the sign-in form. */
  async signIn() {
    if (!this.loginId || !this.password) throw new Error('Enter your login id and password.');
    if (!this.extension) throw new Error('Enter your extension.');
    this.signingOut = false;
    this.log.log(`sign in: ${this.loginId} at extension ${this.extension}`);
    this.setConnection({ status: 'connecting', attempt: 0, failedOver: false });
    try {
      await this.openNode(this.firstBase, { login: true });
    } catch (e) {
      this.log.log(`sign in failed: ${e.message}`);
      this.closeLink();
      this.setConnection({ status: 'signed-out' });
      if (e instanceof ApiError && e.status === 401) throw new Error('Sign in failed: wrong login id or password.');
      throw new Error(`Sign in failed: ${e.message}`);
    }
    this.startDriftTimer();
  }

  /** Opens the session on the node at `base`: everything sign in does there. `login` sends
   *  PUT User LOGIN always; otherwise only when the agent is logged out on that node. */
  async openNode(base, { login }) {
    this.base = base;
    const api = new FinesseApi(base, this.loginId, this.password);
    const where = base || (typeof location !== 'undefined' ? location.origin : '');
    const system = await this.readSystemInfo(api);
    if (system.status !== 'IN_SERVICE') {
      throw new Error(`the server ${where} is ${system.status || 'not in service'}${system.statusReason ? ` (${system.statusReason})` : ''}`);
    }
    const config = await this.readConfig(api);
    this.log.maxLines = config.logLines || this.log.maxLines;
    this.stillWanted();

    const link = new NodeLink({
      session: this, api, system, config, transport: this.transport || config.transport || 'bosh',
    });
    this.closeLink();
    this.link = link;
    const url = new URL(where);
    this.log.host = url.hostname;
    this.setConnection({ server: url.hostname, node: url.host });
    link.holdNotifications();
    try {
      await link.connect();
    } catch (e) {
      // A browser that has not accepted the notification port's self-signed certificate fails
      // here with nothing but a network error: say what to do about it.
      if (/unreachable|WebSocket/.test(e.message)) {
        throw new Error(`${e.message}. If the server's certificate is self-signed, open https://${url.host.replace(/:\d+$/, '')}:${config.notificationPort}/ once in this browser, accept the certificate, and sign in again`);
      }
      throw e;
    }
    // Read after the connection is up, notifications held: a change made meanwhile is either
    // in these documents or among the held notifications, never lost between the two.
    this.stillWanted();
    const userDoc = await api.get(`User/${encodeURIComponent(this.loginId)}`);
    const user = parseUser(userDoc.documentElement);
    this.log.log(`user ${user.loginId}: ${user.state}, roles ${user.roles.join(',')}`);
    const queuesDoc = await api.get(`User/${encodeURIComponent(this.loginId)}/Queues`);
    const queues = parseQueues(queuesDoc.documentElement);
    const explicit = [
      `/finesse/api/User/${this.loginId}/Queues`,
      ...queues.map((q) => `/finesse/api/Queue/${q.id}`),
      ...(user.roles.includes('Supervisor') ? user.teams.map((t) => `/finesse/api/Team/${t.id}/Users`) : []),
      `/finesse/api/User/${this.loginId}/ClientLog`,
    ];
    for (const node of explicit) await link.subscribe(node);

    // The initial GETs: after them the model changes only from notifications.
    const m = this.model;
    m.user = user;
    m.queues = new Map(queues.map((q) => [q.id, q]));
    const dialogsDoc = await api.get(`User/${encodeURIComponent(this.loginId)}/Dialogs`);
    m.dialogs = new Map(parseDialogs(dialogsDoc.documentElement).map((d) => [d.id, d]));
    for (const category of ['NOT_READY', 'LOGOUT']) {
      const doc = await api.get(`User/${encodeURIComponent(this.loginId)}/ReasonCodes?category=${category}`);
      m.reasonCodes[category] = parseReasonCodes(doc.documentElement);
    }
    m.team = new Map();
    if (user.roles.includes('Supervisor')) {
      for (const t of user.teams) {
        const team = parseTeam((await api.get(`Team/${encodeURIComponent(t.id)}`)).documentElement);
        for (const u of team.users) m.team.set(u.loginId, u);
      }
    }
    await link.recordBaseline();
    this.stillWanted();
    this.changed('all');
    link.releaseNotifications();

    if (login || user.state === 'LOGOUT') {
      await this.sendUserState('LOGIN', null, api);
    }
    await link.finesseAvailable();
    this.setConnection({ status: 'connected', attempt: 0 });
  }

  /** Throws when the agent signed out while a node was being opened (the caller stops there). */
  stillWanted() {
    if (this.signingOut) throw new Error('signed out meanwhile');
  }

  /** Reads the resource behind `node` again and replaces its part of the model: what a
   *  catch-up does when the node no longer keeps the last item this page applied. */
  async reload(node, api) {
    const id = this.loginId;
    const m = this.model;
    const team = node.match(/^\/finesse\/api\/Team\/([^/]+)\/Users$/);
    const queue = node.match(/^\/finesse\/api\/Queue\/([^/]+)$/);
    if (node === `/finesse/api/User/${id}`) {
      m.user = parseUser((await api.get(`User/${encodeURIComponent(id)}`)).documentElement);
    } else if (node === `/finesse/api/User/${id}/Dialogs`) {
      const doc = await api.get(`User/${encodeURIComponent(id)}/Dialogs`);
      m.dialogs = new Map(parseDialogs(doc.documentElement).map((d) => [d.id, d]));
    } else if (node === '/finesse/api/SystemInfo') {
      await this.readSystemInfo(api);
    } else if (team) {
      const fresh = parseTeam((await api.get(`Team/${encodeURIComponent(team[1])}`)).documentElement);
      for (const [loginId, u] of m.team) if (u.teamId === team[1]) m.team.delete(loginId);
      for (const u of fresh.users) m.team.set(u.loginId, { ...u, teamId: u.teamId || team[1] });
    } else if (queue) {
      m.queues.set(queue[1], parseQueue((await api.get(`Queue/${encodeURIComponent(queue[1])}`)).documentElement));
    } else {
      this.log.log(`no resource to read again for ${node}`);
      return;
    }
    this.log.log(`read ${node} again`);
    this.changed('all');
  }

  /** GET SystemInfo on `api`, measuring drift; updates model.system. Returns the parsed info. */
  async readSystemInfo(api) {
    const sent = Date.now();
    const doc = await api.get('SystemInfo');
    const received = Date.now();
    this.log.measure(doc, sent, received);
    const s = parseSystemInfo(doc.documentElement);
    Object.assign(this.model.system, {
      status: s.status, statusReason: s.statusReason, xmppDomain: s.xmppDomain, deploymentType: s.deploymentType,
    });
    this.lastSystemInfo = s;
    this.changed('system');
    return s;
  }

  /** The node's /desktop/config.json (where its notification service listens). */
  async readConfig(api) {
    const url = api.url('/desktop/config.json');
    let res;
    try {
      res = await fetch(url, { cache: 'no-store', credentials: 'omit', signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    } catch (e) {
      throw new ApiError({ status: 0, detail: `GET ${url}: ${e.message}` });
    }
    if (!res.ok) throw new ApiError({ status: res.status, detail: `GET ${url}` });
    const config = await res.json();
    this.log.log(`config ${url}: notificationPort ${config.notificationPort}, transport ${config.transport}`);
    return config;
  }

  /** Called by the link for every notification: logs it and applies it to the model. */
  onUpdate(node, updateText) {
    let update;
    try {
      update = parseUpdate(updateText);
    } catch (e) {
      this.log.log(`notification on ${node} unreadable: ${e.message}`);
      return;
    }
    this.log.log(`notification: node ${node}, event ${update.event}, requestId ${update.requestId || '-'}, source ${update.source}`);
    const result = applyUpdate(this.model, node, update, this.loginId);
    if (result.error) this.log.log(`refused asynchronously: ${result.error.message} (requestId ${update.requestId || '-'})`);
    for (const id of result.queuesAdded || []) {
      if (this.link) this.link.subscribe(`/finesse/api/Queue/${id}`).catch((e) => this.log.log(`subscribe Queue/${id} failed: ${e.message}`));
    }
    if (result.what === 'report' && this.reportWaiter) this.reportWaiter();
    if (result.what === 'system' && result.systemInfo) {
      // A published SystemInfo also tells where to fail over to (a cluster's nodes changed).
      this.lastSystemInfo = result.systemInfo;
      this.log.log(`system ${result.systemInfo.status} ${result.systemInfo.statusReason}`);
    }
    if (result.what) this.changed(result.what);
  }

  /** The server's clock now, in ms: the local clock corrected by the measured drift. */
  serverNow(now = Date.now()) {
    return now + (this.log.driftMs || 0);
  }

  /** How long the agent has been in the current state (ms), from stateChangeTime read on the
   *  server's clock, so a skewed local clock does not skew it; null when unknown. */
  timeInStateMs(now = Date.now()) {
    const since = this.model.user && this.model.user.stateChangeTime;
    return since ? Math.max(0, this.serverNow(now) - since) : null;
  }

  /** True while state actions are refused locally (the server is OUT_OF_SERVICE). */
  get outOfService() {
    return this.model.system.status === 'OUT_OF_SERVICE';
  }

  /** Sends an action and records a refusal in model.error (then rethrows it). */
  async act(description, send) {
    this.log.log(`action: ${description}`);
    if (this.model.error) { this.model.error = null; this.changed('error'); }
    try {
      await send();
    } catch (e) {
      this.log.log(`action refused: ${description}: ${e.message}`);
      this.model.error = { message: e.message };
      this.changed('error');
      throw e;
    }
  }

  async sendUserState(state, reasonCodeId, api = this.link && this.link.api) {
    const requestId = newRequestId();
    const ext = state === 'LOGIN' ? `<extension>${escapeXml(this.extension)}</extension>` : '';
    const reason = reasonCodeId ? `<reasonCodeId>${escapeXml(reasonCodeId)}</reasonCodeId>` : '';
    this.log.log(`PUT User/${this.loginId} ${state}${reasonCodeId ? ` reason ${reasonCodeId}` : ''} requestId ${requestId}`);
    await api.put(`User/${encodeURIComponent(this.loginId)}`, `<User><state>${state}</state>${ext}${reason}</User>`, { requestId });
  }

  /** Changes the agent's state (READY, NOT_READY or LOGOUT with an optional reason code). */
  async setState(state, reasonCodeId) {
    await this.act(`set state ${state}${reasonCodeId ? ` (${reasonCodeId})` : ''}`, async () => {
      if (this.outOfService) throw new Error('The server is OUT_OF_SERVICE: state changes are off until it is back in service.');
      if (!this.link) throw new Error('Not signed in.');
      await this.sendUserState(state, reasonCodeId);
    });
  }

  /** The dialog a TRANSFER/CONFERENCE offered on the held call `dialogId` is sent to: the
   *  consult call associated with it (the server joins the consult's parties to the held call). */
  consultOf(dialogId) {
    for (const d of this.model.dialogs.values()) {
      if (d.id !== dialogId && d.associatedDialogUri && d.associatedDialogUri.replace(/\/+$/, '').endsWith(`/Dialog/${dialogId}`)) return d.id;
    }
    return dialogId;
  }

  /** Acts on a call as the agent's own participant (targetMediaAddress = extension);
   *  CONSULT_CALL needs `toAddress`; TRANSFER/CONFERENCE may name the held call whose
   *  participant offers them (they are sent on its consult call). */
  async dialogAction(dialogId, action, { toAddress } = {}) {
    if (action === 'TRANSFER' || action === 'CONFERENCE') dialogId = this.consultOf(dialogId);
    await this.act(`${action} on dialog ${dialogId}${toAddress ? ` to ${toAddress}` : ''}`, async () => {
      if (!this.link) throw new Error('Not signed in.');
      if (action === 'CONSULT_CALL' && !toAddress) throw new Error('Enter the number to consult.');
      const to = toAddress ? `<toAddress>${escapeXml(toAddress)}</toAddress>` : '';
      await this.link.api.put(`Dialog/${encodeURIComponent(dialogId)}`,
        `<Dialog><requestedAction>${escapeXml(action)}</requestedAction>${to}<targetMediaAddress>${escapeXml(this.extension)}</targetMediaAddress></Dialog>`,
        { requestId: newRequestId() });
    });
  }

  /** Places a call from the agent's extension to `toAddress`. */
  async makeCall(toAddress) {
    await this.act(`make call to ${toAddress}`, async () => {
      if (!this.link) throw new Error('Not signed in.');
      const to = String(toAddress || '').trim();
      if (!to) throw new Error('Enter the number to call.');
      await this.link.api.post(`User/${encodeURIComponent(this.loginId)}/Dialogs`,
        `<Dialog><requestedAction>MAKE_CALL</requestedAction><fromAddress>${escapeXml(this.extension)}</fromAddress><toAddress>${escapeXml(to)}</toAddress></Dialog>`,
        { requestId: newRequestId() });
    });
  }

  /** Send Error Report: subscribe the ClientLog node, POST the log, 'sent' on its POST event,
   *  'failed' after REPORT_TIMEOUT_MS or on a refusal. */
  async sendErrorReport() {
    const node = `/finesse/api/User/${this.loginId}/ClientLog`;
    this.model.report = { status: 'sending', message: 'Sending the error report…' };
    this.changed('report');
    this.log.log('send error report');
    try {
      if (!this.link) throw new Error('Not connected.');
      await this.link.subscribe(node);
      let timer = null;
      const arrived = new Promise((resolve, reject) => {
        timer = setTimeout(() => reject(new Error('the server did not confirm the report within 15 s')), REPORT_TIMEOUT_MS);
        this.reportWaiter = () => { clearTimeout(timer); resolve(); };
      });
      // A refused POST ends the wait here; the confirmation timer must not fire unheard.
      arrived.catch(() => {});
      const body = this.log.reportBody(typeof navigator !== 'undefined' ? navigator.userAgent : 'unknown');
      try {
        await this.link.api.post(`User/${encodeURIComponent(this.loginId)}/ClientLog`, body);
      } catch (e) {
        clearTimeout(timer);
        throw e;
      }
      await arrived;
      this.log.clear();
      this.log.log('error report sent');
      this.model.report = { status: 'sent', message: 'Error report sent' };
    } catch (e) {
      this.log.log(`error report failed: ${e.message}`);
      this.model.report = { status: 'failed', message: `Error report failed: ${e.message}` };
    } finally {
      this.reportWaiter = null;
    }
    this.changed('report');
  }

  /** Resolves when `condition()` holds after a change; rejects when an action is refused
   *  meanwhile (model.error) or after `ms` with an Error naming `what`. */
  waitForModel(condition, ms, what) {
    return new Promise((resolve, reject) => {
      const finish = (err) => {
        clearTimeout(timer);
        this.removeEventListener('change', check);
        if (err) reject(err); else resolve();
      };
      const check = (e) => {
        if (e && e.detail.what === 'error' && this.model.error) finish(new Error(this.model.error.message));
        else if (condition()) finish();
      };
      const timer = setTimeout(() => finish(new Error(`no ${what} notification within ${ms / 1000} s`)), ms);
      this.addEventListener('change', check);
      check();
    });
  }

  /** Signs out: NOT_READY first when READY (LOGOUT is accepted from NOT_READY only), LOGOUT
   *  with the reason, then disconnects once the LOGOUT notification is in (or after 5 s without
   *  it). A refused LOGOUT leaves the agent signed in and rejects with its message. */
  async signOut(reasonCodeId) {
    const state = () => (this.model.user ? this.model.user.state : '');
    if (state() === 'READY') {
      await this.setState('NOT_READY');
      await this.waitForModel(() => state() === 'NOT_READY', 5000, 'NOT_READY');
    }
    if (state() !== 'LOGOUT') {
      await this.setState('LOGOUT', reasonCodeId);
      await this.waitForModel(() => state() === 'LOGOUT', 5000, 'LOGOUT').catch((e) => {
        if (this.model.error) throw e;
        this.log.log(`sign out: ${e.message}; disconnecting anyway`);
      });
    }
    this.end('signed out');
  }

  /** Stops everything (timers, connection); the model's connection becomes signed-out. */
  end(reason) {
    this.signingOut = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.closeLink();
    this.log.log(`session ended: ${reason}`);
    this.setConnection({ status: 'signed-out' });
  }

  closeLink() {
    if (this.link) { this.link.close(); this.link = null; }
  }

  /** Re-measures drift every config driftSecs (SystemInfo GET; also refreshes its status). */
  startDriftTimer() {
    const secs = (this.link && this.link.config.driftSecs) || 600;
    const t = setTimeout(async () => {
      this.timers.delete(t);
      if (this.signingOut) return;
      if (this.link && this.model.connection.status === 'connected') {
        await this.readSystemInfo(this.link.api).catch((e) => this.log.log(`drift measurement failed: ${e.message}`));
      }
      this.startDriftTimer();
    }, secs * 1000);
    this.timers.add(t);
  }

  /** Waits `ms` unless the session ends meanwhile. */
  sleep(ms) {
    return new Promise((resolve) => {
      const t = setTimeout(() => { this.timers.delete(t); resolve(); }, ms);
      this.timers.add(t);
    });
  }

  /** Called by the link when the notification connection is lost: reconnect with back-off,
   *  catch up, fail over after TRIES_BEFORE_FAILOVER failed tries on one node. */
  async connectionLost(reason) {
    if (this.signingOut || this.reconnecting) return;
    this.reconnecting = true;
    this.log.log(`notification connection lost: ${reason}`);
    this.setConnection({ status: 'reconnecting', attempt: 0 });
    let failedOnNode = 0;
    let attempt = 0;
    while (!this.signingOut) {
      attempt += 1;
      this.setConnection({ attempt });
      await this.sleep(retryDelayMs(attempt));
      if (this.signingOut) break;
      const current = this.currentAddress();
      const alternate = this.lastSystemInfo ? alternateNode(this.lastSystemInfo, current) : null;
      if (shouldFailOver(failedOnNode, alternate)) {
        this.log.log(`failing over from ${current.host}:${current.port} to ${alternate.host}:${alternate.port}`);
        failedOnNode = 0;
        try {
          await this.openNode(nodeBase(alternate), { login: false });
          this.setConnection({ failedOver: true });
          break;
        } catch (e) {
          this.log.log(`failover to ${alternate.host}:${alternate.port} failed: ${e.message}`);
          this.closeLink();
          failedOnNode = 1;
          continue;
        }
      }
      try {
        await this.reconnectSameNode();
        break;
      } catch (e) {
        this.log.log(`reconnect try ${attempt} failed: ${e.message}`);
        if (!(e.countsTowardFailover === false)) failedOnNode += 1;
      }
    }
    this.reconnecting = false;
    if (!this.signingOut) this.log.log('notification connection back');
  }

  /** { host, port } of the REST node in use. */
  currentAddress() {
    const base = this.base || location.origin;
    const u = new URL(base);
    return { host: u.hostname, port: u.port || '443' };
  }

  /** One reconnect try on the current node: GET SystemInfo, new XmppClient, catch-up, connected. */
  async reconnectSameNode() {
    const old = this.link;
    const api = old ? old.api : new FinesseApi(this.base, this.loginId, this.password);
    const system = await this.readSystemInfo(api);
    if (system.status !== 'IN_SERVICE') {
      const e = new Error(`server is ${system.status}`);
      e.countsTowardFailover = false;
      throw e;
    }
    if (!old) {
      await this.openNode(api.base, { login: false });
      return;
    }
    const link = old.renew();
    this.link = link;
    link.holdNotifications();
    try {
      await link.connect();
      await link.catchUp();
      link.releaseNotifications();
      await link.finesseAvailable();
    } catch (e) {
      link.close();
      throw e;
    }
    this.setConnection({ status: 'connected', attempt: 0 });
  }
}

async function defaultClientFactory(options) {
  const { XmppClient } = await import('./xmpp.js');
  return new XmppClient(options);
}

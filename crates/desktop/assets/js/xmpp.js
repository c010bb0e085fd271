// The desktop's own XMPP client (`XmppClient`, docs/architecture/desktop.md "js/xmpp.js"): one
// stream over BOSH (XEP-0124/0206 with CAXL's parameters, finesse-domain.md §4.1) or WebSocket
// (RFC 7395); SASL (sasl.js), bind, the initial presence, pings, iq tracking with timeouts, and
// the pubsub calls and events the desktop needs. It owns the wire; the session decides what to
// do when the connection goes (`disconnected` is final for a client object).

import { parseXml, escapeXml, element, child, childrenNamed } from './xml.js';
import { chooseMechanism, createMechanism } from './sasl.js';

const NS = {
  client: 'jabber:client',
  sasl: 'urn:ietf:params:xml:ns:xmpp-sasl',
  bind: 'urn:ietf:params:xml:ns:xmpp-bind',
  stanzas: 'urn:ietf:params:xml:ns:xmpp-stanzas',
  ping: 'urn:xmpp:ping',
  pubsub: 'http://jabber.org/protocol/pubsub',
  pubsubEvent: 'http://jabber.org/protocol/pubsub#event',
  httpbind: 'http://jabber.org/protocol/httpbind',
  xbosh: 'urn:xmpp:xbosh',
  framing: 'urn:ietf:params:xml:ns:xmpp-framing',
};
const IQ_TIMEOUT_MS = 10_000;
const NEGOTIATION_TIMEOUT_MS = 20_000;
const BOSH_BACKOFF_MS = [500, 2000, 4500];

/** The first element child of `el` that is not `<text>`: an XMPP error's condition name. */
function conditionOf(errorEl) {
  const c = errorEl && Array.from(errorEl.children).find((e) => e.localName !== 'text');
  return c ? c.localName : 'undefined-condition';
}

/** An Error whose `condition` is the XMPP condition name (e.g. `forbidden`). */
function xmppError(what, condition) {
  const err = new Error(`${what} failed: ${condition}`);
  err.condition = condition;
  return err;
}

/**
 * One XMPP connection for the desktop. See the contract for the options; `onStatus`,
 * `onNotification`, `onPresence` are set by the owner before `connect()`.
 */
export class XmppClient {
  constructor({ transport = 'bosh', url, domain, username, password, resource = 'desktop',
    wait = 30, pingSecs = 20, log = () => {} }) {
    this.options = { transport, url, domain, username, password, resource, wait, pingSecs };
    this.log = log;
    this.onStatus = () => {};
    this.onNotification = () => {};
    this.onPresence = () => {};
    this.jid = null;
    this.status = 'new';
    this.pending = new Map(); // iq id → { resolve, reject, timer }
    this.inbox = []; // elements received while negotiating, not yet taken
    this.inboxWaiter = null;
    this.negotiating = true;
    this.idCounter = 0;
    this.pingTimer = null;
  }

  /** Connects, authenticates, binds and sends the initial presence; see the contract. */
  async connect() {
    if (this.status !== 'new') throw new Error('this XmppClient was already used; make a new one');
    const { transport, url } = this.options;
    this.setStatus('connecting', { reason: 'connecting' });
    this.log(`XMPP connecting over ${transport} to ${url}`);
    const Transport = transport === 'websocket' ? WebSocketTransport : BoshTransport;
    this.transport = new Transport(this.options, {
      element: (el) => this.receive(el),
      failed: (reason) => this.fail(reason),
      retrying: (reason) => this.retrying(reason),
      recovered: () => this.recovered(),
      log: (msg) => this.log(msg),
    });
    try {
      this.transport.open();
      await this.authenticate(await this.nextElement('features'));
      this.transport.restart();
      await this.bind(await this.nextElement('features'));
      this.negotiating = false;
      for (const el of this.inbox.splice(0)) this.dispatch(el);
      this.send('<presence/>');
      this.setStatus('connected', { reason: `bound as ${this.jid}` });
      this.startPinging();
    } catch (err) {
      this.fail(err.message, err.authFailed ? { authFailed: true } : {});
      throw err;
    }
  }

  /** XEP-0060 subscribe of the bare JID to `node` at pubsub.<domain>. */
  async subscribe(node) {
    if (!this.jid) throw new Error(`subscribe to ${node}: not connected`);
    const bare = this.jid.split('/')[0];
    await this.iq('set', this.pubsubJid(), element('pubsub', { xmlns: NS.pubsub },
      element('subscribe', { node, jid: bare })), `subscribe to ${node}`);
  }

  /** The last `max` items of `node`: [{ itemId, text }] oldest first (catch-up). */
  async items(node, max = 1) {
    const result = await this.iq('get', this.pubsubJid(), element('pubsub', { xmlns: NS.pubsub },
      element('items', { node, max_items: max })), `items of ${node}`);
    const itemsEl = child(child(result, 'pubsub'), 'items');
    return childrenNamed(itemsEl, 'item').map((item) => ({
      itemId: item.getAttribute('id'),
      text: child(item, 'notification')?.textContent ?? '',
    }));
  }

  /** XEP-0199 ping to the domain; rejects on an error answer or no answer within 10 s. */
  async ping() {
    await this.iq('get', this.options.domain, element('ping', { xmlns: NS.ping }), 'ping');
  }

  /** Signs out of the stream: unavailable presence, BOSH terminate / WS close; final. */
  disconnect() {
    if (this.status === 'disconnected') return;
    this.log('XMPP signing out');
    if (this.transport) this.transport.close(this.stanza('<presence type="unavailable"/>'));
    this.finish('signed out', {});
  }

  // ---- internals ----

  pubsubJid() {
    return `pubsub.${this.options.domain}`;
  }

  nextId() {
    this.idCounter += 1;
    return `d${Date.now().toString(36)}${this.idCounter}`;
  }

  /** `xml` with `xmlns='jabber:client'` on its root, as both transports want stanzas. */
  stanza(xml) {
    return xml.replace(/^<(iq|message|presence)(?=[\s/>])/, `<$1 xmlns="${NS.client}"`);
  }

  send(xml) {
    if (this.status === 'disconnected') return;
    this.transport.send(this.stanza(xml));
  }

  /** Sends an iq, resolves with the result element, rejects on error/timeout/disconnect. */
  iq(type, to, payload, what) {
    if (this.status === 'disconnected' || !this.jid) return Promise.reject(new Error(`${what}: not connected`));
    const id = this.nextId();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        const err = xmppError(what, 'timeout');
        err.timeout = true;
        reject(err);
      }, IQ_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer, what });
      this.send(element('iq', { type, to, id }, payload));
    });
  }

  /** Waits for the next negotiation element; throws on a stream failure or timeout. */
  nextElement(expected) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.inboxWaiter = null;
        reject(new Error(`no ${expected} from the server within ${NEGOTIATION_TIMEOUT_MS / 1000} s`));
      }, NEGOTIATION_TIMEOUT_MS);
      this.inboxWaiter = {
        take: (el) => { clearTimeout(timer); this.inboxWaiter = null; resolve(el); },
        fail: (reason) => { clearTimeout(timer); this.inboxWaiter = null; reject(new Error(reason)); },
      };
      if (this.inbox.length) this.inboxWaiter.take(this.inbox.shift());
    });
  }

  async authenticate(features) {
    const offered = childrenNamed(child(features, 'mechanisms'), 'mechanism').map((m) => m.textContent.trim());
    const name = chooseMechanism(offered);
    if (!name) throw new Error(`no SASL mechanism in common (server offers ${offered.join(', ') || 'none'})`);
    this.log(`XMPP SASL mechanism ${name}`);
    const { username, password } = this.options;
    const mechanism = createMechanism(name, { username, password });
    this.send(element('auth', { xmlns: NS.sasl, mechanism: name }, await mechanism.initial()));
    for (;;) {
      const el = await this.nextElement('SASL answer');
      if (el.localName === 'challenge') {
        this.send(element('response', { xmlns: NS.sasl }, await mechanism.respond(el.textContent)));
      } else if (el.localName === 'success') {
        await mechanism.verifySuccess(el.textContent);
        return;
      } else if (el.localName === 'failure') {
        const condition = conditionOf(el);
        const err = new Error(`sign-in refused by the notification service: ${condition}`);
        err.condition = condition;
        if (condition === 'not-authorized') err.authFailed = true;
        throw err;
      } else {
        throw new Error(`unexpected <${el.localName}> during SASL`);
      }
    }
  }

  // No legacy session iq follows the bind: RFC 6121 made it optional and Herald's features mark
  // it <optional/> (Finesse's own clients send none either).
  async bind(features) {
    if (!child(features, 'bind')) throw new Error('the server offers no resource binding');
    let resource = this.options.resource;
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const id = this.nextId();
      const res = resource ? element('resource', {}, escapeXml(resource)) : '';
      this.send(element('iq', { type: 'set', id }, element('bind', { xmlns: NS.bind }, res)));
      let answer = await this.nextElement('bind result');
      while (answer.localName !== 'iq' || answer.getAttribute('id') !== id) {
        if (!['iq', 'message', 'presence'].includes(answer.localName)) {
          throw new Error(`unexpected <${answer.localName}> while binding`);
        }
        this.dispatch(answer); // a stanza not for the bind (e.g. a server ping) is handled as usual
        answer = await this.nextElement('bind result');
      }
      if (answer.getAttribute('type') === 'result') {
        this.jid = child(child(answer, 'bind'), 'jid')?.textContent;
        if (!this.jid) throw new Error('bind result without a jid');
        this.log(`XMPP bound as ${this.jid}`);
        return;
      }
      const condition = conditionOf(child(answer, 'error'));
      if (condition !== 'conflict' || !resource) throw xmppError('bind', condition);
      this.log(`XMPP resource ${resource} in use; asking the server for one`);
      resource = null;
    }
  }

  /** An element from the transport: negotiation elements queue, stanzas dispatch. */
  receive(el) {
    if (this.status === 'disconnected') return;
    if (el.localName === 'error' && el.namespaceURI === 'http://etherx.jabber.org/streams') {
      this.fail(`stream error: ${conditionOf(el)}`);
      return;
    }
    if (this.negotiating) {
      if (this.inboxWaiter) this.inboxWaiter.take(el);
      else this.inbox.push(el);
      return;
    }
    this.dispatch(el);
  }

  dispatch(el) {
    try {
      if (el.localName === 'iq') this.handleIq(el);
      else if (el.localName === 'message') this.handleMessage(el);
      else if (el.localName === 'presence') {
        this.onPresence({ from: el.getAttribute('from') || '', type: el.getAttribute('type') || 'available' });
      }
    } catch (err) {
      this.log(`XMPP error handling <${el.localName}>: ${err.message}`);
    }
  }

  handleIq(el) {
    const type = el.getAttribute('type');
    const id = el.getAttribute('id');
    if (type === 'result' || type === 'error') {
      const waiting = this.pending.get(id);
      if (!waiting) return;
      this.pending.delete(id);
      clearTimeout(waiting.timer);
      if (type === 'result') waiting.resolve(el);
      else waiting.reject(xmppError(waiting.what, conditionOf(child(el, 'error'))));
      return;
    }
    const from = el.getAttribute('from') || undefined;
    const payload = el.firstElementChild;
    if (type === 'get' && payload?.localName === 'ping' && payload.namespaceURI === NS.ping) {
      this.send(element('iq', { type: 'result', id, to: from }));
      return;
    }
    this.send(element('iq', { type: 'error', id, to: from }, element('error', { type: 'cancel' },
      element('service-unavailable', { xmlns: NS.stanzas }))));
  }

  handleMessage(el) {
    for (const event of childrenNamed(el, 'event')) {
      if (event.namespaceURI !== NS.pubsubEvent) continue;
      for (const items of childrenNamed(event, 'items')) {
        const node = items.getAttribute('node');
        for (const item of childrenNamed(items, 'item')) {
          const notification = child(item, 'notification');
          if (!notification) continue;
          this.onNotification({ node, itemId: item.getAttribute('id'), text: notification.textContent });
        }
      }
    }
  }

  startPinging() {
    this.pingTimer = setInterval(() => {
      this.ping().catch((err) => {
        if (err.timeout) {
          this.log('XMPP ping timeout');
          this.fail('ping timeout');
        } else if (this.status !== 'disconnected') {
          this.log(`XMPP ping answered with an error: ${err.message}`);
        }
      });
    }, this.options.pingSecs * 1000);
  }

  setStatus(status, detail) {
    this.status = status;
    try {
      this.onStatus(status, detail);
    } catch (err) {
      this.log(`XMPP status handler failed: ${err.message}`);
    }
  }

  retrying(reason) {
    if (this.status === 'disconnected') return;
    if (this.status === 'connected') this.setStatus('retrying', { reason });
  }

  recovered() {
    if (this.status === 'retrying') this.setStatus('connected', { reason: 'request resent' });
  }

  /** The connection is lost: close the transport, tell the owner; final. */
  fail(reason, extra = {}) {
    if (this.status === 'disconnected') return;
    this.log(`XMPP disconnected: ${reason}`);
    if (this.transport) this.transport.close(null);
    this.finish(reason, extra);
  }

  finish(reason, extra) {
    clearInterval(this.pingTimer);
    for (const [, waiting] of this.pending) {
      clearTimeout(waiting.timer);
      waiting.reject(new Error(`${waiting.what}: disconnected (${reason})`));
    }
    this.pending.clear();
    if (this.inboxWaiter) this.inboxWaiter.fail(reason);
    this.setStatus('disconnected', { reason, ...extra });
  }
}

/**
 * BOSH (XEP-0124/0206) as CAXL sends it: hold 1, at most two requests in flight, `wait + 5` s
 * timeout, the same rid and body resent after a failure, responses handled in rid order.
 */
class BoshTransport {
  constructor(options, events) {
    this.options = options;
    this.events = events;
    this.rid = 32768 + Math.floor(Math.random() * (2 ** 32 - 32768));
    this.nextToHandle = this.rid;
    this.handled = new Map(); // rid → parsed <body> waiting for an earlier rid
    this.queue = [];
    this.inFlight = 0;
    this.sid = null;
    this.wait = options.wait;
    this.closed = false;
    this.controllers = new Set();
    this.failing = new Set(); // rids being resent
    this.terminateBody = null; // the terminate payload waiting for a free request slot
    this.sessionGone = false; // the server ended the session, or cannot be reached
    this.extra = null; // attributes of the next body (restart / terminate)
  }

  open() {
    const { domain, wait } = this.options;
    this.request({ to: domain, 'xml:lang': 'en', hold: 1, ver: '1.9', wait,
      'xmpp:version': '1.0', 'xmlns:xmpp': NS.xbosh }, '');
  }

  send(xml) {
    this.queue.push(xml);
    this.schedule();
  }

  restart() {
    this.extra = { to: this.options.domain, 'xml:lang': 'en', 'xmpp:restart': 'true', 'xmlns:xmpp': NS.xbosh };
    this.schedule();
  }

  /**
   * Terminates the session, carrying `finalStanza` (the sign-out presence). With null (a
   * failure) what is in flight is aborted first and the session still terminated when the
   * server is alive (a refused sign-in, a ping timeout), so it does not linger until inactivity.
   * The terminate body waits for a free slot when two requests are out (the server's `requests`).
   */
  close(finalStanza) {
    if (this.closed) return;
    this.closed = true;
    if (finalStanza === null) for (const c of this.controllers) c.abort();
    if (this.sid && !this.sessionGone) {
      this.terminateBody = finalStanza === null ? '' : this.queue.splice(0).join('') + finalStanza;
      this.sendTerminateWhenFree();
    }
  }

  sendTerminateWhenFree() {
    if (this.terminateBody === null || this.inFlight >= 2) return;
    const payload = this.terminateBody;
    this.terminateBody = null;
    this.request({ type: 'terminate' }, payload, true);
  }

  schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    setTimeout(() => { this.scheduled = false; this.pump(); }, 0);
  }

  /** Sends queued stanzas, a restart, or an empty poll so one request is always held. */
  pump() {
    if (this.closed || !this.sid) return;
    while (this.inFlight < 2 && (this.queue.length || this.extra || this.inFlight === 0)) {
      const attrs = this.extra || {};
      this.extra = null;
      this.request(attrs, attrs['xmpp:restart'] ? '' : this.queue.splice(0).join(''));
    }
  }

  request(attrs, payload, final = false) {
    const rid = this.rid;
    this.rid += 1;
    const body = element('body', { rid, sid: this.sid ?? undefined, xmlns: NS.httpbind, ...attrs }, payload);
    this.inFlight += 1;
    this.attempt(rid, body, 0, final);
  }

  async attempt(rid, body, retries, final) {
    const controller = new AbortController();
    this.controllers.add(controller);
    const timer = setTimeout(() => controller.abort(new Error('timed out')), (this.wait + 5) * 1000);
    let doc;
    let cause = null;
    let refused = false;
    try {
      const response = await fetch(this.options.url, { method: 'POST', body, signal: controller.signal,
        headers: { 'Content-Type': 'text/xml; charset=utf-8' } });
      const text = await response.text();
      // XEP-0124 §17: a 4xx says the session or the request is refused; resending cannot help.
      refused = response.status >= 400 && response.status < 500;
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      doc = parseXml(text).documentElement;
      if (doc.localName !== 'body') throw new Error(`answer is <${doc.localName}>, not <body>`);
    } catch (err) {
      cause = controller.signal.aborted && !this.closed ? 'timed out' : String(err.message || err).slice(0, 160);
    } finally {
      clearTimeout(timer);
      this.controllers.delete(controller);
    }
    if (this.closed) { // signed out or failed: nothing is resent or handled any more
      this.inFlight -= 1;
      this.sendTerminateWhenFree();
      return;
    }
    if (cause !== null) {
      if (final) return;
      if (refused) {
        this.events.log(`BOSH request rid ${rid} refused (${cause}); the session is over`);
        this.sessionGone = true;
        this.events.failed(`notification session refused: ${cause}`);
        return;
      }
      if (retries >= BOSH_BACKOFF_MS.length) {
        this.events.log(`BOSH request rid ${rid} failed ${retries + 1} times (${cause}); giving up`);
        this.sessionGone = true; // unreachable: no terminate is attempted
        this.events.failed(`notification service unreachable: ${cause}`);
        return;
      }
      this.events.log(`BOSH request rid ${rid} failed (${cause}); resending in ${BOSH_BACKOFF_MS[retries]} ms`);
      this.failing.add(rid);
      this.events.retrying(cause);
      setTimeout(() => {
        if (!this.closed) {
          this.attempt(rid, body, retries + 1, final);
        } else {
          this.inFlight -= 1;
          this.sendTerminateWhenFree();
        }
      }, BOSH_BACKOFF_MS[retries]);
      return;
    }
    if (retries > 0) {
      this.events.log(`BOSH request rid ${rid} resent successfully`);
      this.failing.delete(rid);
      if (this.failing.size === 0) this.events.recovered();
    }
    this.inFlight -= 1;
    this.handled.set(rid, doc);
    while (this.handled.has(this.nextToHandle)) {
      const next = this.handled.get(this.nextToHandle);
      this.handled.delete(this.nextToHandle);
      this.nextToHandle += 1;
      this.handle(next);
      if (this.closed) return;
    }
    this.schedule();
  }

  handle(body) {
    if (!this.sid) {
      this.sid = body.getAttribute('sid');
      if (!this.sid) {
        this.events.failed('BOSH session not created: the answer has no sid');
        return;
      }
      const wait = Number(body.getAttribute('wait'));
      if (wait > 0) this.wait = wait;
    }
    if (body.getAttribute('type') === 'terminate') {
      // remote-stream-error carries the stream's own <stream:error> (XEP-0206): name both.
      const streamError = child(body, 'error');
      const condition = (body.getAttribute('condition') || 'no condition')
        + (streamError ? ` (${conditionOf(streamError)})` : '');
      this.events.log(`BOSH session terminated by the server: ${condition}`);
      this.sessionGone = true;
      this.events.failed(`terminated by the server: ${condition}`);
      return;
    }
    for (const el of Array.from(body.children)) {
      this.events.element(el);
      if (this.closed) return;
    }
  }
}

/** RFC 7395 WebSocket framing: `<open/>`, one element per message, `<close/>`. */
class WebSocketTransport {
  constructor(options, events) {
    this.options = options;
    this.events = events;
    this.closed = false;
  }

  open() {
    this.socket = new WebSocket(this.options.url, 'xmpp');
    this.socket.onopen = () => this.sendOpen();
    this.socket.onmessage = (msg) => this.receive(msg.data);
    this.socket.onclose = (ev) => {
      if (!this.closed) this.events.failed(`WebSocket closed (code ${ev.code}${ev.reason ? `, ${ev.reason}` : ''})`);
      this.closed = true;
    };
  }

  sendOpen() {
    this.socket.send(element('open', { xmlns: NS.framing, to: this.options.domain, version: '1.0' }));
  }

  send(xml) {
    if (!this.closed && this.socket.readyState === WebSocket.OPEN) this.socket.send(xml);
  }

  restart() {
    this.sendOpen();
  }

  close(finalStanza) {
    if (this.closed) return;
    this.closed = true;
    if (this.socket.readyState === WebSocket.OPEN) {
      if (finalStanza !== null) this.socket.send(finalStanza);
      this.socket.send(element('close', { xmlns: NS.framing }));
      setTimeout(() => this.socket.close(), 2000);
    } else {
      this.socket.close();
    }
  }

  receive(data) {
    if (this.closed) return;
    let el;
    try {
      el = parseXml(String(data)).documentElement;
    } catch (err) {
      this.events.failed(`unparsable WebSocket frame: ${err.message}`);
      return;
    }
    if (el.localName === 'open' && el.namespaceURI === NS.framing) return;
    if (el.localName === 'close' && el.namespaceURI === NS.framing) {
      const uri = el.getAttribute('see-other-uri');
      this.events.log(`WebSocket stream closed by the server${uri ? ` (see-other-uri ${uri})` : ''}`);
      this.events.failed('stream closed by the server');
      return;
    }
    this.events.element(el);
  }
}

// session-link.js — NodeLink: the session's notification connection to one node. Owns the
// XmppClient of that node (made through the session's clientFactory), the wait for the
// `finesse@<domain>` presence, explicit subscriptions, holding notifications while the initial
// GETs or a catch-up run, and the catch-up itself (pubsub items after the last item seen).

/** Items asked per node when catching up (the server keeps the newest items of each node). */
export const CATCH_UP_ITEMS = 50;
/** Milliseconds to wait for the available presence of finesse@<domain>. */
export const FINESSE_PRESENCE_TIMEOUT_MS = 15000;

/** The items of a node published after the item `lastItemId` (oldest first); all of them when
 *  that item is unknown or no longer kept, since replaying a node's kept history in order ends
 *  in its latest state. */
export function missedItems(items, lastItemId) {
  const at = lastItemId ? items.findIndex((i) => i.itemId === lastItemId) : -1;
  return at >= 0 ? items.slice(at + 1) : items;
}

const bareJid = (jid) => String(jid || '').split('/')[0].toLowerCase();
/** Item ids are numbered per node: a node's item is known by both. */
const itemKey = (node, itemId) => `${node}\u0000${itemId}`;

/** One node's notification connection; `renew()` makes the next one after a loss. */
export class NodeLink {
  constructor({ session, api, system, config, transport, subscribed, lastItemIds }) {
    this.session = session;
    this.api = api;
    this.system = system;
    this.config = config;
    this.transport = transport === 'websocket' ? 'websocket' : 'bosh';
    this.subscribed = subscribed || new Set();   // explicit subscriptions (persist on this node)
    this.lastItemIds = lastItemIds || new Map(); // node → id of the last item applied
    this.client = null;
    this.closed = false;
    this.established = false;
    this.finesseUp = false;
    this.presenceWaiters = [];
    this.held = null;
  }

  get log() { return this.session.log; }

  /** The notification service's URL on this node (config.json's port and paths). */
  notificationUrl() {
    const host = this.api.base ? new URL(this.api.base).hostname : location.hostname;
    const h = host.includes(':') ? `[${host}]` : host;
    const port = this.config.notificationPort;
    return this.transport === 'websocket'
      ? `wss://${h}:${port}${this.config.websocketPath || '/ws/'}`
      : `https://${h}:${port}${this.config.boshPath || '/http-bind/'}`;
  }

  /** Connects a new XmppClient (bound, initial presence sent). */
  async connect() {
    const url = this.notificationUrl();
    this.log.log(`notification connection: ${this.transport} ${url} as ${this.session.loginId}@${this.system.xmppDomain}`);
    const client = await this.session.clientFactory({
      transport: this.transport,
      url,
      domain: this.system.xmppDomain,
      username: this.session.loginId,
      password: this.session.password,
      resource: 'desktop',
      wait: this.config.boshWaitSecs || 30,
      pingSecs: this.config.pingSecs || 20,
      log: (msg) => this.log.log(`xmpp: ${msg}`),
    });
    if (this.closed) {
      client.disconnect();
      throw new Error('connection closed while connecting');
    }
    this.client = client;
    client.onStatus = (status, detail) => this.onStatus(status, detail || {});
    client.onNotification = (n) => this.onNotification(n);
    client.onPresence = (p) => this.onPresence(p);
    await client.connect();
    if (this.closed) {
      client.disconnect(); // closed meanwhile: this client has no owner any more
      throw new Error('connection closed while connecting');
    }
    this.established = true;
    this.log.log(`notification connection bound as ${client.jid}`);
  }

  onStatus(status, detail) {
    if (this.closed) return;
    this.log.log(`xmpp status ${status}${detail.reason ? `: ${detail.reason}` : ''}`);
    if (!this.established || this.session.link !== this) return;
    if (this.session.model.connection.status === 'connecting') return; // sign in reports its own failure
    if (status === 'retrying' && this.session.model.connection.status === 'connected') {
      this.session.setConnection({ status: 'reconnecting' });
    } else if (status === 'connected' && this.session.model.connection.status === 'reconnecting' && !this.session.reconnecting) {
      this.session.setConnection({ status: 'connected' }); // the same BOSH session came back: nothing missed
    } else if (status === 'disconnected') {
      this.closed = true;
      this.session.connectionLost(detail.reason || 'disconnected');
    }
  }

  onPresence({ from, type }) {
    if (this.closed) return;
    if (bareJid(from) !== `finesse@${String(this.system.xmppDomain).toLowerCase()}`) return;
    this.log.log(`presence of ${from}: ${type}`);
    if (type === 'available') {
      this.finesseUp = true;
      for (const w of this.presenceWaiters.splice(0)) w();
    } else if (type === 'unavailable') {
      this.finesseUp = false;
      if (this.established && this.session.link === this && !this.session.reconnecting) {
        // The web services user went away (server stopping): start over as after a loss.
        this.close();
        this.session.connectionLost('finesse is unavailable');
      }
    }
  }

  onNotification({ node, itemId, text }) {
    if (this.closed) return;
    if (this.held) { this.held.push({ node, itemId, text }); return; }
    this.deliver(node, itemId, text);
  }

  deliver(node, itemId, text) {
    if (itemId) this.lastItemIds.set(node, itemId);
    this.session.onUpdate(node, text);
  }

  /** Queue notifications instead of applying them (until releaseNotifications). */
  holdNotifications() {
    if (!this.held) this.held = [];
  }

  /** Applies the notifications held meanwhile, in order, skipping items already applied. */
  releaseNotifications() {
    const held = this.held || [];
    this.held = null;
    for (const n of held) {
      if (n.itemId && this.appliedInCatchUp && this.appliedInCatchUp.has(itemKey(n.node, n.itemId))) continue;
      this.deliver(n.node, n.itemId, n.text);
    }
    this.appliedInCatchUp = null;
  }

  /** Subscribes `node` explicitly once per node (subscriptions persist on the node). */
  async subscribe(node) {
    if (this.subscribed.has(node)) return;
    await this.client.subscribe(node);
    this.subscribed.add(node);
    this.log.log(`subscribed ${node}`);
  }

  /** The nodes whose items make the screen: the user's own, SystemInfo and the explicit
   *  subscriptions but the ClientLog. */
  followedNodes() {
    const id = this.session.loginId;
    return [
      `/finesse/api/User/${id}`, `/finesse/api/User/${id}/Dialogs`, '/finesse/api/SystemInfo',
      ...Array.from(this.subscribed).filter((n) => !n.endsWith('/ClientLog')),
    ];
  }

  /** Notes each followed node's newest item right after the first GETs ('' for an empty node),
   *  so a catch-up replays only what came after them, never older items (an old refusal, a
   *  call already over) on top of the fresh documents. */
  async recordBaseline() {
    for (const node of this.followedNodes()) {
      if (this.lastItemIds.has(node)) continue;
      const items = await this.client.items(node, 1);
      this.lastItemIds.set(node, items.length ? items[items.length - 1].itemId : '');
    }
  }

  /** Applies the items published while the connection was down: for each node followed, the
   *  items after the last one applied. When that one is no longer among the node's newest
   *  items (a long outage), the items cannot tell what happened in the gap: the session reads
   *  the resource again instead. */
  async catchUp() {
    this.appliedInCatchUp = new Set();
    for (const node of this.followedNodes()) {
      const items = await this.client.items(node, CATCH_UP_ITEMS);
      const last = this.lastItemIds.get(node);
      if (last && !items.some((i) => i.itemId === last)) {
        this.log.log(`catch-up ${node}: the last item applied is no longer kept; reading it again`);
        await this.session.reload(node, this.api);
        if (items.length) this.lastItemIds.set(node, items[items.length - 1].itemId);
        for (const item of items) this.appliedInCatchUp.add(itemKey(node, item.itemId));
        continue;
      }
      const missed = missedItems(items, last);
      this.log.log(`catch-up ${node}: ${items.length} items kept, ${missed.length} applied`);
      for (const item of missed) {
        this.appliedInCatchUp.add(itemKey(node, item.itemId));
        this.deliver(node, item.itemId, item.text);
      }
    }
  }

  /** Resolves once finesse@<domain> is available; rejects after FINESSE_PRESENCE_TIMEOUT_MS. */
  finesseAvailable() {
    if (this.finesseUp) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`finesse@${this.system.xmppDomain} did not become available within ${FINESSE_PRESENCE_TIMEOUT_MS / 1000} s`));
      }, FINESSE_PRESENCE_TIMEOUT_MS);
      this.presenceWaiters.push(() => { clearTimeout(timer); resolve(); });
    });
  }

  /** The link for the next connection to the same node (subscriptions and last items kept). */
  renew() {
    this.close();
    return new NodeLink({
      session: this.session, api: this.api, system: this.system, config: this.config,
      transport: this.transport, subscribed: this.subscribed, lastItemIds: this.lastItemIds,
    });
  }

  /** Stops this link's client (no more callbacks are acted on). */
  close() {
    if (this.closed && !this.client) return;
    this.closed = true;
    const client = this.client;
    this.client = null;
    if (client) {
      try { client.disconnect(); } catch (e) { this.log.log(`disconnect failed: ${e.message}`); }
    }
  }
}

// reconnect.js — the desktop's reconnect schedule and failover choice (finesse-domain.md §4.2,
// docs/architecture/desktop.md): pure functions, so the session's recovery rules can be checked
// without a connection.

/** Seconds to wait before try 1, 2, 3, …; every later try waits the last value. */
export const RETRY_DELAYS_SECS = [1, 2, 4, 8, 15];

/** Failed tries on one node before the desktop switches to the other node of SystemInfo. */
export const TRIES_BEFORE_FAILOVER = 3;

/** Milliseconds to wait before reconnect try `attempt` (1-based). */
export function retryDelayMs(attempt) {
  const i = Math.min(Math.max(attempt, 1), RETRY_DELAYS_SECS.length) - 1;
  return RETRY_DELAYS_SECS[i] * 1000;
}

/** True when `failedTriesOnNode` failed tries mean: give this node up and try the other one. */
export function shouldFailOver(failedTriesOnNode, alternate) {
  return Boolean(alternate) && failedTriesOnNode >= TRIES_BEFORE_FAILOVER;
}

/** `{ host, port }` of the REST node described by a SystemInfo node entry, or null when empty.
 *  `defaultPort` is used when the entry names no httpsPort. */
export function nodeAddress(entry, defaultPort) {
  if (!entry || !entry.host) return null;
  return { host: entry.host, port: String(entry.httpsPort || defaultPort) };
}

/** The other node of the pair (SystemInfo primaryNode / secondaryNode) seen from `current`
 *  (`{ host, port }` of the node in use), or null for a single node. */
export function alternateNode(system, current) {
  const primary = nodeAddress(system && system.primaryNode, current.port);
  const secondary = nodeAddress(system && system.secondaryNode, current.port);
  if (!primary || !secondary) return null;
  const same = (a, b) => a.host === b.host && a.port === b.port;
  if (same(current, primary)) return same(secondary, primary) ? null : secondary;
  if (same(current, secondary)) return primary;
  // The page reached this node by another name: trust SystemInfo's own view (xmppDomain names the
  // local node in Finesse); otherwise take the primary.
  return system.xmppDomain && system.xmppDomain === primary.host && primary.port === current.port ? secondary : primary;
}

/** `https://host:port` for a node address. */
export function nodeBase(address) {
  const host = address.host.includes(':') && !address.host.startsWith('[') ? `[${address.host}]` : address.host;
  return `https://${host}:${address.port}`;
}

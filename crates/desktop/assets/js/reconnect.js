// reconnect.js — the desktop's reconnect schedule and failover choice (finesse-domain.md §4.2,
// docs/architecture/desktop.md): pure functions, so the session's recovery rules can be checked
// without a connection.

/** Seconds to wait before try 1, 2, 3, …; every later try waits the last value. */
export const RETRY_DELAYS_SECS = [1, 2, 4, 8, 15];

/** Failed tries on one node before the desktop switches to another node of SystemInfo. */
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

/** Whether two `{ host, port }` addresses name the same node. */
function same(a, b) {
  return a.host === b.host && a.port === b.port;
}

/** `{ host, port }` of the REST node described by a SystemInfo node entry, or null when empty.
 *  `defaultPort` is used when the entry names no httpsPort. */
export function nodeAddress(entry, defaultPort) {
  if (!entry || !entry.host) return null;
  return { host: entry.host, port: String(entry.httpsPort || defaultPort) };
}

/** The node to fail over to from `current` (`{ host, port }` of the node in use), or null when
 *  there is none. A Herald cluster lists its live nodes in SystemInfo's `nodes`: the next one
 *  after `current` in that list, wrapping round, so that a desktop on the last of N nodes still
 *  has somewhere to go and successive failovers visit every node (a failed failover leaves the
 *  desktop on the node it tried, whose next is the one after). Without that list, the other node
 *  of the pair (primaryNode / secondaryNode). */
export function alternateNode(system, current) {
  const listed = ((system && system.nodes) || []).map((n) => nodeAddress(n, current.port)).filter(Boolean);
  if (listed.length > 0) return nextInList(listed, current);
  const primary = nodeAddress(system && system.primaryNode, current.port);
  const secondary = nodeAddress(system && system.secondaryNode, current.port);
  if (!primary || !secondary) return null;
  if (same(current, primary)) return same(secondary, primary) ? null : secondary;
  if (same(current, secondary)) return primary;
  // The page reached this node by another name: trust SystemInfo's own view (xmppDomain names the
  // local node in Finesse); otherwise take the primary.
  return system.xmppDomain && system.xmppDomain === primary.host && primary.port === current.port ? secondary : primary;
}

/** The node after `current` in `listed` (wrapping round); the first node other than `current`
 *  when `current` is not listed (the page reached it by another name); null when no other. */
function nextInList(listed, current) {
  const at = listed.findIndex((n) => same(n, current));
  const start = at < 0 ? 0 : at + 1;
  for (let i = 0; i < listed.length; i += 1) {
    const candidate = listed[(start + i) % listed.length];
    if (!same(candidate, current)) return candidate;
  }
  return null;
}

/** `https://host:port` for a node address. */
export function nodeBase(address) {
  const host = address.host.includes(':') && !address.host.startsWith('[') ? `[${address.host}]` : address.host;
  return `https://${host}:${address.port}`;
}

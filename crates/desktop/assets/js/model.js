// model.js — turns Finesse documents and notification <Update>s into the plain objects of
// session.model (docs/architecture/desktop.md): User, Dialog(s), Team users, Queue statistics,
// ReasonCodes, SystemInfo. Element names are matched case-insensitively because notifications
// carry lower-case wrappers (`<user>`, `<dialogs>`) where REST answers use `<User>`, `<Dialogs>`.

import { parseXml } from './xml.js';
import { readApiErrors } from './api.js';

/** Element children of `el` whose local name equals `name` ignoring case. */
export function kids(el, name) {
  if (!el) return [];
  const want = name.toLowerCase();
  return Array.from(el.children).filter((c) => c.localName.toLowerCase() === want);
}

/** The first child of `el` named `name` (any case), or null. */
export function kid(el, name) {
  return kids(el, name)[0] || null;
}

/** The trimmed text of the first child named `name` (any case), or ''. */
export function text(el, name) {
  const c = kid(el, name);
  return c ? c.textContent.trim() : '';
}

/** The last path segment of a Finesse uri ('/finesse/api/Queue/100' → '100'). */
export function idFromUri(uri) {
  const parts = String(uri || '').split('/').filter(Boolean);
  return parts.length ? parts[parts.length - 1] : '';
}

/** An ISO timestamp as epoch ms, or null when empty or unreadable. */
export function parseTime(value) {
  if (!value) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}

function numberOrNull(value) {
  if (value === '') return null;
  const n = Number(value);
  return Number.isNaN(n) ? null : n;
}

/** A `<ReasonCode>`/`<reasonCode>` element as { id, code, label, category } (null when absent). */
export function parseReasonCode(el) {
  if (!el) return null;
  const id = text(el, 'id') || idFromUri(text(el, 'uri'));
  if (!id && !text(el, 'label')) return null;
  return { id, code: text(el, 'code'), label: text(el, 'label'), category: text(el, 'category') };
}

/** A full `<User>` (REST or notification) as the model's user object. */
export function parseUser(el) {
  const reasonCodeId = text(el, 'reasonCodeId');
  let reasonCode = parseReasonCode(kid(el, 'ReasonCode'));
  if (!reasonCode && reasonCodeId && reasonCodeId !== '-1') reasonCode = { id: reasonCodeId, code: '', label: '' };
  return {
    loginId: text(el, 'loginId'),
    loginName: text(el, 'loginName'),
    firstName: text(el, 'firstName'),
    lastName: text(el, 'lastName'),
    extension: text(el, 'extension'),
    state: text(el, 'state'),
    pendingState: text(el, 'pendingState'),
    reasonCodeId: reasonCodeId === '-1' ? '' : reasonCodeId,
    reasonCode,
    stateChangeTime: parseTime(text(el, 'stateChangeTime')),
    roles: kids(kid(el, 'roles'), 'role').map((r) => r.textContent.trim()),
    teamId: text(el, 'teamId'),
    teamName: text(el, 'teamName'),
    teams: kids(kid(el, 'teams'), 'Team').map((t) => ({
      id: text(t, 'id') || idFromUri(text(t, 'uri')),
      name: text(t, 'name'),
    })),
  };
}

/** A summary `<User>` of a team (Team/{id} or a Team/{id}/Users Update) as a team entry. */
export function parseTeamUser(el, teamId = '') {
  const u = parseUser(el);
  return {
    loginId: u.loginId || idFromUri(text(el, 'uri')),
    firstName: u.firstName,
    lastName: u.lastName,
    extension: u.extension,
    state: u.state,
    pendingState: u.pendingState,
    reasonCode: u.reasonCode,
    stateChangeTime: u.stateChangeTime,
    teamId: u.teamId || teamId,
  };
}

/** A `<Team>` document as { id, name, users: [team entry] }. */
export function parseTeam(el) {
  const id = text(el, 'id') || idFromUri(text(el, 'uri'));
  return {
    id,
    name: text(el, 'name'),
    users: kids(kid(el, 'users'), 'User').map((u) => parseTeamUser(u, id)),
  };
}

/** A `<Dialog>` as the model's dialog object. */
export function parseDialog(el) {
  const media = kid(el, 'mediaProperties');
  return {
    id: text(el, 'id') || idFromUri(text(el, 'uri')),
    state: text(el, 'state'),
    mediaType: text(el, 'mediaType'),
    fromAddress: text(el, 'fromAddress'),
    toAddress: text(el, 'toAddress'),
    associatedDialogUri: text(el, 'associatedDialogUri'),
    callType: text(media, 'callType'),
    dnis: text(media, 'DNIS'),
    queueName: text(media, 'queueName'),
    queueNumber: text(media, 'queueNumber'),
    callVariables: kids(kid(media, 'callvariables'), 'CallVariable').map((v) => [text(v, 'name'), text(v, 'value')]),
    participants: kids(kid(el, 'participants'), 'Participant').map((p) => ({
      mediaAddress: text(p, 'mediaAddress'),
      mediaAddressType: text(p, 'mediaAddressType'),
      state: text(p, 'state'),
      stateCause: text(p, 'stateCause'),
      startTime: parseTime(text(p, 'startTime')),
      stateChangeTime: parseTime(text(p, 'stateChangeTime')),
      actions: kids(kid(p, 'actions'), 'action').map((a) => a.textContent.trim()),
    })),
  };
}

/** A `<Dialogs>` list (REST or `<dialogs>` in an Update) as an array of dialogs. */
export function parseDialogs(el) {
  return kids(el, 'Dialog').map(parseDialog);
}

/** A `<Queue>` as { id, name, stats }; numeric stats are numbers (-1 = unknown), times ms. */
export function parseQueue(el) {
  const statsEl = kid(el, 'statistics');
  const stats = {};
  for (const s of statsEl ? Array.from(statsEl.children) : []) {
    const v = s.textContent.trim();
    stats[s.localName] = s.localName.startsWith('startTime') ? parseTime(v) : numberOrNull(v);
  }
  return { id: text(el, 'id') || idFromUri(text(el, 'uri')), name: text(el, 'name'), stats };
}

/** A `<Queues>` list as an array of queues. */
export function parseQueues(el) {
  return kids(el, 'Queue').map(parseQueue);
}

/** A `<ReasonCodes>` list as [{ id, code, label, category }]. */
export function parseReasonCodes(el) {
  return kids(el, 'ReasonCode').map(parseReasonCode).filter(Boolean);
}

function parseNode(el) {
  if (!el) return { host: '', httpsPort: '' };
  return { host: text(el, 'host'), httpsPort: text(el, 'httpsPort') };
}

/** `<SystemInfo>` as { status, statusReason, xmppDomain, pubsubDomain, deploymentType,
 *  currentTimestamp (ms), timezoneOffset (minutes), primaryNode, secondaryNode, nodes }:
 *  `nodes` is Herald's list of a cluster's live nodes ([{ host, httpsPort, xmppPort }], empty
 *  from a single node or a Finesse server). */
export function parseSystemInfo(el) {
  const tz = numberOrNull(text(el, 'timezoneOffset'));
  return {
    status: text(el, 'status'),
    statusReason: text(el, 'statusReason'),
    xmppDomain: text(el, 'xmppDomain'),
    pubsubDomain: text(el, 'xmppPubSubDomain'),
    deploymentType: text(el, 'deploymentType'),
    currentTimestamp: parseTime(text(el, 'currentTimestamp')),
    timezoneOffset: tz === null ? 0 : tz,
    primaryNode: parseNode(kid(el, 'primaryNode')),
    secondaryNode: parseNode(kid(el, 'secondaryNode')),
    nodes: kids(kid(el, 'nodes'), 'node')
      .map((n) => ({ ...parseNode(n), xmppPort: text(n, 'xmppPort') }))
      .filter((n) => n.host),
  };
}

/** A notification's text (the escaped `<Update>`) as { event, requestId, source, data, error? }:
 *  `data` is the element inside `<data>` (null when empty); `error` is set when that element is
 *  `apiErrors`, i.e. the server refused an asynchronous request. Throws on unreadable XML. */
export function parseUpdate(updateText) {
  const root = parseXml(updateText.trim()).documentElement;
  if (root.localName !== 'Update') throw new Error(`notification is <${root.localName}>, not <Update>`);
  const dataEl = kid(root, 'data');
  const data = dataEl && dataEl.firstElementChild ? dataEl.firstElementChild : null;
  const update = {
    event: text(root, 'event').toUpperCase(),
    requestId: text(root, 'requestId'),
    source: text(root, 'source'),
    data,
  };
  if (data && data.localName.toLowerCase() === 'apierrors') {
    const e = readApiErrors(data);
    update.error = {
      ...e,
      message: `${e.errorType || 'Request refused'}${e.errorMessage ? ` (${e.errorMessage}${e.errorData ? ` ${e.errorData}` : ''})` : ''}`,
    };
  }
  return update;
}

/** A fresh, empty session.model (signed out). */
export function emptyModel() {
  return {
    user: null,
    dialogs: new Map(),
    queues: new Map(),
    team: new Map(),
    reasonCodes: { NOT_READY: [], LOGOUT: [] },
    system: { status: '', statusReason: '', xmppDomain: '', deploymentType: '' },
    connection: { status: 'signed-out', server: '', node: '', attempt: 0, failedOver: false },
    report: { status: 'idle', message: '' },
    error: null,
  };
}

// session-apply.js — applies one notification <Update> to session.model. Pure (no I/O) so the
// rules (collection POST/PUT/DELETE on Dialogs, team users, queue statistics, SystemInfo
// status, async ApiErrors) can be checked without a connection. Used by session.js.

import {
  parseUser, parseTeamUser, parseDialog, parseDialogs, parseQueue, parseQueues, parseSystemInfo,
  kids, idFromUri,
} from './model.js';

/** What kind of node `node` is for the user `loginId`: 'user' | 'dialogs' | 'team' | 'queue' |
 *  'queues' | 'system' | 'clientlog' | 'other'. */
export function nodeKind(node, loginId) {
  const user = `/finesse/api/User/${loginId}`;
  if (node === user) return 'user';
  if (node === `${user}/Dialogs`) return 'dialogs';
  if (node === `${user}/Queues`) return 'queues';
  if (node === `${user}/ClientLog`) return 'clientlog';
  if (node === '/finesse/api/SystemInfo') return 'system';
  if (/^\/finesse\/api\/Team\/[^/]+\/Users$/.test(node)) return 'team';
  if (/^\/finesse\/api\/Queue\/[^/]+$/.test(node)) return 'queue';
  return 'other';
}

function dialogsIn(data) {
  if (!data) return [];
  return data.localName.toLowerCase() === 'dialog' ? [parseDialog(data)] : parseDialogs(data);
}

/** Applies `update` (from model.parseUpdate) received on `node` to `model`.
 *  Returns { what, error?, queuesAdded?, queuesRemoved? } — `what` names the changed part
 *  ('user' | 'dialogs' | 'team' | 'queues' | 'system' | 'report' | 'error') or null when nothing
 *  changed. `error` is set for a refused asynchronous request. */
export function applyUpdate(model, node, update, loginId) {
  const kind = nodeKind(node, loginId);
  if (update.error) {
    model.error = { message: update.error.message, requestId: update.requestId, source: update.source };
    return { what: 'error', error: update.error };
  }
  const { event, data, source } = update;
  switch (kind) {
    case 'user':
      if (event === 'DELETE' || !data) return { what: null };
      model.user = parseUser(data);
      return { what: 'user' };
    case 'dialogs': {
      const collection = source === node || source === '';
      if (collection && event === 'DELETE') {
        const gone = dialogsIn(data);
        for (const d of gone) model.dialogs.delete(d.id);
        return { what: 'dialogs' };
      }
      if (!collection && event === 'DELETE') {
        model.dialogs.delete(idFromUri(source));
        return { what: 'dialogs' };
      }
      // POST (new call, or a snapshot after a restart) and PUT (changed) both set the dialog.
      const list = dialogsIn(data);
      for (const d of list) model.dialogs.set(d.id, d);
      return { what: list.length ? 'dialogs' : null };
    }
    case 'team': {
      const teamId = node.split('/')[4];
      if (!data) {
        if (event === 'DELETE') model.team.delete(idFromUri(source));
        return { what: 'team' };
      }
      const users = data.localName.toLowerCase() === 'user' ? [data] : kids(data, 'User');
      for (const u of users) {
        const entry = parseTeamUser(u, teamId);
        if (event === 'DELETE') model.team.delete(entry.loginId);
        else model.team.set(entry.loginId, entry);
      }
      return { what: 'team' };
    }
    case 'queue': {
      const id = node.split('/')[4];
      if (event === 'DELETE') { model.queues.delete(id); return { what: 'queues' }; }
      if (!data) return { what: null };
      const q = parseQueue(data);
      q.id = q.id || id;
      model.queues.set(q.id, q);
      return { what: 'queues' };
    }
    case 'queues': {
      if (!data) return { what: null };
      const list = data.localName.toLowerCase() === 'queue' ? [parseQueue(data)] : parseQueues(data);
      if (event === 'DELETE') {
        for (const q of list) model.queues.delete(q.id);
        return { what: 'queues', queuesRemoved: list.map((q) => q.id) };
      }
      for (const q of list) model.queues.set(q.id, q);
      return { what: 'queues', queuesAdded: list.map((q) => q.id) };
    }
    case 'system': {
      if (!data) return { what: null };
      const s = parseSystemInfo(data);
      Object.assign(model.system, {
        status: s.status, statusReason: s.statusReason, xmppDomain: s.xmppDomain || model.system.xmppDomain,
        deploymentType: s.deploymentType || model.system.deploymentType,
      });
      return { what: 'system', systemInfo: s };
    }
    case 'clientlog':
      if (event === 'POST') {
        model.report = { status: 'sent', message: 'Error report sent' };
        return { what: 'report' };
      }
      return { what: null };
    default:
      return { what: null };
  }
}

// The agent's part of the desktop: header (name, connection status, node), the lost-connection and
// out-of-service banners, the state with its reason and time in state, and the state controls.

import { displayName, formatDuration, reasonLabel, setText, stateLabel, toEpochMs } from './view-format.js';

// States from which the agent may ask for READY, and for NOT_READY (Finesse's User state rules).
const READY_FROM = new Set(['NOT_READY', 'WORK', 'WORK_READY']);
const NOT_READY_FROM = new Set(['READY', 'NOT_READY', 'WORK', 'WORK_READY']);
const SIGN_OUT_FROM = new Set(['READY', 'NOT_READY']);
const CONNECTION_TEXT = {
  'signed-out': 'signed out',
  connecting: 'connecting…',
  connected: 'connected',
  reconnecting: 'reconnecting…',
  disconnected: 'disconnected',
};

/** True while SystemInfo says OUT_OF_SERVICE: controls that change state are off meanwhile. */
export function outOfService(model) {
  return model?.system?.status === 'OUT_OF_SERVICE';
}

/** Renders the banners and the header's connection line from model.connection and model.system. */
export function renderConnection(model) {
  const connection = model.connection || { status: 'signed-out' };
  const status = connection.status || 'signed-out';
  const statusNode = document.getElementById('connection-status');
  if (statusNode.dataset.status !== status) statusNode.dataset.status = status;
  let text = CONNECTION_TEXT[status] || status;
  if (status === 'reconnecting' && connection.attempt) text += ` (attempt ${connection.attempt})`;
  setText(statusNode, text);
  const node = connection.node ? `${connection.failedOver ? 'failed over to ' : 'via '}${connection.node}` : '';
  setText(document.getElementById('connection-node'), node);

  const banner = document.getElementById('lost-connection');
  const lost = status === 'reconnecting' || status === 'disconnected';
  if (lost) setText(banner, `Lost connection to ${connection.server || connection.node || 'the server'}`);
  banner.hidden = !lost;

  const service = document.getElementById('service-status');
  if (outOfService(model)) {
    const reason = model.system.statusReason ? `: ${model.system.statusReason}` : '';
    setText(service, `OUT_OF_SERVICE${reason}. State changes are unavailable until the service is back.`);
    service.hidden = false;
  } else {
    service.hidden = true;
    setText(service, '');
  }
}

/** Fills a reason select with codes, keeping the agent's current choice when it still exists. */
function fillReasons(select, codes) {
  const list = codes || [];
  const wanted = list.map((code) => `${code.id}\u0000${reasonLabel(code)}`).join('\u0001');
  if (select.dataset.options === wanted) return;
  const previous = select.value;
  select.replaceChildren();
  if (list.length === 0) {
    const none = document.createElement('option');
    none.value = '';
    none.textContent = '(no reason)';
    select.append(none);
  }
  for (const code of list) {
    const option = document.createElement('option');
    option.value = String(code.id);
    option.textContent = reasonLabel(code);
    select.append(option);
  }
  if (list.some((code) => String(code.id) === previous)) select.value = previous;
  select.dataset.options = wanted;
}

/** Renders the agent header and state section, and enables the state controls the state allows. */
export function renderAgent(model, now = Date.now()) {
  const user = model.user;
  if (!user) return;
  setText(document.getElementById('agent-name'), displayName(user));
  setText(document.getElementById('agent-login'), `ID ${user.loginId}${user.extension ? ` · ext ${user.extension}` : ''}`);

  const stateNode = document.getElementById('agent-state');
  const state = user.state || '';
  if (stateNode.dataset.state !== state) stateNode.dataset.state = state;
  setText(stateNode, stateLabel(state));
  setText(document.getElementById('agent-reason'), reasonLabel(user.reasonCode));
  setText(document.getElementById('agent-pending'),
    user.pendingState ? `(pending ${stateLabel(user.pendingState)})` : '');

  fillReasons(document.getElementById('not-ready-reason'), model.reasonCodes?.NOT_READY);
  fillReasons(document.getElementById('logout-reason'), model.reasonCodes?.LOGOUT);

  const focused = document.activeElement;
  const blocked = outOfService(model);
  document.getElementById('go-ready').disabled = blocked || !READY_FROM.has(state);
  document.getElementById('go-not-ready').disabled = blocked || !NOT_READY_FROM.has(state);
  document.getElementById('not-ready-reason').disabled = blocked || !NOT_READY_FROM.has(state);
  // Finesse signs out from NOT_READY (the session passes through NOT_READY from READY); an agent
  // already logged out (by a supervisor, or by the server after the desktop vanished) may still
  // leave the page.
  const signOutOff = state !== 'LOGOUT' && (outOfService(model) || !SIGN_OUT_FROM.has(state));
  document.getElementById('sign-out').disabled = signOutOff;
  document.getElementById('logout-reason').disabled = signOutOff || state === 'LOGOUT';
  document.getElementById('make-call').disabled = outOfService(model);
  document.getElementById('dial-number').disabled = outOfService(model);
  // Keep keyboard focus in the state controls when the pressed one turns off (Ready once READY).
  if (focused && focused.disabled && document.getElementById('agent').contains(focused)) {
    const next = ['go-ready', 'go-not-ready', 'sign-out', 'dial-number']
      .map((id) => document.getElementById(id)).find((control) => !control.disabled);
    (next || document.getElementById('agent-title')).focus();
  }
  renderTimeInState(model, now);
}

/** Updates the time-in-state clock; called on every change and once a second with `now` on
 *  the server's clock (the session's drift-corrected time), as stateChangeTime is. */
export function renderTimeInState(model, now = Date.now()) {
  const start = toEpochMs(model?.user?.stateChangeTime);
  setText(document.getElementById('time-in-state'), start === null ? '–' : formatDuration(now - start));
}

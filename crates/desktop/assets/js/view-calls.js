// The calls list: one li.call per dialog with its state, from/to, participants, call variables and
// a button per call action, enabled exactly when the agent's own participant's actions hold it.
// Elements are kept per dialog id between renders so focus and a typed consult number survive updates.

import { element, setText, stateLabel } from './view-format.js';

/** The actions the page offers, in the order the buttons appear, with their visible labels. */
export const CALL_ACTIONS = [
  ['ANSWER', 'Answer'],
  ['HOLD', 'Hold'],
  ['RETRIEVE', 'Retrieve'],
  ['DROP', 'Drop'],
  ['CONSULT_CALL', 'Consult'],
  ['TRANSFER', 'Transfer'],
  ['CONFERENCE', 'Conference'],
];

/** The agent's own participant in a dialog: the one whose mediaAddress is the agent's extension. */
export function ownParticipant(dialog, extension) {
  if (!dialog || !extension) return null;
  return (dialog.participants || []).find((p) => String(p.mediaAddress) === String(extension)) || null;
}

/** Builds the skeleton of one call's list item; contents are filled by updateCall. */
function createCall(dialogId, onAction) {
  const item = element('li', 'call');
  item.dataset.dialogId = dialogId;
  const head = element('div', 'call-head');
  const title = element('h3', 'call-title');
  const state = element('span', 'call-state');
  head.append(title, state);

  const participants = element('ul', 'participants');
  participants.setAttribute('aria-label', 'Participants');
  const variables = element('dl', 'call-variables');

  const consultId = `consult-${dialogId}`.replace(/[^A-Za-z0-9_-]/g, '_');
  const consultLabel = element('label', 'consult-label', 'Consult number');
  consultLabel.htmlFor = consultId;
  const consult = element('input', 'consult-number');
  consult.id = consultId;
  consult.inputMode = 'tel';
  consult.autocomplete = 'off';
  const consultRow = element('div', 'controls consult-row');
  consultRow.append(consultLabel, consult);

  const buttons = element('div', 'controls call-actions');
  buttons.setAttribute('role', 'group');
  // Named after its call, so two calls' "Answer" buttons are told apart by a screen reader.
  title.id = `call-title-${dialogId}`.replace(/[^A-Za-z0-9_-]/g, '_');
  buttons.setAttribute('aria-labelledby', title.id);
  for (const [action, label] of CALL_ACTIONS) {
    const button = element('button', `call-action action-${action.toLowerCase()}`, label);
    button.type = 'button';
    button.dataset.action = action;
    button.disabled = true;
    button.addEventListener('click', () => onAction(item.dataset.dialogId, action, consult));
    buttons.append(button);
  }
  item.append(head, participants, variables, buttons, consultRow);
  return item;
}

/** Refreshes one call's item from its dialog. */
function updateCall(item, dialog, extension) {
  const title = item.querySelector('.call-title');
  setText(title, `${dialog.fromAddress || '?'} → ${dialog.toAddress || '?'}`);
  const stateNode = item.querySelector('.call-state');
  setText(stateNode, stateLabel(dialog.state));
  stateNode.dataset.state = dialog.state || '';

  const participants = item.querySelector('.participants');
  const rows = (dialog.participants || []).map((participant) => {
    const row = element('li', 'participant');
    row.dataset.address = participant.mediaAddress ?? '';
    const own = String(participant.mediaAddress) === String(extension);
    row.append(element('span', 'participant-address', `${participant.mediaAddress ?? '?'}${own ? ' (me)' : ''}`),
      document.createTextNode(' '),
      element('span', 'participant-state', participant.state || ''));
    if (own) row.classList.add('own');
    return row;
  });
  participants.replaceChildren(...rows);

  const variables = item.querySelector('.call-variables');
  const pairs = [];
  for (const [name, value] of dialog.callVariables || []) {
    pairs.push(element('dt', null, name), element('dd', null, value === '' ? '–' : value));
  }
  variables.replaceChildren(...pairs);
  variables.hidden = pairs.length === 0;

  const allowed = new Set(ownParticipant(dialog, extension)?.actions || []);
  const focused = item.contains(document.activeElement) ? document.activeElement : null;
  for (const button of item.querySelectorAll('button[data-action]')) {
    const enabled = allowed.has(button.dataset.action);
    if (button.disabled === enabled) button.disabled = !enabled;
  }
  item.querySelector('.consult-row').hidden = !allowed.has('CONSULT_CALL');
  // A keyboard user who pressed Answer (now disabled) stays in this call: on its next control.
  if (focused && (focused.disabled || focused.closest('[hidden]'))) {
    const next = item.querySelector('button[data-action]:not(:disabled)');
    (next || document.getElementById('calls-title')).focus();
  }
}

/**
 * Renders model.dialogs into #calls, reusing items by dialog id. onAction(dialogId, action, consultInput)
 * is called when a call button is pressed.
 */
export function renderCalls(model, onAction) {
  const list = document.getElementById('calls');
  const extension = model.user?.extension;
  const existing = new Map();
  for (const item of list.querySelectorAll(':scope > li.call')) existing.set(item.dataset.dialogId, item);
  const dialogs = model.dialogs instanceof Map ? [...model.dialogs.values()] : [];
  const wanted = [];
  for (const dialog of dialogs) {
    const id = String(dialog.id);
    const item = existing.get(id) || createCall(id, onAction);
    existing.delete(id);
    updateCall(item, dialog, extension);
    wanted.push(item);
  }
  for (const gone of existing.values()) {
    const hadFocus = gone.contains(document.activeElement);
    gone.remove();
    if (hadFocus) document.getElementById('calls-title').focus();
  }
  wanted.forEach((item, index) => {
    if (list.children[index] !== item) list.insertBefore(item, list.children[index] || null);
  });
  document.getElementById('no-calls').hidden = wanted.length > 0;
}

// The desktop's entry module: loads config.json, runs the sign-in form, creates the ClientLog and the
// DesktopSession, re-renders the views on every model change (never polls REST), ticks the clocks
// once a second, and wires every control to the session.

import { ClientLog } from './clientlog.js';
import { DesktopSession } from './session.js';
import { outOfService, renderAgent, renderConnection, renderTimeInState } from './view-agent.js';
import { renderCalls } from './view-calls.js';
import { renderActionError, renderLog, renderReport } from './view-log.js';
import { renderQueues, renderTeam } from './view-tables.js';

const byId = (id) => document.getElementById(id);

let config = {};
let clientLog = null;
let session = null;
let renderQueued = false;
let logRenderTimer = null;
let tickTimer = null;
let shownError = null;        // the error #action-error shows (model.error or a refused promise)
let lastModelError = null;    // model.error as last seen, to notice a new one

/** Logs through the client log when there is one, else to the console (before sign-in). */
function log(message) {
  if (clientLog) clientLog.log(message);
  else console.info(message);
}

/** Reads config.json; a page without it still signs in with the contract's defaults. */
async function loadConfig() {
  try {
    const response = await fetch('config.json', { cache: 'no-cache' });
    if (!response.ok) throw new Error(`config.json answered HTTP ${response.status}`);
    return await response.json();
  } catch (error) {
    console.warn(`Could not read the desktop's config.json (${error.message}); using defaults`);
    return {};
  }
}

/** The transport to preselect: ?transport=websocket|bosh wins over config.json's `transport`. */
function initialTransport() {
  const asked = new URLSearchParams(location.search).get('transport');
  if (asked === 'bosh' || asked === 'websocket') return asked;
  return config.transport === 'websocket' ? 'websocket' : 'bosh';
}

/** Switches between the sign-in form and the desktop. */
function showDesktop(signedIn) {
  byId('signin-panel').hidden = signedIn;
  byId('desktop').hidden = !signedIn;
  document.body.classList.toggle('signed-in', signedIn);
}

/** Shows (or clears with an empty text) the sign-in form's error. */
function showSigninError(message) {
  const node = byId('signin-error');
  node.textContent = message || '';
  node.hidden = !message;
}

/** Renders every view from the session's model; batched so a burst of changes renders once. */
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  queueMicrotask(() => {
    renderQueued = false;
    render();
  });
}

/** Shows new client log lines at most four times a second (a busy queue logs many lines). */
function scheduleLogRender() {
  if (logRenderTimer) return;
  logRenderTimer = setTimeout(() => {
    logRenderTimer = null;
    renderLog(clientLog);
  }, 250);
}

/** One full render of the model into the page. */
function render() {
  if (!session) return;
  const model = session.model;
  if (model.error !== lastModelError) {
    lastModelError = model.error;
    if (model.error) shownError = model.error;
  }
  // Times from the server (state changes, longest wait) are compared with the server's clock.
  const now = session.serverNow();
  renderConnection(model);
  renderAgent(model, now);
  renderCalls(model, onCallAction);
  renderQueues(model, now);
  renderTeam(model, now);
  renderReport(model);
  renderActionError(shownError, null);
  renderLog(clientLog);
  if (model.connection?.status === 'signed-out' && !byId('desktop').hidden) endSession();
}

/** Once a second: the clocks (time in state, longest wait, team times) move; nothing is fetched. */
function tick() {
  if (!session) return;
  const now = session.serverNow();
  renderTimeInState(session.model, now);
  renderQueues(session.model, now);
  renderTeam(session.model, now);
}

/** Runs a session action; a refusal is shown in #action-error and written to the client log. */
async function act(description, action) {
  try {
    await action();
  } catch (error) {
    const message = error && error.message ? error.message : String(error);
    log(`${description} failed: ${message}`);
    shownError = { message: `${description} failed: ${message}` };
    scheduleRender();
  }
}

/** A call button was pressed on a dialog. */
function onCallAction(dialogId, action, consultInput) {
  if (action === 'CONSULT_CALL') {
    const toAddress = consultInput.value.trim();
    if (!toAddress) {
      shownError = { message: 'Enter the number to consult before pressing Consult.' };
      scheduleRender();
      consultInput.focus();
      return;
    }
    act(`Consult call to ${toAddress}`, () => session.dialogAction(dialogId, action, { toAddress }));
    return;
  }
  act(`${action} on call ${dialogId}`, () => session.dialogAction(dialogId, action));
}

/** The sign-in form was submitted: make the log and the session, and sign in. */
async function onSignIn(event) {
  event.preventDefault();
  const loginId = byId('login-id').value.trim();
  const password = byId('password').value;
  const extension = byId('extension').value.trim();
  const transport = byId('transport').value;
  const missing = [[loginId, 'login ID'], [password, 'password'], [extension, 'extension']]
    .filter(([value]) => !value).map(([, name]) => name);
  if (missing.length) {
    showSigninError(`Enter your ${missing.join(', ')}.`);
    return;
  }
  showSigninError('');
  const button = byId('signin-button');
  button.disabled = true;
  button.textContent = 'Signing in…';
  clientLog = new ClientLog({ maxLines: config.logLines || undefined, host: location.hostname });
  clientLog.onLine = scheduleLogRender;
  log(`Sign in as ${loginId} at extension ${extension} over ${transport}`);
  const candidate = new DesktopSession({ loginId, password, extension, transport, log: clientLog });
  candidate.addEventListener('change', scheduleRender);
  session = candidate;
  try {
    await candidate.signIn();
    byId('password').value = '';
    shownError = null;
    lastModelError = candidate.model.error;
    showDesktop(true);
    render();
    clearInterval(tickTimer);
    tickTimer = setInterval(tick, 1000);
    byId('agent-title').focus();
  } catch (error) {
    candidate.removeEventListener('change', scheduleRender);
    session = null;
    const message = error && error.message ? error.message : String(error);
    log(`Sign in failed: ${message}`);
    showSigninError(message);
    byId('login-id').focus();
  } finally {
    button.disabled = false;
    button.textContent = 'Sign in';
  }
}

/** Back to the sign-in form (after sign out, or when the session says it is signed out). */
function endSession() {
  clearInterval(tickTimer);
  tickTimer = null;
  if (session) session.removeEventListener('change', scheduleRender);
  session = null;
  shownError = null;
  showDesktop(false);
  byId('login-id').focus();
}

/** Wires the controls once; they act on whichever session is current. */
function wireControls() {
  byId('signin').addEventListener('submit', onSignIn);
  byId('go-ready').addEventListener('click', () => act('Ready', () => session.setState('READY')));
  byId('go-not-ready').addEventListener('click', () => {
    const reason = byId('not-ready-reason').value || undefined;
    act('Not ready', () => session.setState('NOT_READY', reason));
  });
  byId('sign-out').addEventListener('click', async () => {
    const reason = byId('logout-reason').value || undefined;
    const current = session;
    try {
      await current.signOut(reason);
      if (session === current) endSession();
    } catch (error) {
      const message = error && error.message ? error.message : String(error);
      log(`Sign out failed: ${message}`);
      if (current.model.user?.state === 'LOGOUT' && session === current) {
        // Already logged out on the server: nothing left to refuse, so leave the desktop.
        endSession();
        return;
      }
      shownError = { message: `Sign out failed: ${message}` };
      scheduleRender();
    }
  });
  byId('make-call-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const number = byId('dial-number').value.trim();
    if (!number) {
      shownError = { message: 'Enter a number to call.' };
      scheduleRender();
      byId('dial-number').focus();
      return;
    }
    if (outOfService(session?.model)) return;
    act(`Call to ${number}`, async () => {
      await session.makeCall(number);
      if (byId('dial-number').value.trim() === number) byId('dial-number').value = '';
    });
  });
  byId('send-error-report').addEventListener('click', () => act('Send error report', () => session.sendErrorReport()));
  byId('action-error-dismiss').addEventListener('click', () => {
    shownError = null;
    byId('action-error').hidden = true;
  });
  byId('client-log').addEventListener('toggle', () => renderLog(clientLog));
}

/** Page start: config, transport default, controls. */
async function start() {
  wireControls();
  config = await loadConfig();
  byId('transport').value = initialTransport();
  showDesktop(false);
}

start().catch((error) => {
  console.error(error);
  showSigninError(`The desktop could not start: ${error.message}`);
});

// The support part of the desktop: the client log panel (latest lines), the Send Error Report button
// with its status, and the #action-error banner with the last refused action.

import { setText } from './view-format.js';

const SHOWN_LINES = 200;
const REPORT_TEXT = { idle: '', sending: 'Sending…', sent: 'Error report sent' };

/** Shows the latest client log lines and reveals Send Error Report once there is a first line. */
export function renderLog(clientLog) {
  const button = document.getElementById('send-error-report');
  const panel = document.getElementById('client-log');
  // Copying the buffer costs; do it only while the button is still hidden or the panel is open.
  if (!button.hidden && !panel.open) return;
  const lines = clientLog ? clientLog.lines() : [];
  button.hidden = lines.length === 0;
  if (!panel.open) return; // no need to rebuild text nobody sees; done again when opened
  const pre = document.getElementById('client-log-lines');
  const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
  setText(pre, lines.slice(-SHOWN_LINES).join('\n'));
  if (atBottom) pre.scrollTop = pre.scrollHeight;
}

/** Renders model.report: "Sending…", "Error report sent", or the failure's message. */
export function renderReport(model) {
  const report = model.report || { status: 'idle' };
  const text = report.status === 'failed'
    ? (report.message || 'Error report not sent')
    : (REPORT_TEXT[report.status] ?? '');
  const node = document.getElementById('report-status');
  setText(node, text);
  node.dataset.status = report.status || 'idle';
  document.getElementById('send-error-report').disabled = report.status === 'sending';
}

/**
 * Renders model.error in #action-error unless the agent dismissed that very error object; returns
 * nothing. `dismissed` is the error object last dismissed (kept by app.js).
 */
export function renderActionError(error, dismissed) {
  const banner = document.getElementById('action-error');
  const show = Boolean(error && error.message) && error !== dismissed;
  setText(document.getElementById('action-error-text'), show ? error.message : '');
  banner.hidden = !show;
}

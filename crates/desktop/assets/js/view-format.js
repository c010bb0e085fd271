// Formatting and small DOM helpers shared by the desktop's views: durations, statistics values,
// timestamps in the model's several shapes, and building elements with text (never HTML).

/** Builds an element with optional class and text, so views never parse markup from data. */
export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

/** Sets an element's text only when it changed, so screen readers are not told twice. */
export function setText(node, text) {
  const value = text === undefined || text === null ? '' : String(text);
  if (node.textContent !== value) node.textContent = value;
}

/** Formats elapsed milliseconds as m:ss, or h:mm:ss past an hour (the time-in-state clocks). */
export function formatDuration(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, '0');
  if (hours > 0) return `${hours}:${String(minutes).padStart(2, '0')}:${seconds}`;
  return `${String(minutes).padStart(2, '0')}:${seconds}`;
}

/** Reads a time that may be epoch milliseconds, a numeric string or an ISO date; null when unknown. */
export function toEpochMs(value) {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? value : null;
  const text = String(value).trim();
  if (/^-?\d+$/.test(text)) {
    const number = Number(text);
    return number > 0 ? number : null;
  }
  const parsed = Date.parse(text);
  return Number.isNaN(parsed) ? null : parsed;
}

/** Time since a moment as a duration, or an en dash when the moment is unknown. */
export function since(value, now = Date.now()) {
  const start = toEpochMs(value);
  return start === null ? '–' : formatDuration(now - start);
}

/** A queue statistic: -1 (queue not assigned) and missing values show as an en dash. */
export function statistic(value) {
  if (value === undefined || value === null || value === '') return '–';
  const number = Number(value);
  if (Number.isFinite(number) && number < 0) return '–';
  return String(value);
}

/** A person's display name from first and last name, falling back to the login id. */
export function displayName(person) {
  if (!person) return '';
  const name = [person.firstName, person.lastName].filter(Boolean).join(' ').trim();
  return name || String(person.loginId ?? '');
}

/** A state as people read it: NOT_READY → "Not ready". */
export function stateLabel(state) {
  if (!state) return '';
  const words = String(state).toLowerCase().replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The label of a reason code object (or an empty string when there is none). */
export function reasonLabel(reasonCode) {
  if (!reasonCode) return '';
  return reasonCode.label || (reasonCode.code !== undefined ? `Code ${reasonCode.code}` : '');
}

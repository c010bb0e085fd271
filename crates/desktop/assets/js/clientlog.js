// clientlog.js — ClientLog: the desktop's client log (finesse-domain.md §4.3). Owns the line
// format `<local ts>: <session id>: <host>: <drifted server ts>: <msg>`, the clock drift and
// round trip measured against SystemInfo's currentTimestamp, the bounded in-memory buffer and
// the body of "Send Error Report" (POST User/{id}/ClientLog).

import { escapeXml } from './xml.js';

/** Escaped characters allowed in the buffer (oldest lines dropped beyond it). */
export const BUFFER_ESCAPED_CHARS = 1572864;
/** Characters of logData a ClientLog POST may carry (the server refuses more). */
export const REPORT_LOGDATA_CHARS = 1048576;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const UNKNOWN_TIME = '--- -- ---- --:--:--.--- -----';

/** `text` escaped as the client log stores it (XML escapes, newline as &#10;). */
export function escapeLog(text) {
  return escapeXml(text).replace(/\n/g, '&#10;');
}

const pad = (n, w = 2) => String(Math.trunc(Math.abs(n))).padStart(w, '0');

/** `ms` printed `Mon DD YYYY HH:MM:SS.mmm +hhmm` in the zone `offsetMinutes` east of UTC. */
export function formatTime(ms, offsetMinutes) {
  const d = new Date(ms + offsetMinutes * 60000);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const off = Math.abs(offsetMinutes);
  return `${MONTHS[d.getUTCMonth()]} ${pad(d.getUTCDate())} ${d.getUTCFullYear()} `
    + `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)} `
    + `${sign}${pad(Math.floor(off / 60))}${pad(off % 60)}`;
}

function newSessionId() {
  const b = crypto.getRandomValues(new Uint8Array(6));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** The client log of one desktop page: every module logs through `log(msg)`. */
export class ClientLog {
  /** `maxLines` comes from config.json `logLines`; `host` names the server the page talks to. */
  constructor({ maxLines = 10000, host = (typeof location !== 'undefined' ? location.hostname : ''), sessionId = newSessionId(), now = () => Date.now() } = {}) {
    this.maxLines = maxLines;
    this.host = host;
    this.sessionId = sessionId;
    this.now = now;
    this.driftMs = null;          // server − client, ms; null until measured
    this.roundTripMs = null;
    this.serverOffsetMinutes = 0; // SystemInfo timezoneOffset (minutes east of UTC)
    this.buffer = [];             // escaped lines, oldest first
    this.escapedChars = 0;
    this.onLine = null;           // (line) => {} for a view that shows the log live
  }

  /** Appends one line (and console.debug's it); drops the oldest lines past either bound. */
  log(msg) {
    const now = this.now();
    const local = formatTime(now, -new Date(now).getTimezoneOffset());
    const server = this.driftMs === null ? UNKNOWN_TIME : formatTime(now + this.driftMs, this.serverOffsetMinutes);
    const line = `${local}: ${this.sessionId}: ${this.host}: ${server}: ${msg}`;
    const escaped = escapeLog(line);
    this.buffer.push(escaped);
    this.escapedChars += escaped.length + 5; // + the &#10; that joins it to the next line
    while (this.buffer.length > 1 && (this.buffer.length > this.maxLines || this.escapedChars > BUFFER_ESCAPED_CHARS)) {
      this.escapedChars -= this.buffer.shift().length + 5;
    }
    if (typeof console !== 'undefined') console.debug(line);
    if (this.onLine) {
      try { this.onLine(line); } catch (e) { console.error('client log listener failed', e); }
    }
    return line;
  }

  /** Measures drift and round trip from a SystemInfo GET sent at `sentAtMs` and answered at
   *  `receivedAtMs` (local clock), and logs the Header line. Returns { driftMs, roundTripMs }. */
  measure(systemInfoDoc, sentAtMs, receivedAtMs) {
    const root = systemInfoDoc.documentElement || systemInfoDoc;
    const get = (name) => {
      const el = Array.from(root.children).find((c) => c.localName === name);
      return el ? el.textContent.trim() : '';
    };
    const server = Date.parse(get('currentTimestamp'));
    if (Number.isNaN(server)) {
      this.log('Header : SystemInfo has no readable currentTimestamp; drift unknown');
      return { driftMs: this.driftMs, roundTripMs: this.roundTripMs };
    }
    const tz = Number(get('timezoneOffset'));
    if (get('timezoneOffset') !== '' && !Number.isNaN(tz)) this.serverOffsetMinutes = tz;
    const roundTripMs = Math.max(0, Math.round(receivedAtMs - sentAtMs));
    const clientAtServer = sentAtMs + roundTripMs / 2;
    this.driftMs = Math.round(server - clientAtServer);
    this.roundTripMs = roundTripMs;
    this.log(`Header : Client: ${formatTime(clientAtServer, -new Date(clientAtServer).getTimezoneOffset())}, `
      + `Server: ${formatTime(server, this.serverOffsetMinutes)}, Drift: ${this.driftMs} ms, `
      + `Network Latency (round trip): ${roundTripMs} ms`);
    return { driftMs: this.driftMs, roundTripMs };
  }

  /** The buffered lines, unescaped, oldest first (for the page and the tests). */
  lines() {
    const un = { '&amp;': '&', '&quot;': '"', '&apos;': "'", '&lt;': '<', '&gt;': '>', '&#10;': '\n' };
    return this.buffer.map((l) => l.replace(/&(amp|quot|apos|lt|gt|#10);/g, (m) => un[m]));
  }

  /** The ClientLog POST body: escaped userAgent, a newline, then the buffer, in at most
   *  REPORT_LOGDATA_CHARS characters of logData (the newest lines are kept). */
  reportBody(userAgent) {
    const head = `${escapeLog(userAgent)}&#10;`;
    let budget = REPORT_LOGDATA_CHARS - head.length;
    const kept = [];
    for (let i = this.buffer.length - 1; i >= 0; i -= 1) {
      const cost = this.buffer[i].length + (kept.length ? 5 : 0);
      if (cost > budget) break;
      kept.push(this.buffer[i]);
      budget -= cost;
    }
    kept.reverse();
    return `<ClientLog><logData>${head}${kept.join('&#10;')}</logData></ClientLog>`;
  }

  /** Empties the buffer (after the server confirmed a report). */
  clear() {
    this.buffer = [];
    this.escapedChars = 0;
  }
}

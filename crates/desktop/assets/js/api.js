// api.js — FinesseApi: the desktop's REST calls to one Herald/Finesse node. Owns Basic auth,
// the XML content type, the optional requestId header, reading ApiErrors bodies into ApiError,
// and measuring each call's round trip (the client log's latency figure comes from it).

import { parseXml, childText, child, childrenNamed } from './xml.js';

/** A REST request unanswered after this long has failed: a node that drops packets instead of
 *  refusing them must not hold a reconnect try (and so the failover) for minutes. */
export const REQUEST_TIMEOUT_MS = 15000;

/** A refused or failed REST call: `status` 0 means the node could not be reached at all. */
export class ApiError extends Error {
  constructor({ status, errorType = '', errorMessage = '', errorData = '', detail = '' }) {
    const what = errorType || errorMessage
      ? `${errorType}${errorMessage ? ` (${errorMessage}${errorData ? ` ${errorData}` : ''})` : ''}`
      : detail;
    super(status === 0 ? `cannot reach the server: ${detail}` : `HTTP ${status}: ${what}`);
    this.name = 'ApiError';
    this.status = status;
    this.errorType = errorType;
    this.errorMessage = errorMessage;
    this.errorData = errorData;
  }
}

/** The first ApiError of an `ApiErrors` (HTTP, PascalCase) or `apiErrors` (Update, camelCase) element. */
export function readApiErrors(el) {
  const first = childrenNamed(el, 'ApiError')[0] || childrenNamed(el, 'apiError')[0];
  if (!first) return { errorType: '', errorMessage: '', errorData: '' };
  const pick = (pascal, camel) => childText(first, pascal, '') || childText(first, camel, '');
  return {
    errorType: pick('ErrorType', 'errorType'),
    errorMessage: pick('ErrorMessage', 'errorMessage'),
    errorData: pick('ErrorData', 'errorData'),
  };
}

/** A random RFC 4122 v4 id, used as `requestId` to match a request with its notification. */
export function newRequestId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** REST client for one node: `base` is `https://host:port` (empty string = the page's origin). */
export class FinesseApi {
  constructor(base, loginId, password) {
    this.base = (base || '').replace(/\/+$/, '');
    this.loginId = loginId;
    const utf8 = new TextEncoder().encode(`${loginId}:${password}`);
    this.authorization = `Basic ${btoa(Array.from(utf8, (b) => String.fromCharCode(b)).join(''))}`;
    this.lastRoundTripMs = null;
  }

  /** The absolute URL of `path` (relative to /finesse/api/ unless it starts with '/'). */
  url(path) {
    return path.startsWith('/') ? `${this.base}${path}` : `${this.base}/finesse/api/${path}`;
  }

  /** GET `path`; resolves with the parsed Document; ApiError otherwise. */
  async get(path) {
    const res = await this.request('GET', path);
    return parseXml(await res.text());
  }

  /** PUT `xml` to `path`; 202 is success (the outcome arrives as a notification). */
  async put(path, xml, { requestId } = {}) {
    await this.request('PUT', path, xml, requestId);
  }

  /** POST `xml` to `path`; 202 is success. */
  async post(path, xml, { requestId } = {}) {
    await this.request('POST', path, xml, requestId);
  }

  /** Sends one request; measures its round trip; turns any status but 200/202 into ApiError. */
  async request(method, path, body, requestId) {
    const headers = { Authorization: this.authorization, Accept: 'application/xml' };
    if (body !== undefined) headers['Content-Type'] = 'application/xml';
    if (requestId) headers.requestId = requestId;
    const started = performance.now();
    let res;
    try {
      res = await fetch(this.url(path), {
        method, headers, body, cache: 'no-store', credentials: 'omit', signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (e) {
      throw new ApiError({ status: 0, detail: `${method} ${this.url(path)}: ${e.message}` });
    } finally {
      this.lastRoundTripMs = Math.round(performance.now() - started);
    }
    const ok = method === 'GET' ? res.status === 200 : res.status === 202 || res.status === 200;
    if (ok) return res;
    const text = await res.text().catch(() => '');
    let fields = { errorType: '', errorMessage: '', errorData: '' };
    try {
      if (text.trim()) {
        const doc = parseXml(text);
        const root = doc.documentElement;
        fields = readApiErrors(root.localName.toLowerCase() === 'apierrors' ? root : child(root, 'ApiErrors'));
      }
    } catch (_) {
      // not an ApiErrors body: the status line and text below say what happened
    }
    throw new ApiError({ status: res.status, ...fields, detail: `${method} ${path}: ${res.statusText || text.slice(0, 200)}` });
  }
}

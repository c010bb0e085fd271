// SASL client mechanisms for the desktop's XMPP client (RFC 6120 §6): SCRAM-SHA-256 and
// SCRAM-SHA-1 (RFC 5802 / RFC 7677, computed with WebCrypto) and PLAIN (RFC 4616) as the last
// choice. This module owns the mechanism choice and the SCRAM arithmetic, including the check of
// the server's signature; it never logs or returns the password.
//
// SASLprep (RFC 4013) is not applied: login ids and passwords are passed through as given. That
// is exact for ASCII, which is what Finesse login ids and Herald's passwords are; a non-ASCII
// password that SASLprep would change would fail to authenticate rather than be mis-sent.

/** Mechanisms this client speaks, strongest first; `chooseMechanism` walks this list. */
export const MECHANISMS = ['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN'];

const HASHES = { 'SCRAM-SHA-256': { name: 'SHA-256', bits: 256 }, 'SCRAM-SHA-1': { name: 'SHA-1', bits: 160 } };

/** The strongest mechanism among `offered` (names from `<mechanisms>`), or null when none fits. */
export function chooseMechanism(offered) {
  return MECHANISMS.find((m) => offered.includes(m)) ?? null;
}

/** UTF-8 bytes → base64, as SASL payloads travel in `<auth>`/`<response>`. */
export function toBase64(bytes) {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** base64 → bytes; throws an Error when the server sent something that is not base64. */
export function fromBase64(text) {
  let binary;
  try {
    binary = atob(text.trim());
  } catch {
    throw new Error('SASL: the server sent a payload that is not base64');
  }
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

const utf8 = (s) => new TextEncoder().encode(s);
const text = (bytes) => new TextDecoder().decode(bytes);

/**
 * A client mechanism named `name` for `username`/`password`. The XMPP client drives it:
 * `initial()` gives the base64 `<auth>` payload, `respond(b64)` answers each `<challenge>`,
 * `verifySuccess(b64)` checks the `<success>` data (SCRAM: the server signature) and throws
 * when the server could not prove it knows the password.
 */
export function createMechanism(name, { username, password }) {
  if (name === 'PLAIN') return new PlainMechanism(username, password);
  if (HASHES[name]) return new ScramMechanism(name, HASHES[name], username, password);
  throw new Error(`SASL: mechanism ${name} is not supported`);
}

/** PLAIN: authzid empty, authcid = the login id (what Finesse's desktop sends). */
class PlainMechanism {
  constructor(username, password) {
    this.name = 'PLAIN';
    this.username = username;
    this.password = password;
  }

  async initial() {
    return toBase64(utf8(`\u0000${this.username}\u0000${this.password}`));
  }

  async respond() {
    throw new Error('SASL: the server sent a challenge to PLAIN');
  }

  async verifySuccess() {}
}

/** SCRAM-SHA-*: client-first, client-final with proof, server signature check. */
class ScramMechanism {
  constructor(name, hash, username, password) {
    this.name = name;
    this.hash = hash;
    this.username = username;
    this.password = password;
    this.serverSignature = null;
  }

  async initial() {
    const nonce = new Uint8Array(18);
    crypto.getRandomValues(nonce);
    this.clientNonce = toBase64(nonce);
    const user = this.username.replace(/=/g, '=3D').replace(/,/g, '=2C');
    this.clientFirstBare = `n=${user},r=${this.clientNonce}`;
    return toBase64(utf8(`n,,${this.clientFirstBare}`));
  }

  async respond(challenge) {
    if (this.serverSignature) throw new Error('SASL: unexpected second challenge from the server');
    const serverFirst = text(fromBase64(challenge));
    const attrs = parseAttributes(serverFirst);
    if (attrs.m) throw new Error('SASL: the server asks for a mandatory extension this client lacks');
    const nonce = attrs.r;
    const iterations = Number(attrs.i);
    if (!nonce || !nonce.startsWith(this.clientNonce) || nonce.length === this.clientNonce.length) {
      throw new Error('SASL: the server nonce does not extend the client nonce');
    }
    if (!attrs.s || !Number.isInteger(iterations) || iterations < 1) {
      throw new Error('SASL: the server-first message lacks a salt or an iteration count');
    }
    const salt = fromBase64(attrs.s);
    const clientFinalBare = `c=biws,r=${nonce}`;
    const authMessage = utf8(`${this.clientFirstBare},${serverFirst},${clientFinalBare}`);

    const salted = await this.pbkdf2(utf8(this.password), salt, iterations);
    const clientKey = await this.hmac(salted, utf8('Client Key'));
    const storedKey = new Uint8Array(await crypto.subtle.digest(this.hash.name, clientKey));
    const clientSignature = await this.hmac(storedKey, authMessage);
    const proof = clientKey.map((b, i) => b ^ clientSignature[i]);
    const serverKey = await this.hmac(salted, utf8('Server Key'));
    this.serverSignature = toBase64(await this.hmac(serverKey, authMessage));
    return toBase64(utf8(`${clientFinalBare},p=${toBase64(proof)}`));
  }

  async verifySuccess(data) {
    if (!this.serverSignature) throw new Error('SASL: success before the SCRAM exchange finished');
    const attrs = parseAttributes(text(fromBase64(data || '')));
    if (attrs.e) throw new Error(`SASL: the server reports ${attrs.e}`);
    if (attrs.v !== this.serverSignature) {
      throw new Error('SASL: the server signature does not match; the server is not trusted');
    }
  }

  async pbkdf2(password, salt, iterations) {
    const key = await crypto.subtle.importKey('raw', password, 'PBKDF2', false, ['deriveBits']);
    const bits = await crypto.subtle.deriveBits(
      { name: 'PBKDF2', hash: this.hash.name, salt, iterations }, key, this.hash.bits);
    return new Uint8Array(bits);
  }

  async hmac(keyBytes, data) {
    const key = await crypto.subtle.importKey(
      'raw', keyBytes, { name: 'HMAC', hash: this.hash.name }, false, ['sign']);
    return new Uint8Array(await crypto.subtle.sign('HMAC', key, data));
  }
}

/** `a=1,b=2` (SCRAM attribute list) → { a: '1', b: '2' }; values may hold '='. */
function parseAttributes(message) {
  const attrs = {};
  for (const part of message.split(',')) {
    const at = part.indexOf('=');
    if (at > 0) attrs[part.slice(0, at)] = part.slice(at + 1);
  }
  return attrs;
}

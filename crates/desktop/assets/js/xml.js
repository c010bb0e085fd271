// XML helpers shared by the desktop's modules: parse a document (refusing a parser-error
// document instead of handing it on), escape text for a stanza or a request body, and read
// children by local name, which is how Finesse documents are read (namespaces and prefixes of
// the server's answers do not matter to the reader).

/** Parses `text` as XML; throws an Error naming the problem when it is not well-formed. */
export function parseXml(text) {
  const doc = new DOMParser().parseFromString(text, 'application/xml');
  const failure = doc.getElementsByTagName('parsererror')[0];
  if (failure) throw new Error(`not well-formed XML: ${failure.textContent.trim().split('\n')[0]}`);
  return doc;
}

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** `text` escaped for an element's text or an attribute value. */
export function escapeXml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** The element children of `el` named `name` (local name), in document order. */
export function childrenNamed(el, name) {
  if (!el) return [];
  return Array.from(el.children).filter((c) => c.localName === name);
}

/** The first element child of `el` named `name`, or null. */
export function child(el, name) {
  if (!el) return null;
  for (const c of el.children) if (c.localName === name) return c;
  return null;
}

/** The text of the first child named `name`, or `fallback` when there is none. */
export function childText(el, name, fallback = '') {
  const c = child(el, name);
  return c ? c.textContent : fallback;
}

/** `<name attrs>children</name>` as a string; `children` is already-serialised XML. */
export function element(name, attrs = {}, children = '') {
  const a = Object.entries(attrs)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => ` ${k}="${escapeXml(v)}"`)
    .join('');
  return children === '' ? `<${name}${a}/>` : `<${name}${a}>${children}</${name}>`;
}

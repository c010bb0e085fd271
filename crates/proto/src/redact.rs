//! Redaction of client and server XML before it is written to a log: the content of SASL
//! elements (`<auth>`, `<response>`, `<challenge>`, `<success>`, and their SASL2 and legacy
//! counterparts) and the BOSH `key`/`newkey` attributes are replaced by their length. Debug logs
//! are read by many and kept for long; a PLAIN `<auth>` is the password in base64.
//!
//! The text may be a fragment (a read cut anywhere): content whose context is unknown at either
//! end of the fragment is redacted too, so a payload never leaks whatever the cut.

use std::borrow::Cow;
use std::ops::Range;

/// Local names (any prefix, any namespace) whose content is a secret.
const SECRET_ELEMENTS: &[&str] = &["auth", "response", "challenge", "success", "initial-response", "additional-data", "password", "digest"];
/// Attribute local names whose value is a secret (BOSH keys, XEP-0124 §15).
const SECRET_ATTRS: &[&str] = &["key", "newkey"];

#[derive(Debug)]
enum Token<'a> {
    /// Character data, CDATA, comments, processing instructions.
    Text(Range<usize>),
    /// A tag cut by the end of the fragment.
    Partial(Range<usize>),
    Open {
        local: &'a str,
        range: Range<usize>,
        empty: bool,
    },
    Close {
        local: &'a str,
        range: Range<usize>,
    },
}

fn local(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

fn is_secret(name: &str) -> bool {
    SECRET_ELEMENTS.contains(&name)
}

/// The end (exclusive) of the tag opened at `start`, honouring quoted attribute values.
fn tag_end(text: &str, start: usize) -> Option<usize> {
    let mut quote = None;
    for (i, c) in text[start..].char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (None, '>') => return Some(start + i + 1),
            _ => {}
        }
    }
    None
}

fn tokens(text: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < text.len() {
        let Some(lt) = text[pos..].find('<').map(|i| pos + i) else {
            out.push(Token::Text(pos..text.len()));
            break;
        };
        if lt > pos {
            out.push(Token::Text(pos..lt));
        }
        let rest = &text[lt..];
        let special =
            [("<![CDATA[", "]]>"), ("<!--", "-->"), ("<?", "?>"), ("<!", ">")].into_iter().find(|(open, _)| rest.starts_with(open));
        let end = match special {
            Some((_, close)) => rest.find(close).map(|i| lt + i + close.len()),
            None => tag_end(text, lt),
        };
        let Some(end) = end else {
            out.push(if special.is_some() { Token::Text(lt..text.len()) } else { Token::Partial(lt..text.len()) });
            break;
        };
        let tag = &text[lt..end];
        out.push(if special.is_some() {
            Token::Text(lt..end)
        } else if let Some(name) = tag.strip_prefix("</") {
            Token::Close { local: local(name.trim_end_matches('>').trim()), range: lt..end }
        } else {
            let name = tag[1..].split(|c: char| c.is_whitespace() || c == '/' || c == '>').next().unwrap_or("");
            Token::Open { local: local(name), range: lt..end, empty: tag.ends_with("/>") }
        });
        pos = end;
    }
    out
}

/// Writes an opening tag with the values of secret attributes replaced.
fn push_tag(out: &mut String, tag: &str) {
    let mut rest = tag;
    while let Some(eq) = rest.find('=') {
        let name = rest[..eq].trim_end();
        let name_start = name.rfind(|c: char| c.is_whitespace()).map_or(0, |i| i + 1);
        let after = rest[eq + 1..].trim_start();
        let Some(quote) = after.chars().next().filter(|c| matches!(c, '"' | '\'')) else { break };
        let value_start = rest.len() - after.len() + 1;
        let secret = SECRET_ATTRS.contains(&local(&name[name_start..]));
        let Some(value_len) = rest[value_start..].find(quote) else {
            if secret {
                // A tag cut inside a secret value.
                out.push_str(&rest[..value_start]);
                return out.push_str("[redacted]");
            }
            break;
        };
        out.push_str(&rest[..value_start]);
        if secret {
            out.push_str("[redacted]");
        } else {
            out.push_str(&rest[value_start..value_start + value_len]);
        }
        rest = &rest[value_start + value_len..];
    }
    out.push_str(rest);
}

fn push_redacted(out: &mut String, bytes: usize) {
    if bytes > 0 {
        out.push_str(&format!("[redacted {bytes} bytes]"));
    }
}

/// `text` with every secret replaced; borrowed unchanged when there is none.
pub fn redact_xml(text: &str) -> Cow<'_, str> {
    let tokens = tokens(text);
    let has_tag = tokens.iter().any(|t| matches!(t, Token::Open { .. } | Token::Close { .. }));
    if !has_tag {
        // A fragment with no whole tag may be the middle of a payload.
        return if text.trim().is_empty() { Cow::Borrowed(text) } else { Cow::Owned(format!("[redacted {} bytes]", text.len())) };
    }
    // A fragment may begin inside a tag whose start was cut off (a `>` before any `<`).
    let tag_tail = match tokens.first() {
        Some(Token::Text(range)) => text[range.clone()].rfind('>').map_or(0, |i| i + 1),
        _ => 0,
    };
    let touches_secret = tag_tail > 0
        || tokens.iter().any(|t| match t {
            Token::Open { local, range, .. } => is_secret(local) || SECRET_ATTRS.iter().any(|a| text[range.clone()].contains(a)),
            Token::Close { local, .. } => is_secret(local),
            Token::Partial(range) => SECRET_ATTRS.iter().any(|a| text[range.clone()].contains(a)),
            Token::Text(_) => false,
        });
    if !touches_secret {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    // Where secret content began (`Some` while inside a secret element), and which element.
    let mut secret: Option<(usize, &str)> = None;
    // A secret element closed before any opened: the fragment began inside it.
    let first_secret = tokens.iter().find_map(|t| match t {
        Token::Open { local, empty: false, .. } if is_secret(local) => Some(false),
        Token::Close { local, .. } if is_secret(local) => Some(true),
        _ => None,
    });
    if first_secret == Some(true) {
        secret = Some((0, ""));
    } else {
        // Its attributes (a BOSH key, say) cannot be told apart: all of it goes.
        push_redacted(&mut out, tag_tail);
    }
    for token in &tokens {
        match (token, secret) {
            (Token::Close { local, range }, Some((from, name))) if name.is_empty() || name == *local => {
                push_redacted(&mut out, range.start - from);
                out.push_str(&text[range.clone()]);
                secret = None;
            }
            (_, Some(_)) => {}
            (Token::Text(range), None) if range.start == 0 => out.push_str(&text[tag_tail..range.end]),
            (Token::Open { local, range, empty }, None) => {
                push_tag(&mut out, &text[range.clone()]);
                if !empty && is_secret(local) {
                    secret = Some((range.end, local));
                }
            }
            (Token::Partial(range), None) => push_tag(&mut out, &text[range.clone()]),
            (Token::Close { range, .. } | Token::Text(range), None) => out.push_str(&text[range.clone()]),
        }
    }
    if let Some((from, _)) = secret {
        push_redacted(&mut out, text.len() - from);
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PLAIN: &str = "AGFsaWNlAHMzY3JldC1wYXNzd29yZA==";

    #[test]
    fn a_bosh_plain_login_keeps_its_shape_but_not_its_password() {
        let body = format!(
            "<body rid='2' sid='abc' key='k1' xmlns='http://jabber.org/protocol/httpbind'><auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{PLAIN}</auth></body>"
        );
        let red = redact_xml(&body);
        assert_eq!(
            red,
            format!(
                "<body rid='2' sid='abc' key='[redacted]' xmlns='http://jabber.org/protocol/httpbind'><auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>[redacted {} bytes]</auth></body>",
                PLAIN.len()
            )
        );
    }

    #[test]
    fn scram_exchange_and_prefixes_and_cdata_are_redacted() {
        for xml in [
            "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>cj1meWtvK2QybGJiRmdPTlJ2OXFreGRhd0wzcmZjTkhZSlkxWlZ2V1ZzN2oscz1RU1hDUitRNnNlazhiZjkyLGk9NDA5Ng==</challenge>",
            "<s:response xmlns:s='urn:ietf:params:xml:ns:xmpp-sasl'>Yz1iaXdzLHI9Znlr</s:response>",
            "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><![CDATA[dj1ybUY5cHFWOFM3c3VBb1pXamE0ZEpSa0ZzS1E9]]></success>",
        ] {
            let red = redact_xml(xml);
            assert!(red.contains("[redacted "), "{red}");
            assert!(!red.contains("Yz1i") && !red.contains("cj1m") && !red.contains("dj1y"), "{red}");
        }
    }

    #[test]
    fn ordinary_stanzas_are_untouched_and_borrowed() {
        let xml = "<message to='a@b' id='key'><body>key='x' response</body></message>";
        assert_eq!(redact_xml(xml), xml);
        assert!(matches!(redact_xml("<presence/><iq type='get'><ping/></iq>"), Cow::Borrowed(_)));
        assert!(matches!(redact_xml(""), Cow::Borrowed(_)));
        assert!(
            matches!(redact_xml("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"), Cow::Owned(s) if s == "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>")
        );
    }

    #[test]
    fn fragments_cut_inside_a_payload_are_redacted() {
        assert_eq!(redact_xml("<auth mechanism='PLAIN'>AGFsaW"), "<auth mechanism='PLAIN'>[redacted 6 bytes]");
        assert_eq!(redact_xml("NlAHMz</auth><iq/>"), "[redacted 6 bytes]</auth><iq/>");
        assert_eq!(redact_xml("ism='PLAIN'>AGFsaWNl"), "[redacted 20 bytes]");
        assert_eq!(redact_xml("<presence/><body rid='1' key='0a1b"), "<presence/><body rid='1' key='[redacted]");
        assert_eq!(redact_xml("b2c' sid='s'><presence/>"), "[redacted 13 bytes]<presence/>");
    }

    fn payload() -> impl Strategy<Value = String> {
        "[A-Z0-9+/]{12,80}={0,2}"
    }

    proptest! {
        /// Whatever the element's prefix, attributes, surroundings and however the text is cut
        /// into fragments, no 8-character piece of the payload reaches a redacted fragment.
        #[test]
        fn the_payload_never_leaks(
            secret in payload(),
            name in prop::sample::select(vec!["auth", "response", "challenge", "success"]),
            prefix in prop::option::of("[a-z]{1,4}"),
            attrs in "( [a-z]{1,6}='[a-z =>/]{0,8}'){0,3}",
            before in "(<presence/>|<iq type='get' id='[a-z]{1,4}'><ping/></iq>){0,2}",
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..3),
        ) {
            let qname = prefix.map_or_else(|| name.to_owned(), |p| format!("{p}:{name}"));
            let doc = format!("<body rid='1' key='{secret}'>{before}<{qname}{attrs}>{secret}</{qname}><presence/></body>");
            let mut points: Vec<usize> = cuts.iter().map(|i| i.index(doc.len() + 1)).collect();
            points.extend([0, doc.len()]);
            points.sort_unstable();
            let markup = doc.replace(&secret, "");
            for window in secret.as_bytes().windows(8) {
                let window = std::str::from_utf8(window).unwrap();
                if markup.contains(window) {
                    continue;
                }
                for pair in points.windows(2) {
                    let red = redact_xml(&doc[pair[0]..pair[1]]);
                    prop_assert!(!red.contains(window), "{:?} leaks {window}: {red}", &doc[pair[0]..pair[1]]);
                }
            }
        }
    }
}

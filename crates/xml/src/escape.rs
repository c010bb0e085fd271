//! Escaping for text and attribute values, and the XML 1.0 `Char` production that decides which
//! characters may appear in a document at all.

/// Whether `c` is allowed by the XML 1.0 `Char` production. Anything else may not appear in a
/// stream, not even as a character reference: this is the check whose absence crashes peers on
/// call variables carrying control characters.
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Replaces every character outside the XML 1.0 `Char` set with U+FFFD, for data that must still be
/// delivered (for example a CTI call variable) rather than rejected.
pub fn sanitize_text(input: &str) -> std::borrow::Cow<'_, str> {
    if input.chars().all(is_xml_char) {
        return std::borrow::Cow::Borrowed(input);
    }
    std::borrow::Cow::Owned(input.chars().map(|c| if is_xml_char(c) { c } else { '\u{FFFD}' }).collect())
}

fn escape_into(out: &mut String, input: &str, quotes: bool) {
    for c in input.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if quotes => out.push_str("&quot;"),
            '\'' if quotes => out.push_str("&apos;"),
            // Literal CR and TAB in attribute values would be normalised away by the reader.
            '\r' => out.push_str("&#xD;"),
            '\t' if quotes => out.push_str("&#x9;"),
            '\n' if quotes => out.push_str("&#xA;"),
            c if !is_xml_char(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

/// Appends `text` escaped for use as character data. Characters outside the XML `Char` set become
/// U+FFFD, so the writer can never emit a document that a peer would reject.
pub fn escape_text(out: &mut String, text: &str) {
    escape_into(out, text, false)
}

/// Appends `value` escaped for use inside a quoted attribute value (either quote style).
pub fn escape_attr(out: &mut String, value: &str) {
    escape_into(out, value, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        let mut s = String::new();
        escape_attr(&mut s, "a<b>&\"c'\r");
        assert_eq!(s, "a&lt;b&gt;&amp;&quot;c&apos;&#xD;");
        let mut t = String::new();
        escape_text(&mut t, "x\"y'<");
        assert_eq!(t, "x\"y'&lt;");
    }

    #[test]
    fn replaces_characters_outside_xml() {
        assert_eq!(sanitize_text("a\u{1}b\u{FFFF}"), "a\u{FFFD}b\u{FFFD}");
        assert!(matches!(sanitize_text("plain"), std::borrow::Cow::Borrowed(_)));
        let mut t = String::new();
        escape_text(&mut t, "\u{0}");
        assert_eq!(t, "\u{FFFD}");
    }
}

//! Entry points shared by the cargo-fuzz targets in `fuzz/` and the corpus replay in `cargo test`,
//! so that the code the fuzzer exercises is exactly the code the tests replay.

use crate::{Limits, StreamEvent, StreamParser, parse_document};

/// Feeds `data` to a stream parser in chunks whose sizes come from the first byte, then checks the
/// invariants that must hold for any input: no panic, and every element re-serialises to XML that
/// parses back to the same element.
pub fn stream_feed(data: &[u8]) {
    let Some((&split, rest)) = data.split_first() else { return };
    let chunk = usize::from(split).max(1);
    let limits = Limits { max_stanza_bytes: 4096, max_depth: 16, max_token_bytes: 1024, max_attributes: 64 };
    let mut parser = StreamParser::new(limits);
    let mut events = Vec::new();
    for piece in rest.chunks(chunk) {
        if parser.feed(piece, &mut events).is_err() {
            break;
        }
    }
    for event in events {
        if let StreamEvent::Element(el) = event {
            let written = el.to_xml();
            let reparsed =
                parse_document(written.as_bytes(), Limits { max_stanza_bytes: 1 << 20, max_token_bytes: 1 << 20, ..Limits::default() })
                    .expect("a parsed element must serialise to parseable XML");
            assert_eq!(reparsed, el, "round trip changed the element");
        }
    }
}

/// Parses `data` as one complete document (the BOSH body path).
pub fn document(data: &[u8]) {
    let _ = parse_document(data, Limits::default());
}

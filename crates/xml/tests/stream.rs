//! Behaviour of the stream parser on good and bad input, including the limits.

use herald_xml::{Limits, StreamEvent, StreamParser, XmlError, parse_document};
use proptest::prelude::*;

const HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0' xml:lang='en'>";

fn parse_all(input: &[u8]) -> (Vec<StreamEvent>, Result<(), XmlError>) {
    let mut p = StreamParser::new(Limits::default());
    let mut out = Vec::new();
    let r = p.feed(input, &mut out);
    (out, r)
}

fn error_after_header(body: &str) -> XmlError {
    let (_, r) = parse_all(format!("{HEADER}{body}").as_bytes());
    r.expect_err("input must be refused")
}

#[test]
fn parses_header_stanzas_and_close() {
    let input = format!("{HEADER}<message to='a@example.com'><body>hi &amp; bye</body></message> \n<presence/></stream:stream>");
    let (events, r) = parse_all(input.as_bytes());
    r.unwrap();
    assert_eq!(events.len(), 4);
    let StreamEvent::Open(h) = &events[0] else { panic!("no header") };
    assert_eq!((h.name.as_str(), h.ns.as_str()), ("stream", "http://etherx.jabber.org/streams"));
    assert_eq!(h.attr("to"), Some("example.com"));
    assert!(h.attrs.iter().any(|a| a.name == "lang" && a.value == "en"));
    let StreamEvent::Element(m) = &events[1] else { panic!("no message") };
    assert!(m.is("message", "jabber:client"));
    assert_eq!(m.child("body", "jabber:client").unwrap().text(), "hi & bye");
    assert_eq!(events[3], StreamEvent::Close);
}

#[test]
fn invalid_characters_are_not_well_formed() {
    assert!(matches!(error_after_header("<message><body>a\u{1}b</body></message>"), XmlError::NotWellFormed(_)));
    assert!(matches!(error_after_header("<message><body>a&#x1;b</body></message>"), XmlError::NotWellFormed(_)));
    assert!(matches!(error_after_header("<message><body>&#0;</body></message>"), XmlError::NotWellFormed(_)));
    assert!(matches!(error_after_header("<message><body>\u{FFFE}</body></message>"), XmlError::NotWellFormed(_)));
    let bytes: Vec<u8> = format!("{HEADER}<message>").bytes().chain([0xff, 0xfe]).chain(*b"</message>").collect();
    let (_, r) = parse_all(&bytes);
    assert!(matches!(r, Err(XmlError::NotWellFormed(_))), "{r:?}");
}

#[test]
fn dtd_pi_and_comments_are_restricted() {
    let (_, r) =
        parse_all(b"<?xml version='1.0'?><!DOCTYPE foo [<!ENTITY x 'y'>]><stream:stream xmlns:stream='http://etherx.jabber.org/streams'>");
    assert!(matches!(r, Err(XmlError::RestrictedXml(_))), "{r:?}");
    assert!(matches!(error_after_header("<?evil stuff?>"), XmlError::RestrictedXml(_)));
    assert!(matches!(error_after_header("<message><!-- hi --></message>"), XmlError::RestrictedXml(_)));
    assert!(matches!(error_after_header("<message>&ent;</message>"), XmlError::NotWellFormed(_)));
}

#[test]
fn oversized_stanza_is_refused_before_it_is_buffered() {
    let limits = Limits { max_stanza_bytes: 1024, ..Limits::default() };
    let mut p = StreamParser::new(limits);
    let mut out = Vec::new();
    p.feed(HEADER.as_bytes(), &mut out).unwrap();
    p.feed(b"<message><body>", &mut out).unwrap();
    let chunk = vec![b'a'; 512];
    let mut fed = 0;
    let err = loop {
        match p.feed(&chunk, &mut out) {
            Ok(()) => fed += chunk.len(),
            Err(e) => break e,
        }
        assert!(fed < 10 * 1024 * 1024, "never refused");
    };
    assert!(matches!(err, XmlError::PolicyViolation(_)));
    assert!(fed <= 2048, "refused only after {fed} bytes");
    // Stays failed.
    assert!(p.feed(b"</body></message>", &mut out).is_err());
}

/// Feeds `prefix`, then `chunk` over and over until the parser refuses; returns the error and
/// how many bytes of repeated chunks it took.
fn feed_until_refused(limits: Limits, prefix: &[u8], chunk: &[u8]) -> (XmlError, usize) {
    let mut p = StreamParser::new(limits);
    let mut out = Vec::new();
    p.feed(prefix, &mut out).expect("the prefix is fine");
    let mut fed = 0;
    loop {
        if let Err(err) = p.feed(chunk, &mut out) {
            return (err, fed);
        }
        fed += chunk.len();
        assert!(fed < 64 << 20, "never refused after {fed} bytes");
    }
}

#[test]
fn a_start_tag_that_never_closes_is_refused_at_the_stanza_limit() {
    let limits = Limits { max_stanza_bytes: 10_000, max_attributes: 1_000_000, ..Limits::default() };
    // A stanza's start tag with ever more attributes, each well under the token limit.
    let mut n = 0;
    let chunk: Vec<u8> = (0..64)
        .flat_map(|_| {
            n += 1;
            format!(" a{n}='xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'").into_bytes()
        })
        .collect();
    let (err, fed) = feed_until_refused(limits, format!("{HEADER}<message").as_bytes(), &chunk);
    assert!(matches!(err, XmlError::PolicyViolation(_)), "{err:?}");
    assert!(fed <= 10_000 + chunk.len(), "refused only after {fed} bytes");
}

#[test]
fn a_stream_header_that_never_closes_is_refused_at_the_stanza_limit() {
    let limits = Limits { max_stanza_bytes: 10_000, max_attributes: 1_000_000, ..Limits::default() };
    let mut n = 0;
    let chunk: Vec<u8> = (0..16)
        .flat_map(|_| {
            n += 1;
            format!(" x{n}='yyyyyyyy'").into_bytes()
        })
        .collect();
    let (err, fed) =
        feed_until_refused(limits, b"<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams'", &chunk);
    assert!(matches!(&err, XmlError::PolicyViolation(text) if text.contains("stream header")), "{err:?}");
    assert!(fed <= 10_000 + chunk.len(), "refused only after {fed} bytes");
}

#[test]
fn too_many_attributes_on_one_element_are_refused() {
    let limits = Limits { max_attributes: 8, ..Limits::default() };
    let attrs: String = (0..9).map(|i| format!(" a{i}='v'")).collect();
    let mut p = StreamParser::new(limits);
    let mut out = Vec::new();
    p.feed(HEADER.as_bytes(), &mut out).unwrap();
    assert!(p.feed(format!("<message{}/>", &attrs[..attrs.len() - 6]).as_bytes(), &mut out).is_ok(), "eight are fine");
    let err = p.feed(format!("<message{attrs}/>").as_bytes(), &mut out).unwrap_err();
    assert!(matches!(err, XmlError::PolicyViolation(_)), "{err:?}");
    let err = parse_document(format!("<body{attrs}/>").as_bytes(), limits).unwrap_err();
    assert!(matches!(err, XmlError::PolicyViolation(_)), "{err:?}");
}

#[test]
fn keepalives_and_many_small_stanzas_never_add_up_to_the_limit() {
    let limits = Limits { max_stanza_bytes: 1024, ..Limits::default() };
    let mut p = StreamParser::new(limits);
    let mut out = Vec::new();
    p.feed(HEADER.as_bytes(), &mut out).unwrap();
    for _ in 0..1000 {
        p.feed(b" \n<presence/> ", &mut out).unwrap();
    }
    assert_eq!(out.len(), 1001);
}

#[test]
fn huge_attribute_is_a_policy_violation() {
    let input = format!("<message to='{}'/>", "x".repeat(300 * 1024));
    assert!(matches!(error_after_header(&input), XmlError::PolicyViolation(_)));
}

#[test]
fn deep_nesting_is_refused() {
    let input = "<a>".repeat(10_000);
    assert!(matches!(error_after_header(&input), XmlError::PolicyViolation(_)));
}

#[test]
fn text_outside_stanzas() {
    assert!(matches!(error_after_header("hello<presence/>"), XmlError::BadFormat(_)));
    let (events, r) = parse_all(format!("{HEADER} \n\t ").as_bytes());
    r.unwrap();
    assert_eq!(events.len(), 1);
}

#[test]
fn document_parsing() {
    let body = parse_document(
        b"<body rid='1' xmlns='http://jabber.org/protocol/httpbind'><message xmlns='jabber:client'/></body>",
        Limits::default(),
    )
    .unwrap();
    assert_eq!(body.attr("rid"), Some("1"));
    assert_eq!(body.elements().next().unwrap().ns, "jabber:client");
    assert!(parse_document(b"<body>", Limits::default()).is_err());
    assert!(parse_document(b"<body/><x/>", Limits::default()).is_err());
    assert!(parse_document(b"<body>&#x0;</body>", Limits::default()).is_err());
}

#[test]
fn fuzz_corpus_replays() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    let mut replayed = 0;
    for (target, run) in [("xml_stream", herald_xml::fuzzing::stream_feed as fn(&[u8])), ("xml_document", herald_xml::fuzzing::document)] {
        for entry in std::fs::read_dir(dir.join(target)).unwrap() {
            run(&std::fs::read(entry.unwrap().path()).unwrap());
            replayed += 1;
        }
    }
    assert!(replayed > 0);
}

fn stanza_strategy() -> impl Strategy<Value = String> {
    let text = "[a-zA-Z0-9 <>&'\"\u{e9}\u{4e2d}]{0,12}";
    (text, text, 0usize..3).prop_map(|(a, b, n)| {
        let mut s = String::from("<message to='x@y'><body>");
        herald_xml::escape_text(&mut s, &a);
        s.push_str("</body>");
        for _ in 0..n {
            s.push_str("<x xmlns='urn:test' a='");
            herald_xml::escape_attr(&mut s, &b);
            s.push_str("'><y/></x>");
        }
        s.push_str("</message>");
        s
    })
}

proptest! {
    /// Any split of the input gives the same events as feeding it whole.
    #[test]
    fn chunking_does_not_change_events(stanzas in proptest::collection::vec(stanza_strategy(), 1..5), cuts in proptest::collection::vec(0usize..10_000, 0..20)) {
        let input = format!("{HEADER}{}</stream:stream>", stanzas.concat());
        let bytes = input.as_bytes();
        let (whole, r) = parse_all(bytes);
        prop_assert!(r.is_ok());
        let mut points: Vec<usize> = cuts.into_iter().map(|c| c % (bytes.len() + 1)).collect();
        points.sort_unstable();
        let mut p = StreamParser::new(Limits::default());
        let mut out = Vec::new();
        let mut last = 0;
        for point in points.into_iter().chain([bytes.len()]) {
            p.feed(&bytes[last..point], &mut out).unwrap();
            last = point;
        }
        prop_assert_eq!(whole, out);
    }

    /// However an endless start tag is chunked, it is refused within one chunk of the limit.
    #[test]
    fn endless_start_tags_are_refused_whatever_the_chunking(sizes in proptest::collection::vec(1usize..700, 1..40), limit in 1024usize..8192) {
        let limits = Limits { max_stanza_bytes: limit, max_attributes: 1_000_000, ..Limits::default() };
        let mut p = StreamParser::new(limits);
        let mut out = Vec::new();
        p.feed(format!("{HEADER}<iq").as_bytes(), &mut out).unwrap();
        let endless: Vec<u8> = (0..).flat_map(|i| format!(" b{i}='0123456789'").into_bytes()).take(64 * 1024).collect();
        let (mut at, mut refused) = (0, None);
        for size in sizes.iter().cycle() {
            let end = (at + size).min(endless.len());
            if let Err(err) = p.feed(&endless[at..end], &mut out) {
                refused = Some((err, end));
                break;
            }
            at = end;
            prop_assert!(at < endless.len(), "never refused");
        }
        let (err, fed) = refused.unwrap();
        prop_assert!(matches!(err, XmlError::PolicyViolation(_)));
        prop_assert!(fed <= limit + 700);
    }

    /// Whatever the bytes, the parser returns events or an error, never panics, and anything it
    /// accepts re-serialises faithfully.
    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        herald_xml::fuzzing::stream_feed(&data);
        herald_xml::fuzzing::document(&data);
    }
}

#[test]
fn self_closing_stanza_is_complete_at_once() {
    let mut p = StreamParser::new(Limits::default());
    let mut out = Vec::new();
    p.feed(HEADER.as_bytes(), &mut out).unwrap();
    p.feed(b"<message to='a@example.com'/>", &mut out).unwrap();
    assert_eq!(out.len(), 2, "{out:?}");
}

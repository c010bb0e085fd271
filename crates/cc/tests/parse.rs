//! REST body parsing: every accepted shape, every refusal path, and property tests (any bytes
//! never panic and give a 400 when refused; well-formed requests round-trip; a character
//! outside XML 1.0, raw or as a character reference, is refused).

use herald_cc::parse::{DialogRequest, MAX_BODY_BYTES, MAX_LOG_CHARS, UserRequest, client_log, dialog_request, user_request};
use herald_cc::{ApiError, EpochMs};
use herald_cti::CallAction;
use herald_xml::Element;
use proptest::prelude::*;

fn refused(result: Result<impl std::fmt::Debug, ApiError>) -> ApiError {
    match result {
        Ok(v) => panic!("accepted: {v:?}"),
        Err(e) => e,
    }
}

fn invalid(result: Result<impl std::fmt::Debug, ApiError>, data: &str) {
    let e = refused(result);
    assert_eq!((e.status, e.error_type.as_str(), e.data.as_str()), (400, "Invalid Input", data), "{e:?}");
}

fn missing(result: Result<impl std::fmt::Debug, ApiError>, parameter: &str) {
    let e = refused(result);
    assert_eq!((e.status, e.error_type.as_str(), e.data.as_str()), (400, "Parameter Missing", parameter), "{e:?}");
}

fn user(body: &str) -> Result<UserRequest, ApiError> {
    user_request(body.as_bytes())
}

fn dialog(body: &str) -> Result<DialogRequest, ApiError> {
    dialog_request(body.as_bytes())
}

// ---- User ----

#[test]
fn user_states_parse() {
    assert_eq!(user("<User><state>LOGIN</state><extension>1001</extension></User>"), Ok(UserRequest::Login { extension: "1001".into() }));
    assert_eq!(user("<User><state>READY</state></User>"), Ok(UserRequest::Ready));
    assert_eq!(user("<User><state>NOT_READY</state></User>"), Ok(UserRequest::NotReady { reason_code_id: None }));
    assert_eq!(
        user("<User><state>NOT_READY</state><reasonCodeId>16</reasonCodeId></User>"),
        Ok(UserRequest::NotReady { reason_code_id: Some(16) })
    );
    assert_eq!(user("<User><state>LOGOUT</state></User>"), Ok(UserRequest::Logout { reason_code_id: None }));
    assert_eq!(
        user("<User><state>LOGOUT</state><reasonCodeId>3</reasonCodeId></User>"),
        Ok(UserRequest::Logout { reason_code_id: Some(3) })
    );
    assert_eq!(user("<User><state>LOGOUT</state><reasonCodeId>-1</reasonCodeId></User>"), Ok(UserRequest::Logout { reason_code_id: None }));
    assert_eq!(user("<User><state>NOT_READY</state><reasonCodeId/></User>"), Ok(UserRequest::NotReady { reason_code_id: None }));
}

#[test]
fn xml_declaration_and_white_space_are_accepted() {
    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<User>\n  <state> LOGIN </state>\n  <extension>1001</extension>\n</User>\n";
    assert_eq!(user(body), Ok(UserRequest::Login { extension: "1001".into() }));
    let body =
        "<?xml version='1.0'?><Dialog><requestedAction>ANSWER</requestedAction><targetMediaAddress>1001</targetMediaAddress></Dialog>";
    assert_eq!(dialog(body), Ok(DialogRequest::Action { action: CallAction::Answer, target: Some("1001".into()) }));
}

#[test]
fn user_refusals() {
    missing(user("<User></User>"), "state");
    missing(user("<User><state/></User>"), "state");
    missing(user("<User><state>LOGIN</state></User>"), "extension");
    missing(user("<User><state>LOGIN</state><extension> </extension></User>"), "extension");
    invalid(user("<User><state>TALKING</state></User>"), "TALKING");
    invalid(user("<User><state>ready</state></User>"), "ready");
    invalid(user("<User><state>READY</state><foo/></User>"), "foo");
    invalid(user("<User><state>READY</state><state>READY</state></User>"), "state");
    invalid(user("<User><state>READY</state><reasonCodeId>1</reasonCodeId></User>"), "reasonCodeId");
    invalid(user("<User><state>READY</state><extension>1</extension></User>"), "extension");
    invalid(user("<User><state>LOGIN</state><extension>1</extension><reasonCodeId>1</reasonCodeId></User>"), "reasonCodeId");
    invalid(user("<User><state>NOT_READY</state><reasonCodeId>abc</reasonCodeId></User>"), "abc");
    invalid(user("<User><state>NOT_READY</state><reasonCodeId>+5</reasonCodeId></User>"), "+5");
    invalid(user("<User><state>NOT_READY</state><reasonCodeId>99999999999</reasonCodeId></User>"), "99999999999");
    invalid(user("<User><state>LOGIN</state><extension>10 01</extension></User>"), "10 01");
    invalid(user("<User><state><x/></state></User>"), "state");
    invalid(user("<User>hello<state>READY</state></User>"), "User");
    invalid(user("<Dialog><state>READY</state></Dialog>"), "Dialog");
    invalid(user("<User xmlns='urn:x'><state>READY</state></User>"), "urn:x");
    invalid(user("<User a='1'><state>READY</state></User>"), "a");
}

#[test]
fn malformed_bodies_are_invalid_input() {
    for body in [
        "",
        "   ",
        "not xml",
        "<User><state>READY</state>",
        "<User><state>READY</User>",
        "<User><state>READY</state></User><User/>",
        "<User><state>READY</state></User>trailing",
        "<!DOCTYPE User><User><state>READY</state></User>",
        "<User><!-- c --><state>READY</state></User>",
        "<User><state>&foo;</state></User>",
        "<?xml version='1.0' encoding='ISO-8859-1'?><User><state>READY</state></User>",
    ] {
        let e = user(body).expect_err(body);
        assert_eq!((e.status, e.error_type.as_str()), (400, "Invalid Input"), "{body:?}: {e:?}");
    }
    // CDATA is well-formed XML: its text counts like any other.
    assert_eq!(user("<User><state><![CDATA[READY]]></state></User>"), Ok(UserRequest::Ready));
    let e = refused(user_request(&[0xff, 0xfe, b'<']));
    assert_eq!(e.status, 400);
}

#[test]
fn deep_and_large_bodies_are_refused() {
    let deep = format!("<User>{}{}</User>", "<a>".repeat(20), "</a>".repeat(20));
    assert_eq!(refused(user(&deep)).status, 400);
    let many = format!("<User><state>READY</state>{}</User>", "<x/>".repeat(1000));
    assert_eq!(refused(user(&many)).status, 400);
    let wide = format!(
        "<Dialog><requestedAction>UPDATE_CALL_DATA</requestedAction><mediaProperties><callvariables>{}</callvariables></mediaProperties></Dialog>",
        "<CallVariable><name>a</name><value/></CallVariable>".repeat(150)
    );
    let e = refused(dialog(&wide));
    assert!(e.message.contains("elements"), "{e:?}");
    let huge = vec![b' '; MAX_BODY_BYTES + 1];
    assert_eq!(refused(user_request(&huge)).status, 400);
}

#[test]
fn characters_outside_xml_are_refused() {
    for bad in ["\u{1}", "\u{B}", "\u{FFFE}", "\u{FFFF}", "&#x1;", "&#0;", "&#xFFFE;", "&#xD800;", "&#1;", "&#x1F;"] {
        let body = format!("<User><state>LOGIN</state><extension>10{bad}01</extension></User>");
        let e = refused(user(&body));
        assert_eq!((e.status, e.error_type.as_str()), (400, "Invalid Input"), "{bad:?}: {e:?}");
        let body = format!("<ClientLog><logData>x{bad}y</logData></ClientLog>");
        assert_eq!(refused(client_log(body.as_bytes())).status, 400, "{bad:?}");
    }
    // Allowed characters, raw and referenced, go through.
    assert_eq!(client_log(b"<ClientLog><logData>a&#x9;b&#xA;&lt;c&gt;&amp;\xc3\xa9</logData></ClientLog>"), Ok("a\tb\n<c>&\u{e9}".into()));
}

// ---- Dialog ----

#[test]
fn dialog_actions_parse() {
    assert_eq!(
        dialog("<Dialog><requestedAction>MAKE_CALL</requestedAction><fromAddress>1001</fromAddress><toAddress>1002</toAddress></Dialog>"),
        Ok(DialogRequest::MakeCall { from: "1001".into(), to: "1002".into() })
    );
    // A dialled number goes on as typed, punctuation and spaces included.
    assert_eq!(
        dialog(
            "<Dialog><requestedAction>MAKE_CALL</requestedAction><fromAddress>1001</fromAddress><toAddress> (555) 123-4567 </toAddress></Dialog>"
        ),
        Ok(DialogRequest::MakeCall { from: "1001".into(), to: "(555) 123-4567".into() })
    );
    for (name, action) in [
        ("ANSWER", CallAction::Answer),
        ("HOLD", CallAction::Hold),
        ("RETRIEVE", CallAction::Retrieve),
        ("DROP", CallAction::Drop),
        ("TRANSFER", CallAction::Transfer),
        ("CONFERENCE", CallAction::Conference),
    ] {
        let with = format!("<Dialog><requestedAction>{name}</requestedAction><targetMediaAddress>1001</targetMediaAddress></Dialog>");
        assert_eq!(dialog(&with), Ok(DialogRequest::Action { action: action.clone(), target: Some("1001".into()) }));
        let without = format!("<Dialog><requestedAction>{name}</requestedAction></Dialog>");
        assert_eq!(dialog(&without), Ok(DialogRequest::Action { action, target: None }));
    }
    assert_eq!(
        dialog(
            "<Dialog><requestedAction>CONSULT_CALL</requestedAction><toAddress>1003</toAddress><targetMediaAddress>1001</targetMediaAddress></Dialog>"
        ),
        Ok(DialogRequest::Action { action: CallAction::ConsultCall { to: "1003".into() }, target: Some("1001".into()) })
    );
    assert_eq!(
        dialog(
            "<Dialog><requestedAction>SEND_DTMF</requestedAction><targetMediaAddress>1001</targetMediaAddress>\
             <actionParams><ActionParam><name>dtmfString</name><value>12*#AD</value></ActionParam></actionParams></Dialog>"
        ),
        Ok(DialogRequest::Action { action: CallAction::SendDtmf { digits: "12*#AD".into() }, target: Some("1001".into()) })
    );
    assert_eq!(
        dialog(
            "<Dialog><requestedAction>UPDATE_CALL_DATA</requestedAction><mediaProperties><wrapUpReason>Sale</wrapUpReason>\
             <callvariables><CallVariable><name>callVariable1</name><value> a b </value></CallVariable>\
             <CallVariable><name>user.x</name><value/></CallVariable></callvariables></mediaProperties></Dialog>"
        ),
        Ok(DialogRequest::Action {
            action: CallAction::UpdateCallData {
                variables: vec![("callVariable1".into(), " a b ".into()), ("user.x".into(), String::new())],
                wrap_up_reason: Some("Sale".into()),
            },
            target: None,
        })
    );
    assert_eq!(
        dialog(
            "<Dialog><requestedAction>UPDATE_CALL_DATA</requestedAction><mediaProperties><wrapUpReason>Done</wrapUpReason></mediaProperties></Dialog>"
        ),
        Ok(DialogRequest::Action {
            action: CallAction::UpdateCallData { variables: vec![], wrap_up_reason: Some("Done".into()) },
            target: None
        })
    );
}

#[test]
fn dialog_refusals() {
    missing(dialog("<Dialog/>"), "requestedAction");
    missing(dialog("<Dialog><requestedAction>MAKE_CALL</requestedAction><toAddress>1002</toAddress></Dialog>"), "fromAddress");
    missing(dialog("<Dialog><requestedAction>MAKE_CALL</requestedAction><fromAddress>1001</fromAddress></Dialog>"), "toAddress");
    let e = refused(dialog(
        "<Dialog><requestedAction>MAKE_CALL</requestedAction><fromAddress>1001</fromAddress><toAddress>1001</toAddress></Dialog>",
    ));
    assert_eq!((e.status, e.error_type.as_str()), (400, "Invalid Destination"));
    missing(
        dialog("<Dialog><requestedAction>CONSULT_CALL</requestedAction><targetMediaAddress>1001</targetMediaAddress></Dialog>"),
        "toAddress",
    );
    missing(dialog("<Dialog><requestedAction>CONSULT_CALL</requestedAction><toAddress>1003</toAddress></Dialog>"), "targetMediaAddress");
    missing(dialog("<Dialog><requestedAction>SEND_DTMF</requestedAction></Dialog>"), "actionParams");
    missing(dialog("<Dialog><requestedAction>SEND_DTMF</requestedAction><actionParams/></Dialog>"), "ActionParam");
    missing(
        dialog(
            "<Dialog><requestedAction>SEND_DTMF</requestedAction><actionParams><ActionParam><name>dtmfString</name><value/></ActionParam></actionParams></Dialog>",
        ),
        "dtmfString",
    );
    missing(
        dialog(
            "<Dialog><requestedAction>SEND_DTMF</requestedAction><actionParams><ActionParam><name>dtmfString</name></ActionParam></actionParams></Dialog>",
        ),
        "value",
    );
    invalid(
        dialog(
            "<Dialog><requestedAction>SEND_DTMF</requestedAction><actionParams><ActionParam><name>dtmfString</name><value>12E</value></ActionParam></actionParams></Dialog>",
        ),
        "12E",
    );
    invalid(
        dialog(
            "<Dialog><requestedAction>SEND_DTMF</requestedAction><actionParams><ActionParam><name>volume</name><value>1</value></ActionParam></actionParams></Dialog>",
        ),
        "volume",
    );
    let long = "1".repeat(33);
    invalid(
        dialog(&format!(
            "<Dialog><requestedAction>SEND_DTMF</requestedAction><actionParams><ActionParam><name>dtmfString</name><value>{long}</value></ActionParam></actionParams></Dialog>"
        )),
        &long,
    );
    missing(dialog("<Dialog><requestedAction>UPDATE_CALL_DATA</requestedAction></Dialog>"), "mediaProperties");
    missing(dialog("<Dialog><requestedAction>UPDATE_CALL_DATA</requestedAction><mediaProperties/></Dialog>"), "callvariables");
    missing(
        dialog(
            "<Dialog><requestedAction>UPDATE_CALL_DATA</requestedAction><mediaProperties><callvariables><CallVariable><value>1</value></CallVariable></callvariables></mediaProperties></Dialog>",
        ),
        "name",
    );
    invalid(
        dialog(
            "<Dialog><requestedAction>UPDATE_CALL_DATA</requestedAction><mediaProperties><callvariables><Var/></callvariables></mediaProperties></Dialog>",
        ),
        "Var",
    );
    invalid(
        dialog(
            "<Dialog><requestedAction>UPDATE_CALL_DATA</requestedAction><mediaProperties><callvariables>x</callvariables></mediaProperties></Dialog>",
        ),
        "callvariables",
    );
    invalid(
        dialog(
            "<Dialog><requestedAction>UPDATE_CALL_DATA</requestedAction><mediaProperties><callvariables><CallVariable><name>a</name><value/></CallVariable><CallVariable><name>a</name><value/></CallVariable></callvariables></mediaProperties></Dialog>",
        ),
        "a",
    );
    invalid(
        dialog("<Dialog><requestedAction>UPDATE_CALL_DATA</requestedAction><mediaProperties><DNIS>1</DNIS></mediaProperties></Dialog>"),
        "DNIS",
    );
    for action in ["START_RECORDING", "TRANSFER_SST", "BARGE_CALL", "PARTICIPANT_DROP", "answer", "NOPE"] {
        invalid(dialog(&format!("<Dialog><requestedAction>{action}</requestedAction></Dialog>")), action);
    }
    invalid(dialog("<Dialog><requestedAction>ANSWER</requestedAction><toAddress>1</toAddress></Dialog>"), "toAddress");
    invalid(
        dialog(
            "<Dialog><requestedAction>MAKE_CALL</requestedAction><fromAddress>1</fromAddress><toAddress>2</toAddress><targetMediaAddress>1</targetMediaAddress></Dialog>",
        ),
        "targetMediaAddress",
    );
    invalid(dialog("<Dialog><requestedAction>ANSWER</requestedAction><callId>1</callId></Dialog>"), "callId");
    invalid(
        dialog(
            "<Dialog><requestedAction>MAKE_CALL</requestedAction><fromAddress>1</fromAddress><toAddress>2</toAddress><mediaProperties/></Dialog>",
        ),
        "mediaProperties",
    );
    invalid(dialog("<User><state>READY</state></User>"), "User");
    invalid(
        dialog("<Dialog><requestedAction>MAKE_CALL</requestedAction><fromAddress>10 01</fromAddress><toAddress>2</toAddress></Dialog>"),
        "10 01",
    );
    invalid(dialog("<Dialog><requestedAction>HOLD</requestedAction><targetMediaAddress>10 01</targetMediaAddress></Dialog>"), "10 01");
    let long = "1".repeat(65);
    invalid(
        dialog(&format!(
            "<Dialog><requestedAction>MAKE_CALL</requestedAction><fromAddress>1</fromAddress><toAddress>{long}</toAddress></Dialog>"
        )),
        &long,
    );
}

// ---- ClientLog ----

#[test]
fn client_log_parses_and_limits() {
    assert_eq!(client_log(b"<ClientLog><logData>line 1\nline 2 </logData></ClientLog>"), Ok("line 1\nline 2 ".into()));
    assert_eq!(client_log(b"<ClientLog><logData/></ClientLog>"), Ok(String::new()));
    missing(client_log(b"<ClientLog/>"), "logData");
    invalid(client_log(b"<ClientLog><logData>a</logData><other/></ClientLog>"), "other");
    invalid(client_log(b"<ClientLog><logData><b>x</b></logData></ClientLog>"), "logData");
    // Exactly the limit in characters (multi-byte ones count once) is accepted; one more is not.
    let at_limit = format!("<ClientLog><logData>{}</logData></ClientLog>", "\u{e9}".repeat(MAX_LOG_CHARS));
    assert_eq!(client_log(at_limit.as_bytes()).map(|t| t.chars().count()), Ok(MAX_LOG_CHARS));
    let over = format!("<ClientLog><logData>{}</logData></ClientLog>", "a".repeat(MAX_LOG_CHARS + 1));
    invalid(client_log(over.as_bytes()), &(MAX_LOG_CHARS + 1).to_string());
}

// ---- properties ----

fn el(name: &str) -> Element {
    Element::new(name, "")
}

fn leaf(name: &str, text: &str) -> Element {
    el(name).with_text(text)
}

/// The body a client would send for `request` (what the parser must give back).
fn user_body(request: &UserRequest) -> Element {
    let (state, extra) = match request {
        UserRequest::Login { extension } => ("LOGIN", Some(leaf("extension", extension))),
        UserRequest::Ready => ("READY", None),
        UserRequest::NotReady { reason_code_id } => ("NOT_READY", reason_code_id.map(|id| leaf("reasonCodeId", &id.to_string()))),
        UserRequest::Logout { reason_code_id } => ("LOGOUT", reason_code_id.map(|id| leaf("reasonCodeId", &id.to_string()))),
    };
    let mut e = el("User").with_child(leaf("state", state));
    if let Some(x) = extra {
        e.push_child(x);
    }
    e
}

fn dialog_body(request: &DialogRequest) -> Element {
    let mut e = el("Dialog");
    let target = match request {
        DialogRequest::MakeCall { from, to } => {
            e.push_child(leaf("requestedAction", "MAKE_CALL"));
            e.push_child(leaf("fromAddress", from));
            e.push_child(leaf("toAddress", to));
            return e;
        }
        DialogRequest::Action { action, target } => {
            e.push_child(leaf("requestedAction", action.name()));
            match action {
                CallAction::ConsultCall { to } => e.push_child(leaf("toAddress", to)),
                CallAction::SendDtmf { digits } => e.push_child(
                    el("actionParams")
                        .with_child(el("ActionParam").with_child(leaf("name", "dtmfString")).with_child(leaf("value", digits))),
                ),
                CallAction::UpdateCallData { variables, wrap_up_reason } => {
                    let mut props = el("mediaProperties");
                    if let Some(r) = wrap_up_reason {
                        props.push_child(leaf("wrapUpReason", r));
                    }
                    let mut vars = el("callvariables");
                    for (n, v) in variables {
                        vars.push_child(el("CallVariable").with_child(leaf("name", n)).with_child(leaf("value", v)));
                    }
                    props.push_child(vars);
                    e.push_child(props);
                }
                _ => {}
            }
            target
        }
    };
    if let Some(t) = target {
        e.push_child(leaf("targetMediaAddress", t));
    }
    e
}

fn address() -> impl Strategy<Value = String> {
    "[0-9+*#A-Za-z._-]{1,64}"
}

fn xml_text() -> impl Strategy<Value = String> {
    // Any characters XML 1.0 allows, markup characters included (the writer escapes them).
    proptest::collection::vec(any::<char>().prop_filter("XML 1.0 Char", |c| herald_xml::is_xml_char(*c) && *c != '\r'), 0..40)
        .prop_map(|v| v.into_iter().collect())
}

fn user_requests() -> impl Strategy<Value = UserRequest> {
    prop_oneof![
        address().prop_map(|extension| UserRequest::Login { extension }),
        Just(UserRequest::Ready),
        proptest::option::of(any::<u32>()).prop_map(|reason_code_id| UserRequest::NotReady { reason_code_id }),
        proptest::option::of(any::<u32>()).prop_map(|reason_code_id| UserRequest::Logout { reason_code_id }),
    ]
}

fn dialog_requests() -> impl Strategy<Value = DialogRequest> {
    let target = proptest::option::of(address());
    let simple = prop_oneof![
        Just(CallAction::Answer),
        Just(CallAction::Hold),
        Just(CallAction::Retrieve),
        Just(CallAction::Drop),
        Just(CallAction::Transfer),
        Just(CallAction::Conference),
        "[0-9*#A-D]{1,32}".prop_map(|digits| CallAction::SendDtmf { digits }),
        (proptest::collection::btree_map("[a-zA-Z0-9.]{1,20}", xml_text(), 0..12), proptest::option::of(xml_text()))
            .prop_filter("something to update", |(v, r)| !v.is_empty() || r.is_some())
            .prop_map(|(v, wrap_up_reason)| CallAction::UpdateCallData { variables: v.into_iter().collect(), wrap_up_reason }),
    ];
    prop_oneof![
        (address(), address()).prop_filter("distinct", |(f, t)| f != t).prop_map(|(from, to)| DialogRequest::MakeCall { from, to }),
        (simple, target).prop_map(|(action, target)| DialogRequest::Action { action, target }),
        (address(), address()).prop_map(|(to, t)| DialogRequest::Action { action: CallAction::ConsultCall { to }, target: Some(t) }),
    ]
}

fn is_400(e: &ApiError) -> bool {
    e.status == 400 && !e.error_type.is_empty()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        for result in [user_request(&body).err(), dialog_request(&body).err(), client_log(&body).err()].into_iter().flatten() {
            prop_assert!(is_400(&result), "{result:?}");
        }
    }

    #[test]
    fn markup_soup_never_panics(parts in proptest::collection::vec(prop_oneof![
        Just("<User>"), Just("</User>"), Just("<Dialog>"), Just("</Dialog>"), Just("<ClientLog>"), Just("</ClientLog>"),
        Just("<state>"), Just("</state>"), Just("READY"), Just("LOGIN"), Just("<extension>"), Just("</extension>"),
        Just("<requestedAction>"), Just("</requestedAction>"), Just("SEND_DTMF"), Just("<actionParams>"), Just("<ActionParam>"),
        Just("<name>"), Just("</name>"), Just("<value>"), Just("</value>"), Just("dtmfString"), Just("<logData>"), Just("</logData>"),
        Just("<mediaProperties>"), Just("<callvariables>"), Just("<CallVariable>"), Just("&#x1;"), Just("&amp;"), Just("<?xml version='1.0'?>"),
        Just("1001"), Just(" "), Just("<x/>"),
    ], 0..30)) {
        let body = parts.concat();
        for result in [user_request(body.as_bytes()).err(), dialog_request(body.as_bytes()).err(), client_log(body.as_bytes()).err()].into_iter().flatten() {
            prop_assert!(is_400(&result), "{result:?}");
        }
    }

    #[test]
    fn user_requests_round_trip(request in user_requests(), decl in any::<bool>()) {
        let mut body = if decl { "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n".to_owned() } else { String::new() };
        body.push_str(&user_body(&request).to_xml());
        prop_assert_eq!(user_request(body.as_bytes()), Ok(request));
    }

    #[test]
    fn dialog_requests_round_trip(request in dialog_requests()) {
        let body = dialog_body(&request).to_xml();
        prop_assert_eq!(dialog_request(body.as_bytes()), Ok(request));
    }

    #[test]
    fn client_logs_round_trip(text in xml_text()) {
        let body = el("ClientLog").with_child(leaf("logData", &text)).to_xml();
        prop_assert_eq!(client_log(body.as_bytes()), Ok(text));
    }

    #[test]
    fn a_character_outside_xml_is_refused(
        request in dialog_requests(),
        bad in any::<char>().prop_filter("outside XML 1.0", |c| !herald_xml::is_xml_char(*c)),
        as_reference in any::<bool>(),
        at in any::<prop::sample::Index>(),
    ) {
        // Put the character (or its reference) into any text of a valid body.
        let body = dialog_body(&request).to_xml();
        let spots: Vec<usize> = body.match_indices("</").map(|(i, _)| i).collect();
        let spot = spots[at.index(spots.len())];
        let inserted = if as_reference { format!("&#x{:X};", u32::from(bad)) } else { bad.to_string() };
        let bad_body = format!("{}{}{}", &body[..spot], inserted, &body[spot..]);
        let e = dialog_request(bad_body.as_bytes()).expect_err("refused");
        prop_assert_eq!((e.status, e.error_type.as_str()), (400, "Invalid Input"));
    }

    #[test]
    fn surrogate_references_are_refused(cp in 0xD800u32..=0xDFFF) {
        let body = format!("<ClientLog><logData>&#x{cp:X};</logData></ClientLog>");
        let e = client_log(body.as_bytes()).expect_err("refused");
        prop_assert_eq!(e.status, 400);
    }
}

#[test]
fn epoch_type_is_exported() {
    let _: EpochMs = 0;
}

#[test]
fn fuzz_corpus_replays() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/rest_body");
    let mut replayed = 0;
    for entry in std::fs::read_dir(dir).expect("corpus directory") {
        let path = entry.expect("corpus entry").path();
        herald_cc::fuzzing::rest_body(&std::fs::read(&path).expect("corpus file"));
        replayed += 1;
    }
    assert!(replayed >= 8, "{replayed}");
}

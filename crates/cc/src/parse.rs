//! REST request bodies: `<User>` state changes, `<Dialog>` requests, `<ClientLog>`. Strict:
//! malformed or oversized XML, characters outside XML 1.0 (raw or as character references),
//! namespaces, attributes, unknown or repeated elements, a missing required element ⇒ an
//! [`ApiError`] (400) and nothing changes. An optional XML declaration is accepted; white space
//! between elements is ignored and scalar values are trimmed (call data and log text are not).

use std::collections::BTreeMap;

use herald_cti::CallAction;
use herald_xml::{Element, Limits, parse_document};

use crate::ApiError;

/// Largest body accepted (the ClientLog limit of 1,048,576 characters, up to 4 bytes each,
/// plus markup).
pub const MAX_BODY_BYTES: usize = 4 * 1_048_576 + 4096;

/// Most elements a body may hold (a Dialog with a few dozen call variables needs about 100).
pub const MAX_ELEMENTS: usize = 300;

/// Longest `logData` accepted, in characters (finesse-domain.md §1.9).
pub const MAX_LOG_CHARS: usize = 1_048_576;

/// Longest DTMF string accepted (the CTI `SendDTMFSignal` limit).
pub const MAX_DTMF_CHARS: usize = 32;

/// Longest address (extension, dialled number) accepted.
pub const MAX_ADDRESS_CHARS: usize = 64;

/// Nesting a body may have: `Dialog/mediaProperties/callvariables/CallVariable/value` is 5.
const MAX_DEPTH: usize = 8;

/// A `PUT User/{id}` body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserRequest {
    /// `<state>LOGIN</state><extension>…</extension>`.
    Login {
        /// The extension.
        extension: String,
    },
    /// `<state>READY</state>`.
    Ready,
    /// `<state>NOT_READY</state>[<reasonCodeId>…</reasonCodeId>]`.
    NotReady {
        /// The reason code's id.
        reason_code_id: Option<u32>,
    },
    /// `<state>LOGOUT</state>[<reasonCodeId>…</reasonCodeId>]`.
    Logout {
        /// The reason code's id.
        reason_code_id: Option<u32>,
    },
}

/// A `PUT Dialog/{id}` or `POST User/{id}/Dialogs` body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DialogRequest {
    /// `MAKE_CALL` with `fromAddress` and `toAddress`.
    MakeCall {
        /// The caller's extension.
        from: String,
        /// The number dialled.
        to: String,
    },
    /// Any other `requestedAction`, with `targetMediaAddress` (the acting agent's extension).
    Action {
        /// The action.
        action: CallAction,
        /// `targetMediaAddress`.
        target: Option<String>,
    },
}

/// Parses a `<User>` state change.
pub fn user_request(body: &[u8]) -> Result<UserRequest, ApiError> {
    let root = document(body, "User")?;
    let fields = children(&root, &["state", "extension", "reasonCodeId"])?;
    let state = required_scalar(&fields, "state")?;
    let request = match state.as_str() {
        "LOGIN" => {
            only(&fields, &["state", "extension"], &state)?;
            UserRequest::Login { extension: address(&fields, "extension")?.ok_or_else(|| ApiError::parameter_missing("extension"))? }
        }
        "READY" => {
            only(&fields, &["state"], &state)?;
            UserRequest::Ready
        }
        "NOT_READY" => {
            only(&fields, &["state", "reasonCodeId"], &state)?;
            UserRequest::NotReady { reason_code_id: reason_code_id(&fields)? }
        }
        "LOGOUT" => {
            only(&fields, &["state", "reasonCodeId"], &state)?;
            UserRequest::Logout { reason_code_id: reason_code_id(&fields)? }
        }
        _ => return Err(ApiError::invalid_input("Invalid state", state)),
    };
    Ok(request)
}

/// Parses a `<Dialog>` request.
pub fn dialog_request(body: &[u8]) -> Result<DialogRequest, ApiError> {
    let root = document(body, "Dialog")?;
    let fields =
        children(&root, &["requestedAction", "fromAddress", "toAddress", "targetMediaAddress", "actionParams", "mediaProperties"])?;
    let name = required_scalar(&fields, "requestedAction")?;
    let simple = |action: CallAction| -> Result<DialogRequest, ApiError> {
        only(&fields, &["requestedAction", "targetMediaAddress"], &name)?;
        Ok(DialogRequest::Action { action, target: address(&fields, "targetMediaAddress")? })
    };
    match name.as_str() {
        "MAKE_CALL" => {
            only(&fields, &["requestedAction", "fromAddress", "toAddress"], &name)?;
            let from = address(&fields, "fromAddress")?.ok_or_else(|| ApiError::parameter_missing("fromAddress"))?;
            let to = address(&fields, "toAddress")?.ok_or_else(|| ApiError::parameter_missing("toAddress"))?;
            if from == to {
                return Err(ApiError::invalid_destination(to));
            }
            Ok(DialogRequest::MakeCall { from, to })
        }
        "ANSWER" => simple(CallAction::Answer),
        "HOLD" => simple(CallAction::Hold),
        "RETRIEVE" => simple(CallAction::Retrieve),
        "DROP" => simple(CallAction::Drop),
        "TRANSFER" => simple(CallAction::Transfer),
        "CONFERENCE" => simple(CallAction::Conference),
        "CONSULT_CALL" => {
            only(&fields, &["requestedAction", "toAddress", "targetMediaAddress"], &name)?;
            let to = address(&fields, "toAddress")?.ok_or_else(|| ApiError::parameter_missing("toAddress"))?;
            let target = address(&fields, "targetMediaAddress")?.ok_or_else(|| ApiError::parameter_missing("targetMediaAddress"))?;
            Ok(DialogRequest::Action { action: CallAction::ConsultCall { to }, target: Some(target) })
        }
        "SEND_DTMF" => {
            only(&fields, &["requestedAction", "targetMediaAddress", "actionParams"], &name)?;
            let params = fields.get("actionParams").ok_or_else(|| ApiError::parameter_missing("actionParams"))?;
            Ok(DialogRequest::Action {
                action: CallAction::SendDtmf { digits: dtmf(params)? },
                target: address(&fields, "targetMediaAddress")?,
            })
        }
        "UPDATE_CALL_DATA" => {
            only(&fields, &["requestedAction", "targetMediaAddress", "mediaProperties"], &name)?;
            let props = fields.get("mediaProperties").ok_or_else(|| ApiError::parameter_missing("mediaProperties"))?;
            let (variables, wrap_up_reason) = media_properties(props)?;
            Ok(DialogRequest::Action {
                action: CallAction::UpdateCallData { variables, wrap_up_reason },
                target: address(&fields, "targetMediaAddress")?,
            })
        }
        _ => Err(ApiError::invalid_input("Unsupported requestedAction", name)),
    }
}

/// Parses a `<ClientLog><logData>…</logData></ClientLog>` and returns the text (≤ 1,048,576
/// characters).
pub fn client_log(body: &[u8]) -> Result<String, ApiError> {
    let root = document(body, "ClientLog")?;
    let fields = children(&root, &["logData"])?;
    let data = fields.get("logData").ok_or_else(|| ApiError::parameter_missing("logData"))?;
    let text = text_only(data)?;
    let chars = text.chars().count();
    if chars > MAX_LOG_CHARS {
        return Err(ApiError::invalid_input(format!("logData is longer than {MAX_LOG_CHARS} characters"), chars.to_string()));
    }
    Ok(text)
}

/// Parses `body` as one document whose root is `<{root}>`, and checks the whole tree: no
/// namespace, no attribute, not too many elements.
fn document(body: &[u8], root: &str) -> Result<Element, ApiError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::invalid_input(format!("The request body is larger than {MAX_BODY_BYTES} bytes"), body.len().to_string()));
    }
    // Every element starts with `<` and a name; counting those first bounds what the parser
    // would build (a CDATA section full of tags can be refused here: a documented limit).
    let starts = body.windows(2).filter(|w| matches!(w, [b'<', c] if c.is_ascii_alphabetic() || matches!(c, b'_' | b':') || *c >= 0x80));
    if starts.count() > MAX_ELEMENTS {
        return Err(too_many_elements());
    }
    let limits = Limits { max_stanza_bytes: MAX_BODY_BYTES, max_depth: MAX_DEPTH, max_token_bytes: MAX_BODY_BYTES, max_attributes: 16 };
    let element = parse_document(body, limits).map_err(|e| ApiError::invalid_input("The request body is not valid XML", e.to_string()))?;
    let mut count = 0;
    check_tree(&element, &mut count)?;
    if element.name != root {
        return Err(ApiError::invalid_input(format!("The request body must be a {root} element"), element.name));
    }
    Ok(element)
}

fn too_many_elements() -> ApiError {
    ApiError::invalid_input(format!("The request body has more than {MAX_ELEMENTS} elements"), "")
}

fn check_tree(element: &Element, count: &mut usize) -> Result<(), ApiError> {
    *count += 1;
    if *count > MAX_ELEMENTS {
        return Err(too_many_elements());
    }
    if !element.ns.is_empty() {
        return Err(ApiError::invalid_input("Namespaces are not allowed in the request body", element.ns.clone()));
    }
    if let Some(attr) = element.attrs.first() {
        return Err(ApiError::invalid_input("Attributes are not allowed in the request body", attr.name.clone()));
    }
    element.elements().try_for_each(|child| check_tree(child, count))
}

/// The child elements of `parent` by name, each allowed and at most once; text between them
/// must be white space.
fn children<'a>(parent: &'a Element, allowed: &[&str]) -> Result<BTreeMap<&'a str, &'a Element>, ApiError> {
    if !parent.text().chars().all(char::is_whitespace) {
        return Err(ApiError::invalid_input(format!("{} must hold elements, not text", parent.name), parent.name.clone()));
    }
    let mut map = BTreeMap::new();
    for child in parent.elements() {
        if !allowed.contains(&child.name.as_str()) {
            return Err(ApiError::invalid_input(format!("Unknown element {} in {}", child.name, parent.name), child.name.clone()));
        }
        if map.insert(child.name.as_str(), child).is_some() {
            return Err(ApiError::invalid_input(format!("Element {} appears more than once", child.name), child.name.clone()));
        }
    }
    Ok(map)
}

/// Refuses any present element not in `allowed` for this state or action.
fn only(fields: &BTreeMap<&str, &Element>, allowed: &[&str], what: &str) -> Result<(), ApiError> {
    match fields.keys().find(|k| !allowed.contains(k)) {
        Some(extra) => Err(ApiError::invalid_input(format!("Element {extra} is not allowed with {what}"), *extra)),
        None => Ok(()),
    }
}

/// The text of an element that must hold no elements, untrimmed.
fn text_only(element: &Element) -> Result<String, ApiError> {
    if element.elements().next().is_some() {
        return Err(ApiError::invalid_input(format!("{} must hold text only", element.name), element.name.clone()));
    }
    Ok(element.text())
}

/// The trimmed text of an element that must hold no elements.
fn scalar(element: &Element) -> Result<String, ApiError> {
    text_only(element).map(|t| t.trim().to_owned())
}

/// A scalar that must be present and non-empty.
fn required_scalar(fields: &BTreeMap<&str, &Element>, name: &str) -> Result<String, ApiError> {
    let value = fields.get(name).map(|e| scalar(e)).transpose()?.unwrap_or_default();
    if value.is_empty() { Err(ApiError::parameter_missing(name)) } else { Ok(value) }
}

/// An optional address: absent or empty is `None`; otherwise at most [`MAX_ADDRESS_CHARS`].
/// Extensions (`extension`, `fromAddress`, `targetMediaAddress`) hold no white space; a dialled
/// `toAddress` may hold any character, as Finesse passes it on unchanged ("(555) 123-4567").
fn address(fields: &BTreeMap<&str, &Element>, name: &str) -> Result<Option<String>, ApiError> {
    let Some(value) = fields.get(name).map(|e| scalar(e)).transpose()? else { return Ok(None) };
    if value.is_empty() {
        return Ok(None);
    }
    let dialled = name == "toAddress";
    if value.chars().count() > MAX_ADDRESS_CHARS || (!dialled && value.chars().any(char::is_whitespace)) {
        return Err(ApiError::invalid_input(format!("Invalid {name}"), value));
    }
    Ok(Some(value))
}

/// `reasonCodeId`: absent, empty or -1 (what documents show for none) is `None`.
fn reason_code_id(fields: &BTreeMap<&str, &Element>) -> Result<Option<u32>, ApiError> {
    let Some(value) = fields.get("reasonCodeId").map(|e| scalar(e)).transpose()? else { return Ok(None) };
    if value.is_empty() || value == "-1" {
        return Ok(None);
    }
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::invalid_input("Invalid reasonCodeId", value));
    }
    value.parse().map(Some).map_err(|_| ApiError::invalid_input("Invalid reasonCodeId", value))
}

/// `<actionParams><ActionParam><name>dtmfString</name><value>…</value></ActionParam></actionParams>`.
fn dtmf(params: &Element) -> Result<String, ApiError> {
    let fields = children(params, &["ActionParam"])?;
    let param = fields.get("ActionParam").ok_or_else(|| ApiError::parameter_missing("ActionParam"))?;
    let (name, value) = name_value(param)?;
    if name != "dtmfString" {
        return Err(ApiError::invalid_input("Unknown ActionParam", name));
    }
    let digits = value.trim().to_owned();
    if digits.is_empty() {
        return Err(ApiError::parameter_missing("dtmfString"));
    }
    if digits.chars().count() > MAX_DTMF_CHARS || !digits.chars().all(|c| c.is_ascii_digit() || matches!(c, '*' | '#' | 'A'..='D')) {
        return Err(ApiError::invalid_input("Invalid dtmfString", digits));
    }
    Ok(digits)
}

/// A `<name/><value/>` pair (ActionParam, CallVariable): the name trimmed and required, the
/// value as sent (it may be empty).
fn name_value(element: &Element) -> Result<(String, String), ApiError> {
    let fields = children(element, &["name", "value"])?;
    let name = required_scalar(&fields, "name")?;
    let value = fields.get("value").ok_or_else(|| ApiError::parameter_missing("value")).and_then(|v| text_only(v))?;
    Ok((name, value))
}

type CallData = (Vec<(String, String)>, Option<String>);

/// UPDATE_CALL_DATA's `<mediaProperties>`: `wrapUpReason` and/or `callvariables`.
fn media_properties(props: &Element) -> Result<CallData, ApiError> {
    let fields = children(props, &["wrapUpReason", "callvariables"])?;
    if fields.is_empty() {
        return Err(ApiError::parameter_missing("callvariables"));
    }
    let wrap_up_reason = fields.get("wrapUpReason").map(|e| text_only(e)).transpose()?;
    let mut variables: Vec<(String, String)> = Vec::new();
    if let Some(vars) = fields.get("callvariables") {
        if !vars.text().chars().all(char::is_whitespace) {
            return Err(ApiError::invalid_input("callvariables must hold elements, not text", "callvariables"));
        }
        for var in vars.elements() {
            if var.name != "CallVariable" {
                return Err(ApiError::invalid_input(format!("Unknown element {} in callvariables", var.name), var.name.clone()));
            }
            let (name, value) = name_value(var)?;
            if variables.iter().any(|(n, _)| *n == name) {
                return Err(ApiError::invalid_input("CallVariable appears more than once", name));
            }
            variables.push((name, value));
        }
    }
    Ok((variables, wrap_up_reason))
}

//! Contact-center test support: a [`TestServer`] with the Finesse REST listener on
//! `127.0.0.1:0` and a test scenario (no random call arrivals), an HTTPS REST client with HTTP
//! Basic, the simulator's call-injection endpoint, and a reader for the `<Update>` documents that
//! Finesse notifications carry as escaped text.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, bail};
use base64::Engine;
use herald::Config;

use crate::http::{HttpReply, https_request_to};
use crate::{BoshClient, RawClient, TestServer, WAIT};

/// The scenario the contact-center tests run ([`test_scenario`] adds agents 1001–1010): the
/// sample's teams, queues and reason codes (passwords `herald-demo`), plus team 3 with agent 1011
/// and supervisor 2002 so that supervisor 2001 has a team it does not supervise; no call arrives
/// unless injected, a customer stays on the line for ten minutes and an unanswered call rings for
/// a minute, so a test drives every step itself.
pub const TEST_SCENARIO_BASE: &str = r#"
[contact_center]
deployment_type = "UCCE"

[[teams]]
id = "1"
name = "Sales"

[[teams]]
id = "2"
name = "Support"

[[teams]]
id = "3"
name = "Billing"

[[queues]]
id = "100"
name = "Sales"
teams = ["1"]
dialed_number = "8100"
calls_per_hour = 0.0

[[queues]]
id = "200"
name = "Support"
teams = ["2"]
dialed_number = "8200"
calls_per_hour = 0.0

[[queues]]
id = "300"
name = "VIP"
teams = ["1", "2"]
dialed_number = "8300"
calls_per_hour = 0.0

[[reason_codes]]
id = 1
category = "NOT_READY"
code = 10
label = "Break"
for_all = true
system = false

[[reason_codes]]
id = 2
category = "NOT_READY"
code = 11
label = "Lunch"
for_all = true
system = false

[[reason_codes]]
id = 3
category = "NOT_READY"
code = 12
label = "Meeting"
for_all = true
system = false

[[reason_codes]]
id = 4
category = "NOT_READY"
code = 13
label = "Training"
for_all = true
system = false

[[reason_codes]]
id = 5
category = "LOGOUT"
code = 20
label = "End of shift"
for_all = true
system = false

[[reason_codes]]
id = 255
category = "LOGOUT"
code = 255
label = "Forced logout"
for_all = true
system = true

[[reason_codes]]
id = 256
category = "NOT_READY"
code = 255
label = "Desktop disconnected"
for_all = true
system = true

[[users]]
login_id = "1011"
password = "herald-demo"
role = "agent"
team = "3"
extension = "1011"
first_name = "Ada"
last_name = "Byron"

[[users]]
login_id = "2001"
password = "herald-demo"
role = "supervisor"
team = "1"
extension = "2001"
first_name = "Grace"
last_name = "Hopper"
supervises = ["1", "2"]

[[users]]
login_id = "2002"
password = "herald-demo"
role = "supervisor"
team = "3"
extension = "2002"
first_name = "Alan"
last_name = "Turing"
supervises = ["3"]

[simulator]
seed = 7
talk_time_secs = [600, 600]
wrap_up_secs = 1
ring_no_answer_secs = 60
outside_answer_secs = [2, 2]
"#;

/// [`TEST_SCENARIO_BASE`] with agents 1001–1005 in team 1 and 1006–1010 in team 2, each with
/// its login id as extension and a first and last name.
pub fn test_scenario() -> String {
    let mut text = TEST_SCENARIO_BASE.to_owned();
    let names = [
        ("Chris", "Smith"),
        ("Dana", "Jones"),
        ("Eli", "Brown"),
        ("Fay", "Garcia"),
        ("Gus", "Miller"),
        ("Hana", "Davis"),
        ("Ivo", "Lopez"),
        ("Jo", "Wilson"),
        ("Kai", "Moore"),
        ("Lea", "Taylor"),
    ];
    for (n, (first, last)) in names.iter().enumerate() {
        let id = 1001 + n;
        let team = if id <= 1005 { 1 } else { 2 };
        text.push_str(&format!(
            "\n[[users]]\nlogin_id = \"{id}\"\npassword = \"herald-demo\"\nrole = \"agent\"\nteam = \"{team}\"\nextension = \"{id}\"\nfirst_name = \"{first}\"\nlast_name = \"{last}\"\n"
        ));
    }
    text
}

/// The demo password of every user in [`TEST_SCENARIO`] and the sample.
pub const DEMO_PASSWORD: &str = "herald-demo";

/// Credentials for [`TestServer::rest`]: HTTP Basic, or none at all.
#[derive(Clone, Copy, Debug)]
pub enum Auth<'a> {
    /// No `Authorization` header.
    None,
    /// `Authorization: Basic base64(user:password)`.
    Basic(&'a str, &'a str),
}

impl Auth<'_> {
    /// The `Authorization` header value, if any.
    pub fn header(&self) -> Option<String> {
        match self {
            Self::None => None,
            Self::Basic(user, password) => {
                Some(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))))
            }
        }
    }
}

/// Turns the REST listener on at `127.0.0.1:0` and points the contact center at a scenario file
/// written into `data_dir` with `scenario` (`None`: leave the server's default, the sample).
pub fn enable_cc(config: &mut Config, scenario: Option<&str>) -> anyhow::Result<()> {
    config.listen.api = Some("127.0.0.1:0".parse()?);
    if let Some(text) = scenario {
        let path = config.data_dir.join("cc-test-scenario.toml");
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        config.cc.scenario = Some(path);
    }
    Ok(())
}

impl TestServer {
    /// Starts a server with the REST listener and [`test_scenario`], after `adjust`.
    pub async fn start_cc(adjust: impl FnOnce(&mut Config)) -> anyhow::Result<Self> {
        let mut failed = None;
        let server = Self::start_with(|config| {
            failed = enable_cc(config, Some(&test_scenario())).err();
            adjust(config);
        })
        .await?;
        if let Some(err) = failed {
            return Err(err);
        }
        server.wait_api().await?;
        Ok(server)
    }

    /// Waits until the REST listener answers (any status): the server applies the scenario and
    /// starts the contact center before it serves the API, so the scenario's accounts exist
    /// from then on.
    pub async fn wait_api(&self) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match self.rest("GET", "/finesse/api/SystemInfo", Auth::None, &[], Vec::new()).await {
                Ok(_) => return Ok(()),
                Err(err) if tokio::time::Instant::now() >= deadline => return Err(err.context("the REST listener never answered")),
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// The REST listener's address, when the configuration turned it on.
    pub fn api_addr(&self) -> Option<SocketAddr> {
        self.api
    }

    /// One REST request over HTTPS to the API listener, with `auth` and extra `headers`.
    pub async fn rest(
        &self,
        method: &str,
        path: &str,
        auth: Auth<'_>,
        headers: &[(&str, &str)],
        body: impl Into<Vec<u8>>,
    ) -> anyhow::Result<HttpReply> {
        self.rest_from(None, method, path, auth, headers, body).await
    }

    /// [`TestServer::rest`] from the loopback address `source` (the lock-out is per address).
    pub async fn rest_from(
        &self,
        source: Option<IpAddr>,
        method: &str,
        path: &str,
        auth: Auth<'_>,
        headers: &[(&str, &str)],
        body: impl Into<Vec<u8>>,
    ) -> anyhow::Result<HttpReply> {
        let addr = self.api.context("the test server has no REST listener (start it with start_cc)")?;
        let authorization = auth.header();
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if let Some(value) = &authorization {
            all.push(("authorization", value));
        }
        https_request_to(self, addr, source, method, path, &all, body.into()).await
    }

    /// Sends a request whose body is `prefix` then `fill` up to `body_len` bytes to the REST listener over raw
    /// TLS, writing the body while reading the answer, so a server that refuses an oversized
    /// body early (without reading it) is heard rather than seen as a broken pipe. Returns the
    /// raw HTTP response (head and body).
    #[allow(clippy::too_many_arguments)]
    pub async fn rest_streamed(
        &self,
        method: &str,
        path: &str,
        auth: Auth<'_>,
        headers: &[(&str, &str)],
        prefix: &[u8],
        fill: u8,
        body_len: usize,
    ) -> anyhow::Result<String> {
        use tokio::io::AsyncWriteExt;
        let addr = self.api.context("the test server has no REST listener (start it with start_cc)")?;
        let tcp = tokio::net::TcpStream::connect(addr).await?;
        let tls = self.tls_connect(tcp).await?;
        let (mut reader, mut writer) = tokio::io::split(tls);
        let mut head = format!("{method} {path} HTTP/1.1\r\nhost: localhost:{}\r\ncontent-length: {body_len}\r\n", addr.port());
        if let Some(value) = auth.header() {
            head.push_str(&format!("authorization: {value}\r\n"));
        }
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let prefix = prefix[..prefix.len().min(body_len)].to_vec();
        let writing = tokio::spawn(async move {
            writer.write_all(head.as_bytes()).await?;
            writer.write_all(&prefix).await?;
            let chunk = vec![fill; 64 * 1024];
            let mut left = body_len - prefix.len();
            while left > 0 {
                let n = left.min(chunk.len());
                writer.write_all(&chunk[..n]).await?;
                left -= n;
            }
            writer.flush().await?;
            // Keep the write half open until the answer has been read.
            std::future::pending::<()>().await;
            Ok::<_, std::io::Error>(writer)
        });
        let mut got = Vec::new();
        let answer = tokio::time::timeout(WAIT, crate::http::read_http_response(&mut reader, &mut got)).await;
        writing.abort();
        answer.context("no answer to the streamed request")?
    }

    /// `PUT` of an XML document as `user`, with a `requestId` header when given.
    pub async fn rest_put(&self, path: &str, user: &str, request_id: Option<&str>, xml: &str) -> anyhow::Result<HttpReply> {
        let mut headers = vec![("content-type", "application/xml")];
        if let Some(id) = request_id {
            headers.push(("requestId", id));
        }
        self.rest("PUT", path, Auth::Basic(user, DEMO_PASSWORD), &headers, xml).await
    }

    /// `GET` as `user` with the demo password.
    pub async fn rest_get(&self, path: &str, user: &str) -> anyhow::Result<HttpReply> {
        self.rest("GET", path, Auth::Basic(user, DEMO_PASSWORD), &[], Vec::new()).await
    }

    /// The simulator endpoint's bearer token, which the server wrote to `<data_dir>/sim.token`.
    pub fn sim_token(&self) -> anyhow::Result<String> {
        let path = self.data_dir.path().join(herald::sim_client::TOKEN_FILE);
        let path = if path.is_relative() { self.data_dir.path().join(path) } else { path };
        Ok(std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?.trim().to_owned())
    }

    /// Injects a call into `queue` through `POST /herald/sim/call`; returns the answer (202 with
    /// `<Call><id>…</id></Call>` when accepted).
    pub async fn inject_call(&self, queue: &str, from: Option<&str>, variables: &[(&str, &str)]) -> anyhow::Result<HttpReply> {
        let mut query = format!("queue={}", percent_encode(queue));
        if let Some(ani) = from {
            query.push_str(&format!("&from={}", percent_encode(ani)));
        }
        for (name, value) in variables {
            query.push_str(&format!("&var={}", percent_encode(&format!("{name}={value}"))));
        }
        let bearer = format!("Bearer {}", self.sim_token()?);
        let addr = self.api.context("the test server has no REST listener")?;
        https_request_to(self, addr, None, "POST", &format!("/herald/sim/call?{query}"), &[("authorization", &bearer)], Vec::new()).await
    }
}

/// Where a test gathers the Updates a client received: everything read so far, and the
/// Updates parsed from it, in order.
#[derive(Debug, Default)]
pub struct Received {
    /// Every byte of text received (stanzas), for failure messages.
    pub text: String,
    /// The Updates found in it.
    pub updates: Vec<Update>,
}

impl Received {
    fn absorb(&mut self, chunk: &str) {
        self.text.push_str(chunk);
        self.updates = updates(&self.text);
    }

    /// The first Update that `matches`, if one arrived.
    pub fn find(&self, matches: impl Fn(&Update) -> bool) -> Option<&Update> {
        self.updates.iter().find(|u| matches(u))
    }
}

impl RawClient {
    /// Reads until an Update that `matches` has arrived (within [`WAIT`]); returns a copy of it.
    /// Everything read is kept in `got`.
    pub async fn wait_update(&mut self, got: &mut Received, matches: impl Fn(&Update) -> bool) -> anyhow::Result<Update> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            got.absorb(&std::mem::take(&mut self.buffer));
            if let Some(u) = got.find(&matches) {
                return Ok(u.clone());
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                bail!("no matching Update within {WAIT:?}; received: {:#?}\nraw: {}", got.updates, got.text);
            }
            self.try_read(left.min(Duration::from_millis(200))).await;
        }
    }
}

impl BoshClient<'_> {
    /// Polls (empty requests, each held at most `wait`) until an Update that `matches` has
    /// arrived (within [`WAIT`]); returns a copy of it. Everything received is kept in `got`.
    pub async fn wait_update(&mut self, got: &mut Received, matches: impl Fn(&Update) -> bool) -> anyhow::Result<Update> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(u) = got.find(&matches) {
                return Ok(u.clone());
            }
            if tokio::time::Instant::now() >= deadline {
                bail!("no matching Update within {WAIT:?}; received: {:#?}\nraw: {}", got.updates, got.text);
            }
            let reply = tokio::time::timeout_at(deadline, self.send("")).await;
            match reply {
                Ok(reply) => {
                    let reply = reply?;
                    if reply.status != 200 || reply.body.contains("type='terminate'") || reply.body.contains("type=\"terminate\"") {
                        bail!("the BOSH session ended ({}): {}", reply.status, reply.body);
                    }
                    got.absorb(&reply.body);
                }
                Err(_) => bail!("no matching Update within {WAIT:?}; received: {:#?}\nraw: {}", got.updates, got.text),
            }
        }
    }
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
pub fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// One Finesse `<Update>` as a notification carried it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Update {
    /// The pubsub node the event came from (`items@node`).
    pub node: String,
    /// `POST`, `PUT` or `DELETE`.
    pub event: String,
    /// The request's `requestId`, empty for unsolicited events.
    pub request_id: String,
    /// The object URL the event is about.
    pub source: String,
    /// The `<data>` element's content, unescaped XML.
    pub data: String,
    /// The whole unescaped `<Update>` document.
    pub xml: String,
}

/// Every `<Update>` in `text` (stanzas as they arrived on any transport), in order: the text of
/// each `<notification>` is unescaped as the Cisco JS library does, then its fields are read.
pub fn updates(text: &str) -> Vec<Update> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("<notification") {
        let node = last_node_before(&rest[..at]).unwrap_or_default();
        let after = &rest[at..];
        let Some(open_end) = after.find('>') else { break };
        let Some(close) = after.find("</notification>") else { break };
        if open_end < close {
            let xml = unescape(&after[open_end + 1..close]);
            found.push(Update {
                node,
                event: element_text(&xml, "event").unwrap_or_default(),
                request_id: element_text(&xml, "requestId").unwrap_or_default(),
                source: element_text(&xml, "source").unwrap_or_default(),
                data: element_text(&xml, "data").unwrap_or_default(),
                xml,
            });
        }
        rest = &after[close + "</notification>".len()..];
    }
    found
}

fn last_node_before(text: &str) -> Option<String> {
    let at = text.rfind("<items")?;
    let attrs = &text[at..];
    let start = attrs.find("node=")? + "node=".len();
    let quote = attrs[start..].chars().next()?;
    let value = &attrs[start + 1..];
    Some(unescape(&value[..value.find(quote)?]))
}

/// The text between `<name>` and the matching `</name>` (first occurrence; `<name/>` is empty).
pub fn element_text(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let empty = format!("<{name}/>");
    let close = format!("</{name}>");
    match (xml.find(&open), xml.find(&empty)) {
        (Some(a), Some(b)) if b < a => Some(String::new()),
        (None, Some(_)) => Some(String::new()),
        (Some(a), _) => {
            let from = a + open.len();
            let to = xml[from..].find(&close)? + from;
            Some(xml[from..to].to_owned())
        }
        (None, None) => None,
    }
}

/// Replaces the five predefined entities and numeric character references.
pub fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        let Some(end) = after.find(';') else {
            out.push_str(after);
            return out;
        };
        let entity = &after[1..end];
        let replaced = match entity {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .map(|hex| u32::from_str_radix(hex, 16))
                .or_else(|| entity.strip_prefix('#').map(|dec| dec.parse::<u32>()))
                .and_then(Result::ok)
                .and_then(char::from_u32),
        };
        match replaced {
            Some(c) => {
                out.push(c);
                rest = &after[end + 1..];
            }
            None => {
                out.push('&');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_are_read_from_escaped_notifications() {
        let stanza = "<message from='pubsub.localhost'><event xmlns='http://jabber.org/protocol/pubsub#event'>\
            <items node='/finesse/api/User/1001'><item id='x'><notification xmlns='http://jabber.org/protocol/pubsub'>\
            &lt;Update&gt;&lt;data&gt;&lt;user&gt;&lt;state&gt;READY&lt;/state&gt;&lt;firstName&gt;A &amp;amp; B&lt;/firstName&gt;&lt;/user&gt;&lt;/data&gt;\
            &lt;event&gt;PUT&lt;/event&gt;&lt;requestId&gt;r-1&lt;/requestId&gt;&lt;source&gt;/finesse/api/User/1001&lt;/source&gt;&lt;/Update&gt;\
            </notification></item></items></event></message>";
        let got = updates(&format!("{stanza}{}", stanza.replace("r-1", "")));
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].node, "/finesse/api/User/1001");
        assert_eq!((got[0].event.as_str(), got[0].request_id.as_str()), ("PUT", "r-1"));
        assert_eq!(got[0].source, "/finesse/api/User/1001");
        assert_eq!(element_text(&got[0].data, "state").as_deref(), Some("READY"));
        assert_eq!(element_text(&got[0].data, "firstName").as_deref(), Some("A &amp; B"), "one level of escaping removed");
        assert_eq!(got[1].request_id, "");
    }

    #[test]
    fn element_text_handles_empty_and_missing() {
        assert_eq!(element_text("<a><b/></a>", "b").as_deref(), Some(""));
        assert_eq!(element_text("<a><b>x</b></a>", "b").as_deref(), Some("x"));
        assert_eq!(element_text("<a/>", "b"), None);
        assert_eq!(unescape("&#x41;&#66;&bogus;&"), "AB&bogus;&");
    }

    #[test]
    fn basic_auth_and_query_encoding() {
        assert_eq!(Auth::Basic("1001", "herald-demo").header().as_deref(), Some("Basic MTAwMTpoZXJhbGQtZGVtbw=="));
        assert_eq!(Auth::None.header(), None);
        assert_eq!(percent_encode("n=v é&"), "n%3Dv%20%C3%A9%26");
    }
}

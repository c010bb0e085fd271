//! A cluster under test: one PostgreSQL and one Redis of its own, and two or three `herald
//! serve` processes (nodes `a`, `b`, `c`) sharing them and one TLS certificate; plus what the
//! tests do against it (sign an agent in over TCP or BOSH, a REST request to one node, wait
//! for a log line on any node) and the nodes' log tails every failure message carries.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use herald_dbtest::{TempPostgres, TempRedis};
use herald_testkit::cc::{Received, element_text};
use herald_testkit::{Auth, BoshClient, DEMO_PASSWORD, Endpoint, HttpReply, RawClient, https_request_to};
use herald_tests::process::{HeraldProcess, free_port};

/// The log line of the node that won the `cti` lease and runs the contact center.
pub(crate) const LEADS: &str = "this node now drives the CTI side";

/// Agents added to the sample's ten (1001–1010) for the tests that need many desktops.
pub(crate) const EXTRA_AGENTS: std::ops::Range<u32> = 3001..3011;

/// Whether PostgreSQL and Redis are installed; prints "skipped" when not (a failure under CI).
fn available() -> bool {
    if TempPostgres::available() && TempRedis::available() {
        return true;
    }
    assert!(std::env::var_os("CI").is_none(), "the cluster tests need PostgreSQL 15 and redis-server under CI");
    eprintln!("skipped: needs PostgreSQL (initdb, pg_ctl) and redis-server");
    false
}

/// The sample scenario with [`EXTRA_AGENTS`] in team 2.
fn scenario() -> String {
    let sample = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenario/sample.toml")).unwrap_or_default();
    format!(
        "{sample}\n[[user_ranges]]\nprefix = \"\"\nstart = {}\ncount = {}\npassword = \"{DEMO_PASSWORD}\"\nrole = \"agent\"\nteam = 2\n",
        EXTRA_AGENTS.start,
        EXTRA_AGENTS.len()
    )
}

/// The nodes and the servers they share; every process is killed when dropped.
pub(crate) struct Cluster {
    /// Node id and process, in the order they were started.
    pub(crate) nodes: Vec<(String, HeraldProcess)>,
    /// Settings every node gets (store, Redis, lease, certificate, the test's own).
    shared: Vec<(&'static str, String)>,
    redis: TempRedis,
    _postgres: TempPostgres,
}

impl Cluster {
    /// [`Cluster::start`] when PostgreSQL and Redis are installed ([`available`]); `None` (the
    /// test is skipped) otherwise.
    pub(crate) fn up(ids: &[&str], extra: &[(&'static str, String)]) -> Option<Self> {
        available().then(|| Self::start(ids, extra).unwrap_or_else(|err| panic!("starting the cluster {ids:?}: {err:#}")))
    }

    /// Starts PostgreSQL, Redis and the nodes `ids`, in that order: the first is started alone
    /// and waited for until it drives the CTI side (so it leads and has written the scenario);
    /// the others then join with its certificate. `extra`: `HERALD_*` settings for every node.
    pub(crate) fn start(ids: &[&str], extra: &[(&'static str, String)]) -> anyhow::Result<Self> {
        let postgres = TempPostgres::start()?;
        let redis = TempRedis::start()?;
        let mut shared: Vec<(&'static str, String)> = vec![
            ("HERALD_STORE__BACKEND", "postgres".into()),
            ("HERALD_STORE__URL", postgres.new_database()?),
            ("HERALD_CLUSTER__REDIS", redis.url()),
            ("HERALD_CLUSTER__LEASE_SECS", "2".into()),
        ];
        shared.extend_from_slice(extra);
        let mut cluster = Self { nodes: Vec::new(), shared, redis, _postgres: postgres };
        for (i, id) in ids.iter().enumerate() {
            cluster.add(id)?;
            if i == 0 {
                cluster.wait_log(&[id], &[LEADS], Duration::from_secs(30))?;
                let tls = cluster.nodes[0].1.data.path().join("tls");
                cluster.shared.push(("HERALD_TLS__CERT", tls.join("cert.pem").display().to_string()));
                cluster.shared.push(("HERALD_TLS__KEY", tls.join("key.pem").display().to_string()));
            }
        }
        Ok(cluster)
    }

    /// Starts node `id` (a new one, or one killed earlier coming back) with the shared settings.
    pub(crate) fn add(&mut self, id: &str) -> anyhow::Result<()> {
        let mut settings = self.shared.clone();
        settings.push(("HERALD_CLUSTER__NODE_ID", id.to_owned()));
        let bin = Path::new(env!("CARGO_BIN_EXE_herald"));
        let process = HeraldProcess::start(bin, &scenario(), free_port(), &settings, "web services ready")
            .with_context(|| format!("starting node {id}\n{}", self.tails()))?;
        self.nodes.retain(|(n, _)| n != id);
        self.nodes.push((id.to_owned(), process));
        Ok(())
    }

    /// Node `id`'s process.
    pub(crate) fn node(&self, id: &str) -> &HeraldProcess {
        match self.nodes.iter().find(|(n, _)| n == id) {
            Some((_, p)) => p,
            None => panic!("no node {id} in this cluster"),
        }
    }

    /// How an XMPP client reaches node `id`.
    pub(crate) fn endpoint(&self, id: &str) -> Endpoint {
        let node = self.node(id);
        Endpoint { c2s: ([127, 0, 0, 1], node.c2s).into(), domain: "localhost".into(), cert: self.cert() }
    }

    /// The certificate every node serves (the first node's).
    fn cert(&self) -> PathBuf {
        self.nodes.first().map(|(_, p)| p.cert()).unwrap_or_default()
    }

    /// SIGKILLs node `id` (a crash: nothing is told to Redis or the clients).
    pub(crate) fn kill(&mut self, id: &str) {
        if let Some((_, node)) = self.nodes.iter_mut().find(|(n, _)| n == id) {
            node.kill();
        }
    }

    /// Stops node `id` cleanly (SIGTERM) and waits until it has.
    pub(crate) fn terminate(&mut self, id: &str) {
        if let Some((_, node)) = self.nodes.iter_mut().find(|(n, _)| n == id) {
            node.terminate(std::time::Duration::from_secs(30)).unwrap();
        }
    }

    /// A REST request to node `id`'s REST listener as `user` (demo password); `body` is sent as
    /// XML when not empty.
    pub(crate) async fn rest(&self, id: &str, method: &str, path: &str, user: &str, body: &str) -> anyhow::Result<HttpReply> {
        let addr = ([127, 0, 0, 1], self.node(id).api).into();
        let authorization = Auth::Basic(user, DEMO_PASSWORD).header().unwrap_or_default();
        let mut headers = vec![("authorization", authorization.as_str())];
        if !body.is_empty() {
            headers.push(("content-type", "application/xml"));
        }
        https_request_to(&self.endpoint(id), addr, None, method, path, &headers, body.as_bytes().to_vec())
            .await
            .with_context(|| format!("{method} {path} on node {id}"))
    }

    /// `PUT /finesse/api/User/{agent}` with `<User>{fields}</User>` on node `id`; fails unless
    /// it was accepted (202).
    pub(crate) async fn set_state(&self, id: &str, agent: &str, fields: &str) -> anyhow::Result<()> {
        let reply = self.rest(id, "PUT", &format!("/finesse/api/User/{agent}"), agent, &format!("<User>{fields}</User>")).await?;
        if reply.status != 202 {
            bail!("{agent} {fields} on node {id}: {} {}\n{}", reply.status, reply.body, self.tails());
        }
        Ok(())
    }

    /// Agent `agent` signed in over TCP on node `id` with `resource`, initial presence sent.
    pub(crate) async fn agent(&self, id: &str, agent: &str, resource: &str) -> anyhow::Result<RawClient> {
        let mut client = RawClient::login(&self.endpoint(id), agent, DEMO_PASSWORD, resource)
            .await
            .with_context(|| format!("{agent} signing in on node {id}\n{}", self.tails()))?;
        client.send("<presence/>").await?;
        self.wait_bound(id, agent, resource).await?;
        Ok(client)
    }

    /// Agent `agent` signed in over TCP on node `desk_on` (resource `desk`), then LOGIN and READY
    /// through REST on node `rest_on`, each Update waited for on the desktop; returns the
    /// desktop and what it received.
    pub(crate) async fn ready_agent(&self, desk_on: &str, rest_on: &str, agent: &str) -> (RawClient, Received) {
        let mut desk = self.agent(desk_on, agent, "desk").await.unwrap_or_else(|err| panic!("{err:#}"));
        let mut got = Received::default();
        let node = format!("/finesse/api/User/{agent}");
        for (fields, state) in
            [(format!("<state>LOGIN</state><extension>{agent}</extension>"), "NOT_READY"), ("<state>READY</state>".into(), "READY")]
        {
            self.set_state(rest_on, agent, &fields).await.unwrap_or_else(|err| panic!("{err:#}"));
            let seen = desk.wait_update(&mut got, |u| u.node == node && element_text(&u.data, "state").as_deref() == Some(state)).await;
            if let Err(err) = seen {
                panic!("{agent} {state} (through {rest_on}) on its desktop on {desk_on}: {err:#}\n{}", self.tails());
            }
        }
        (desk, got)
    }

    /// Agent `agent`'s desktop over BOSH (HTTPS) on node `id` with `resource`, initial presence
    /// sent. Its requests are held at most a second (the test polls).
    pub(crate) async fn desktop(&self, id: &str, agent: &str, resource: &str) -> anyhow::Result<(BoshClient<'static>, Received)> {
        let mut bosh = BoshClient::to_process(self.endpoint(id), ([127, 0, 0, 1], self.node(id).https).into());
        bosh.wait = 1;
        bosh.login(agent, DEMO_PASSWORD, resource).await.with_context(|| format!("{agent} over BOSH on node {id}\n{}", self.tails()))?;
        let mut got = Received::default();
        got.text.push_str(&bosh.send("<presence xmlns='jabber:client'/>").await?.body);
        self.wait_bound(id, agent, resource).await?;
        Ok((bosh, got))
    }

    /// Waits until a line with every one of `needles` appears in the web-services log of one
    /// of the nodes `ids`; returns (node, line).
    pub(crate) fn wait_log(&self, ids: &[&str], needles: &[&str], within: Duration) -> anyhow::Result<(String, String)> {
        let deadline = Instant::now() + within;
        loop {
            for id in ids {
                if let Some(line) = self.log_lines(id, needles).into_iter().next() {
                    return Ok(((*id).to_owned(), line));
                }
            }
            if Instant::now() > deadline {
                bail!("no line with {needles:?} on nodes {ids:?} within {within:?}\n{}", self.tails());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The lines of node `id`'s web-services log with every one of `needles`.
    pub(crate) fn log_lines(&self, id: &str, needles: &[&str]) -> Vec<String> {
        let text = self.node(id).log("logs/webservices/info.log");
        text.lines().filter(|l| needles.iter().all(|n| l.contains(n))).map(str::to_owned).collect()
    }

    /// `redis-cli <args>` against the cluster's Redis; its output.
    fn redis_cli(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = std::process::Command::new("redis-cli").args(["-p", &self.redis.port().to_string()]).args(args).output()?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The shared counters (`herald:count:*`, the lock-out's failures) with their values.
    pub(crate) fn counters(&self) -> anyhow::Result<Vec<(String, u64)>> {
        let keys = self.redis_cli(&["--scan", "--pattern", "herald:count:*"])?;
        keys.lines().map(|key| Ok((key.to_owned(), self.redis_cli(&["GET", key])?.trim().parse().unwrap_or(0)))).collect()
    }

    /// Waits until the session directory says `user`'s `resource` is bound on node `id`: a node
    /// writes it there just after the bind, and the others route to a session they find there
    /// (a message sent to it before is handled as for an account with no session).
    async fn wait_bound(&self, id: &str, user: &str, resource: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let key = format!("herald:dir:{user}@localhost");
        while self.redis_cli(&["HGET", &key, resource])?.trim() != id {
            if Instant::now() > deadline {
                bail!("{user}/{resource} never appeared in the session directory as bound on {id}\n{}", self.tails());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    /// The last lines of every node's logs, for failure messages.
    pub(crate) fn tails(&self) -> String {
        let mut out = String::new();
        for (id, node) in &self.nodes {
            for file in ["logs/webservices/info.log", "logs/notification/info.log", "stderr.log"] {
                let text = node.log(file);
                let lines: Vec<&str> = text.lines().collect();
                let tail = lines[lines.len().saturating_sub(25)..].join("\n");
                out.push_str(&format!("--- node {id}: {file} ---\n{tail}\n"));
            }
        }
        out
    }
}

/// One pubsub event as a client saw it: the node, the item's id and its `<Update>`'s state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Event {
    pub(crate) node: String,
    pub(crate) item: String,
    pub(crate) state: String,
}

/// The events of pubsub node `node` in `text` (event messages or an items answer), in order.
pub(crate) fn events(text: &str, node: &str) -> Vec<Event> {
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(open) = text[at..].find("<notification").map(|i| i + at) {
        let Some(close) = text[open..].find("</notification>").map(|i| i + open) else { break };
        let before = &text[..open];
        let content = herald_testkit::cc::unescape(&text[open..close]);
        let event = Event {
            node: last_attr(before, "<items ", "node").unwrap_or_default(),
            item: last_attr(before, "<item ", "id").unwrap_or_default(),
            state: herald_testkit::cc::element_text(&content, "state").unwrap_or_default(),
        };
        if event.node == node {
            found.push(event);
        }
        at = close;
    }
    found
}

/// The value of `attr` on the last `tag` in `text`.
pub(crate) fn last_attr(text: &str, tag: &str, attr: &str) -> Option<String> {
    let element = &text[text.rfind(tag)?..];
    let start = element.find(&format!(" {attr}="))? + attr.len() + 2;
    let quote = element[start..].chars().next()?;
    let value = &element[start + 1..];
    Some(value[..value.find(quote)?].to_owned())
}

/// How many times `needle` occurs in `text`.
pub(crate) fn count(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

/// Sends `stanza`, an iq with id `id`, on `client`; returns the answer's whole element.
pub(crate) async fn iq(client: &mut RawClient, id: &str, stanza: &str) -> anyhow::Result<String> {
    client.send(stanza).await?;
    let before = client.read_until(&format!("id='{id}'")).await?;
    let mut answer = before[before.rfind("<iq").unwrap_or(0)..].to_owned();
    answer.push_str(&client.read_until(">").await?);
    if !answer.ends_with("/>") {
        answer.push_str(&client.read_until("</iq>").await?);
    }
    Ok(answer)
}

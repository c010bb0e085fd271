//! Agent-desktop steps the contact-center tests repeat: a desktop that signs in over BOSH and
//! goes READY through REST, a supervisor watching a node over TCP, the simulator's link
//! control, and waiting for a line in a log file.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::cc::{Received, element_text};
use crate::http::{HttpReply, https_request_to};
use crate::{BoshClient, DEMO_PASSWORD, RawClient, TestServer, WAIT};

impl TestServer {
    /// A desktop for `agent` (extension = login id) over BOSH with resource `resource`: signs
    /// in, sends initial presence, then LOGIN and READY through REST; returns when the READY
    /// Update has arrived. Every Update received is kept in `got`. Its requests are held at
    /// most one second, so that when the test stops polling the session's inactivity starts
    /// at once.
    pub async fn desktop_ready<'a>(&'a self, agent: &str, resource: &str, got: &mut Received) -> anyhow::Result<BoshClient<'a>> {
        let mut bosh = BoshClient::new(self, true);
        bosh.wait = 1;
        bosh.login(agent, DEMO_PASSWORD, resource).await?;
        let first = bosh.send("<presence xmlns='jabber:client'/>").await?;
        got.text.push_str(&first.body);
        let path = format!("/finesse/api/User/{agent}");
        let login_id = format!("{agent}-login");
        let login = format!("<User><state>LOGIN</state><extension>{agent}</extension></User>");
        let answer = self.rest_put(&path, agent, Some(&login_id), &login).await?;
        if answer.status != 202 {
            bail!("LOGIN of {agent} refused: {answer:?}");
        }
        bosh.wait_update(got, |u| u.request_id == login_id).await?;
        let ready_id = format!("{agent}-ready");
        let answer = self.rest_put(&path, agent, Some(&ready_id), "<User><state>READY</state></User>").await?;
        if answer.status != 202 {
            bail!("READY of {agent} refused: {answer:?}");
        }
        let update = bosh.wait_update(got, |u| u.request_id == ready_id).await?;
        if element_text(&update.data, "state").as_deref() != Some("READY") {
            bail!("{agent} is not READY: {}", update.data);
        }
        Ok(bosh)
    }

    /// `user` signed in over TCP (resource `watch`, initial presence sent) and subscribed with
    /// its full JID to `node` (a supervisor watching `Team/{id}/Users`).
    pub async fn watch_node(&self, user: &str, node: &str) -> anyhow::Result<RawClient> {
        let mut client = RawClient::login(self, user, DEMO_PASSWORD, "watch").await?;
        client.send("<presence/>").await?;
        let jid = format!("{user}@{}/watch", self.domain);
        client
            .send(&format!(
                "<iq type='set' id='watch-sub' to='pubsub.{}'><pubsub xmlns='http://jabber.org/protocol/pubsub'>\
                 <subscribe node='{node}' jid='{jid}'/></pubsub></iq>",
                self.domain
            ))
            .await?;
        let answer = client.read_until("id='watch-sub'").await?;
        if !answer.contains("type='result'") && !answer.contains("type=\"result\"") {
            bail!("{user} could not subscribe to {node}: {answer}");
        }
        Ok(client)
    }

    /// Drops (`down`, `closed`) or restores (`up`) the built-in simulator's CTI link through
    /// `POST /herald/sim/link`.
    pub async fn sim_link(&self, state: &str) -> anyhow::Result<HttpReply> {
        let bearer = format!("Bearer {}", self.sim_token()?);
        let addr = self.api_addr().context("the test server has no REST listener")?;
        https_request_to(self, addr, None, "POST", &format!("/herald/sim/link?state={state}"), &[("authorization", &bearer)], Vec::new())
            .await
    }
}

/// Waits (within `within`) until the file at `path` has a line containing every one of
/// `needles`; returns that line.
pub async fn wait_log_line(path: &Path, needles: &[&str], within: Duration) -> anyhow::Result<String> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if let Some(line) = text.lines().find(|line| needles.iter().all(|n| line.contains(n))) {
            return Ok(line.to_owned());
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("no line with {needles:?} in {} within {within:?}:\n{text}", path.display());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// [`wait_log_line`] within the tests' usual [`WAIT`].
pub async fn log_line(path: &Path, needles: &[&str]) -> anyhow::Result<String> {
    wait_log_line(path, needles, WAIT).await
}

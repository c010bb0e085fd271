//! A takeover's presence (issue 15): the presence the `finesse` sessions saw went to the old
//! leader's machine, so the new leader's presence monitor knows nobody. Once the agents'
//! states are restored (`herald_api::restore_agents`), it learns who has sessions from the
//! cluster's session directory — each agent resource bound on a live node counts as available
//! — and starts the grace of every signed-in agent with none (as a first CTI snapshot does):
//! an agent whose desktop died with a node and does not come back is logged out once, by this
//! leader; one back on another node within the grace is not.

use herald_api::CcService;
use herald_cluster::Cluster;
use tokio::task::JoinSet;

/// Directory look-ups in flight at once.
const CONCURRENT_LOOKUPS: usize = 256;

/// Feeds the directory's agent sessions to the machine as available presence, then starts the
/// grace of each signed-in agent with none. When the directory cannot be read, no grace starts
/// (a logout on a guess would be worse than none).
pub(super) async fn resume_presence(cluster: &Cluster, service: &CcService, domain: &str) {
    let began = std::time::Instant::now();
    let agents: Vec<String> = service.with_center(|cc| cc.directory().users().map(|u| u.login_id.clone()).collect());
    let presence = service.presence_watcher();
    let mut sessions = 0usize;
    for chunk in agents.chunks(CONCURRENT_LOOKUPS) {
        let mut lookups = JoinSet::new();
        for agent in chunk {
            let (cluster, agent, bare) = (cluster.clone(), agent.clone(), format!("{agent}@{domain}"));
            lookups.spawn(async move { (agent, cluster.locate(&bare).await) });
        }
        while let Some(joined) = lookups.join_next().await {
            match joined {
                Ok((agent, Ok(located))) => {
                    for (resource, _node) in located {
                        presence.presence(&agent, &resource, true);
                        sessions += 1;
                    }
                }
                Ok((agent, Err(err))) => {
                    tracing::warn!(target: "webservices", agent, %err, "takeover: the session directory cannot be read; no presence-driven logout is started");
                    return;
                }
                Err(err) => {
                    tracing::warn!(target: "webservices", %err, "takeover: a session look-up failed; no presence-driven logout is started");
                    return;
                }
            }
        }
    }
    let now = herald_api::now_ms();
    let watched = service.with_center(|cc| agents.iter().filter(|agent| cc.watch_if_absent(now, agent)).count());
    tracing::info!(
        target: "webservices",
        sessions,
        graces_started = watched,
        elapsed_ms = began.elapsed().as_millis() as u64,
        "takeover: agents' sessions found in the cluster; signed-in agents with none wait out the presence grace"
    );
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use herald_cc::directory::UserRecord;
    use herald_cc::{CcConfig, ContactCenter, Directory, LinkConfig};
    use herald_cluster::ClusterSettings;
    use herald_cti::sim::{SimConfig, Simulator};
    use herald_cti::{AgentSnapshot, AgentState, CtiEvent};
    use herald_dbtest::TempRedis;

    use super::*;

    const DOMAIN: &str = "localhost";

    async fn service() -> (CcService, tempfile::TempDir) {
        let mut directory = Directory::default();
        for id in ["1001", "1002"] {
            directory.put_user(UserRecord { extension: Some(id.into()), ..UserRecord::agent(id) });
        }
        let no_heartbeats = LinkConfig { heartbeat_ms: 0, ..LinkConfig::default() };
        let config = CcConfig { link: no_heartbeats, ..CcConfig::new(DOMAIN) };
        let store = herald_store::AnyStore::Memory(herald_store::MemoryStore::new());
        let core = herald_core::Core::start(herald_core::CoreConfig::new(DOMAIN), store).await.unwrap();
        let logs = tempfile::tempdir().unwrap();
        let service_config = herald_api::ServiceConfig { client_log_dir: logs.path().join("clientlogs"), ..Default::default() };
        let sim = Simulator::new(SimConfig::default(), herald_api::now_ms());
        let (service, _cti) = herald_api::start(core, ContactCenter::new(config, directory), sim, service_config).await.unwrap();
        (service, logs)
    }

    /// Both agents signed in (READY) as the CTI side reports it.
    fn signed_in(service: &CcService) {
        let now = herald_api::now_ms();
        service.with_center(|cc| {
            for agent in ["1001", "1002"] {
                let snapshot = AgentSnapshot {
                    agent: agent.into(),
                    state: AgentState::Ready,
                    pending: None,
                    reason_code: None,
                    extension: Some(agent.into()),
                    since: now,
                };
                cc.handle_cti(now, CtiEvent::Agent { tag: None, snapshot });
            }
        });
    }

    #[tokio::test]
    async fn an_agent_with_a_session_is_present_and_one_without_waits_out_the_grace() {
        if !TempRedis::available() {
            assert!(std::env::var_os("CI").is_none(), "redis-server is missing under CI");
            return;
        }
        let redis = TempRedis::start().unwrap();
        let cluster = Cluster::join(ClusterSettings::new(redis.url(), "a")).await.unwrap();
        cluster.session_bound(&format!("1001@{DOMAIN}/desk"));
        let deadline = Instant::now() + Duration::from_secs(20);
        while cluster.locate(&format!("1001@{DOMAIN}")).await.unwrap().is_empty() {
            assert!(Instant::now() < deadline, "the session never reached the directory");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let (service, _logs) = service().await;
        signed_in(&service);
        assert_eq!(service.with_center(|cc| cc.poll_timeout()), None, "nobody watched yet");

        resume_presence(&cluster, &service, DOMAIN).await;
        let now = herald_api::now_ms();
        let grace = service.with_center(|cc| cc.poll_timeout());
        assert!(grace.is_some_and(|at| at > now + 50_000), "1002 has no session: its grace runs ({grace:?})");
        // 1002 comes back: its grace ends, and none is left (1001 was present all along).
        let left = service.with_center(|cc| {
            cc.presence(now, "1002", "desk", true);
            cc.poll_timeout()
        });
        assert_eq!(left, None, "1001 was not watched");
        service.stop().await;
        cluster.leave().await;
    }
}

//! Wiring of the contact-center layer: the scenario applied on the first start, the directory
//! loaded from the store, the `finesse` web-services user, the CTI side (the simulator), the
//! contact-center machine and its REST listener. Nothing here decides anything: each part lives
//! in its own crate or module; this composes them for [`crate::run_with_status`].

use std::sync::Arc;
use std::time::Duration;

use herald_api::{CcService, CtiHandle, ServiceConfig};
use herald_cc::{CcConfig, ContactCenter, Directory, LinkConfig, LogoutMode, PresenceLogoutConfig};
use herald_core::Core;
use herald_cti::sim::{SimAgent, SimConfig, SimQueue, Simulator};
use herald_net::Shutdown;
use herald_net::http::{HttpSettings, NoFastPath, serve_http};
use herald_store::AnyStore;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::config::{Config, CtiBackend};
use crate::scenario::{DeploymentType, Scenario};
use crate::{directory, scenario, sim_client, webservices_user};

/// A future, boxed as `Send`. The futures of the store's generic trait methods borrow their
/// arguments; the compiler cannot prove such a future `Send` for every lifetime when it is
/// nested in `run`'s (rust-lang/rust#100013), but it can once coerced at a known lifetime here.
pub(crate) fn sendable<'a, T>(
    future: impl std::future::Future<Output = T> + Send + 'a,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>> {
    Box::pin(future)
}

/// What is prepared in the store before the core starts (the core loads rosters and pubsub
/// nodes as they are then).
pub(crate) struct Prepared {
    scenario: Scenario,
    directory: Directory,
}

/// Applies the scenario on a first start, loads the directory and provisions the `finesse`
/// user's rosters.
pub(crate) async fn prepare(config: &Config, store: &AnyStore) -> anyhow::Result<Prepared> {
    let scenario = scenario::load(config.cc.scenario.as_deref())?;
    if scenario::apply_first_start(store, &config.domain, &scenario).await? {
        tracing::info!(target: "webservices", "first start: scenario applied (teams, queues, reason codes, users)");
    }
    let directory = directory::load(store).await?;
    let logins: Vec<String> = directory.users().map(|u| u.login_id.clone()).collect();
    webservices_user::provision(store, &config.domain, &logins).await?;
    Ok(Prepared { scenario, directory })
}

/// The admin side's view of the running web services (held weakly: the admin listener must not
/// keep them alive after they stopped).
pub(crate) struct CenterView(pub(crate) std::sync::Weak<CcService>);

impl herald_admin::ContactCenterView for CenterView {
    fn in_service(&self) -> Option<bool> {
        self.0.upgrade().map(|cc| cc.with_center(|c| c.in_service()))
    }

    fn agents_by_state(&self) -> Vec<(String, i64)> {
        self.0
            .upgrade()
            .map(|cc| cc.with_center(|c| c.agents_by_state()))
            .unwrap_or_default()
            .into_iter()
            .map(|(s, n)| (s.to_owned(), n))
            .collect()
    }

    fn refresh_metrics(&self) {
        if let Some(cc) = self.0.upgrade() {
            cc.refresh_metrics();
        }
    }
}

/// The running contact-center layer.
pub(crate) struct Running {
    service: Arc<CcService>,
    user: webservices_user::WebServicesUser,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// The contact-center service, for the admin API's status and gauges: a weak reference, so
    /// that the service still stops here even while an admin connection lingers.
    pub(crate) fn service(&self) -> std::sync::Weak<CcService> {
        Arc::downgrade(&self.service)
    }

    /// Stops the REST listener's service and takes `finesse` offline.
    pub(crate) async fn stop(self) {
        let _ = self.task.await;
        // Only an admin request in flight holds it a moment longer: wait for it.
        let mut service = self.service;
        loop {
            match Arc::try_unwrap(service) {
                Ok(service) => break service.stop().await,
                Err(shared) => service = shared,
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if let Err(err) = self.user.stop().await {
            tracing::warn!(target: "webservices", %err, "the web-services user did not sign off cleanly");
        }
    }
}

fn simulator(config: &Config, prepared: &Prepared) -> Simulator {
    let sim = &prepared.scenario.simulator;
    let queues = prepared
        .scenario
        .queues
        .iter()
        .map(|q| SimQueue {
            id: q.id.0.clone(),
            name: q.name.clone(),
            dialed_number: q.dialed_number.as_ref().map_or_else(|| q.id.0.clone(), |d| d.0.clone()),
            calls_per_hour: q.calls_per_hour,
        })
        .collect();
    let agents = prepared
        .directory
        .users()
        .map(|u| SimAgent {
            agent: u.login_id.clone(),
            extension: u.extension.clone(),
            queues: prepared.directory.user_queues(u).map(|q| q.id.clone()).collect(),
            wrap_up_incoming: !matches!(u.wrap_up_incoming, herald_cc::WrapUpMode::NotAllowed),
            wrap_up_outgoing: !matches!(u.wrap_up_outgoing, herald_cc::WrapUpMode::NotAllowed),
        })
        .collect();
    let seed = config.cc.sim_seed.or(sim.seed).unwrap_or_else(rand::random);
    let config = SimConfig {
        seed,
        queues,
        agents,
        talk_time_ms: (ms(sim.talk_time_secs[0]), ms(sim.talk_time_secs[1])),
        wrap_up_ms: ms(sim.wrap_up_secs),
        ring_no_answer_ms: ms(sim.ring_no_answer_secs),
        outside_answer_ms: (ms(sim.outside_answer_secs[0]), ms(sim.outside_answer_secs[1])),
        stats_interval_ms: ms(sim.stats_interval_secs),
        heartbeat_interval_ms: ms(config.cti.heartbeat_secs),
    };
    Simulator::new(config, herald_api::now_ms())
}

/// Seconds to milliseconds.
fn ms(secs: u64) -> u64 {
    secs.saturating_mul(1000)
}

/// `[presence_logout]` for the machine; the mode defaults to the deployment type.
fn presence_logout(config: &Config, deployment: DeploymentType) -> PresenceLogoutConfig {
    let p = &config.presence_logout;
    let mode = match p.mode {
        Some(crate::config::LogoutMode::Uccx) => LogoutMode::Uccx,
        Some(crate::config::LogoutMode::Ucce) => LogoutMode::Ucce,
        None if deployment == DeploymentType::Uccx => LogoutMode::Uccx,
        None => LogoutMode::Ucce,
    };
    PresenceLogoutConfig { enabled: p.enabled, mode, grace_ms: ms(p.grace_secs), logout_on_disconnect: p.logout_on_disconnect }
}

/// The REST listener and what it serves besides the web services.
pub(crate) struct RestListener {
    pub(crate) listener: TcpListener,
    pub(crate) tls: TlsAcceptor,
    pub(crate) settings: HttpSettings,
    /// The agent desktop at `/desktop/` (`None`: `[desktop] enabled = false`).
    pub(crate) desktop: Option<herald_desktop::DesktopSettings>,
}

/// The contact-center service this node runs (it drives the CTI side), the router of its
/// REST resources and the simulator's endpoint, and the simulator behind it (a cluster's new
/// leader restores the agents' states through it).
pub(crate) struct Service {
    pub(crate) service: CcService,
    pub(crate) router: axum::Router,
    pub(crate) cti: CtiHandle<Simulator>,
}

/// Starts the machine and the CTI side (the simulator); `sim_token` guards the simulator's
/// endpoint.
pub(crate) async fn start_service(
    config: &Config,
    prepared: Prepared,
    core: &Core,
    api_port: u16,
    sim_token: String,
) -> anyhow::Result<Service> {
    let CtiBackend::Simulator = config.cc.cti;
    let sim = simulator(config, &prepared);
    let cc_config = CcConfig {
        xmpp_domain: config.domain.clone(),
        pubsub_domain: format!("pubsub.{}", config.domain),
        deployment_type: prepared.scenario.contact_center.deployment_type.name().to_owned(),
        primary_host: config.cc.primary_host.clone().unwrap_or_else(|| config.domain.clone()),
        secondary_host: config.cc.secondary_host.clone(),
        primary_https_port: config.cc.primary_https_port.unwrap_or(api_port),
        secondary_https_port: config.cc.secondary_https_port.unwrap_or(api_port),
        timezone_offset_minutes: config.cc.timezone_offset_minutes,
        peripheral_id: config.cc.peripheral_id.clone(),
        presence_logout: presence_logout(config, prepared.scenario.contact_center.deployment_type),
        link: LinkConfig { heartbeat_ms: ms(config.cti.heartbeat_secs), missed_heartbeats: config.cti.missed_heartbeats },
    };
    let machine = ContactCenter::new(cc_config, prepared.directory);
    let (service, handle) = herald_api::start(
        core.clone(),
        machine,
        sim,
        ServiceConfig {
            client_log_dir: config.data_dir.join(&config.cc.client_log_dir),
            basic_cache: Duration::from_secs(config.cc.basic_auth_cache_secs),
            ..ServiceConfig::default()
        },
    )
    .await?;
    let router = service.router().merge(herald_api::sim_router(handle.clone(), sim_token));
    Ok(Service { service, router, cti: handle })
}

/// Starts the machine, the CTI side and the REST listener (a single node).
pub(crate) async fn start(
    config: &Config,
    prepared: Prepared,
    core: &Core,
    rest: RestListener,
    shutdown: Shutdown,
) -> anyhow::Result<Running> {
    let RestListener { listener, tls, settings, desktop } = rest;
    let api_port = listener.local_addr()?.port();
    let started = std::time::Instant::now();
    let token = herald_admin::token::write_token(&config.data_dir, sim_client::TOKEN_FILE)?;
    let Service { service, router, .. } = start_service(config, prepared, core, api_port, token).await?;
    // The web services are up: `finesse` becomes available (desktops wait for it) and watches
    // every agent's presence for the presence-driven logout.
    let watcher = service.presence_watcher();
    let user = webservices_user::start(
        core,
        Arc::new(move |user: &str, resource: &str, available: bool| watcher.presence(user, resource, available)),
    )
    .await?;
    tracing::info!(target: "webservices", "web services ready in {} ms", started.elapsed().as_millis());
    let mut router = router;
    if let Some(desktop) = desktop {
        router = router.merge(herald_desktop::router(&desktop));
    }
    let task = tokio::spawn(serve_http(listener, Some(tls), Arc::new(settings), router, None::<Arc<NoFastPath>>, shutdown));
    Ok(Running { service: Arc::new(service), user, task })
}

//! One simulated agent desktop: it logs in over XMPP as a desktop does, holds its session
//! (every stanza it receives goes to the run's [`Matcher`](super::matcher::Matcher)), and signs
//! in through REST: LOGIN on its extension, then NOT_READY with the run's reason code, each
//! confirmed by its Update before the next. In a failover run, a desktop whose session dies
//! fails over ([`recover`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{OwnedSemaphorePermit, watch};

use super::Run;
use super::change::{Outcome, send};
use super::failover::recover;
use super::login::log_in;
use super::rest::UserChange;
use crate::session::hold;
use crate::xmpp::SaltCache;

/// Runs desktop `n` until `stop`: login, sign-in (releasing `permit` once signed in or failed,
/// so that the ramp's concurrency bounds logins and sign-ins together), then holding.
pub(crate) async fn desktop(
    run: Arc<Run>,
    n: usize,
    tls: Option<tokio_rustls::TlsConnector>,
    cache: SaltCache,
    mut stop: watch::Receiver<bool>,
    permit: OwnedSemaphorePermit,
) {
    let login = run.login_id(n);
    let session = match log_in(&run.opts, n, &login, tls.as_ref(), &cache).await {
        Ok(session) => session,
        Err(e) => {
            run.login_failed.fetch_add(1, Ordering::Relaxed);
            run.note_error(format!("{login} XMPP login: {e}"));
            return;
        }
    };
    run.logged_in.fetch_add(1, Ordering::Relaxed);
    let round_trips = AtomicU64::new(0);
    let receiving = run.clone();
    let held = hold(session, &mut stop, &round_trips, move |stanza| receiving.received(n, &stanza));
    let signing = async {
        match sign_in(&run, n).await {
            Ok(()) => {
                run.signed_in.fetch_add(1, Ordering::Relaxed);
                run.ready_agents.lock().unwrap_or_else(|e| e.into_inner()).push(n);
            }
            Err(e) => {
                run.sign_in_failed.fetch_add(1, Ordering::Relaxed);
                run.note_error(e);
            }
        }
        drop(permit);
    };
    tokio::join!(held, signing);
    if let Some(failover) = &run.failover
        && !*stop.borrow()
    {
        recover(&run, failover, n, tls.as_ref(), &cache, &mut stop).await;
    }
}

/// LOGIN with extension = login id, then NOT_READY with the reason code; each must come back
/// as an Update (not an `apiErrors` one) at this desktop.
async fn sign_in(run: &Run, n: usize) -> Result<(), String> {
    let login = run.login_id(n);
    let steps = [UserChange::Login { extension: login.clone() }, UserChange::NotReady { reason_code_id: run.opts.agents.reason_code_id }];
    for change in steps {
        match send(run, n, &change).await {
            Outcome::Seen { refused: false, .. } => {}
            Outcome::Seen { refused: true, .. } => return Err(format!("{login} sign-in {change:?}: refused by an apiErrors Update")),
            Outcome::Lost => return Err(format!("{login} sign-in {change:?}: 202 but no Update within 10 s")),
            Outcome::Status(status) => return Err(format!("{login} sign-in {change:?}: HTTP {status}")),
            Outcome::Failed(e) => return Err(format!("{login} sign-in {change:?}: {e}")),
        }
    }
    Ok(())
}

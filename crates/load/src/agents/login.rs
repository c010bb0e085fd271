//! An agent desktop's XMPP login, shared by the first login of a desktop and its login on
//! another node after a failover.

use std::time::Duration;

use crate::session::{Session, establish};
use crate::xmpp::{SaltCache, XmppIo, next_named};
use crate::{LoadError, Options};

/// Longest an XMPP login may take.
const LOGIN_LIMIT: Duration = Duration::from_secs(60);

/// Logs desktop `n` in as `login` on `opts`' node, within [`LOGIN_LIMIT`]: the XMPP login, then
/// the initial presence, which must be in before the sign-in, as a desktop's is (a ping goes out
/// behind it and its answer comes back after the server has handled it).
pub(crate) async fn log_in(
    opts: &Options,
    n: usize,
    login: &str,
    tls: Option<&tokio_rustls::TlsConnector>,
    cache: &SaltCache,
) -> Result<Session, LoadError> {
    let establishing = async {
        let mut session = establish(opts, n, login, tls, cache, None).await?;
        session.send_soon("<iq xmlns='jabber:client' type='get' id='presence-in'><ping xmlns='urn:xmpp:ping'/></iq>").await?;
        next_named(&mut session, "iq").await?;
        Ok::<_, LoadError>(session)
    };
    tokio::time::timeout(LOGIN_LIMIT, establishing)
        .await
        .unwrap_or_else(|_| Err(LoadError::Protocol(format!("the login took longer than {} s", LOGIN_LIMIT.as_secs()))))
}

//! `herald ctl` and `herald doctor` find the server by themselves: the admin address from the
//! configuration (a wildcard address means loopback), the token from `<data_dir>/admin.token`
//! (readable by whoever may run the server, nobody else). The request and the tables are
//! herald-admin's ([`herald_admin::client`]).

use anyhow::{Context, bail};
pub use herald_admin::client::{Answer, encode, format_sessions, format_status};
use herald_admin::token::ADMIN_TOKEN_FILE;

use crate::Config;

/// Where the admin API of the server `config` describes listens.
pub fn admin_addr(config: &Config) -> anyhow::Result<std::net::SocketAddr> {
    let Some(mut addr) = config.listen.admin else { bail!("listen.admin is not set: the server has no admin API") };
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    Ok(addr)
}

/// Sends `method target` (`GET`, `POST`) to the admin API of the server `config` describes, with
/// its token.
pub async fn request(config: &Config, method: &str, target: &str) -> anyhow::Result<Answer> {
    let addr = admin_addr(config)?;
    let token_path = config.data_dir.join(ADMIN_TOKEN_FILE);
    let token = std::fs::read_to_string(&token_path)
        .with_context(|| format!("cannot read {} (is the server running on this data directory?)", token_path.display()))?;
    herald_admin::client::request(addr, token.trim(), method, target).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_admin_listener_is_an_error_and_wildcards_mean_loopback() {
        let mut config = Config::default();
        config.listen.admin = None;
        assert!(admin_addr(&config).is_err());
        config.listen.admin = Some("0.0.0.0:9999".parse().unwrap());
        assert_eq!(admin_addr(&config).unwrap().to_string(), "127.0.0.1:9999");
    }

    #[tokio::test]
    async fn a_missing_token_file_says_the_server_may_not_run() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config { data_dir: dir.path().to_owned(), ..Config::default() };
        let err = request(&config, "GET", "/admin/status").await.unwrap_err();
        assert!(format!("{err:#}").contains("is the server running"), "{err:#}");
    }
}

//! `[store]`: where Herald keeps what must last — the embedded SQLite file by default, or a
//! PostgreSQL database shared by the nodes of a cluster (issue 15).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// `[store]`
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// Which backend keeps accounts, rosters, offline messages and pubsub nodes. An unknown
    /// name is refused when the configuration is loaded, with the allowed names.
    pub backend: StoreBackend,
    /// The SQLite database file (`backend = "sqlite"`); a relative path is under `data_dir`.
    pub path: PathBuf,
    /// The PostgreSQL database (`backend = "postgres"`), e.g.
    /// `postgres://herald:secret@db.example.com:5432/herald`. Every node of a cluster names
    /// the same one. Best given by environment (`HERALD_STORE__URL`): it may hold a password.
    pub url: Option<String>,
    /// Connections this node keeps to PostgreSQL at most (default 16).
    pub max_connections: u32,
}

/// `store.backend`: the store implementations Herald can run on.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum StoreBackend {
    /// SQLite in `store.path` (the embedded default; needs the `sqlite` cargo feature, on by
    /// default).
    #[default]
    Sqlite,
    /// In memory: nothing survives a restart (tests, demonstrations).
    Memory,
    /// PostgreSQL at `store.url` (a cluster's nodes share it; needs the `postgres` cargo
    /// feature, on by default).
    Postgres,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self { backend: StoreBackend::default(), path: PathBuf::from("herald.db"), url: None, max_connections: 16 }
    }
}

impl StoreConfig {
    /// PostgreSQL needs its URL and at least one connection.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.backend == StoreBackend::Postgres {
            match self.url.as_deref() {
                Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {}
                Some(_) => return Err(ConfigError::Range("store.url must be a postgres:// URL".into())),
                None => {
                    return Err(ConfigError::Range(
                        "store.backend = \"postgres\" needs store.url (postgres://user:password@host:port/database)".into(),
                    ));
                }
            }
        }
        if self.max_connections == 0 {
            return Err(ConfigError::Range("store.max_connections must be at least 1".into()));
        }
        Ok(())
    }
}

//! The core's authentication bookkeeping with the in-memory store and a fake clock: what a login
//! is verified against, the lock per account and source, the per-source ban.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use herald_core::{Core, CoreConfig};
use herald_sasl::{Account, Credentials, DecoySecret, HashAlg, SaslError};
use herald_store::{AccountStore, AnyStore, MemoryStore};

const DESK: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
const STRANGER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 9));

async fn core(source_max_failures: u32) -> Core {
    let store = MemoryStore::new();
    let creds = Credentials::derive("pencil", [b"0123456789abcdef", b"fedcba9876543210"], 64).unwrap();
    let stored = herald_core::stored_credentials(creds);
    store.create_user("carol", &stored).await.unwrap();
    let mut config = CoreConfig::new("example.com");
    config.lockout.source_max_failures = source_max_failures;
    config.decoy_secret = DecoySecret::new([5; 32]);
    Core::start(config, AnyStore::Memory(store)).await.unwrap()
}

#[tokio::test]
async fn unknown_names_get_stable_decoys_with_the_real_iteration_count() {
    let core = core(0).await;
    let t0 = Instant::now();
    let Account::Unknown(a) = core.credentials("ghost", STRANGER, t0).await.unwrap() else { panic!("not unknown") };
    let Account::Unknown(b) = core.credentials("ghost", DESK, t0).await.unwrap() else { panic!("not unknown") };
    assert_eq!(a, b);
    assert_eq!(a.get(HashAlg::Sha256).unwrap().iterations, Credentials::DEFAULT_ITERATIONS);
    assert!(matches!(core.credentials("carol", DESK, t0).await.unwrap(), Account::Existing(_)));
}

#[tokio::test]
async fn five_failures_lock_carol_for_that_source_only() {
    let core = core(0).await;
    let t0 = Instant::now();
    for i in 0..5 {
        core.auth_failed(Some("carol"), &SaslError::NotAuthorized, STRANGER, t0 + Duration::from_secs(i));
    }
    assert!(matches!(core.credentials("carol", STRANGER, t0 + Duration::from_secs(6)).await.unwrap(), Account::Locked(_)));
    assert!(matches!(core.credentials("carol", DESK, t0 + Duration::from_secs(6)).await.unwrap(), Account::Existing(_)));
    assert!(matches!(core.credentials("carol", STRANGER, t0 + Duration::from_secs(305)).await.unwrap(), Account::Existing(_)));
    // Failures on unknown names and while locked do not lock anything.
    for i in 0..10 {
        core.auth_failed(Some("ghost"), &SaslError::UnknownAccount, DESK, t0 + Duration::from_secs(i));
        core.auth_failed(Some("carol"), &SaslError::AccountLocked, DESK, t0 + Duration::from_secs(i));
    }
    assert!(matches!(core.credentials("carol", DESK, t0 + Duration::from_secs(11)).await.unwrap(), Account::Existing(_)));
}

#[tokio::test]
async fn a_source_failing_across_accounts_is_banned() {
    let core = core(20).await;
    let t0 = Instant::now();
    for i in 0..20 {
        let error = if i % 2 == 0 { SaslError::UnknownAccount } else { SaslError::UsernameTooLong };
        core.auth_failed(None, &error, STRANGER, t0);
    }
    // Aborted exchanges and bad encodings do not count.
    core.auth_failed(None, &SaslError::Aborted, DESK, t0);
    assert_eq!(core.credentials("carol", STRANGER, t0 + Duration::from_secs(10)).await, Err(SaslError::SourceBanned(290)));
    assert!(matches!(core.credentials("carol", DESK, t0).await.unwrap(), Account::Existing(_)));
    assert!(matches!(core.credentials("carol", STRANGER, t0 + Duration::from_secs(300)).await.unwrap(), Account::Existing(_)));
}

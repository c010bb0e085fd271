//! RFC 5802 and RFC 7677 test vectors, full exchanges, and property tests of the parsers.

use herald_sasl::{
    Account, Credentials, DecoySecret, HashAlg, MAX_USERNAME_BYTES, Mechanism, SaslError, ScramClient, ScramCredentials, ServerSession,
    Step,
};
use proptest::prelude::*;

fn b64d(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

/// Runs the server against the RFC's client messages, with the RFC's server nonce suffix.
fn rfc_exchange(mech: Mechanism, hash: HashAlg, salt: &str, client_first: &str, server_nonce: &str, client_final: &str) -> (Step, Step) {
    let creds = Credentials { entries: vec![ScramCredentials::derive(hash, "pencil", &b64d(salt), 4096).unwrap()] };
    let (mut server, step) = ServerSession::start(mech, client_first.as_bytes()).unwrap();
    assert_eq!(step, Step::NeedCredentials { username: "user".into() });
    let challenge = server.provide_credentials_with_nonce(&Account::Existing(creds), server_nonce).unwrap();
    let fin = server.respond(client_final.as_bytes()).unwrap();
    (challenge, fin)
}

#[test]
fn rfc5802_scram_sha1() {
    let (challenge, fin) = rfc_exchange(
        Mechanism::ScramSha1,
        HashAlg::Sha1,
        "QSXCR+Q6sek8bf92",
        "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
        "3rfcNHYJY1ZVvWVs7j",
        "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
    );
    assert_eq!(challenge, Step::Challenge(b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096".to_vec()));
    assert_eq!(fin, Step::Success { username: "user".into(), additional: Some(b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=".to_vec()) });
}

#[test]
fn rfc7677_scram_sha256() {
    let (challenge, fin) = rfc_exchange(
        Mechanism::ScramSha256,
        HashAlg::Sha256,
        "W22ZaJ0SNY7soEsUEjb6gQ==",
        "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
        "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
    );
    assert_eq!(
        challenge,
        Step::Challenge(b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096".to_vec())
    );
    assert_eq!(
        fin,
        Step::Success { username: "user".into(), additional: Some(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=".to_vec()) }
    );
}

fn full_exchange(mech: Mechanism, hash: HashAlg, password_given: &str) -> Result<(), SaslError> {
    let creds = Credentials::derive("pencil", [b"salt-one", b"salt-two"], 4096).unwrap();
    let mut client = ScramClient::new(hash, "user", password_given, b"client-random");
    let (mut server, _) = ServerSession::start(mech, client.client_first().as_bytes())?;
    let Step::Challenge(first) = server.provide_credentials(&Account::Existing(creds.clone()), b"server-random")? else {
        panic!("no challenge")
    };
    let fin = client.client_final(std::str::from_utf8(&first).unwrap())?;
    let Step::Success { additional: Some(v), .. } = server.respond(fin.as_bytes())? else { panic!("no success") };
    client.verify_server_final(std::str::from_utf8(&v).unwrap())
}

#[test]
fn client_and_server_agree() {
    full_exchange(Mechanism::ScramSha256, HashAlg::Sha256, "pencil").unwrap();
    full_exchange(Mechanism::ScramSha1, HashAlg::Sha1, "pencil").unwrap();
    assert_eq!(full_exchange(Mechanism::ScramSha256, HashAlg::Sha256, "pen"), Err(SaslError::NotAuthorized));
}

#[test]
fn unknown_user_fails_only_at_the_end() {
    let mut client = ScramClient::new(HashAlg::Sha256, "ghost", "x", b"r");
    let (mut server, _) = ServerSession::start(Mechanism::ScramSha256, client.client_first().as_bytes()).unwrap();
    let decoy = DecoySecret::new([7; 32]).credentials("ghost", 4096);
    let Step::Challenge(first) = server.provide_credentials(&Account::Unknown(decoy), b"rand").unwrap() else { panic!() };
    let fin = client.client_final(std::str::from_utf8(&first).unwrap()).unwrap();
    assert_eq!(server.respond(fin.as_bytes()), Err(SaslError::UnknownAccount));
}

/// The salt and iteration count a SCRAM-SHA-256 challenge offers for `account`.
fn salt_offered(user: &str, account: &Account) -> String {
    let client = ScramClient::new(HashAlg::Sha256, user, "x", b"r");
    let (mut server, _) = ServerSession::start(Mechanism::ScramSha256, client.client_first().as_bytes()).unwrap();
    let Step::Challenge(first) = server.provide_credentials(account, &rand_bytes()).unwrap() else { panic!() };
    let first = String::from_utf8(first).unwrap();
    first.split_once(",s=").unwrap().1.to_owned()
}

fn rand_bytes() -> [u8; 8] {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos().to_be_bytes().repeat(2).try_into().unwrap()
}

#[test]
fn unknown_and_locked_accounts_look_like_existing_ones() {
    let secret = DecoySecret::new([9; 32]);
    // An unknown name gets the same salt every time, with the real accounts' iteration count.
    let a = salt_offered("ghost", &Account::Unknown(secret.credentials("ghost", Credentials::DEFAULT_ITERATIONS)));
    let b = salt_offered("ghost", &Account::Unknown(secret.credentials("ghost", Credentials::DEFAULT_ITERATIONS)));
    assert_eq!(a, b);
    assert!(a.ends_with(",i=4096"), "{a}");
    // A locked account still offers its own salt.
    let creds = Credentials::derive("pencil", [b"salt-one", b"salt-two"], 4096).unwrap();
    assert_eq!(salt_offered("carol", &Account::Locked(creds.clone())), salt_offered("carol", &Account::Existing(creds.clone())));
    // The right password is refused while locked, with an answer no different from a wrong one.
    let mut client = ScramClient::new(HashAlg::Sha256, "carol", "pencil", b"r");
    let (mut server, _) = ServerSession::start(Mechanism::ScramSha256, client.client_first().as_bytes()).unwrap();
    let Step::Challenge(first) = server.provide_credentials(&Account::Locked(creds.clone()), b"s").unwrap() else { panic!() };
    let fin = client.client_final(std::str::from_utf8(&first).unwrap()).unwrap();
    assert_eq!(server.respond(fin.as_bytes()), Err(SaslError::AccountLocked));
    let (mut plain, _) = ServerSession::start(Mechanism::Plain, b"\0carol\0pencil").unwrap();
    assert_eq!(plain.provide_credentials(&Account::Locked(creds), b"x"), Err(SaslError::AccountLocked));
    let refusals = [SaslError::NotAuthorized, SaslError::UnknownAccount, SaslError::AccountLocked];
    for e in &refusals {
        assert_eq!((e.condition(), e.to_string()), (refusals[0].condition(), refusals[0].to_string()));
        assert!(e.counts_against_source());
    }
}

#[test]
fn over_long_usernames_are_refused_before_anything_else() {
    let long = "a".repeat(MAX_USERNAME_BYTES + 1);
    let fits = "a".repeat(MAX_USERNAME_BYTES);
    assert_eq!(ServerSession::start(Mechanism::Plain, format!("\0{long}\0pw").as_bytes()).unwrap_err(), SaslError::UsernameTooLong);
    assert_eq!(
        ServerSession::start(Mechanism::ScramSha256, format!("n,,n={long},r=abc").as_bytes()).unwrap_err(),
        SaslError::UsernameTooLong
    );
    let escaped = "=2C".repeat(MAX_USERNAME_BYTES + 1);
    assert_eq!(
        ServerSession::start(Mechanism::ScramSha1, format!("n,,n={escaped},r=abc").as_bytes()).unwrap_err(),
        SaslError::UsernameTooLong
    );
    assert!(ServerSession::start(Mechanism::Plain, format!("\0{fits}\0pw").as_bytes()).is_ok());
    assert!(ServerSession::start(Mechanism::ScramSha256, format!("n,,n={fits},r=abc").as_bytes()).is_ok());
    assert_eq!(SaslError::UsernameTooLong.condition(), "malformed-request");
}

#[test]
fn plain() {
    let creds = Credentials::derive("secret", [b"a", b"b"], 4096).unwrap();
    let (mut s, step) = ServerSession::start(Mechanism::Plain, b"\0alice\0secret").unwrap();
    assert_eq!(step, Step::NeedCredentials { username: "alice".into() });
    assert!(matches!(s.provide_credentials(&Account::Existing(creds.clone()), b"x"), Ok(Step::Success { .. })));
    let (mut s, _) = ServerSession::start(Mechanism::Plain, b"\0alice\0wrong").unwrap();
    assert_eq!(s.provide_credentials(&Account::Existing(creds.clone()), b"x"), Err(SaslError::NotAuthorized));
    assert_eq!(ServerSession::start(Mechanism::Plain, b"bob\0alice\0secret").unwrap_err(), SaslError::InvalidAuthzid);
    assert!(ServerSession::start(Mechanism::Plain, b"alice").is_err());
}

#[test]
fn malformed_scram_messages() {
    for bad in ["", "n,,", "p=tls-unique,,n=user,r=x", "n,,r=x,n=user", "n,,n=us=zzer,r=abc", "n,,n=user,r=a,m=ext"] {
        assert!(ServerSession::start(Mechanism::ScramSha256, bad.as_bytes()).is_err(), "{bad}");
    }
    let creds = Credentials::derive("pencil", [b"a", b"b"], 4096).unwrap();
    let (mut s, _) = ServerSession::start(Mechanism::ScramSha256, b"n,,n=user,r=abc").unwrap();
    s.provide_credentials(&Account::Existing(creds.clone()), b"r").unwrap();
    assert!(s.respond(b"c=biws,r=wrong,p=AAAA").is_err());
}

#[test]
fn fuzz_corpus_replays() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/sasl_server");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        herald_sasl::fuzz_server(&std::fs::read(entry.unwrap().path()).unwrap());
        n += 1;
    }
    assert!(n > 0);
}

proptest! {
    #[test]
    fn any_input_gives_a_result_not_a_panic(data in proptest::collection::vec(any::<u8>(), 0..256)) {
        herald_sasl::fuzz_server(&data);
    }

    #[test]
    fn any_password_round_trips(password in "[a-zA-Z0-9 !-~\u{e9}\u{4e2d}]{1,24}", user in "[a-z0-9=,]{1,12}") {
        let creds = Credentials::derive(&password, [b"s1", b"s2"], 64).unwrap();
        prop_assert!(creds.verify_password(&password));
        let mut client = ScramClient::new(HashAlg::Sha256, &user, &password, b"c");
        let (mut server, step) = ServerSession::start(Mechanism::ScramSha256, client.client_first().as_bytes()).unwrap();
        prop_assert_eq!(step, Step::NeedCredentials { username: user.clone() });
        let Step::Challenge(first) = server.provide_credentials(&Account::Existing(creds.clone()), b"s").unwrap() else { panic!() };
        let fin = client.client_final(std::str::from_utf8(&first).unwrap()).unwrap();
        let ok = matches!(server.respond(fin.as_bytes()), Ok(Step::Success { .. }));
        prop_assert!(ok);
    }
}

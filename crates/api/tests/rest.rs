//! The REST listener over real HTTPS: authentication (401s, lock-out, the cache), `requestId`,
//! CORS, the refusals the router and the machine make (404, 405, 400), and the CTI driver
//! receiving the requests the machine forwards. The CTI side here only records requests; the
//! flows that need a live CTI side are in `flows.rs`, over the simulator.

mod common;

use std::sync::{Arc, Mutex};

use common::{Bench, ORIGIN, PASSWORD, basic};
use herald_cti::{CtiEvent, CtiMachine, CtiRequest, EpochMs};

/// A CTI side that keeps the requests it is given and answers nothing.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<CtiRequest>>>);

impl CtiMachine for Recorder {
    fn handle_request(&mut self, _now: EpochMs, request: CtiRequest) {
        self.0.lock().unwrap().push(request);
    }
    fn handle_timeout(&mut self, _now: EpochMs) {}
    fn poll_event(&mut self) -> Option<CtiEvent> {
        None
    }
    fn poll_timeout(&self) -> Option<EpochMs> {
        None
    }
}

const SYSTEM_INFO: &str = "/finesse/api/SystemInfo";

fn assert_api_error(reply: &common::Reply, status: u16, error_type: &str) {
    assert_eq!(reply.status, status, "{reply:?}");
    assert_eq!(reply.header("content-type"), Some("application/xml"), "{reply:?}");
    assert!(reply.body.contains("<ApiErrors><ApiError><ErrorType>") && reply.body.contains(error_type), "{reply:?}");
}

#[tokio::test]
async fn requests_without_or_with_wrong_credentials_are_401() {
    let bench = Bench::start(Recorder::default()).await;
    let none = bench.request("GET", SYSTEM_INFO, &[], "").await;
    assert_api_error(&none, 401, "Authorization Failure");
    assert_eq!(none.header("www-authenticate"), Some("Basic realm=\"Finesse\""));
    let wrong = bench.request("GET", SYSTEM_INFO, &[("authorization", &basic("1001", "nope"))], "").await;
    assert_api_error(&wrong, 401, "Authorization Failure");
    let unknown = bench.request("GET", SYSTEM_INFO, &[("authorization", &basic("ghost", PASSWORD))], "").await;
    assert_api_error(&unknown, 401, "Authorization Failure");
    let malformed = bench.request("GET", SYSTEM_INFO, &[("authorization", "Basic !!!")], "").await;
    assert_api_error(&malformed, 401, "Authorization Failure");
    let bearer = bench.request("GET", SYSTEM_INFO, &[("authorization", "Bearer abc")], "").await;
    assert_api_error(&bearer, 401, "Authorization Failure");
    // An XMPP account that is not a contact-center user: authenticated, refused by the machine.
    let outsider = bench.as_user("xmpponly", "GET", SYSTEM_INFO, &[], "").await;
    assert_api_error(&outsider, 401, "Authorization Failure");
    bench.stop().await;
}

#[tokio::test]
async fn the_right_password_in_any_case_of_login_id_gets_system_info() {
    let bench = Bench::start(Recorder::default()).await;
    for user in ["carol", "CaRoL"] {
        let reply = bench.as_user(user, "GET", "/finesse/api/SystemInfo?nocache=123", &[], "").await;
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(reply.header("content-type"), Some("application/xml"));
        assert!(reply.body.contains("<SystemInfo>") && reply.body.contains("<status>IN_SERVICE</status>"), "{reply:?}");
    }
    bench.stop().await;
}

#[tokio::test]
async fn five_failures_lock_the_account_for_the_source_even_with_a_cached_password() {
    let bench = Bench::start(Recorder::default()).await;
    // Cached first.
    assert_eq!(bench.as_user("1001", "GET", SYSTEM_INFO, &[], "").await.status, 200);
    for _ in 0..5 {
        let reply = bench.request("GET", SYSTEM_INFO, &[("authorization", &basic("1001", "wrong"))], "").await;
        assert_eq!(reply.status, 401);
    }
    let locked = bench.as_user("1001", "GET", SYSTEM_INFO, &[], "").await;
    assert_api_error(&locked, 401, "Authorization Failure");
    // Other accounts from the same source are not locked.
    assert_eq!(bench.as_user("1002", "GET", SYSTEM_INFO, &[], "").await.status, 200);
    bench.stop().await;
}

#[tokio::test]
async fn a_cached_login_costs_no_pbkdf2_and_a_failure_is_never_cached() {
    let bench = Bench::start(Recorder::default()).await;
    let before = bench.service.password_checks();
    assert_eq!(bench.as_user("1002", "GET", SYSTEM_INFO, &[], "").await.status, 200);
    assert_eq!(bench.service.password_checks(), before + 1);
    for _ in 0..3 {
        assert_eq!(bench.as_user("1002", "GET", SYSTEM_INFO, &[], "").await.status, 200);
    }
    assert_eq!(bench.service.password_checks(), before + 1, "cached logins ran PBKDF2");
    // The same login id with another password is checked (and refused), every time.
    for i in 0..2 {
        let reply = bench.request("GET", SYSTEM_INFO, &[("authorization", &basic("1002", "guess"))], "").await;
        assert_eq!(reply.status, 401);
        assert_eq!(bench.service.password_checks(), before + 2 + i);
    }
    // A failure forgets the cached success: the right password is checked again once.
    assert_eq!(bench.as_user("1002", "GET", SYSTEM_INFO, &[], "").await.status, 200);
    assert_eq!(bench.service.password_checks(), before + 4);
    bench.stop().await;
}

#[tokio::test]
async fn request_ids_are_echoed_on_every_answer() {
    let bench = Bench::start(Recorder::default()).await;
    let ok = bench.as_user("1001", "GET", SYSTEM_INFO, &[("requestId", "abc-123")], "").await;
    assert_eq!((ok.status, ok.header("requestid")), (200, Some("abc-123")));
    let refused = bench.request("GET", SYSTEM_INFO, &[("requestId", "r-401")], "").await;
    assert_eq!((refused.status, refused.header("requestid")), (401, Some("r-401")));
    let missing = bench.as_user("1001", "GET", "/finesse/api/Nope", &[("requestId", "r-404")], "").await;
    assert_eq!((missing.status, missing.header("requestid")), (404, Some("r-404")));
    bench.stop().await;
}

#[tokio::test]
async fn cors_preflight_allows_the_finesse_methods_and_headers_and_exposes_request_id() {
    let bench = Bench::start(Recorder::default()).await;
    let headers = [
        ("origin", ORIGIN),
        ("access-control-request-method", "PUT"),
        ("access-control-request-headers", "authorization,content-type,requestid"),
    ];
    let pre = bench.request("OPTIONS", "/finesse/api/User/1001", &headers, "").await;
    assert!(pre.status == 200 || pre.status == 204, "{pre:?}");
    assert_eq!(pre.header("access-control-allow-origin"), Some(ORIGIN));
    let methods = pre.header("access-control-allow-methods").unwrap_or_default().to_ascii_uppercase();
    for m in ["GET", "PUT", "POST", "OPTIONS"] {
        assert!(methods.contains(m), "{m} not in {methods}");
    }
    let allowed = pre.header("access-control-allow-headers").unwrap_or_default().to_ascii_lowercase();
    for h in ["authorization", "content-type", "requestid"] {
        assert!(allowed.contains(h), "{h} not in {allowed}");
    }
    let get = bench.as_user("1001", "GET", SYSTEM_INFO, &[("origin", ORIGIN), ("requestId", "x")], "").await;
    assert_eq!(get.header("access-control-allow-origin"), Some(ORIGIN));
    assert!(get.header("access-control-expose-headers").unwrap_or_default().to_ascii_lowercase().contains("requestid"), "{get:?}");
    let other =
        bench.request("OPTIONS", SYSTEM_INFO, &[("origin", "https://evil.example"), ("access-control-request-method", "PUT")], "").await;
    assert_eq!(other.header("access-control-allow-origin"), None);
    bench.stop().await;
}

#[tokio::test]
async fn unknown_paths_are_404_and_wrong_methods_405() {
    let bench = Bench::start(Recorder::default()).await;
    for path in ["/finesse/api/Nope", "/finesse/api", "/finesse/api/User", "/finesse/api/User/1001/Nope"] {
        assert_api_error(&bench.as_user("1001", "GET", path, &[], "").await, 404, "Not Found");
    }
    assert_api_error(&bench.as_user("1001", "GET", "/finesse/api/User/1001/ClientLog", &[], "").await, 405, "Method Not Allowed");
    assert_api_error(&bench.as_user("1001", "DELETE", "/finesse/api/User/1001", &[], "").await, 405, "Method Not Allowed");
    let xml = [("content-type", "application/xml")];
    assert_api_error(&bench.as_user("1001", "PUT", SYSTEM_INFO, &xml, "<SystemInfo/>").await, 405, "Method Not Allowed");
    bench.stop().await;
}

#[tokio::test]
async fn oversized_bodies_and_wrong_content_types_are_400_and_change_nothing() {
    let recorder = Recorder::default();
    let bench = Bench::start(recorder.clone()).await;
    let huge = "x".repeat(herald_cc::parse::MAX_BODY_BYTES + 1);
    let xml = [("content-type", "application/xml")];
    let reply = bench.as_user("1001", "POST", "/finesse/api/User/1001/ClientLog", &xml, &huge).await;
    assert_api_error(&reply, 400, "Invalid Input");
    let login = "<User><state>LOGIN</state><extension>1001</extension></User>";
    for ct in [None, Some("application/json"), Some("text/plain")] {
        let headers: Vec<(&str, &str)> = ct.map(|c| ("content-type", c)).into_iter().collect();
        let reply = bench.as_user("1001", "PUT", "/finesse/api/User/1001", &headers, login).await;
        assert_api_error(&reply, 400, "Invalid Input");
    }
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(recorder.0.lock().unwrap().is_empty(), "a refused request reached the CTI side");
    bench.stop().await;
}

#[tokio::test]
async fn another_agents_user_object_is_refused() {
    let bench = Bench::start(Recorder::default()).await;
    let reply = bench.as_user("1001", "GET", "/finesse/api/User/1002", &[], "").await;
    assert_api_error(&reply, 401, "Invalid Authorization User Specified");
    bench.stop().await;
}

#[tokio::test]
async fn a_banned_source_is_refused_even_with_a_cached_password() {
    let bench = Bench::start(Recorder::default()).await;
    assert_eq!(bench.as_user("1002", "GET", SYSTEM_INFO, &[], "").await.status, 200);
    // Twenty failures from this address on names that do not exist ban it (the XMPP default).
    for i in 0..20 {
        let reply = bench.request("GET", SYSTEM_INFO, &[("authorization", &basic(&format!("ghost{i}"), "x"))], "").await;
        assert_eq!(reply.status, 401);
    }
    let checks = bench.service.password_checks();
    let banned = bench.as_user("1002", "GET", SYSTEM_INFO, &[], "").await;
    assert_api_error(&banned, 401, "Authorization Failure");
    assert_eq!(bench.service.password_checks(), checks, "a banned source costs no PBKDF2");
    bench.stop().await;
}

#[tokio::test]
async fn failed_xmpp_logins_lock_the_cached_rest_login_too() {
    let bench = Bench::start(Recorder::default()).await;
    assert_eq!(bench.as_user("1001", "GET", SYSTEM_INFO, &[], "").await.status, 200);
    let checks = bench.service.password_checks();
    // Five wrong SASL passwords from this address: the lock-out is shared with XMPP.
    let here = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    for _ in 0..5 {
        bench.core.auth_failed(Some("1001"), &herald_sasl::SaslError::NotAuthorized, here, std::time::Instant::now());
    }
    let locked = bench.as_user("1001", "GET", SYSTEM_INFO, &[], "").await;
    assert_api_error(&locked, 401, "Authorization Failure");
    assert_eq!(bench.service.password_checks(), checks, "a remembered password is refused on the lock alone, before any PBKDF2");
    // A password not remembered runs the same exchange as always and is refused at its end.
    let guessed = bench.request("GET", SYSTEM_INFO, &[("authorization", &basic("1001", "guess"))], "").await;
    assert_api_error(&guessed, 401, "Authorization Failure");
    assert_eq!(bench.service.password_checks(), checks + 1, "refused after the same PBKDF2 as any wrong password");
    bench.stop().await;
}

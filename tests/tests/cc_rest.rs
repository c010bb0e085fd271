//! The Finesse REST web services over real HTTPS (the API listener, the server's certificate):
//! the User document, sign-in and state changes with `requestId`, authentication and lock-out,
//! who may do what, every bad-input refusal (400 ApiErrors and no notification afterwards), 404,
//! 405, CORS preflight and ClientLog. Notifications are watched by the agent's own XMPP session
//! over TCP, which never subscribes: the server subscribed it.

use std::net::IpAddr;
use std::time::Duration;

use herald_testkit::cc::{Received, element_text};
use herald_testkit::{Auth, DEMO_PASSWORD, HttpReply, RawClient, TestServer, WAIT};

const XML: (&str, &str) = ("content-type", "application/xml");

fn user_path(id: &str) -> String {
    format!("/finesse/api/User/{id}")
}

/// An ApiErrors answer with `status`: the XML content type and the PascalCase Finesse shape.
#[track_caller]
fn assert_api_error(reply: &HttpReply, status: u16, what: &str) {
    assert_eq!(reply.status, status, "{what}: {reply:?}");
    assert!(reply.header("content-type").is_some_and(|t| t.starts_with("application/xml")), "{what}: content type of {reply:?}");
    for part in ["<ApiErrors>", "<ApiError>", "<ErrorType>", "<ErrorMessage>", "<ErrorData"] {
        assert!(reply.body.contains(part), "{what}: {part} missing from {}", reply.body);
    }
}

/// A 202 answer: empty body, and the request id echoed when one was sent.
#[track_caller]
fn assert_accepted(reply: &HttpReply, request_id: Option<&str>, what: &str) {
    assert_eq!(reply.status, 202, "{what}: {reply:?}");
    assert!(reply.body.is_empty(), "{what}: a 202 has an empty body, got {:?}", reply.body);
    if let Some(id) = request_id {
        assert_eq!(reply.header("requestid"), Some(id), "{what}: requestId not echoed in {:?}", reply.headers);
    }
}

/// Signs `id` in over TCP with initial presence, the way a desktop's XMPP side does.
async fn desktop(server: &TestServer, id: &str) -> anyhow::Result<RawClient> {
    let mut client = RawClient::login(server, id, DEMO_PASSWORD, "e2e").await?;
    client.send("<presence/>").await?;
    Ok(client)
}

/// Polls `GET User/{id}` as `viewer` until its state is `state` (the change is asynchronous).
async fn wait_state(server: &TestServer, viewer: &str, id: &str, state: &str) -> anyhow::Result<String> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let reply = server.rest_get(&user_path(id), viewer).await?;
        if reply.status == 200 && element_text(&reply.body, "state").as_deref() == Some(state) {
            return Ok(reply.body);
        }
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "User {id} never reached {state}; last {reply:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Signs `id` in through REST and waits until it is NOT_READY.
async fn sign_in(server: &TestServer, id: &str) -> anyhow::Result<()> {
    let reply = server.rest_put(&user_path(id), id, None, &format!("<User><state>LOGIN</state><extension>{id}</extension></User>")).await?;
    assert_accepted(&reply, None, "LOGIN");
    wait_state(server, id, id, "NOT_READY").await.map(drop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_document_sign_in_and_state_changes_carry_the_request_id() -> anyhow::Result<()> {
    let server = TestServer::start_cc(|_| {}).await?;
    let mut xmpp = desktop(&server, "1001").await?;
    let mut got = Received::default();

    let user = server.rest_get("/finesse/api/User/1001?nocache=1700000000000", "1001").await?;
    assert_eq!(user.status, 200, "{user:?}");
    assert!(user.header("content-type").is_some_and(|t| t.starts_with("application/xml")), "{user:?}");
    assert!(user.body.contains("<User>") || user.body.contains("<User "), "REST root is <User>: {}", user.body);
    for field in [
        "dialogs",
        "extension",
        "firstName",
        "lastName",
        "loginId",
        "loginName",
        "mediaType",
        "pendingState",
        "reasonCodeId",
        "roles",
        "settings",
        "wrapUpOnIncoming",
        "wrapUpOnOutgoing",
        "state",
        "stateChangeTime",
        "teamId",
        "teamName",
        "teams",
        "uri",
    ] {
        assert!(element_text(&user.body, field).is_some(), "<{field}> missing from {}", user.body);
    }
    assert_eq!(element_text(&user.body, "uri").as_deref(), Some("/finesse/api/User/1001"));
    assert_eq!(element_text(&user.body, "loginId").as_deref(), Some("1001"));
    assert_eq!(element_text(&user.body, "dialogs").as_deref(), Some("/finesse/api/User/1001/Dialogs"));
    assert_eq!(element_text(&user.body, "firstName").as_deref(), Some("Chris"));
    assert_eq!(element_text(&user.body, "teamId").as_deref(), Some("1"));
    assert_eq!(element_text(&user.body, "teamName").as_deref(), Some("Sales"));
    assert_eq!(element_text(&user.body, "state").as_deref(), Some("LOGOUT"));
    assert!(user.body.contains("<role>Agent</role>"), "{}", user.body);

    // READY while signed out is accepted (202) and refused by the CTI side: an async apiErrors
    // Update on the User node carrying the requestId, as Finesse does.
    let early = server.rest_put("/finesse/api/User/1001", "1001", Some("req-early-ready"), "<User><state>READY</state></User>").await?;
    assert_accepted(&early, Some("req-early-ready"), "READY while signed out");
    let refusal = xmpp.wait_update(&mut got, |u| u.request_id == "req-early-ready").await?;
    assert_eq!((refusal.node.as_str(), refusal.source.as_str()), ("/finesse/api/User/1001", "/finesse/api/User/1001"));
    assert!(refusal.data.starts_with("<apiErrors><apiError>"), "camel-case apiErrors in the Update: {}", refusal.data);
    assert_eq!(element_text(&refusal.data, "errorType").as_deref(), Some("Invalid State"), "{}", refusal.data);
    assert_eq!(element_text(&refusal.data, "errorMessage").as_deref(), Some("CF_INVALID_OBJECT_STATE"), "{}", refusal.data);
    assert_eq!(element_text(&refusal.data, "errorData").as_deref(), Some("22"), "{}", refusal.data);

    let login = server
        .rest_put("/finesse/api/User/1001", "1001", Some("req-login-1"), "<User><state>LOGIN</state><extension>1001</extension></User>")
        .await?;
    assert_accepted(&login, Some("req-login-1"), "LOGIN");
    let update = xmpp.wait_update(&mut got, |u| u.request_id == "req-login-1").await?;
    assert_eq!(
        (update.node.as_str(), update.source.as_str(), update.event.as_str()),
        ("/finesse/api/User/1001", "/finesse/api/User/1001", "PUT")
    );
    assert!(update.data.starts_with("<user>"), "notification data root is <user>: {}", update.data);
    assert_eq!(element_text(&update.data, "state").as_deref(), Some("NOT_READY"));
    assert_eq!(element_text(&update.data, "extension").as_deref(), Some("1001"));

    let ready = server.rest_put("/finesse/api/User/1001", "1001", Some("req-ready-1"), "<User><state>READY</state></User>").await?;
    assert_accepted(&ready, Some("req-ready-1"), "READY");
    let update = xmpp.wait_update(&mut got, |u| u.request_id == "req-ready-1").await?;
    assert_eq!(element_text(&update.data, "state").as_deref(), Some("READY"));
    wait_state(&server, "1001", "1001", "READY").await?;

    let not_ready = server
        .rest_put("/finesse/api/User/1001", "1001", Some("req-nr-1"), "<User><state>NOT_READY</state><reasonCodeId>2</reasonCodeId></User>")
        .await?;
    assert_accepted(&not_ready, Some("req-nr-1"), "NOT_READY with a reason");
    let update = xmpp.wait_update(&mut got, |u| u.request_id == "req-nr-1").await?;
    assert_eq!(element_text(&update.data, "state").as_deref(), Some("NOT_READY"));
    assert_eq!(element_text(&update.data, "reasonCodeId").as_deref(), Some("2"));
    assert_eq!(element_text(&update.data, "label").as_deref(), Some("Lunch"), "the ReasonCode is in the Update: {}", update.data);

    let unsolicited = got.updates.iter().filter(|u| u.node == "/finesse/api/User/1001" && u.request_id.is_empty()).count();
    assert_eq!(unsolicited, 0, "every change was asked for with a requestId: {:#?}", got.updates);
    server.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_are_required_and_five_bad_passwords_lock_the_account() -> anyhow::Result<()> {
    let server = TestServer::start_cc(|_| {}).await?;
    let path = user_path("1002");

    let none = server.rest("GET", &path, Auth::None, &[], Vec::new()).await?;
    assert_api_error(&none, 401, "no credentials");
    assert!(none.header("www-authenticate").is_some_and(|v| v.starts_with("Basic")), "{none:?}");
    let wrong = server.rest("GET", &path, Auth::Basic("1002", "not-the-password"), &[], Vec::new()).await?;
    assert_api_error(&wrong, 401, "wrong password");
    assert!(wrong.header("www-authenticate").is_some_and(|v| v.starts_with("Basic")), "{wrong:?}");
    let unknown = server.rest("GET", &path, Auth::Basic("nobody", DEMO_PASSWORD), &[], Vec::new()).await?;
    assert_api_error(&unknown, 401, "unknown user");
    for bad in ["Basic !!!not-base64", "Bearer abc", "Basic", "Basic MTAwMg=="] {
        let reply = server.rest("GET", &path, Auth::None, &[("authorization", bad)], Vec::new()).await?;
        assert_api_error(&reply, 401, bad);
    }

    // Five failures from one address lock 1002 there: the right password is refused too.
    let elsewhere: Option<IpAddr> = Some("127.0.0.2".parse()?);
    let right = server.rest_from(elsewhere, "GET", &path, Auth::Basic("1002", DEMO_PASSWORD), &[], Vec::new()).await?;
    assert_eq!(right.status, 200, "before the failures: {right:?}");
    for attempt in 1..=5 {
        let reply = server.rest_from(elsewhere, "GET", &path, Auth::Basic("1002", &format!("guess-{attempt}")), &[], Vec::new()).await?;
        assert_api_error(&reply, 401, &format!("bad password {attempt}"));
    }
    let locked = server.rest_from(elsewhere, "GET", &path, Auth::Basic("1002", DEMO_PASSWORD), &[], Vec::new()).await?;
    assert!(matches!(locked.status, 401 | 403), "a locked account is refused even with the right password: {locked:?}");
    assert!(locked.body.contains("<ApiErrors>"), "{locked:?}");
    let locked_put = server
        .rest_from(
            elsewhere,
            "PUT",
            &path,
            Auth::Basic("1002", DEMO_PASSWORD),
            &[XML],
            "<User><state>LOGIN</state><extension>1002</extension></User>",
        )
        .await?;
    assert!(matches!(locked_put.status, 401 | 403), "{locked_put:?}");
    // The lock holds for that address only: the agent's own desk still works.
    assert_eq!(server.rest_get(&path, "1002").await?.status, 200);
    server.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_act_only_on_their_own_objects_and_supervisors_on_their_teams() -> anyhow::Result<()> {
    let server = TestServer::start_cc(|_| {}).await?;
    let ready = "<User><state>READY</state></User>";

    // An agent: nothing of anyone else's.
    assert_api_error(&server.rest_get(&user_path("1002"), "1001").await?, 401, "agent GET another agent");
    assert_api_error(&server.rest_put(&user_path("1002"), "1001", None, ready).await?, 401, "agent PUT another agent");
    assert_api_error(&server.rest_get("/finesse/api/User/1002/Dialogs", "1001").await?, 401, "agent GET another's Dialogs");
    assert_api_error(&server.rest_get("/finesse/api/Team/1", "1001").await?, 401, "agent GET Team");
    assert_api_error(&server.rest_get("/finesse/api/User/9999", "1001").await?, 401, "another user that does not exist is not revealed");

    // A supervisor: its teams, and READY or LOGOUT on their agents, nothing more.
    let sup = server.rest_get(&user_path("2001"), "2001").await?;
    assert_eq!(sup.status, 200, "{sup:?}");
    assert!(sup.body.contains("<role>Supervisor</role>"), "{}", sup.body);
    let teams = element_text(&sup.body, "teams").unwrap_or_default();
    assert!(teams.contains("<id>1</id>") && teams.contains("<id>2</id>") && !teams.contains("<id>3</id>"), "{}", sup.body);
    let team = server.rest_get("/finesse/api/Team/1", "2001").await?;
    assert_eq!(team.status, 200, "{team:?}");
    assert!(team.header("content-type").is_some_and(|t| t.starts_with("application/xml")));
    assert_eq!(element_text(&team.body, "name").as_deref(), Some("Sales"));
    for id in ["1001", "1002", "1003", "1004", "1005"] {
        assert!(team.body.contains(&format!("<loginId>{id}</loginId>")), "{id} missing from Team 1: {}", team.body);
    }
    assert!(!team.body.contains("<loginId>1006</loginId>"), "Team 1 lists only its users: {}", team.body);
    assert_eq!(server.rest_get("/finesse/api/Team/2", "2001").await?.status, 200);
    assert_api_error(&server.rest_get("/finesse/api/Team/3", "2001").await?, 401, "supervisor GET a team it does not supervise");
    assert_api_error(&server.rest_get(&user_path("1011"), "2001").await?, 401, "supervisor GET an agent of another team");
    assert_api_error(&server.rest_put(&user_path("1011"), "2001", None, ready).await?, 401, "supervisor READY outside its teams");

    sign_in(&server, "1003").await?;
    assert_eq!(server.rest_get(&user_path("1003"), "2001").await?.status, 200, "a supervisor reads its agents");
    let put = server.rest_put(&user_path("1003"), "2001", Some("sup-ready"), ready).await?;
    assert_accepted(&put, Some("sup-ready"), "supervisor READY on a team agent");
    wait_state(&server, "2001", "1003", "READY").await?;
    let nr = server.rest_put(&user_path("1003"), "2001", None, "<User><state>NOT_READY</state></User>").await?;
    assert_api_error(&nr, 401, "supervisor NOT_READY on a team agent");
    let login = server.rest_put(&user_path("1004"), "2001", None, "<User><state>LOGIN</state><extension>1004</extension></User>").await?;
    assert_api_error(&login, 401, "supervisor LOGIN on a team agent");
    let own = server.rest_put(&user_path("1003"), "1003", None, "<User><state>NOT_READY</state></User>").await?;
    assert_accepted(&own, None, "the agent itself NOT_READY");
    wait_state(&server, "1003", "1003", "NOT_READY").await?;
    let logout = server.rest_put(&user_path("1003"), "2001", Some("sup-logout"), "<User><state>LOGOUT</state></User>").await?;
    assert_accepted(&logout, Some("sup-logout"), "supervisor LOGOUT on a team agent");
    wait_state(&server, "2001", "1003", "LOGOUT").await?;

    // Unknown resources and methods.
    assert_api_error(&server.rest_get("/finesse/api/Users", "1001").await?, 404, "unknown resource");
    assert_api_error(&server.rest_get("/finesse/api/User/1001/Nothing", "1001").await?, 404, "unknown sub-resource");
    assert_api_error(&server.rest_get("/finesse/api/Dialog/424242", "1001").await?, 404, "unknown dialog");
    let delete = server.rest("DELETE", &user_path("1001"), Auth::Basic("1001", DEMO_PASSWORD), &[], Vec::new()).await?;
    assert_api_error(&delete, 405, "DELETE User");
    assert_api_error(&server.rest_get("/finesse/api/User/1001/ClientLog", "1001").await?, 405, "GET ClientLog");
    let put_log = server.rest_put("/finesse/api/User/1001/ClientLog", "1001", None, "<ClientLog><logData>x</logData></ClientLog>").await?;
    assert_api_error(&put_log, 405, "PUT ClientLog");
    let system = server.rest_get("/finesse/api/SystemInfo", "1001").await?;
    assert_eq!(system.status, 200, "{system:?}");
    assert_eq!(element_text(&system.body, "xmppDomain").as_deref(), Some("localhost"));
    assert_eq!(element_text(&system.body, "status").as_deref(), Some("IN_SERVICE"));
    server.stop().await?;
    Ok(())
}

/// Every malformed request is answered 400 with ApiErrors and changes nothing: the agent's own
/// session receives no Update between its sign-in and a sentinel request sent afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_with_400_and_publishes_nothing() -> anyhow::Result<()> {
    let server = TestServer::start_cc(|_| {}).await?;
    let mut xmpp = desktop(&server, "1004").await?;
    let mut got = Received::default();
    let path = user_path("1004");
    let login = server.rest_put(&path, "1004", Some("baseline"), "<User><state>LOGIN</state><extension>1004</extension></User>").await?;
    assert_accepted(&login, Some("baseline"), "LOGIN");
    xmpp.wait_update(&mut got, |u| u.request_id == "baseline").await?;
    let before = got.updates.len();

    let deep = format!("<User><state>READY</state>{}{}</User>", "<a>".repeat(200), "</a>".repeat(200));
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("raw U+0001", b"<User><state>READY\x01</state></User>".to_vec()),
        ("&#x1; reference", b"<User><state>READY&#x1;</state></User>".to_vec()),
        ("&#1; reference", b"<User><state>NOT_READY</state><reasonCodeId>1&#1;</reasonCodeId></User>".to_vec()),
        ("U+FFFE", "<User><state>READY\u{FFFE}</state></User>".as_bytes().to_vec()),
        ("not UTF-8", b"<User><state>READY\xff</state></User>".to_vec()),
        ("unclosed", b"<User><state>READY</state>".to_vec()),
        ("mismatched", b"<User><state>READY</User></state>".to_vec()),
        ("not XML", b"state=READY".to_vec()),
        ("empty", Vec::new()),
        ("two roots", b"<User><state>READY</state></User><User/>".to_vec()),
        ("DTD", b"<!DOCTYPE User [<!ENTITY x 'READY'>]><User><state>&x;</state></User>".to_vec()),
        ("deeply nested", deep.into_bytes()),
        ("unknown element", b"<User><state>READY</state><mood>happy</mood></User>".to_vec()),
        ("wrong root", b"<Dialog><state>READY</state></Dialog>".to_vec()),
        ("unknown state", b"<User><state>DANCING</state></User>".to_vec()),
        ("missing state", b"<User/>".to_vec()),
        ("LOGIN without extension", b"<User><state>LOGIN</state></User>".to_vec()),
        ("reasonCodeId not a number", b"<User><state>NOT_READY</state><reasonCodeId>abc</reasonCodeId></User>".to_vec()),
        ("reasonCodeId unknown", b"<User><state>NOT_READY</state><reasonCodeId>99</reasonCodeId></User>".to_vec()),
        ("reasonCodeId of LOGOUT for NOT_READY", b"<User><state>NOT_READY</state><reasonCodeId>5</reasonCodeId></User>".to_vec()),
        ("reasonCodeId of NOT_READY for LOGOUT", b"<User><state>LOGOUT</state><reasonCodeId>1</reasonCodeId></User>".to_vec()),
        ("system reasonCodeId", b"<User><state>LOGOUT</state><reasonCodeId>255</reasonCodeId></User>".to_vec()),
    ];
    for (what, body) in bodies {
        let reply = server.rest("PUT", &path, Auth::Basic("1004", DEMO_PASSWORD), &[XML, ("requestId", what)], body).await?;
        assert_api_error(&reply, 400, what);
    }
    // Oversized: a well-formed READY padded with white space past the limit, refused with 400
    // whether the server reads the body or not.
    let auth = Auth::Basic("1004", DEMO_PASSWORD);
    let oversized = server
        .rest_streamed(
            "PUT",
            &path,
            auth,
            &[XML, ("requestId", "oversized")],
            b"<User><state>READY</state></User>",
            b' ',
            herald_cc::parse::MAX_BODY_BYTES + 1,
        )
        .await?;
    assert!(oversized.starts_with("HTTP/1.1 400"), "oversized body: {oversized}");
    assert!(oversized.contains("<ApiErrors>"), "oversized body: {oversized}");
    for content_type in [None, Some("text/plain"), Some("application/json"), Some("application/x-www-form-urlencoded")] {
        let mut headers = vec![("requestId", "content-type")];
        if let Some(t) = content_type {
            headers.push(("content-type", t));
        }
        let reply = server.rest("PUT", &path, Auth::Basic("1004", DEMO_PASSWORD), &headers, "<User><state>READY</state></User>").await?;
        assert_api_error(&reply, 400, &format!("content type {content_type:?}"));
    }
    for (what, body) in [
        ("unknown action", "<Dialog><requestedAction>FLY</requestedAction></Dialog>"),
        ("MAKE_CALL without toAddress", "<Dialog><requestedAction>MAKE_CALL</requestedAction><fromAddress>1004</fromAddress></Dialog>"),
        (
            "MAKE_CALL to oneself",
            "<Dialog><requestedAction>MAKE_CALL</requestedAction><fromAddress>1004</fromAddress><toAddress>1004</toAddress></Dialog>",
        ),
    ] {
        let reply = server.rest("POST", "/finesse/api/User/1004/Dialogs", Auth::Basic("1004", DEMO_PASSWORD), &[XML], body).await?;
        assert_api_error(&reply, 400, what);
    }

    // Nothing was published for any of them: the next Update is the sentinel's.
    let sentinel = server.rest_put(&path, "1004", Some("sentinel"), "<User><state>READY</state></User>").await?;
    assert_accepted(&sentinel, Some("sentinel"), "sentinel READY");
    xmpp.wait_update(&mut got, |u| u.request_id == "sentinel").await?;
    let between: Vec<_> = got.updates[before..].iter().filter(|u| u.request_id != "sentinel").collect();
    assert!(between.is_empty(), "refused requests published: {between:#?}");
    server.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_preflight_allows_the_desktop_origin_only() -> anyhow::Result<()> {
    const DESK: &str = "https://desk.herald.test";
    let server = TestServer::start_cc(|c| c.http.cors_origins = vec![DESK.to_owned()]).await?;
    let preflight = |origin: &'static str| {
        let server = &server;
        async move {
            server
                .rest(
                    "OPTIONS",
                    "/finesse/api/User/1001",
                    Auth::None,
                    &[
                        ("origin", origin),
                        ("access-control-request-method", "PUT"),
                        ("access-control-request-headers", "authorization,content-type,requestid"),
                    ],
                    Vec::new(),
                )
                .await
        }
    };
    let allowed = preflight(DESK).await?;
    assert!((200..300).contains(&allowed.status), "{allowed:?}");
    assert_eq!(allowed.header("access-control-allow-origin"), Some(DESK), "{allowed:?}");
    let methods = allowed.header("access-control-allow-methods").unwrap_or_default().to_ascii_uppercase();
    for method in ["PUT", "POST", "GET", "OPTIONS"] {
        assert!(methods.contains(method), "{method} not allowed: {allowed:?}");
    }
    let headers = allowed.header("access-control-allow-headers").unwrap_or_default().to_ascii_lowercase();
    for header in ["authorization", "content-type", "requestid"] {
        assert!(headers.contains(header), "{header} not allowed: {allowed:?}");
    }
    let refused = preflight("https://elsewhere.test").await?;
    assert_eq!(refused.header("access-control-allow-origin"), None, "{refused:?}");

    let get = server.rest("GET", "/finesse/api/User/1001", Auth::Basic("1001", DEMO_PASSWORD), &[("origin", DESK)], Vec::new()).await?;
    assert_eq!((get.status, get.header("access-control-allow-origin")), (200, Some(DESK)), "{get:?}");
    server.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_logs_are_stored_and_announced_and_oversized_ones_refused() -> anyhow::Result<()> {
    let server = TestServer::start_cc(|_| {}).await?;
    let mut xmpp = desktop(&server, "1005").await?;
    let subscribe = "<iq type='set' id='sub-log' to='pubsub.localhost'><pubsub xmlns='http://jabber.org/protocol/pubsub'>\
        <subscribe node='/finesse/api/User/1005/ClientLog' jid='1005@localhost/e2e'/></pubsub></iq>";
    xmpp.send(subscribe).await?;
    let answer = xmpp.read_until("id='sub-log'").await?;
    let answer = format!("{answer}{}", xmpp.read_until("</iq>").await?);
    assert!(answer.contains("type='result'") || answer.contains("type=\"result\""), "the agent may subscribe to its ClientLog: {answer}");

    let dir = server.data_dir.path().join("logs/clientlogs");
    let log = |text: &str| format!("<ClientLog><logData>{text}</logData></ClientLog>");
    let posted = server
        .rest(
            "POST",
            "/finesse/api/User/1005/ClientLog",
            Auth::Basic("1005", DEMO_PASSWORD),
            &[XML],
            log("first line&#10;second &amp; last"),
        )
        .await?;
    assert_accepted(&posted, None, "ClientLog");
    let deadline = tokio::time::Instant::now() + WAIT;
    let stored = loop {
        let files: Vec<_> = std::fs::read_dir(&dir).map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect()).unwrap_or_default();
        if let Some(file) = files.iter().find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().contains("1005"))) {
            let text = std::fs::read_to_string(file)?;
            if text.contains("second & last") {
                break text;
            }
        }
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "no client log under {} (files: {files:?})", dir.display());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(stored.contains("first line\nsecond & last"), "{stored:?}");
    let mut got = Received::default();
    let event = xmpp.wait_update(&mut got, |u| u.node == "/finesse/api/User/1005/ClientLog").await?;
    assert_eq!((event.event.as_str(), event.source.as_str()), ("POST", "/finesse/api/User/1005/ClientLog"), "{event:?}");

    let limit = 1_048_576;
    let at_limit = server
        .rest("POST", "/finesse/api/User/1005/ClientLog", Auth::Basic("1005", DEMO_PASSWORD), &[XML], log(&"é".repeat(limit)))
        .await?;
    assert_accepted(&at_limit, None, "ClientLog of exactly 1,048,576 characters");
    let over = server
        .rest("POST", "/finesse/api/User/1005/ClientLog", Auth::Basic("1005", DEMO_PASSWORD), &[XML], log(&"x".repeat(limit + 1)))
        .await?;
    assert_api_error(&over, 400, "ClientLog over 1,048,576 characters");
    let missing =
        server.rest("POST", "/finesse/api/User/1005/ClientLog", Auth::Basic("1005", DEMO_PASSWORD), &[XML], "<ClientLog/>").await?;
    assert_api_error(&missing, 400, "ClientLog without logData");
    let other = server.rest("POST", "/finesse/api/User/1004/ClientLog", Auth::Basic("1005", DEMO_PASSWORD), &[XML], log("spoof")).await?;
    assert_api_error(&other, 401, "ClientLog for another agent");
    server.stop().await?;
    Ok(())
}

/// A call through REST with the authorisation around it: the participant reads and acts on its
/// Dialog, another agent may do neither, the supervisor of the team reads it but may not act; a
/// call variable carrying a character outside XML 1.0 arrives replaced and the session lives on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_is_served_only_to_its_participant_and_bad_call_data_is_replaced() -> anyhow::Result<()> {
    let server = TestServer::start_cc(|_| {}).await?;
    let mut xmpp = desktop(&server, "1002").await?;
    let mut got = Received::default();
    sign_in(&server, "1002").await?;
    let ready = server.rest_put(&user_path("1002"), "1002", Some("ready"), "<User><state>READY</state></User>").await?;
    assert_accepted(&ready, Some("ready"), "READY");
    xmpp.wait_update(&mut got, |u| u.request_id == "ready").await?;

    let bad = server.inject_call("100", Some("5550142"), &[("callVariable1", "bad\u{1}byte"), ("callVariable2", "a < b & c")]).await?;
    assert_eq!(bad.status, 202, "{bad:?}");
    let call_id = element_text(&bad.body, "id").unwrap_or_default();
    let dialogs = "/finesse/api/User/1002/Dialogs";
    let posted = xmpp
        .wait_update(&mut got, |u| {
            u.node == dialogs && u.event == "POST" && element_text(&u.data, "id").as_deref() == Some(call_id.as_str())
        })
        .await?;
    assert!(posted.data.contains("bad\u{FFFD}byte"), "the character outside XML 1.0 is replaced: {}", posted.data);
    assert!(posted.data.contains("a &lt; b &amp; c"), "text is escaped in the document: {}", posted.data);
    assert_eq!(element_text(&posted.data, "fromAddress").as_deref(), Some("5550142"));

    let dialog = format!("/finesse/api/Dialog/{call_id}");
    let got_dialog = server.rest_get(&dialog, "1002").await?;
    assert_eq!(got_dialog.status, 200, "{got_dialog:?}");
    assert!(got_dialog.body.contains("<mediaAddress>1002</mediaAddress>"), "{}", got_dialog.body);
    assert_api_error(&server.rest_get(&dialog, "1003").await?, 401, "another agent GET the Dialog");
    assert_eq!(server.rest_get(&dialog, "2001").await?.status, 200, "the team's supervisor reads the Dialog");
    assert_api_error(&server.rest_get(&dialog, "2002").await?, 401, "another team's supervisor GET the Dialog");
    let answer =
        |who: &str| format!("<Dialog><requestedAction>ANSWER</requestedAction><targetMediaAddress>{who}</targetMediaAddress></Dialog>");
    assert_api_error(&server.rest_put(&dialog, "1003", None, &answer("1003")).await?, 401, "another agent ANSWER");
    assert_api_error(&server.rest_put(&dialog, "2001", None, &answer("2001")).await?, 401, "the supervisor ANSWER");
    let unknown = server.rest_put(&dialog, "1002", None, "<Dialog><requestedAction>FLY</requestedAction></Dialog>").await?;
    assert_api_error(&unknown, 400, "unknown requestedAction");
    let missing = server.rest_put(&dialog, "1002", None, "<Dialog><targetMediaAddress>1002</targetMediaAddress></Dialog>").await?;
    assert_api_error(&missing, 400, "no requestedAction");

    let accepted = server.rest_put(&dialog, "1002", Some("answer"), &answer("1002")).await?;
    assert_accepted(&accepted, Some("answer"), "ANSWER");
    let answered = xmpp.wait_update(&mut got, |u| u.request_id == "answer" && u.source == dialog).await?;
    assert_eq!((answered.node.as_str(), answered.event.as_str()), (dialogs, "PUT"));
    let drop_it = "<Dialog><requestedAction>DROP</requestedAction><targetMediaAddress>1002</targetMediaAddress></Dialog>";
    assert_accepted(&server.rest_put(&dialog, "1002", Some("drop"), drop_it).await?, Some("drop"), "DROP");
    xmpp.wait_update(&mut got, |u| u.node == dialogs && u.event == "DELETE").await?;
    let after = server.rest_get(dialogs, "1002").await?;
    assert_eq!(after.status, 200, "{after:?}");
    assert!(!after.body.contains(&format!("<id>{call_id}</id>")), "the dropped call is gone from Dialogs: {}", after.body);

    let refused = server.inject_call("999", None, &[]).await?;
    assert_eq!(refused.status, 404, "unknown queue: {refused:?}");
    let addr = server.api_addr().expect("REST listener");
    let forged = herald_testkit::https_request_to(
        &server,
        addr,
        None,
        "POST",
        "/herald/sim/call?queue=100",
        &[("authorization", "Bearer forged")],
        Vec::new(),
    )
    .await?;
    assert_eq!(forged.status, 401, "a wrong simulator token: {forged:?}");
    server.stop().await?;
    Ok(())
}

//! Herald on PostgreSQL (issue 15, item 1) with a real server from Debian's packages
//! (`herald-dbtest`): logins and pubsub items kept in the database survive a restart of the
//! node, and two nodes on one database share their accounts — what a cluster's nodes rely on.
//! The contact center on PostgreSQL: the scenario is applied on the first start only, so an
//! operator's later change survives the next start.

use herald::config::StoreBackend;
use herald_dbtest::TempPostgres;
use herald_store::ContactCenterStore as _;
use herald_testkit::{RawClient, TestServer};

const PW: &str = "agent-pw";

/// The server, or `None` (the test is skipped) when PostgreSQL is not installed outside CI.
fn postgres() -> anyhow::Result<Option<TempPostgres>> {
    if !TempPostgres::available() {
        anyhow::ensure!(std::env::var_os("CI").is_none(), "PostgreSQL is missing under CI: .ci/run must install it");
        eprintln!("skipped: PostgreSQL is not installed (apt-get install postgresql)");
        return Ok(None);
    }
    Ok(Some(TempPostgres::start()?))
}

fn on(url: &str) -> impl FnOnce(&mut herald::Config) + '_ {
    move |c| {
        c.store.backend = StoreBackend::Postgres;
        c.store.url = Some(url.to_owned());
        c.store.max_connections = 4;
    }
}

/// The pubsub iq `body` as `id`, answered.
async fn pubsub(c: &mut RawClient, id: &str, kind: &str, body: &str) -> anyhow::Result<String> {
    c.send(&format!(
        "<iq type='{kind}' id='{id}' to='pubsub.localhost'><pubsub xmlns='http://jabber.org/protocol/pubsub'>{body}</pubsub></iq>"
    ))
    .await?;
    let mut answer = c.read_until(&format!("id='{id}'")).await?;
    answer += &c.read_until(">").await?;
    if !answer.ends_with("/>") {
        answer += &c.read_until("</iq>").await?;
    }
    Ok(answer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_and_pubsub_items_survive_a_restart_on_postgres() -> anyhow::Result<()> {
    let Some(pg) = postgres()? else { return Ok(()) };
    let url = pg.new_database()?;
    let server = TestServer::start_with(on(&url)).await?;
    server.add_user("alice", PW).await?;
    let mut alice = RawClient::login(&server, "alice", PW, "desk").await?;
    pubsub(&mut alice, "c", "set", "<create node='kept'/>").await?;
    let published = pubsub(&mut alice, "p", "set", "<publish node='kept'><item><v xmlns='urn:t'>one</v></item></publish>").await?;
    assert!(published.contains("type='result'"), "{published}");
    drop(alice);
    let data_dir = server.stop().await?;

    // Another start, with a fresh data directory: everything came from PostgreSQL.
    drop(data_dir);
    let again = TestServer::start_with(on(&url)).await?;
    let mut alice = RawClient::login(&again, "alice", PW, "desk").await?;
    let items = pubsub(&mut alice, "r", "get", "<items node='kept'/>").await?;
    assert!(items.contains("<v xmlns='urn:t'>one</v>"), "the item is still there: {items}");
    again.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_database_share_accounts_and_items() -> anyhow::Result<()> {
    let Some(pg) = postgres()? else { return Ok(()) };
    let url = pg.new_database()?;
    let (a, b) = (TestServer::start_with(on(&url)).await?, TestServer::start_with(on(&url)).await?);
    a.add_user("bob", PW).await?;
    // Created through node A, signs in on node B.
    let mut bob = RawClient::login(&b, "bob", PW, "desk").await?;
    pubsub(&mut bob, "c", "set", "<create node='shared'/>").await?;
    pubsub(&mut bob, "p", "set", "<publish node='shared'><item id='i1'><v xmlns='urn:t'>from-b</v></item></publish>").await?;
    // Read back through a third node, started after both: everything it serves it loaded from
    // the database. (A live node seeing another's writes at once is the Redis layer's work.)
    drop(bob);
    b.stop().await?;
    a.stop().await?;
    let c = TestServer::start_with(on(&url)).await?;
    let mut bob = RawClient::login(&c, "bob", PW, "desk").await?;
    let items = pubsub(&mut bob, "r", "get", "<items node='shared'/>").await?;
    assert!(items.contains("from-b"), "{items}");
    c.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_contact_center_runs_on_postgres() -> anyhow::Result<()> {
    let Some(pg) = postgres()? else { return Ok(()) };
    let url = pg.new_database()?;
    let server = TestServer::start_cc(on(&url)).await?;
    let reply = server
        .rest_put("/finesse/api/User/1001", "1001", Some("r1"), "<User><state>LOGIN</state><extension>1001</extension></User>")
        .await?;
    assert_eq!(reply.status, 202, "{}", reply.body);
    let user = server.rest_get("/finesse/api/User/1001", "1001").await?;
    assert!(user.body.contains("<loginId>1001</loginId>"), "{}", user.body);
    // An operator's change made after the first start ...
    let mut maria = server.store.cc_users().await?.into_iter().find(|u| u.login_id == "1001").expect("1001 is in the sample");
    maria.first_name = "Mariana".into();
    server.store.cc_put_user(&maria).await?;
    server.stop().await?;
    // ... survives a second start on the same database: the scenario is not applied again.
    let again = TestServer::start_cc(on(&url)).await?;
    let user = again.rest_get("/finesse/api/User/1001", "1001").await?;
    assert!(user.body.contains("<firstName>Mariana</firstName>"), "{}", user.body);
    again.stop().await?;
    Ok(())
}

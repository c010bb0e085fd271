//! The cluster end to end (issue 15): every test starts its own PostgreSQL and Redis and two or
//! three `herald serve` processes sharing them (`harness`), then checks what must cross nodes
//! (`routing`), the contact center answering through any node and its lease moving (`cti`),
//! and a node SIGKILLed under its desktops (`failover`, `logout`). Skipped when PostgreSQL or
//! Redis is not installed, unless `CI` is set.

mod cti;
mod failover;
mod harness;
mod logout;
mod routing;

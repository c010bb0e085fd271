//! The contact-center machine: REST calls and CTI events in, answers and effects out.
//! OWNED BY THE MACHINE SLICE — public types agreed, bodies to write.

use herald_cti::{CtiEvent, CtiRequest};
use herald_xml::Element;

use crate::EpochMs;
use crate::directory::{Directory, UserRecord};

/// What the machine needs to know about its deployment (SystemInfo, limits).
#[derive(Clone, Debug)]
pub struct CcConfig {
    /// The XMPP domain (`xmppDomain`, the local node's FQDN).
    pub xmpp_domain: String,
    /// `pubsub.<domain>`.
    pub pubsub_domain: String,
    /// UCCE or UCCX.
    pub deployment_type: String,
    /// `primaryNode/host` (this node unless configured).
    pub primary_host: String,
    /// `secondaryNode/host` (`None`: single node).
    pub secondary_host: Option<String>,
    /// The API listener's port (`httpsPort`).
    pub https_port: u16,
    /// Minutes east of GMT (`timezoneOffset`).
    pub timezone_offset_minutes: i32,
    /// `peripheralId`.
    pub peripheral_id: String,
}

/// An HTTP method as far as the API cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// GET (and HEAD).
    Get,
    /// PUT.
    Put,
    /// POST.
    Post,
    /// DELETE.
    Delete,
    /// Anything else: 405.
    Other,
}

/// One REST request, authenticated by the driver (`caller` is a login id known to the store's
/// accounts; the machine checks it is a contact-center user and what it may do).
#[derive(Clone, Debug)]
pub struct RestCall {
    /// The method.
    pub method: Method,
    /// The request target: path and query (`/finesse/api/User/1001?nocache=…`).
    pub target: String,
    /// The `requestId` header.
    pub request_id: Option<String>,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

/// The HTTP answer: 200 with an XML body, 202 with none, or an error with an ApiErrors body.
/// The driver adds `Content-Type: application/xml` when there is a body and echoes `requestId`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestAnswer {
    /// The status.
    pub status: u16,
    /// The XML body (serialised), if any.
    pub body: Option<String>,
}

/// What the driver must do, in order.
#[derive(Clone, Debug)]
pub enum Effect {
    /// Send a request to the CTI side.
    Cti(CtiRequest),
    /// Publish `payload` (a `<notification>` element) as a new item of `node`, as the server.
    Publish {
        /// The node (`/finesse/api/User/1001`).
        node: String,
        /// The item payload.
        payload: Element,
    },
    /// Store a client log as `logs/clientlogs/<file_name>`, then publish the POST event given.
    StoreClientLog {
        /// The file name: login id and timestamp.
        file_name: String,
        /// The log text.
        text: String,
        /// The node to publish on once stored (`User/{id}/ClientLog`).
        node: String,
        /// The payload to publish.
        payload: Element,
    },
}

/// A node the server creates (or reconfigures) at start: whitelist access, these members, and
/// these users subscribed with their bare JIDs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodePlan {
    /// The node name.
    pub node: String,
    /// Open to every user (SystemInfo) instead of a whitelist.
    pub open: bool,
    /// Login ids allowed to subscribe (whitelist members).
    pub members: Vec<String>,
    /// Login ids subscribed by the server.
    pub subscribers: Vec<String>,
}

/// The contact-center machine.
pub struct ContactCenter {
    config: CcConfig,
    directory: Directory,
}

impl ContactCenter {
    /// A machine over `directory`, every agent logged out, in service.
    pub fn new(config: CcConfig, directory: Directory) -> Self {
        Self { config, directory }
    }

    /// The directory.
    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    /// Adds or replaces a user at run time (returns the nodes it needs).
    pub fn put_user(&mut self, user: UserRecord) -> Vec<NodePlan> {
        let _ = (&self.config, user);
        todo!("machine slice")
    }

    /// Every node the configuration needs, with members and automatic subscriptions.
    pub fn node_plan(&self) -> Vec<NodePlan> {
        todo!("machine slice")
    }

    /// A REST call by `caller` (already authenticated).
    pub fn handle_rest(&mut self, now: EpochMs, caller: &str, call: RestCall) -> RestAnswer {
        let _ = (now, caller, call);
        todo!("machine slice")
    }

    /// An event from the CTI side.
    pub fn handle_cti(&mut self, now: EpochMs, event: CtiEvent) {
        let _ = (now, event);
        todo!("machine slice")
    }

    /// In or out of service (CTI link up/down, issue 12): publishes SystemInfo when it changes;
    /// while out of service every REST call but GET SystemInfo is 503.
    pub fn set_in_service(&mut self, now: EpochMs, in_service: bool, reason: &str) {
        let _ = (now, in_service, reason);
        todo!("machine slice")
    }

    /// The next effect, oldest first.
    pub fn poll_effect(&mut self) -> Option<Effect> {
        todo!("machine slice")
    }
}

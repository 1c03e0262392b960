//! The state the HTTP handlers share: handles to the services and the bridge's static facts.
//! No logic lives here.

use std::sync::Arc;

use crate::fleet::Fleet;
use crate::master::LocustWeb;
use crate::probe::Prober;
use crate::pusher::{MasterAddress, Pusher};
use crate::runs::Runs;
use crate::store::Store;
use crate::tally::Tally;

/// Facts about this bridge that the UI shows.
#[derive(Debug, Clone)]
pub struct BridgeInfo {
    /// Where workers reach the master's ZeroMQ port.
    pub master: MasterAddress,
    /// etcd endpoints (shown to people adding workers).
    pub etcd: Vec<String>,
}

/// What every handler gets (cheap to clone).
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    pub fleet: Arc<Fleet>,
    pub master: LocustWeb,
    pub pusher: Arc<Pusher>,
    pub prober: Prober,
    pub runs: Arc<Runs>,
    pub info: Arc<BridgeInfo>,
    /// The monotonic totals `/metrics` shows.
    pub tally: Arc<Tally>,
}

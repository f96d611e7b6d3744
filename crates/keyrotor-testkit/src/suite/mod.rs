//! The store conformance suite: what every backend must do, checked
//! through the core (the invariants users rely on) and through the store
//! traits (the contracts the core relies on). A backend runs it with
//! [`crate::store_suite!`]; cases that read or edit a backend's files
//! directly stay in that backend's own tests.
//!
//! Each case gets `make`, which opens a store on a database at a path;
//! calling it twice with one path gives two clients of one database (two
//! processes, or two nodes), which is how the cases check races and
//! cross-client visibility.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Barrier};

use keyrotor_core::store::{
    AuditEvent, ChangeDomain, LatestVersion, PutMode, ResourceGroup, Sealed, StoreError, StoredKey,
};
use keyrotor_core::usage::UsageEvent;
use keyrotor_core::vault::{
    ActionType, Collection, IsoDuration, LifetimeAction, ObjectAttributes, Trigger,
};
use keyrotor_core::{AccountSpec, Error, UsageRecorder};
use keyrotor_crypto::vault::{KeySpec, WrapAlg};
use keyrotor_types::{AccountKind, AccountName, KeySlot, ResourceGroupName, Secret};
use proptest::test_runner::{Config, TestRunner};
use time::OffsetDateTime;

use crate::{actor, scratch, Env, MakeStore};

mod activity;
mod deks;
mod keys;
mod resources;
mod vaults;

pub use activity::*;
pub use deks::*;
pub use keys::*;
pub use resources::*;
pub use vaults::*;

pub(crate) fn audit(action: &str) -> AuditEvent {
    AuditEvent {
        at: OffsetDateTime::now_utc(),
        actor: "suite".into(),
        action: action.into(),
        target: "t".into(),
        detail: String::new(),
        operation: format!("Keyrotor/{action}"),
        resource_id: "/subscriptions/s/resourceGroups/g".into(),
        status: keyrotor_core::activity::ActivityStatus::Succeeded,
        http_status: None,
        correlation_id: "suite".into(),
    }
}

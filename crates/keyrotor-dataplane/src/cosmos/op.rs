//! The Cosmos DB operations keyrotor serves, resolved once per request from
//! the method, the decoded path ([`ResourcePath`]) and the headers that
//! select an operation (`x-ms-documentdb-isquery`,
//! `x-ms-cosmos-is-query-plan-request`, `x-ms-documentdb-is-upsert`).
//!
//! Everything that decides about a request reads the one resolved [`Op`]:
//! whether a read-only key may serve it ([`Op::access`]), which data action a
//! bearer token needs ([`Op::data_action`]), and what the handler runs. A
//! header can select an operation (a `POST` to `docs` marked as a query is a
//! query), but never makes the permission check and the handler disagree
//! about which operation that is (security finding 1: a read-only key
//! created a container with `x-ms-documentdb-isquery: True`).

use http::Method;
use keyrotor_auth::cosmos::{Access, ResourcePath};

/// The headers that select an operation, each read once (a repeated one is
/// refused before this is built).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Selectors {
    pub is_query: bool,
    pub is_query_plan: bool,
    pub is_upsert: bool,
}

/// One Cosmos request, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `GET /`: the database account document.
    ReadAccount,
    /// Any other method on the account root (405); `access` as for
    /// [`Op::NotImplemented`].
    AccountMethodNotAllowed {
        access: Access,
    },
    ListDatabases,
    CreateDatabase,
    ReadDatabase {
        db: String,
    },
    DeleteDatabase {
        db: String,
    },
    ListContainers {
        db: String,
    },
    CreateContainer {
        db: String,
    },
    ReadContainer {
        db: String,
        coll: String,
    },
    ReplaceContainer {
        db: String,
        coll: String,
    },
    DeleteContainer {
        db: String,
        coll: String,
    },
    ReadPartitionKeyRanges {
        db: String,
        coll: String,
    },
    /// `GET …/docs`: every item of a container.
    ReadFeed {
        db: String,
        coll: String,
    },
    QueryPlan {
        db: String,
        coll: String,
    },
    Query {
        db: String,
        coll: String,
    },
    CreateItem {
        db: String,
        coll: String,
    },
    UpsertItem {
        db: String,
        coll: String,
    },
    ReadItem {
        db: String,
        coll: String,
        id: String,
    },
    ReplaceItem {
        db: String,
        coll: String,
        id: String,
    },
    DeleteItem {
        db: String,
        coll: String,
        id: String,
    },
    /// Not served (501); `access` is what the operation would do, so that a
    /// read-only key asking for a write is refused as such.
    NotImplemented {
        access: Access,
        message: &'static str,
    },
}

const NOT_IMPLEMENTED: &str =
    "This Cosmos DB operation is not implemented by keyrotor. See COMPATIBILITY.md.";

macro_rules! action {
    ($suffix:literal) => {
        concat!("Microsoft.DocumentDB/databaseAccounts/", $suffix)
    };
}

impl Op {
    /// Resolves a request. Resource type segments are matched exactly
    /// (`dbs`, `colls`, `docs`, `pkranges`), as the signature covers them.
    pub fn resolve(method: &Method, path: &ResourcePath<'_>, sel: Selectors) -> Op {
        let s: Vec<&str> = path.segments().collect();
        let own = |x: &str| x.to_string();
        match (method, s.as_slice()) {
            (&Method::GET, []) => Op::ReadAccount,
            (m, []) => Op::AccountMethodNotAllowed {
                access: access_of(m),
            },
            (&Method::GET, ["dbs"]) => Op::ListDatabases,
            (&Method::POST, ["dbs"]) if sel.is_query => Op::NotImplemented {
                access: Access::Read,
                message: "Querying databases is not implemented by keyrotor; list them instead.",
            },
            (&Method::POST, ["dbs"]) => Op::CreateDatabase,
            (&Method::GET, ["dbs", db]) => Op::ReadDatabase { db: own(db) },
            (&Method::DELETE, ["dbs", db]) => Op::DeleteDatabase { db: own(db) },
            (&Method::GET, ["dbs", db, "colls"]) => Op::ListContainers { db: own(db) },
            (&Method::POST, ["dbs", _, "colls"]) if sel.is_query => Op::NotImplemented {
                access: Access::Read,
                message: "Querying containers is not implemented by keyrotor; list them instead.",
            },
            (&Method::POST, ["dbs", db, "colls"]) => Op::CreateContainer { db: own(db) },
            (m, ["dbs", db, "colls", c]) => {
                let (db, coll) = (own(db), own(c));
                match *m {
                    Method::GET => Op::ReadContainer { db, coll },
                    Method::PUT => Op::ReplaceContainer { db, coll },
                    Method::DELETE => Op::DeleteContainer { db, coll },
                    _ => Op::not_implemented(m),
                }
            }
            (&Method::GET, ["dbs", db, "colls", c, "pkranges"]) => Op::ReadPartitionKeyRanges {
                db: own(db),
                coll: own(c),
            },
            (m, ["dbs", db, "colls", c, "docs"]) => {
                let (db, coll) = (own(db), own(c));
                match *m {
                    Method::GET => Op::ReadFeed { db, coll },
                    Method::POST if sel.is_query_plan => Op::QueryPlan { db, coll },
                    Method::POST if sel.is_query => Op::Query { db, coll },
                    Method::POST if sel.is_upsert => Op::UpsertItem { db, coll },
                    Method::POST => Op::CreateItem { db, coll },
                    _ => Op::not_implemented(m),
                }
            }
            (m, ["dbs", db, "colls", c, "docs", id]) => {
                let (db, coll, id) = (own(db), own(c), own(id));
                match *m {
                    Method::GET => Op::ReadItem { db, coll, id },
                    Method::PUT => Op::ReplaceItem { db, coll, id },
                    Method::DELETE => Op::DeleteItem { db, coll, id },
                    _ => Op::not_implemented(m),
                }
            }
            (m, _) => Op::not_implemented(m),
        }
    }

    fn not_implemented(method: &Method) -> Op {
        Op::NotImplemented {
            access: access_of(method),
            message: NOT_IMPLEMENTED,
        }
    }

    /// The Cosmos DB data action (Azure's names) a bearer token needs.
    pub fn data_action(&self) -> &'static str {
        match self {
            Op::ReadAccount
            | Op::ListDatabases
            | Op::ReadDatabase { .. }
            | Op::ListContainers { .. }
            | Op::ReadContainer { .. }
            | Op::ReadPartitionKeyRanges { .. }
            | Op::AccountMethodNotAllowed {
                access: Access::Read,
            }
            | Op::NotImplemented {
                access: Access::Read,
                ..
            } => action!("readMetadata"),
            Op::CreateDatabase
            | Op::AccountMethodNotAllowed {
                access: Access::Write,
            }
            | Op::NotImplemented {
                access: Access::Write,
                ..
            } => action!("sqlDatabases/write"),
            Op::DeleteDatabase { .. } => action!("sqlDatabases/delete"),
            Op::CreateContainer { .. } | Op::ReplaceContainer { .. } => {
                action!("sqlDatabases/containers/write")
            }
            Op::DeleteContainer { .. } => action!("sqlDatabases/containers/delete"),
            Op::ReadFeed { .. } | Op::ReadItem { .. } => {
                action!("sqlDatabases/containers/items/read")
            }
            Op::QueryPlan { .. } | Op::Query { .. } => {
                action!("sqlDatabases/containers/executeQuery")
            }
            Op::CreateItem { .. } => action!("sqlDatabases/containers/items/create"),
            Op::UpsertItem { .. } => action!("sqlDatabases/containers/items/upsert"),
            Op::ReplaceItem { .. } => action!("sqlDatabases/containers/items/replace"),
            Op::DeleteItem { .. } => action!("sqlDatabases/containers/items/delete"),
        }
    }

    /// Whether the operation only reads (a read-only key may serve it).
    pub fn access(&self) -> Access {
        match self {
            Op::NotImplemented { access, .. } | Op::AccountMethodNotAllowed { access } => *access,
            Op::ReadAccount
            | Op::ListDatabases
            | Op::ReadDatabase { .. }
            | Op::ListContainers { .. }
            | Op::ReadContainer { .. }
            | Op::ReadPartitionKeyRanges { .. }
            | Op::ReadFeed { .. }
            | Op::QueryPlan { .. }
            | Op::Query { .. }
            | Op::ReadItem { .. } => Access::Read,
            Op::CreateDatabase
            | Op::DeleteDatabase { .. }
            | Op::CreateContainer { .. }
            | Op::ReplaceContainer { .. }
            | Op::DeleteContainer { .. }
            | Op::CreateItem { .. }
            | Op::UpsertItem { .. }
            | Op::ReplaceItem { .. }
            | Op::DeleteItem { .. } => Access::Write,
        }
    }
}

/// What an operation keyrotor does not run would do, by its method.
fn access_of(method: &Method) -> Access {
    match *method {
        Method::GET | Method::HEAD => Access::Read,
        _ => Access::Write,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn resolve(m: Method, path: &str, sel: Selectors) -> Op {
        let p = ResourcePath::parse(path).expect("a valid path");
        Op::resolve(&m, &p, sel)
    }

    const QUERY: Selectors = Selectors {
        is_query: true,
        is_query_plan: false,
        is_upsert: false,
    };

    /// The finding's request: a container create marked as a query is a
    /// write (its own 501 here, never a create that passed as a read).
    #[test]
    fn a_query_header_never_turns_a_write_into_a_read() {
        let op = resolve(Method::POST, "/dbs/db1/colls", QUERY);
        assert!(matches!(op, Op::NotImplemented { .. }), "{op:?}");
        assert_eq!(
            resolve(Method::POST, "/dbs/db1/colls", Selectors::default()),
            Op::CreateContainer { db: "db1".into() }
        );
        assert_eq!(
            resolve(Method::POST, "/dbs/db1/colls/c1/docs", QUERY),
            Op::Query {
                db: "db1".into(),
                coll: "c1".into()
            }
        );
    }

    #[test]
    fn resource_types_match_exactly() {
        for path in [
            "/Dbs/db1",
            "/DBS",
            "/dbs/db1/Colls/c1",
            "/dbs/db1/colls/c1/DOCS/d1",
            "/dbs/db1/colls/c1/Docs",
        ] {
            assert!(
                matches!(
                    resolve(Method::GET, path, Selectors::default()),
                    Op::NotImplemented { .. }
                ),
                "{path}"
            );
        }
    }

    /// The data action's verb and the key's access agree for every path,
    /// method and selector: no operation needs only a read action but
    /// writes, or the other way round.
    fn methods() -> impl Strategy<Value = Method> {
        prop::sample::select(vec![
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
    }

    proptest! {
        #[test]
        fn access_and_data_action_agree(
            m in methods(),
            segs in prop::collection::vec(prop::sample::select(vec!["dbs", "colls", "docs", "pkranges", "db1", "c1", "Dbs", "x"]), 0..8),
            q in any::<bool>(), plan in any::<bool>(), upsert in any::<bool>(),
        ) {
            let path = format!("/{}", segs.join("/"));
            let op = resolve(m.clone(), &path, Selectors { is_query: q, is_query_plan: plan, is_upsert: upsert });
            let reads = matches!(
                op.data_action().rsplit('/').next(),
                Some("readMetadata" | "read" | "executeQuery")
            );
            prop_assert_eq!(reads, op.access() == Access::Read, "{:?}", op);
            // Only safe methods and marked POSTs read.
            if op.access() == Access::Read {
                prop_assert!(matches!(m, Method::GET | Method::HEAD | Method::POST), "{:?} {:?}", m, op);
                if m == Method::POST {
                    prop_assert!(q || plan, "{:?}", op);
                }
            }
        }
    }
}

//! The directory: who may read it, and how service principals are found
//! in it (by object id, by application id, by service principal name, by
//! display name), as Microsoft Graph looks them up. keyrotor's principals
//! have one identifier, the client id: it is their object id and their
//! application id, and the role assignments name them by it.

use super::*;

/// A service principal as the directory shows it: no secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryPrincipal {
    /// The object id (the client id: keyrotor has no separate one).
    pub object_id: String,
    /// The application (client) id it signs in with.
    pub app_id: String,
    pub display_name: String,
    pub created_at: OffsetDateTime,
    /// The names it is found by (Graph's `servicePrincipalNames`): its
    /// application id (keyrotor principals have no identifier URIs).
    pub names: Vec<String>,
}

/// Which principals a search wants. Values compare case-insensitively, as
/// the directory's do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalQuery {
    All,
    ObjectId(String),
    AppId(String),
    /// One of its `servicePrincipalNames` equals the value.
    ServicePrincipalName(String),
    DisplayName(String),
    DisplayNameStartsWith(String),
}

/// The most object ids one [`Keyrotor::directory_objects_by_ids`] takes
/// (Graph's limit for `getByIds`).
pub const MAX_IDS_PER_LOOKUP: usize = 1000;

/// Whether `s` is a GUID in its 8-4-4-4-12 hexadecimal form.
pub fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn view(p: Principal) -> DirectoryPrincipal {
    DirectoryPrincipal {
        object_id: p.client_id.clone(),
        app_id: p.client_id.clone(),
        names: vec![p.client_id],
        display_name: p.display_name,
        created_at: p.created_at,
    }
}

fn same(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

impl PrincipalQuery {
    fn matches(&self, p: &DirectoryPrincipal) -> bool {
        match self {
            PrincipalQuery::All => true,
            PrincipalQuery::ObjectId(id) => same(&p.object_id, id),
            PrincipalQuery::AppId(id) => same(&p.app_id, id),
            PrincipalQuery::ServicePrincipalName(n) => p.names.iter().any(|x| same(x, n)),
            PrincipalQuery::DisplayName(n) => same(&p.display_name, n),
            PrincipalQuery::DisplayNameStartsWith(n) => {
                p.display_name.to_lowercase().starts_with(&n.to_lowercase())
            }
        }
    }

    /// The one principal an id query can name, for a direct store read.
    fn single_id(&self) -> Option<&str> {
        match self {
            PrincipalQuery::ObjectId(id) | PrincipalQuery::AppId(id) => Some(id),
            PrincipalQuery::ServicePrincipalName(n) if is_guid(n) => Some(n),
            _ => None,
        }
    }
}

impl Keyrotor {
    /// Who may read the directory: every principal of the tenant that still
    /// exists (Entra lets its members read the directory by default; here
    /// the members are the service principals). An unexpired token of a
    /// deleted principal reads nothing.
    fn check_directory_reader(&self, actor: &Actor) -> Result<()> {
        if is_guid(&actor.0) && self.store.principal(&actor.0.to_lowercase())?.is_some() {
            Ok(())
        } else {
            Err(Error::NotInDirectory(actor.0.chars().take(64).collect()))
        }
    }

    /// The service principals `query` selects, oldest first.
    pub fn find_principals(
        &self,
        actor: &Actor,
        query: &PrincipalQuery,
    ) -> Result<Vec<DirectoryPrincipal>> {
        self.check_directory_reader(actor)?;
        if let Some(id) = query.single_id() {
            // Ids are GUIDs, stored in lower case: one read, not a scan.
            if !is_guid(id) {
                return Ok(Vec::new());
            }
            let found = self.store.principal(&id.to_lowercase())?;
            return Ok(found
                .map(|(p, _)| view(p))
                .filter(|p| query.matches(p))
                .into_iter()
                .collect());
        }
        Ok(self
            .store
            .principals()?
            .into_iter()
            .map(|(p, _)| view(p))
            .filter(|p| query.matches(p))
            .collect())
    }

    /// One service principal by object id: `InvalidInput` when `id` is no
    /// GUID, `PrincipalNotFound` when no principal has it.
    pub fn directory_principal(&self, actor: &Actor, id: &str) -> Result<DirectoryPrincipal> {
        self.check_directory_reader(actor)?;
        if !is_guid(id) {
            return Err(invalid_object_id(id));
        }
        self.store
            .principal(&id.to_lowercase())?
            .map(|(p, _)| view(p))
            .ok_or_else(|| Error::PrincipalNotFound(id.to_string()))
    }

    /// The principals among `ids` (object ids), in the order asked, each
    /// once; ids of nothing are left out. At most [`MAX_IDS_PER_LOOKUP`]
    /// ids, each a GUID (`InvalidInput` otherwise).
    pub fn directory_objects_by_ids(
        &self,
        actor: &Actor,
        ids: &[String],
    ) -> Result<Vec<DirectoryPrincipal>> {
        self.check_directory_reader(actor)?;
        if ids.len() > MAX_IDS_PER_LOOKUP {
            return Err(Error::InvalidInput(format!(
                "at most {MAX_IDS_PER_LOOKUP} ids can be looked up at once ({} given)",
                ids.len()
            )));
        }
        if let Some(bad) = ids.iter().find(|id| !is_guid(id)) {
            return Err(invalid_object_id(bad));
        }
        let mut seen = std::collections::BTreeSet::new();
        let mut out = Vec::new();
        for id in ids {
            let id = id.to_lowercase();
            if seen.insert(id.clone()) {
                out.extend(self.store.principal(&id)?.map(|(p, _)| view(p)));
            }
        }
        Ok(out)
    }
}

fn invalid_object_id(id: &str) -> Error {
    Error::InvalidInput(format!(
        "Invalid object identifier '{}'.",
        id.chars().take(64).collect::<String>()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_are_recognised_strictly() {
        assert!(is_guid("0f8fad5b-d9cb-469f-a165-70867728950e"));
        assert!(is_guid("0F8FAD5B-D9CB-469F-A165-70867728950E"));
        for bad in [
            "",
            "0f8fad5bd9cb469fa16570867728950e",
            "0f8fad5b-d9cb-469f-a165-70867728950",
            "0f8fad5b-d9cb-469f-a165-70867728950e0",
            "0f8fad5b_d9cb-469f-a165-70867728950e",
            "0f8fad5b-d9cb-469f-a165-70867728950g",
            "{0f8fad5b-d9cb-469f-a165-70867728950}",
        ] {
            assert!(!is_guid(bad), "{bad:?}");
        }
    }

    #[test]
    fn queries_match_case_insensitively() {
        let p = view(Principal {
            client_id: "0f8fad5b-d9cb-469f-a165-70867728950e".into(),
            display_name: "Billing Service".into(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            owner: None,
        });
        let id = "0F8FAD5B-D9CB-469F-A165-70867728950E".to_string();
        assert_eq!(p.object_id, p.app_id);
        assert_eq!(p.names, std::slice::from_ref(&p.app_id));
        for q in [
            PrincipalQuery::All,
            PrincipalQuery::ObjectId(id.clone()),
            PrincipalQuery::AppId(id.clone()),
            PrincipalQuery::ServicePrincipalName(id),
            PrincipalQuery::DisplayName("billing service".into()),
            PrincipalQuery::DisplayNameStartsWith("BILL".into()),
        ] {
            assert!(q.matches(&p), "{q:?}");
        }
        for q in [
            PrincipalQuery::ObjectId("0f8fad5b-d9cb-469f-a165-70867728950f".into()),
            PrincipalQuery::ServicePrincipalName("Billing Service".into()),
            PrincipalQuery::DisplayName("Billing".into()),
            PrincipalQuery::DisplayNameStartsWith("Service".into()),
        ] {
            assert!(!q.matches(&p), "{q:?}");
        }
    }
}

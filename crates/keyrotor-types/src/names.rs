use std::fmt;

/// Why a name was refused. The message is safe to show to clients.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} '{name}' is invalid: {rule}")]
pub struct NameError {
    pub what: &'static str,
    pub name: String,
    pub rule: &'static str,
}

fn refuse(what: &'static str, name: &str, rule: &'static str) -> NameError {
    // Cap what we echo back so a hostile name cannot bloat the response.
    let shown: String = name.chars().take(100).collect();
    NameError {
        what,
        name: shown,
        rule,
    }
}

/// The kinds of key-bearing accounts keyrotor manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AccountKind {
    /// Azure AI Services / AI Foundry (`Microsoft.CognitiveServices/accounts`).
    Ai,
    /// Azure Batch (`Microsoft.Batch/batchAccounts`).
    Batch,
    /// Azure Cosmos DB (`Microsoft.DocumentDB/databaseAccounts`).
    Cosmos,
}

impl AccountKind {
    pub const ALL: [AccountKind; 3] = [AccountKind::Ai, AccountKind::Batch, AccountKind::Cosmos];

    /// Stable identifier used in storage, URLs and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Ai => "ai",
            AccountKind::Batch => "batch",
            AccountKind::Cosmos => "cosmos",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
    }

    /// The key slots an account of this kind has, in display order.
    pub fn slots(self) -> &'static [KeySlot] {
        match self {
            AccountKind::Cosmos => &[
                KeySlot::Primary,
                KeySlot::Secondary,
                KeySlot::PrimaryReadonly,
                KeySlot::SecondaryReadonly,
            ],
            AccountKind::Batch | AccountKind::Ai => &[KeySlot::Primary, KeySlot::Secondary],
        }
    }

    pub fn has_slot(self, slot: KeySlot) -> bool {
        self.slots().contains(&slot)
    }
}

impl fmt::Display for AccountKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One of an account's key slots. Batch and AI accounts have the first two
/// (Primary/Key1 and Secondary/Key2); Cosmos accounts have all four.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeySlot {
    Primary,
    Secondary,
    PrimaryReadonly,
    SecondaryReadonly,
}

impl KeySlot {
    pub const ALL: [KeySlot; 4] = [
        KeySlot::Primary,
        KeySlot::Secondary,
        KeySlot::PrimaryReadonly,
        KeySlot::SecondaryReadonly,
    ];

    /// Stable identifier used in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            KeySlot::Primary => "primary",
            KeySlot::Secondary => "secondary",
            KeySlot::PrimaryReadonly => "primaryReadonly",
            KeySlot::SecondaryReadonly => "secondaryReadonly",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether the key only grants read access on the data plane.
    pub fn is_read_only(self) -> bool {
        matches!(self, KeySlot::PrimaryReadonly | KeySlot::SecondaryReadonly)
    }

    /// The other key of the same pair.
    pub fn sibling(self) -> KeySlot {
        match self {
            KeySlot::Primary => KeySlot::Secondary,
            KeySlot::Secondary => KeySlot::Primary,
            KeySlot::PrimaryReadonly => KeySlot::SecondaryReadonly,
            KeySlot::SecondaryReadonly => KeySlot::PrimaryReadonly,
        }
    }
}

impl fmt::Display for KeySlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A subscription id (a GUID, compared case-insensitively, kept lower-case).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubscriptionId(String);

impl SubscriptionId {
    pub fn parse(s: &str) -> Result<Self, NameError> {
        let ok = s.len() == 36
            && s.char_indices().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => c == '-',
                _ => c.is_ascii_hexdigit(),
            });
        if ok {
            Ok(Self(s.to_ascii_lowercase()))
        } else {
            Err(refuse("subscription id", s, "it must be a GUID"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SubscriptionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A resource group name: 1-90 letters, digits, `_ - . ( )`, not ending in a
/// period. Compared case-insensitively; the spelling given at creation is kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResourceGroupName {
    display: String,
    key: String,
}

impl ResourceGroupName {
    pub fn parse(s: &str) -> Result<Self, NameError> {
        const RULE: &str = "resource group names have 1-90 letters, digits, underscores, hyphens, periods or parentheses and do not end in a period";
        let n = s.chars().count();
        if n == 0
            || n > 90
            || s.ends_with('.')
            || !s
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '(' | ')'))
        {
            return Err(refuse("resource group name", s, RULE));
        }
        Ok(Self {
            display: s.to_string(),
            key: s.to_lowercase(),
        })
    }

    /// The name as first given.
    pub fn as_str(&self) -> &str {
        &self.display
    }

    /// The case-folded form used for lookups.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl fmt::Display for ResourceGroupName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

/// An account name, validated by the rules of its kind. Account names are
/// unique per kind across the whole service because they appear in endpoint
/// host names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccountName(String);

impl AccountName {
    pub fn parse(kind: AccountKind, s: &str) -> Result<Self, NameError> {
        let lower_alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
        let (ok, what, rule) = match kind {
            AccountKind::Cosmos => (
                (3..=44).contains(&s.len())
                    && s.chars().all(|c| lower_alnum(c) || c == '-')
                    && s.starts_with(lower_alnum)
                    && s.ends_with(lower_alnum),
                "Cosmos DB account name",
                "it must be 3-44 lower-case letters, digits or hyphens, starting and ending with a letter or digit",
            ),
            AccountKind::Batch => (
                (3..=24).contains(&s.len()) && s.chars().all(lower_alnum),
                "Batch account name",
                "it must be 3-24 lower-case letters or digits",
            ),
            AccountKind::Ai => (
                (2..=64).contains(&s.len())
                    && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && s.starts_with(|c: char| c.is_ascii_alphanumeric())
                    && s.ends_with(|c: char| c.is_ascii_alphanumeric()),
                "AI Services account name",
                "it must be 2-64 letters, digits or hyphens, starting and ending with a letter or digit",
            ),
        };
        if ok {
            Ok(Self(s.to_string()))
        } else {
            Err(refuse(what, s, rule))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Case-folded form used for uniqueness and lookups.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl fmt::Display for AccountName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A key vault name: 3-24 letters, digits and hyphens, starting with a
/// letter, ending with a letter or digit, no two hyphens in a row. Unique
/// across the service, case-insensitively (it is a DNS label).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VaultName(String);

impl VaultName {
    pub fn parse(s: &str) -> Result<Self, NameError> {
        let ok = (3..=24).contains(&s.len())
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.ends_with(|c: char| c.is_ascii_alphanumeric())
            && !s.contains("--");
        if ok {
            Ok(Self(s.to_string()))
        } else {
            Err(refuse(
                "vault name",
                s,
                "it must be 3-24 letters, digits or hyphens, start with a letter, end with a letter or digit, and have no consecutive hyphens",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl fmt::Display for VaultName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The name of a key or secret in a vault: 1-127 letters, digits and hyphens.
pub fn valid_object_name(s: &str) -> bool {
    (1..=127).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vault_names() {
        for ok in ["kv1", "My-Vault-01", "abcdefghijklmnopqrstuvwx"] {
            assert!(VaultName::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "ab",
            "1kv",
            "kv-",
            "a--b",
            "abcdefghijklmnopqrstuvwxy",
            "kv_1",
            "kv.1",
        ] {
            assert!(VaultName::parse(bad).is_err(), "{bad}");
        }
        assert!(valid_object_name("key-1") && !valid_object_name("a/b") && !valid_object_name(""));
    }

    #[test]
    fn resource_group_names() {
        assert!(ResourceGroupName::parse("my-rg_1.(x)").is_ok());
        assert!(ResourceGroupName::parse("").is_err());
        assert!(ResourceGroupName::parse("ends.").is_err());
        assert!(ResourceGroupName::parse("has space").is_err());
        assert!(ResourceGroupName::parse("a/b").is_err());
        assert!(ResourceGroupName::parse(&"x".repeat(91)).is_err());
        assert_eq!(
            ResourceGroupName::parse("MyRG")
                .expect("a valid group name")
                .key(),
            "myrg"
        );
    }

    #[test]
    fn account_names_per_kind() {
        assert!(AccountName::parse(AccountKind::Cosmos, "acct-1").is_ok());
        assert!(AccountName::parse(AccountKind::Cosmos, "Acct").is_err());
        assert!(AccountName::parse(AccountKind::Cosmos, "-ab").is_err());
        assert!(AccountName::parse(AccountKind::Batch, "batch1").is_ok());
        assert!(AccountName::parse(AccountKind::Batch, "batch-1").is_err());
        assert!(AccountName::parse(AccountKind::Ai, "My-AI").is_ok());
        assert!(AccountName::parse(AccountKind::Ai, "a").is_err());
    }

    #[test]
    fn subscription_ids() {
        assert!(SubscriptionId::parse("00000000-0000-0000-0000-00000000000A").is_ok());
        assert!(SubscriptionId::parse("not-a-guid").is_err());
    }

    #[test]
    fn slots_per_kind() {
        assert_eq!(AccountKind::Cosmos.slots().len(), 4);
        assert!(!AccountKind::Batch.has_slot(KeySlot::PrimaryReadonly));
        for s in KeySlot::ALL {
            assert_eq!(KeySlot::parse(s.as_str()), Some(s));
            assert_eq!(s.sibling().sibling(), s);
        }
    }

    proptest::proptest! {
        #[test]
        fn name_parsers_never_panic(s in ".{0,120}") {
            let _ = ResourceGroupName::parse(&s);
            let _ = SubscriptionId::parse(&s);
            for k in AccountKind::ALL { let _ = AccountName::parse(k, &s); }
        }
    }
}

use std::fmt;

use zeroize::Zeroizing;

/// Secret text (an account key, a client secret, a bearer token).
///
/// The value is wiped from memory on drop, never printed by `Debug` or
/// `Display`, and compared only in constant time. Reading it requires an
/// explicit, greppable [`Secret::expose`].
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(Zeroizing::new(value))
    }

    /// The secret text. Every call site is a place where key material leaves
    /// the newtype; keep them few.
    pub fn expose(&self) -> &str {
        self.0.as_str()
    }

    /// Constant-time equality (length is not hidden).
    pub fn ct_eq(&self, other: &str) -> bool {
        ct_eq(self.0.as_bytes(), other.as_bytes())
    }
}

/// Constant-time equality of two byte strings: the time depends on the
/// lengths only, never on where they differ (length is not hidden). Every
/// comparison of secret material in keyrotor goes through here.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    constant_time_eq::constant_time_eq(a, b)
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other.expose())
    }
}

impl Eq for Secret {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("hunter2-very-secret".into());
        let shown = format!("{s:?} {:?}", vec![s.clone()]);
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("REDACTED"));
    }

    #[test]
    fn equality_is_by_value() {
        let a = Secret::new("abc".into());
        assert!(a.ct_eq("abc"));
        assert!(!a.ct_eq("abd"));
        assert!(!a.ct_eq("ab"));
        assert_eq!(a, Secret::new("abc".into()));
    }
}

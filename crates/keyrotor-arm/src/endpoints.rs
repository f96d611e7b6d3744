//! Where each account's data plane is reached.
//!
//! Two schemes, both served by the same listener:
//! * **path** (default): `https://HOST:PORT/cosmos/{account}/`,
//!   `HOST:PORT/batch/{account}`, `https://HOST:PORT/ai/{account}/`. Works on
//!   a machine whose only name resolution is /etc/hosts, with no extra
//!   entries: every SDK keeps a path prefix in its endpoint.
//! * **host** (with a DNS suffix): `https://{account}.documents.{suffix}:PORT/`,
//!   `{account}.batch.{suffix}:PORT`, `https://{account}.cognitiveservices.{suffix}:PORT/`,
//!   for deployments with a wildcard DNS record, as in Azure.

#[derive(Debug, Clone)]
pub struct Endpoints {
    /// Base URL clients use to reach this service, e.g. `https://127.0.0.1:8443`.
    pub public_url: String,
    /// DNS suffix for host-name routing, e.g. `keyrotor.example.com`.
    pub dns_suffix: Option<String>,
    /// `:PORT` of the public URL, or empty for 443.
    pub port: String,
}

impl Endpoints {
    pub fn new(public_url: &str, dns_suffix: Option<String>) -> Self {
        let public_url = public_url.trim_end_matches('/').to_string();
        let authority = public_url
            .split_once("://")
            .map_or(public_url.as_str(), |(_, rest)| rest);
        let port = match authority.rsplit_once(':') {
            Some((host, p)) if !host.ends_with(']') || authority.contains("]:") => {
                if p == "443" {
                    String::new()
                } else {
                    format!(":{p}")
                }
            }
            _ => String::new(),
        };
        Self {
            public_url,
            dns_suffix: dns_suffix.map(|s| s.trim_matches('.').to_ascii_lowercase()),
            port,
        }
    }

    /// ARM base URL (also the token authority).
    pub fn arm(&self) -> &str {
        &self.public_url
    }

    pub fn cosmos(&self, account: &str) -> String {
        match &self.dns_suffix {
            Some(s) => format!("https://{account}.documents.{s}{}/", self.port),
            None => format!("{}/cosmos/{account}/", self.public_url),
        }
    }

    /// Batch endpoints carry no scheme, as in Azure.
    pub fn batch(&self, account: &str) -> String {
        match &self.dns_suffix {
            Some(s) => format!("{account}.batch.{s}{}", self.port),
            None => {
                let no_scheme = self
                    .public_url
                    .split_once("://")
                    .map_or(self.public_url.as_str(), |(_, r)| r);
                format!("{no_scheme}/batch/{account}")
            }
        }
    }

    /// The DNS suffix under which vaults live: `vault.{dns suffix}`, or
    /// `vault.localhost` without one (vault clients need one host per vault).
    pub fn vault_suffix(&self) -> String {
        format!(
            "vault.{}",
            self.dns_suffix.as_deref().unwrap_or("localhost")
        )
    }

    /// `https://{vault}.vault.{suffix}[:port]/`.
    pub fn vault(&self, name: &str) -> String {
        format!(
            "https://{}.{}{}/",
            name.to_ascii_lowercase(),
            self.vault_suffix(),
            self.port
        )
    }

    /// The resource in vault challenges (and the audience of vault tokens).
    pub fn vault_resource(&self) -> String {
        format!("https://{}{}", self.vault_suffix(), self.port)
    }

    /// Where Microsoft Graph is served: `{url}/graph` (requests go to
    /// `{url}/graph/v1.0/…`).
    pub fn graph(&self) -> String {
        format!("{}{}", self.public_url, crate::graph::PREFIX)
    }

    /// The Graph resource (`microsoftGraphResourceId` in
    /// `/metadata/endpoints`): `{url}/graph/`. az asks for the scope
    /// `{resource}/.default`, so its tokens have this audience.
    pub fn graph_resource(&self) -> String {
        format!("{}/", self.graph())
    }

    pub fn ai(&self, account: &str) -> String {
        match &self.dns_suffix {
            Some(s) => format!("https://{account}.cognitiveservices.{s}{}/", self.port),
            None => format!("{}/ai/{account}/", self.public_url),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_and_host_schemes() {
        let p = Endpoints::new("https://127.0.0.1:8443/", None);
        assert_eq!(p.cosmos("acct"), "https://127.0.0.1:8443/cosmos/acct/");
        assert_eq!(p.batch("ba1"), "127.0.0.1:8443/batch/ba1");
        assert_eq!(p.ai("ai1"), "https://127.0.0.1:8443/ai/ai1/");
        let h = Endpoints::new("https://kr.example.com:8443", Some("kr.example.com".into()));
        assert_eq!(
            h.cosmos("acct"),
            "https://acct.documents.kr.example.com:8443/"
        );
        assert_eq!(h.batch("ba1"), "ba1.batch.kr.example.com:8443");
        let d = Endpoints::new("https://kr.example.com", Some("kr.example.com.".into()));
        assert_eq!(d.ai("ai1"), "https://ai1.cognitiveservices.kr.example.com/");
        assert_eq!(p.graph(), "https://127.0.0.1:8443/graph");
        assert_eq!(p.graph_resource(), "https://127.0.0.1:8443/graph/");
        let v6 = Endpoints::new("https://[::1]:9000", None);
        assert_eq!(v6.port, ":9000");
    }
}

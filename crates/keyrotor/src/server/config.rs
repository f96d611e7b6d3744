//! Start-up configuration: the root key, the URL clients are told, the
//! bootstrap document.

use super::*;

pub(super) fn load_root_key(args: &ServeArgs) -> Result<RootKey> {
    read_root_key(&args.data_dir, args.root_key_file.as_deref(), true)
}

/// The root key: `KEYROTOR_ROOT_KEY`, else `file`, else DATA_DIR/root.key
/// (created when absent and `create`).
pub fn read_root_key(data_dir: &Path, file: Option<&Path>, create: bool) -> Result<RootKey> {
    if let Ok(text) = std::env::var("KEYROTOR_ROOT_KEY") {
        return RootKey::parse(&text).context("KEYROTOR_ROOT_KEY is not a valid root key");
    }
    let path = file.map_or_else(|| data_dir.join("root.key"), Path::to_path_buf);
    if path.exists() {
        check_private_file(&path)?;
        let text = zeroize::Zeroizing::new(
            std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?,
        );
        return RootKey::parse(&text)
            .with_context(|| format!("{} does not hold a valid root key", path.display()));
    }
    if file.is_some() || !create {
        bail!("root key file {} does not exist", path.display());
    }
    let (key, text) = RootKey::generate()?;
    write_private_file(&path, text.expose().as_bytes())?;
    tracing::info!(path = %path.display(), key_id = %key.id(), "created a new root key");
    Ok(key)
}

/// The URL clients are told to use: `--public-url`, or the address bound
/// (`local`: with `--listen` port 0, the port the system chose).
pub(super) fn public_url(args: &ServeArgs, local: SocketAddr) -> String {
    args.public_url.clone().unwrap_or_else(|| {
        let scheme = if args.no_tls { "http" } else { "https" };
        match local {
            SocketAddr::V4(a) if a.ip().is_unspecified() => {
                format!("{scheme}://127.0.0.1:{}", a.port())
            }
            SocketAddr::V6(a) if a.ip().is_unspecified() => {
                format!("{scheme}://[::1]:{}", a.port())
            }
            a => format!("{scheme}://{a}"),
        }
    })
}

pub(super) fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next().map(str::to_string);
    }
    Some(
        authority
            .rsplit_once(':')
            .map_or(authority, |(h, _)| h)
            .to_string(),
    )
}

pub(super) fn write_bootstrap(
    path: &Path,
    dir: &keyrotor_core::Directory,
    creds: Option<&keyrotor_core::NewCredentials>,
    url: &str,
    ca: &Path,
) -> Result<()> {
    let existing: Option<serde_json::Value> = std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let secret = match (creds, &existing) {
        (Some(c), _) => Some(c.client_secret.expose().to_string()),
        (None, Some(v)) => v
            .get("clientSecret")
            .and_then(|s| s.as_str())
            .map(str::to_string),
        (None, None) => None,
    };
    let Some(secret) = secret.map(zeroize::Zeroizing::new) else {
        tracing::warn!(path = %path.display(), "bootstrap credentials file is missing; the administrator secret cannot be shown again");
        return Ok(());
    };
    let ca = std::fs::canonicalize(ca).unwrap_or_else(|_| ca.to_path_buf());
    let doc = serde_json::json!({
        "tenantId": dir.tenant_id,
        "subscriptionId": dir.subscription_id.as_str(),
        "clientId": dir.admin_client_id,
        "clientSecret": secret.as_str(),
        "authority": url,
        "resourceManager": url,
        "caCert": ca,
    });
    let text = zeroize::Zeroizing::new(serde_json::to_vec_pretty(&doc)?);
    if existing.as_ref() != Some(&doc) {
        write_private_file(path, &text)?;
    }
    Ok(())
}

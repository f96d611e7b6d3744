//! Identity: service principals and their secrets, signing-key rotation.

use super::*;

/// A service principal as the identity extension returns it (never a secret value).
pub fn principal(
    p: &keyrotor_core::Principal,
    secrets: &[keyrotor_core::PrincipalSecret],
    tenant: &str,
    bootstrap: bool,
) -> wi::Principal {
    wi::Principal {
        client_id: p.client_id.clone(),
        display_name: p.display_name.clone(),
        tenant_id: tenant.to_string(),
        created_time: Timestamp(p.created_at),
        bootstrap_administrator: bootstrap,
        owner: p.owner.clone(),
        secrets: secrets
            .iter()
            .map(|s| wi::SecretInfo {
                secret_id: s.secret_id.clone(),
                expires_time: s.expires_at.map(Timestamp),
                created_time: Some(Timestamp(s.created_at)),
                last_used_time: s.last_used_at.map(Timestamp),
            })
            .collect(),
        secret: None,
    }
}

/// A token-signing key's listing entry.
pub fn signing_key(k: &keyrotor_core::SigningKeyInfo) -> wi::SigningKeyInfo {
    wi::SigningKeyInfo {
        kid: k.kid.clone(),
        created_time: Timestamp(k.created_at),
        signing: k.superseded_at.is_none(),
        superseded_time: k.superseded_at.map(Timestamp),
    }
}

/// A newly created client secret: the only response that carries its value.
pub fn new_secret(
    meta: &keyrotor_core::PrincipalSecret,
    secret: &keyrotor_types::Secret,
) -> wi::NewSecret {
    wi::NewSecret {
        secret_id: meta.secret_id.clone(),
        value: secret.expose().to_string(),
        expires_time: meta.expires_at.map(Timestamp),
    }
}

const EXPIRES: (&str, &str) = (
    "expiresInSeconds",
    "'expiresInSeconds' must be an integer from 1 to 63244800",
);

/// When a new client secret expires: `expiresInSeconds` (1 s to 2 years)
/// from `now`, if given.
pub fn secret_expiry(
    lifetime: Option<i64>,
    now: OffsetDateTime,
) -> ArmResult<Option<OffsetDateTime>> {
    match lifetime {
        None => Ok(None),
        Some(s) if (1..=2 * 366 * 86_400).contains(&s) => {
            Ok(Some(now + time::Duration::seconds(s)))
        }
        Some(_) => Err(ArmError::InvalidParameter(EXPIRES.1.into())),
    }
}

/// A create-principal body: the display name and when its first secret
/// expires.
pub fn create_principal(
    body: &[u8],
    now: OffsetDateTime,
) -> ArmResult<(String, Option<OffsetDateTime>)> {
    let r: wi::CreatePrincipal = parse(body, &[EXPIRES])?;
    let name = r
        .display_name
        .ok_or_else(|| ArmError::InvalidParameter("'displayName' is required".into()))?;
    Ok((name, secret_expiry(r.expires_in_seconds, now)?))
}

/// An add-secret body (optional): when the secret expires.
pub fn add_secret(body: &[u8], now: OffsetDateTime) -> ArmResult<Option<OffsetDateTime>> {
    if body.is_empty() {
        return Ok(None);
    }
    let r: wi::SecretLifetime = parse(body, &[EXPIRES])?;
    secret_expiry(r.expires_in_seconds, now)
}

/// A remove-secret body: the secret's id.
pub fn remove_secret(body: &[u8]) -> ArmResult<String> {
    parse::<wi::RemoveSecret>(body, &[])?
        .secret_id
        .ok_or_else(|| ArmError::InvalidParameter("'secretId' is required".into()))
}

/// A rotation-policy run body (optional): the time to run at, if given.
pub fn rotation_at(body: &[u8]) -> ArmResult<Option<String>> {
    if body.is_empty() {
        return Ok(None);
    }
    Ok(parse::<wi::RunRotationPolicies>(body, &[])?.at)
}

//! Keys: lists, read-only keys, connection strings, regeneration, usage.

use super::*;

/// The key values of `slots` under their wire names (`null` for a key
/// missing from `keys`).
pub(crate) fn key_values(
    kind: AccountKind,
    slots: &[KeySlot],
    keys: &[AccountKey],
) -> KeyMap<Option<String>> {
    KeyMap(
        slots
            .iter()
            .filter_map(|&slot| {
                let value = keys
                    .iter()
                    .find(|k| k.slot == slot)
                    .map(|k| k.value.expose().to_string());
                Some((KeyName::of(kind, slot)?, value))
            })
            .collect(),
    )
}

/// listKeys (and Batch/AI regenerate) response bodies.
pub fn keys(a: &Account, keys: &[AccountKey]) -> wk::KeyList {
    let slots: &[KeySlot] = match a.kind {
        AccountKind::Cosmos => AccountKind::Cosmos.slots(),
        AccountKind::Batch | AccountKind::Ai => &[KeySlot::Primary, KeySlot::Secondary],
    };
    wk::KeyList {
        account_name: (a.kind == AccountKind::Batch).then(|| a.name.as_str().to_string()),
        keys: key_values(a.kind, slots, keys),
    }
}

/// The read-only keys of a Cosmos DB account.
pub fn read_only_keys(keys: &[AccountKey]) -> wk::KeyList {
    wk::KeyList {
        account_name: None,
        keys: key_values(
            AccountKind::Cosmos,
            &[KeySlot::PrimaryReadonly, KeySlot::SecondaryReadonly],
            keys,
        ),
    }
}

pub fn connection_strings(
    a: &Account,
    keys: &[AccountKey],
    ep: &Endpoints,
) -> wk::ConnectionStrings {
    let endpoint = ep.cosmos(a.name.as_str());
    wk::ConnectionStrings {
        connection_strings: keys
            .iter()
            .map(|k| {
                let (description, kind) = wk::connection_string_names(k.slot);
                wk::ConnectionString {
                    connection_string: format!(
                        "AccountEndpoint={endpoint};AccountKey={};",
                        k.value.expose()
                    ),
                    description: description.into(),
                    key_kind: kind.into(),
                    kind: "Sql".into(),
                }
            })
            .collect(),
    }
}

/// Parses the key named in a regenerate body, per account kind:
/// Cosmos `{"keyKind": "primary|secondary|primaryReadonly|secondaryReadonly"}`,
/// Batch `{"keyName": "Primary|Secondary"}`, AI `{"keyName": "Key1|Key2"}`
/// (any case).
pub fn regenerate_slot(kind: AccountKind, body: &[u8]) -> ArmResult<KeySlot> {
    let field = wk::regenerate_field(kind);
    let value = match kind {
        AccountKind::Cosmos => parse::<wk::RegenerateByKind>(body, &[])?.key_kind,
        AccountKind::Batch | AccountKind::Ai => parse::<wk::RegenerateByName>(body, &[])?.key_name,
    };
    let names = KeyName::all(kind)
        .map(|k| k.regenerate)
        .collect::<Vec<_>>()
        .join(", ");
    let value = value.ok_or_else(|| {
        ArmError::InvalidParameter(format!("'{field}' is required; one of: {names}"))
    })?;
    KeyName::all(kind)
        .find(|k| k.regenerate.eq_ignore_ascii_case(&value))
        .map(|k| k.slot)
        .ok_or_else(|| {
            ArmError::InvalidParameter(format!(
                "'{field}' value '{}' is invalid; expected one of: {names}",
                value.chars().take(40).collect::<String>()
            ))
        })
}

/// `listKeyUsage` (keyrotor extension): per key, its generation, when it was
/// last used, request counts and the clients that used it.
pub fn key_usage(
    a: &Account,
    keys: &[KeyInfo],
    usage: &[KeyUsage],
    now: OffsetDateTime,
) -> wk::KeyUsageList {
    let list = keys
        .iter()
        .map(|k| {
            let u = usage.iter().find(|u| u.slot == k.slot);
            let sum_since = |secs: i64| -> u64 {
                u.map_or(0, |u| {
                    u.hourly
                        .iter()
                        .filter(|(h, _)| (now - *h).whole_seconds() < secs)
                        .map(|(_, n)| *n)
                        .sum()
                })
            };
            wk::KeyUsage {
                key_name: key_name(a.kind, k.slot).into(),
                key_kind: k.slot.as_str().into(),
                generation: k.generation,
                generation_time: Timestamp(k.generated_at),
                last_used_time: u.and_then(|u| u.last_used).map(Timestamp),
                requests_last24_hours: sum_since(86_400),
                would_be_rejected: u.map_or(0, |u| u.would_reject),
                requests_last30_days: sum_since(30 * 86_400),
                hourly: u
                    .map(|u| {
                        u.hourly
                            .iter()
                            .map(|(h, n)| wk::HourlyRequests {
                                hour: Timestamp(*h),
                                requests: *n,
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                clients: u
                    .map(|u| {
                        u.clients
                            .iter()
                            .filter_map(|c| {
                                Some(wk::ClientUse {
                                    user_agent: c.user_agent.clone(),
                                    address: c.address.clone(),
                                    last_seen_time: Timestamp(
                                        OffsetDateTime::from_unix_timestamp(c.last_seen).ok()?,
                                    ),
                                    requests: c.requests,
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                in_use: None,
            }
        })
        .collect();
    wk::KeyUsageList {
        keys: list,
        guard_window_seconds: None,
    }
}

/// Adds the guard's verdict to a `listKeyUsage` answer: `inUse` per key
/// (used within the window) and the window itself, in seconds.
pub fn mark_in_use(
    usage: &mut wk::KeyUsageList,
    window: time::Duration,
    in_use: &[keyrotor_core::guard::KeyInUse],
) {
    usage.guard_window_seconds = Some(window.whole_seconds());
    for k in &mut usage.keys {
        k.in_use = Some(in_use.iter().any(|u| u.slot.as_str() == k.key_kind));
    }
}

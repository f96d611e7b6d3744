//! keyrotor's vault key rotation-policy run.

use axum::http::StatusCode;
use axum::response::Response;

use super::ok_json;
use crate::dto;
use crate::error::{ArmError, ArmResult};
use crate::state::ArmState;
use crate::wire::identity::{RotatedKey, RotationRun};

/// `RotationPoliciesRun`: rotates every key whose policy is due now (or at
/// `at`, on a server started with `--test-clock`).
pub(super) fn handle_run(st: &ArmState, body: &[u8]) -> ArmResult<Response> {
    let core = &st.core;
    let at = match dto::rotation_at(body)? {
        None => core.now(),
        Some(_) if !st.test_clock => {
            return Err(ArmError::InvalidParameter(
                "'at' is accepted only by a server started with --test-clock".into(),
            ))
        }
        Some(t) => time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339)
            .map_err(|_| ArmError::InvalidParameter("'at' must be an RFC 3339 time".into()))?,
    };
    let rotated = core
        .run_rotation_policies(at)?
        .into_iter()
        .map(|(vault, key, version)| RotatedKey {
            vault,
            key,
            version,
        })
        .collect();
    ok_json(StatusCode::OK, &RotationRun { rotated })
}

"""Service principals with several client secrets (rotated without downtime,
with expiry) and token-signing-key rotation with overlap, driven through
the keyrotor CLI and checked with azure-identity."""

import base64
import json
import uuid

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ClientSecretCredential

from conftest import ARM_SCOPE, wait_until


def cred(server, client_id, secret):
    b = server.bootstrap
    return ClientSecretCredential(b["tenantId"], client_id, secret, authority=b["authority"], disable_instance_discovery=True)


def can_sign_in(server, client_id, secret):
    try:
        cred(server, client_id, secret).get_token(ARM_SCOPE)
        return True
    except ClientAuthenticationError:
        return False


def list_groups(server, token):
    r = requests.get(f"{server.url}/subscriptions/{server.bootstrap['subscriptionId']}/resourcegroups?api-version=2025-04-01", headers={"Authorization": f"Bearer {token}"})
    return r.status_code


def test_service_principal_secret_rotation(server, kr):
    sp = json.loads(kr("identity", "sp", "create", "-n", f"ci-app-{uuid.uuid4().hex[:6]}").stdout)
    cid, first = sp["clientId"], sp["secret"]["value"]
    assert sp["tenantId"] == server.bootstrap["tenantId"]
    token = cred(server, cid, first).get_token(ARM_SCOPE).token
    assert list_groups(server, token) == 200

    second = json.loads(kr("identity", "sp", "secret", "add", "--id", cid).stdout)
    assert can_sign_in(server, cid, first) and can_sign_in(server, cid, second["value"])
    listed = next(p for p in json.loads(kr("identity", "sp", "list").stdout) if p["clientId"] == cid)
    assert len(listed["secrets"]) == 2 and "value" not in json.dumps(listed["secrets"])

    kr("identity", "sp", "secret", "remove", "--id", cid, "--secret-id", sp["secret"]["secretId"])
    assert not can_sign_in(server, cid, first)
    assert can_sign_in(server, cid, second["value"])

    short = json.loads(kr("identity", "sp", "secret", "add", "--id", cid, "--expires", "2s").stdout)
    assert can_sign_in(server, cid, short["value"])
    wait_until(lambda: not can_sign_in(server, cid, short["value"]), "the expired secret is refused")

    kr("identity", "sp", "delete", "--id", cid, "--yes")
    assert not can_sign_in(server, cid, second["value"])
    refused = kr("identity", "sp", "delete", "--id", server.bootstrap["clientId"], "--yes", check=False)
    assert refused.returncode != 0 and "bootstrap administrator" in refused.stderr


def test_signing_key_rotation_keeps_issued_tokens_valid(server, kr):
    b = server.bootstrap
    old_token = cred(server, b["clientId"], b["clientSecret"]).get_token(ARM_SCOPE).token
    kid = lambda t: json.loads(base64.urlsafe_b64decode(t.split(".")[0] + "=="))["kid"]  # noqa: E731
    rotated = json.loads(kr("identity", "signing-key", "rotate").stdout)
    assert rotated["signingKid"] != kid(old_token)
    assert kid(old_token) in rotated["jwksKids"]
    jwks = requests.get(f"{b['authority']}/{b['tenantId']}/discovery/v2.0/keys").json()
    assert {k["kid"] for k in jwks["keys"]} >= {kid(old_token), rotated["signingKid"]}
    assert list_groups(server, old_token) == 200, "a token signed with the previous key was refused"
    new_token = cred(server, b["clientId"], b["clientSecret"]).get_token(ARM_SCOPE).token
    assert kid(new_token) == rotated["signingKid"]
    assert list_groups(server, new_token) == 200

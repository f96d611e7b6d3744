"""Key Vault data plane, raw HTTP: the challenge, tokens for the wrong
audience, missing roles, unknown keys, wrong algorithms, tampered
ciphertext, disabled keys, malformed bodies and unimplemented operations
all answer in the vault's error shape, and nothing changes. Also A256KW
with an oct key on the server (the Python SDK wraps oct keys locally)."""

import base64
import uuid

import pytest
import requests

from conftest import ARM_SCOPE, assign_role, mgmt_kwargs

API = "api-version=2025-07-01"


def b64(b):
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


def unb64(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


@pytest.fixture
def kv(server, credential, resources, authz, vault_hosts):
    from azure.mgmt.keyvault import KeyVaultManagementClient

    kv_mgmt = KeyVaultManagementClient(credential, server.bootstrap["subscriptionId"], **mgmt_kwargs(server))
    rg, name = f"rg-{uuid.uuid4().hex[:8]}", f"kvbad{uuid.uuid4().hex[:8]}"
    resources.resource_groups.create_or_update(rg, {"location": "westus"})
    v = kv_mgmt.vaults.begin_create_or_update(rg, name, {"location": "westus", "properties": {
        "tenantId": server.bootstrap["tenantId"], "sku": {"family": "A", "name": "standard"}}}).result()
    vault_hosts()
    uri = v.properties.vault_uri.rstrip("/")
    resource = f"https://vault.localhost:{server.port}"
    s = requests.Session()
    s.verify = server.bootstrap["caCert"]
    token = credential.get_token(f"{resource}/.default").token
    # No role yet: 403 ForbiddenByRbac-style refusal.
    r = s.get(f"{uri}/keys?{API}", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "Forbidden", r.text
    assign_role(authz, v.id, "Key Vault Crypto Officer", server.bootstrap["clientId"])
    s.headers["Authorization"] = f"Bearer {token}"
    return s, uri, resource


def test_challenge_and_tokens(server, credential, kv):
    s, uri, resource = kv
    r = requests.post(f"{uri}/keys/k/create?{API}", verify=server.bootstrap["caCert"])
    assert r.status_code == 401
    challenge = r.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ") and f'resource="{resource}"' in challenge
    assert f"authorization=\"{server.bootstrap['authority']}/{server.bootstrap['tenantId']}\"" in challenge
    assert r.json()["error"]["code"] == "Unauthorized"
    arm = credential.get_token(ARM_SCOPE).token
    r = requests.get(f"{uri}/keys?{API}", headers={"Authorization": f"Bearer {arm}"}, verify=server.bootstrap["caCert"])
    assert r.status_code == 401 and "WWW-Authenticate" in r.headers
    r = requests.get(f"{uri}/keys?{API}", headers={"Authorization": "Bearer not-a-jwt"}, verify=server.bootstrap["caCert"])
    assert r.status_code == 401


def test_bad_input_changes_nothing(kv):
    s, uri, _ = kv
    rsa = s.post(f"{uri}/keys/rsa1/create?{API}", json={"kty": "RSA", "key_size": 2048}).json()
    kid = rsa["key"]["kid"]
    ver = kid.rsplit("/", 1)[1]
    cases = [
        ("GET", f"/keys/nope/?{API}", None, 404, "KeyNotFound"),
        ("POST", f"/keys/nope/{ver}/unwrapkey?{API}", {"alg": "RSA-OAEP", "value": b64(b"x" * 256)}, 404, "KeyNotFound"),
        ("POST", f"/keys/rsa1/{ver}/wrapkey?{API}", {"alg": "A256KW", "value": b64(b"k" * 32)}, 400, "BadParameter"),
        ("POST", f"/keys/rsa1/{ver}/wrapkey?{API}", {"alg": "RSA1_5", "value": b64(b"k" * 32)}, 400, "BadParameter"),
        ("POST", f"/keys/rsa1/{ver}/unwrapkey?{API}", {"alg": "RSA-OAEP-256", "value": b64(b"\x00" * 256)}, 400, "BadParameter"),
        ("POST", f"/keys/rsa1/{ver}/unwrapkey?{API}", {"alg": "RSA-OAEP-256", "value": "***"}, 400, "BadParameter"),
        ("POST", f"/keys/bad_name!/create?{API}", {"kty": "RSA"}, 400, "BadParameter"),
        ("POST", f"/keys/rsa2/create?{API}", {"kty": "RSA", "key_size": 1024}, 400, "BadParameter"),
        ("POST", f"/keys/rsa2/create?{API}", {"kty": "DSA"}, 400, "BadParameter"),
        ("POST", f"/keys/rsa2/create?{API}", {"key_size": 2048}, 400, "BadParameter"),
        ("GET", f"/keys?", None, 400, "BadParameter"),
        ("POST", f"/keys/rsa1/{ver}/sign?{API}", {"alg": "ES256", "value": b64(b"d" * 32)}, 400, "BadParameter"),
        ("POST", f"/keys/rsa1/{ver}/sign?{API}", {"alg": "RS256", "value": b64(b"d" * 31)}, 400, "BadParameter"),
        ("POST", f"/keys/rsa1/{ver}/release?{API}", {}, 501, "NotImplemented"),
        ("GET", f"/certificates?{API}", None, 501, "NotImplemented"),
        ("PATCH", f"/keys/rsa1/{ver}?{API}", {"attributes": {"enabled": "yes"}}, 400, "BadParameter"),
    ]
    for method, path, body, status, code in cases:
        r = s.request(method, f"{uri}{path}", json=body)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), f"{method} {path}: {r.text}"
    r = s.post(f"{uri}/keys/rsa2/create?{API}", data=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    keys = s.get(f"{uri}/keys?{API}").json()["value"]
    assert [k["kid"].rsplit("/", 1)[1] for k in keys] == ["rsa1"], "a refused request created a key"

    # Sign and verify on the server.
    d = b64(__import__("hashlib").sha256(b"m").digest())
    sig = s.post(f"{kid}/sign?{API}", json={"alg": "RS256", "value": d}).json()["value"]
    assert s.post(f"{kid}/verify?{API}", json={"alg": "RS256", "digest": d, "value": sig}).json()["value"] is True
    bad_sig = b64(bytes([unb64(sig)[0] ^ 1]) + unb64(sig)[1:])
    assert s.post(f"{kid}/verify?{API}", json={"alg": "RS256", "digest": d, "value": bad_sig}).json()["value"] is False

    # Tampered ciphertext and a disabled key.
    ct = s.post(f"{kid}/wrapkey?{API}", json={"alg": "RSA-OAEP-256", "value": b64(b"\x01" * 32)}).json()["value"]
    assert unb64(s.post(f"{kid}/unwrapkey?{API}", json={"alg": "RSA-OAEP-256", "value": ct}).json()["value"]) == b"\x01" * 32
    raw = bytearray(unb64(ct))
    raw[7] ^= 0x40
    r = s.post(f"{kid}/unwrapkey?{API}", json={"alg": "RSA-OAEP-256", "value": b64(bytes(raw))})
    assert r.status_code == 400 and r.json()["error"]["code"] == "BadParameter"
    assert s.patch(f"{kid}?{API}", json={"attributes": {"enabled": False}}).status_code == 200
    r = s.post(f"{kid}/unwrapkey?{API}", json={"alg": "RSA-OAEP-256", "value": ct})
    assert r.status_code == 403 and r.json()["error"]["code"] == "Forbidden"
    r = s.post(f"{kid}/wrapkey?{API}", json={"alg": "RSA-OAEP-256", "value": b64(b"x" * 32)})
    assert r.status_code == 403


def test_a256kw_with_an_oct_key_on_the_server(kv):
    s, uri, _ = kv
    k = s.post(f"{uri}/keys/kek/create?{API}", json={"kty": "oct-HSM", "key_size": 256}).json()
    assert k["key"]["kty"] == "oct-HSM" and "k" not in k["key"], "a symmetric key left the vault"
    kid = k["key"]["kid"]
    dek = bytes(range(32))
    wrapped = s.post(f"{kid}/wrapkey?{API}", json={"alg": "A256KW", "value": b64(dek)}).json()["value"]
    assert len(unb64(wrapped)) == 40
    s.post(f"{uri}/keys/kek/rotate?{API}")
    assert unb64(s.post(f"{kid}/unwrapkey?{API}", json={"alg": "A256KW", "value": wrapped}).json()["value"]) == dek
    r = s.post(f"{kid}/unwrapkey?{API}", json={"alg": "RSA-OAEP", "value": wrapped})
    assert r.status_code == 400

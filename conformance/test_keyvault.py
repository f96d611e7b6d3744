"""Key Vault with the unmodified official SDKs: vault lifecycle through
azure-mgmt-keyvault, keys (create, rotate, versions, wrap with one version
and unwrap after rotation, soft delete and recover, purge refused under
purge protection) through KeyClient and CryptographyClient, and secret
versions through SecretClient, with the challenge-based bearer flow.

Vaults live at https://{vault}.vault.localhost:{port}. RFC 6761 reserves
*.localhost for loopback and systemd-resolved and browsers resolve it so,
but glibc's resolver on this Debian image does not: as a user there would,
the tests run `keyrotor hosts --apply` after creating vaults (the
`vault_hosts` fixture in conftest.py), which maps them in /etc/hosts."""

import os
import uuid

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from conftest import assign_role, mgmt_kwargs

def unique(prefix):
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@pytest.fixture
def vault(server, credential, resources, authz, vault_hosts):
    from azure.mgmt.keyvault import KeyVaultManagementClient

    kv_mgmt = KeyVaultManagementClient(credential, server.bootstrap["subscriptionId"], **mgmt_kwargs(server))
    rg, name = unique("rg-"), unique("kv")
    resources.resource_groups.create_or_update(rg, {"location": "westus"})
    v = kv_mgmt.vaults.begin_create_or_update(rg, name, {
        "location": "westus",
        "properties": {"tenantId": server.bootstrap["tenantId"], "sku": {"family": "A", "name": "standard"},
                       "enableSoftDelete": True, "softDeleteRetentionInDays": 7, "enablePurgeProtection": True,
                       "enableRbacAuthorization": True},
    }).result()
    assert v.properties.vault_uri == f"https://{name}.vault.localhost:{server.port}/"
    assert v.properties.enable_purge_protection is True
    # Owning the subscription does not open the vault's data: a data role does.
    assign_role(authz, v.id, "Key Vault Administrator", server.bootstrap["clientId"])
    vault_hosts()
    yield kv_mgmt, rg, name, v


def test_vault_lifecycle_soft_delete_and_purge_protection(server, vault):
    kv_mgmt, rg, name, v = vault
    assert kv_mgmt.vaults.get(rg, name).name == name
    assert name in [x.name for x in kv_mgmt.vaults.list_by_resource_group(rg)]
    assert name in [x.name for x in kv_mgmt.vaults.list_by_subscription()]
    assert name in [x.name for x in kv_mgmt.vaults.list()]  # via /resources?$filter=resourceType eq …
    # Purge protection cannot be turned off.
    with pytest.raises(HttpResponseError) as e:
        kv_mgmt.vaults.update(rg, name, {"properties": {"enablePurgeProtection": False}})
    assert e.value.status_code == 400
    kv_mgmt.vaults.delete(rg, name)
    with pytest.raises(ResourceNotFoundError):
        kv_mgmt.vaults.get(rg, name)
    deleted = kv_mgmt.vaults.get_deleted(name, "westus")
    assert deleted.properties.purge_protection_enabled is True and deleted.properties.scheduled_purge_date is not None
    assert name in [d.name for d in kv_mgmt.vaults.list_deleted()]
    # The name stays taken, and purging is refused during retention.
    with pytest.raises(HttpResponseError) as e:
        kv_mgmt.vaults.begin_create_or_update(rg, name, {"location": "westus", "properties": {"tenantId": server.bootstrap["tenantId"], "sku": {"family": "A", "name": "standard"}}}).result()
    assert e.value.status_code == 409
    with pytest.raises(HttpResponseError) as e:
        kv_mgmt.vaults.begin_purge_deleted(name, "westus").result()
    assert e.value.status_code == 409
    # Recover with createMode=recover.
    kv_mgmt.vaults.begin_create_or_update(rg, name, {"location": "westus", "properties": {"tenantId": server.bootstrap["tenantId"], "sku": {"family": "A", "name": "standard"}, "createMode": "recover"}}).result()
    assert kv_mgmt.vaults.get(rg, name).properties.enable_purge_protection is True


def test_keys_rotate_wrap_unwrap_soft_delete(server, credential, vault):
    from azure.keyvault.keys import KeyClient, KeyType
    from azure.keyvault.keys.crypto import CryptographyClient, KeyWrapAlgorithm

    _, _, name, v = vault
    keys = KeyClient(v.properties.vault_uri, credential)
    k1 = keys.create_rsa_key("cmk", size=2048)
    assert k1.key_type == KeyType.rsa and k1.id.startswith(v.properties.vault_uri.rstrip("/") + "/keys/cmk/")
    ec = keys.create_ec_key("signer", curve="P-384")
    assert ec.key.crv == "P-384"
    # Sign on the server (private key), verify locally with the public key the vault returned.
    import hashlib

    from azure.keyvault.keys.crypto import SignatureAlgorithm
    digest = hashlib.sha384(b"release-1.2.3").digest()
    signer = CryptographyClient(ec, credential)
    signed = signer.sign(SignatureAlgorithm.es384, digest)
    assert signer.verify(SignatureAlgorithm.es384, digest, signed.signature).is_valid
    assert not signer.verify(SignatureAlgorithm.es384, hashlib.sha384(b"other").digest(), signed.signature).is_valid
    rsa_signed = CryptographyClient(k1, credential).sign(SignatureAlgorithm.ps256, hashlib.sha256(b"x").digest())
    assert CryptographyClient(k1, credential).verify(SignatureAlgorithm.ps256, hashlib.sha256(b"x").digest(), rsa_signed.signature).is_valid

    dek = os.urandom(32)
    c1 = CryptographyClient(k1, credential)
    wrapped = c1.wrap_key(KeyWrapAlgorithm.rsa_oaep_256, dek)  # done locally with n, e
    k2 = keys.rotate_key("cmk")
    assert k2.properties.version != k1.properties.version
    assert keys.get_key("cmk").properties.version == k2.properties.version
    versions = {p.version for p in keys.list_properties_of_key_versions("cmk")}
    assert versions == {k1.properties.version, k2.properties.version}
    # Unwrap with the old version after rotation: on the server.
    c1_by_id = CryptographyClient(k1.id, credential)
    assert c1_by_id.unwrap_key(KeyWrapAlgorithm.rsa_oaep_256, wrapped.encrypted_key).key == dek
    # The new version cannot unwrap what the old one wrapped.
    c2 = CryptographyClient(k2.id, credential)
    with pytest.raises(HttpResponseError) as e:
        c2.unwrap_key(KeyWrapAlgorithm.rsa_oaep_256, wrapped.encrypted_key)
    assert e.value.status_code == 400
    # A disabled version refuses every operation.
    keys.update_key_properties("cmk", k1.properties.version, enabled=False)
    with pytest.raises(HttpResponseError) as e:
        c1_by_id.unwrap_key(KeyWrapAlgorithm.rsa_oaep_256, wrapped.encrypted_key)
    assert e.value.status_code == 403
    keys.update_key_properties("cmk", k1.properties.version, enabled=True)

    assert {"cmk", "signer"} <= {p.name for p in keys.list_properties_of_keys()}
    keys.begin_delete_key("cmk").wait()
    assert "cmk" in [d.name for d in keys.list_deleted_keys()]
    with pytest.raises(ResourceNotFoundError):
        keys.get_key("cmk")
    # Purge protection: purging a deleted key is refused.
    with pytest.raises(HttpResponseError) as e:
        keys.purge_deleted_key("cmk")
    assert e.value.status_code == 403
    keys.begin_recover_deleted_key("cmk").wait()
    assert c1_by_id.unwrap_key(KeyWrapAlgorithm.rsa_oaep_256, wrapped.encrypted_key).key == dek


def test_secret_versions_and_roles(server, credential, kr, vault):
    from azure.identity import ClientSecretCredential
    from azure.keyvault.secrets import SecretClient

    _, _, name, v = vault
    secrets = SecretClient(v.properties.vault_uri, credential)
    s1 = secrets.set_secret("db-password", "first", content_type="text/plain")
    s2 = secrets.set_secret("db-password", "second")
    assert secrets.get_secret("db-password").value == "second"
    assert secrets.get_secret("db-password", s1.properties.version).value == "first"
    assert s1.properties.content_type == "text/plain"
    assert {p.version for p in secrets.list_properties_of_secret_versions("db-password")} == {s1.properties.version, s2.properties.version}
    secrets.update_secret_properties("db-password", s2.properties.version, enabled=False)
    with pytest.raises(HttpResponseError) as e:
        secrets.get_secret("db-password")
    assert e.value.status_code == 403
    secrets.update_secret_properties("db-password", s2.properties.version, enabled=True)
    secrets.begin_delete_secret("db-password").wait()
    assert "db-password" in [d.name for d in secrets.list_deleted_secrets()]
    secrets.begin_recover_deleted_secret("db-password").wait()
    assert secrets.get_secret("db-password").value == "second"

    # A principal with only "Key Vault Secrets User" reads but cannot write.
    import json
    sp = json.loads(kr("identity", "sp", "create", "-n", unique("kvreader-")).stdout)
    kr("role", "assignment", "create", "--assignee", sp["clientId"], "--role", "Key Vault Secrets User", "--scope", v.id)
    b = server.bootstrap
    reader = SecretClient(v.properties.vault_uri, ClientSecretCredential(b["tenantId"], sp["clientId"], sp["secret"]["value"], authority=b["authority"], disable_instance_discovery=True))
    assert reader.get_secret("db-password").value == "second"
    with pytest.raises(HttpResponseError) as e:
        reader.set_secret("db-password", "third")
    assert e.value.status_code == 403
    assert secrets.get_secret("db-password").value == "second"


def test_rotation_policy_runs_on_time(server, credential, vault):
    """A policy "rotate one year after creation" rotates on time: evaluated
    now nothing happens; evaluated as of a year and a day later (a server
    started with --test-clock accepts that time) the key gets a new version
    with an expiry from the policy, exactly once, with an audit record."""
    from datetime import datetime, timedelta, timezone

    import requests
    from azure.keyvault.keys import KeyClient, KeyRotationLifetimeAction, KeyRotationPolicy, KeyRotationPolicyAction

    from conftest import ARM_SCOPE

    _, _, name, v = vault
    keys = KeyClient(v.properties.vault_uri, credential)
    k1 = keys.create_rsa_key("yearly", size=2048)
    default = keys.get_key_rotation_policy("yearly")
    assert [a.action.lower() for a in default.lifetime_actions] == ["notify"]
    policy = keys.update_key_rotation_policy(
        "yearly",
        KeyRotationPolicy(),
        lifetime_actions=[
            KeyRotationLifetimeAction(KeyRotationPolicyAction.rotate, time_after_create="P1Y"),
            KeyRotationLifetimeAction(KeyRotationPolicyAction.notify, time_before_expiry="P30D"),
        ],
        expires_in="P2Y",
    )
    assert policy.expires_in == "P2Y"
    got = keys.get_key_rotation_policy("yearly")
    assert {(a.action.lower(), a.time_after_create, a.time_before_expiry) for a in got.lifetime_actions} == {
        ("rotate", "P1Y", None), ("notify", None, "P30D")}
    with pytest.raises(HttpResponseError) as e:  # below Key Vault's minimum of 7 days
        keys.update_key_rotation_policy("yearly", KeyRotationPolicy(), lifetime_actions=[KeyRotationLifetimeAction("Rotate", time_after_create="P1D")])
    assert e.value.status_code == 400

    token = credential.get_token(ARM_SCOPE).token
    run = lambda body=None: requests.post(  # noqa: E731
        f"{server.url}/providers/Keyrotor.Vault/rotationPolicies/run?api-version=2026-11-01",
        json=body, headers={"Authorization": f"Bearer {token}"})
    r = run()
    assert r.status_code == 200 and not [x for x in r.json()["rotated"] if x["vault"] == name], r.text
    later = datetime.now(timezone.utc) + timedelta(days=366)
    r = run({"at": later.isoformat()})
    mine = [x for x in r.json()["rotated"] if x["vault"] == name]
    assert [x["key"] for x in mine] == ["yearly"], r.text
    r = run({"at": later.isoformat()})
    assert not [x for x in r.json()["rotated"] if x["vault"] == name], "rotated twice for one due date"
    versions = list(keys.list_properties_of_key_versions("yearly"))
    assert len(versions) == 2
    new = keys.get_key("yearly")
    assert new.properties.version == mine[0]["version"] != k1.properties.version
    expected_expiry = later.replace(year=later.year + 2)
    assert abs((new.properties.expires_on - expected_expiry).total_seconds()) < 5
    assert r.status_code == 200


def test_cli_vault_keys_secrets_and_policies(server, kr, resources):
    """The keyrotor CLI end to end: vault create/list/delete/recover/purge,
    key create/list/rotate/policy, secret set/get/list."""
    import json
    from datetime import datetime, timedelta, timezone

    rg, name = unique("rg-"), unique("kvcli")
    resources.resource_groups.create_or_update(rg, {"location": "westus"})
    v = json.loads(kr("vault", "create", "-n", name, "-g", rg, "--retention-days", "7").stdout)
    assert v["properties"]["vaultUri"] == f"https://{name}.vault.localhost:{server.port}/"
    admin = server.bootstrap["clientId"]
    kr("role", "assignment", "create", "--assignee", admin, "--role", "Key Vault Administrator", "--scope", v["id"])

    k = json.loads(kr("vault", "key", "create", "--vault", name, "-n", "cmk", "--kty", "RSA", "--size", "3072").stdout)
    assert k["key"]["kty"] == "RSA" and len(k["key"]["n"]) >= 500  # 384 bytes, base64url
    ec = json.loads(kr("vault", "key", "create", "--vault", name, "-n", "sig", "--kty", "EC", "--curve", "P-521").stdout)
    assert ec["key"]["crv"] == "P-521"
    bad = kr("vault", "key", "create", "--vault", name, "-n", "weak", "--kty", "RSA", "--size", "1024", check=False)
    assert bad.returncode != 0 and "BadParameter" in bad.stderr
    kr("vault", "key", "rotate", "--vault", name, "-n", "cmk")
    versions = json.loads(kr("vault", "key", "list", "--vault", name, "-n", "cmk").stdout)
    assert len(versions) == 2 and all(x["name"] == "cmk" and len(x["version"]) == 32 for x in versions)
    assert {x["name"] for x in json.loads(kr("vault", "key", "list", "--vault", name).stdout)} == {"cmk", "sig"}

    p = json.loads(kr("vault", "key", "policy", "set", "--vault", name, "-n", "cmk", "--rotate-after", "P30D", "--expires-in", "P90D").stdout)
    assert p["attributes"]["expiryTime"] == "P90D"
    shown = json.loads(kr("vault", "key", "policy", "show", "--vault", name, "-n", "cmk").stdout)
    assert shown["lifetimeActions"] == [{"trigger": {"timeAfterCreate": "P30D"}, "action": {"type": "Rotate"}}]
    assert name not in kr("vault", "key", "policy", "run", "--now").stdout
    at = (datetime.now(timezone.utc) + timedelta(days=31)).isoformat()
    ran = json.loads(kr("vault", "key", "policy", "run", "--at", at).stdout)
    assert [(r["vault"], r["key"]) for r in ran if r["vault"] == name] == [(name, "cmk")]
    assert len(json.loads(kr("vault", "key", "list", "--vault", name, "-n", "cmk").stdout)) == 3

    out = kr("vault", "secret", "set", "--vault", name, "-n", "api-token", input="s3cr3t-value\n")
    assert "s3cr3t-value" not in out.stdout, "the CLI echoed a secret value"
    kr("vault", "secret", "set", "--vault", name, "-n", "api-token", "--value", "second", "--content-type", "text/plain")
    assert json.loads(kr("vault", "secret", "get", "--vault", name, "-n", "api-token").stdout)["value"] == "second"
    versions = json.loads(kr("vault", "secret", "list", "--vault", name, "-n", "api-token").stdout)
    first = next(x["id"].rsplit("/", 1)[1] for x in versions if "contentType" not in x)
    assert json.loads(kr("vault", "secret", "get", "--vault", name, "-n", "api-token", "--version", first).stdout)["value"] == "s3cr3t-value"

    kr("vault", "delete", "-n", name, "-g", rg, "--yes")
    assert name in [x["name"] for x in json.loads(kr("vault", "list", "--deleted").stdout)]
    assert name not in [x["name"] for x in json.loads(kr("vault", "list", "-g", rg).stdout)]
    kr("vault", "recover", "-n", name, "-g", rg)
    assert json.loads(kr("vault", "secret", "get", "--vault", name, "-n", "api-token").stdout)["value"] == "second"
    kr("vault", "delete", "-n", name, "-g", rg, "--yes")
    kr("vault", "purge", "-n", name, "--yes")  # no purge protection: allowed
    assert name not in [x["name"] for x in json.loads(kr("vault", "list", "--deleted").stdout)]


def test_backup_restore_into_another_vault(server, credential, authz, vault, vault_hosts):
    from azure.core.exceptions import ResourceExistsError
    from azure.keyvault.keys import KeyClient
    from azure.keyvault.keys.crypto import CryptographyClient, KeyWrapAlgorithm
    from azure.keyvault.secrets import SecretClient

    kv_mgmt, rg, _, v = vault
    keys = KeyClient(v.properties.vault_uri, credential)
    k1 = keys.create_rsa_key("portable", size=2048)
    wrapped = CryptographyClient(k1, credential).wrap_key(KeyWrapAlgorithm.rsa_oaep, b"\x07" * 32)
    keys.rotate_key("portable")
    blob = keys.backup_key("portable")
    with pytest.raises(ResourceExistsError):
        keys.restore_key_backup(blob)  # the name is taken in this vault
    secrets = SecretClient(v.properties.vault_uri, credential)
    secrets.set_secret("conn", "one")
    secrets.set_secret("conn", "two")
    sblob = secrets.backup_secret("conn")

    other = unique("kvb")
    v2 = kv_mgmt.vaults.begin_create_or_update(rg, other, {"location": "westus", "properties": {
        "tenantId": server.bootstrap["tenantId"], "sku": {"family": "A", "name": "standard"}}}).result()
    assign_role(authz, v2.id, "Key Vault Administrator", server.bootstrap["clientId"])
    vault_hosts()
    keys2 = KeyClient(v2.properties.vault_uri, credential)
    restored = keys2.restore_key_backup(blob)
    assert restored.name == "portable"
    assert {p.version for p in keys2.list_properties_of_key_versions("portable")} == {
        p.version for p in keys.list_properties_of_key_versions("portable")}
    old = CryptographyClient(f"{v2.properties.vault_uri.rstrip('/')}/keys/portable/{k1.properties.version}", credential)
    assert old.unwrap_key(KeyWrapAlgorithm.rsa_oaep, wrapped.encrypted_key).key == b"\x07" * 32
    secrets2 = SecretClient(v2.properties.vault_uri, credential)
    secrets2.restore_secret_backup(sblob)
    assert secrets2.get_secret("conn").value == "two"
    assert len(list(secrets2.list_properties_of_secret_versions("conn"))) == 2
    # A tampered blob is refused and changes nothing.
    bad = bytearray(sblob)
    bad[len(bad) // 2] ^= 1
    with pytest.raises(HttpResponseError) as e:
        SecretClient(v2.properties.vault_uri, credential).restore_secret_backup(bytes(bad))
    assert e.value.status_code == 400

"""The unmodified az CLI (azure-cli from PyPI) against keyrotor: register the
cloud from its metadata endpoint, sign in as a service principal, then the
key commands of Cosmos DB, Batch and AI Services, disabling local auth, and
az keyvault (vault resources, keys and secrets). Skipped, loudly, only when azure-cli could not be installed."""

import json
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest


def az_binary():
    given = os.environ.get("KEYROTOR_AZ_BIN")
    if given and Path(given).exists():
        return given
    return shutil.which("az")


@pytest.fixture(scope="module")
def az(server):
    binary = az_binary()
    if not binary:
        pytest.skip(f"az CLI unavailable: {os.environ.get('KEYROTOR_AZ_UNAVAILABLE', 'azure-cli is not installed in the test venv')}")
    cfg = tempfile.mkdtemp(prefix="keyrotor-az-")
    env = dict(
        os.environ,
        AZURE_CONFIG_DIR=cfg,
        REQUESTS_CA_BUNDLE=server.bootstrap["caCert"],
        AZURE_CORE_INSTANCE_DISCOVERY="false",
        AZURE_CORE_COLLECT_TELEMETRY="false",
        AZURE_CORE_ONLY_SHOW_ERRORS="true",
        AZURE_CORE_NO_COLOR="true",
    )

    def run(*args):
        p = subprocess.run([binary, *args, "-o", "json"], env=env, capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, f"az {' '.join(args)}: {p.stderr}"
        return json.loads(p.stdout) if p.stdout.strip() else None

    b = server.bootstrap
    run("cloud", "register", "-n", "keyrotor", "--endpoint-resource-manager", b["resourceManager"])
    run("cloud", "set", "-n", "keyrotor")
    subs = run("login", "--service-principal", "-u", b["clientId"], f"--password={b['clientSecret']}", "--tenant", b["tenantId"])
    assert [s["id"] for s in subs] == [b["subscriptionId"]]
    yield run
    shutil.rmtree(cfg, ignore_errors=True)


def test_az_cli_key_rotation_scenario(az):
    rg = f"rg-az-{uuid.uuid4().hex[:6]}"
    assert az("group", "create", "-n", rg, "-l", "westus")["properties"]["provisioningState"] == "Succeeded"

    cosmos = f"azcosmos-{uuid.uuid4().hex[:6]}"
    assert az("cosmosdb", "create", "-n", cosmos, "-g", rg)["provisioningState"] == "Succeeded"
    before = az("cosmosdb", "keys", "list", "-n", cosmos, "-g", rg)
    az("cosmosdb", "keys", "regenerate", "-n", cosmos, "-g", rg, "--key-kind", "secondary")
    after = az("cosmosdb", "keys", "list", "-n", cosmos, "-g", rg)
    assert after["secondaryMasterKey"] != before["secondaryMasterKey"]
    assert after["primaryMasterKey"] == before["primaryMasterKey"]
    assert az("cosmosdb", "update", "-n", cosmos, "-g", rg, "--disable-local-auth", "true")["disableLocalAuth"] is True

    batch = f"azbatch{uuid.uuid4().hex[:6]}"
    az("batch", "account", "create", "-n", batch, "-g", rg, "-l", "westus")
    keys = az("batch", "account", "keys", "list", "-n", batch, "-g", rg)
    renewed = az("batch", "account", "keys", "renew", "-n", batch, "-g", rg, "--key-name", "primary")
    assert renewed["primary"] != keys["primary"] and renewed["secondary"] == keys["secondary"]

    ai = f"azai-{uuid.uuid4().hex[:6]}"
    az("cognitiveservices", "account", "create", "-n", ai, "-g", rg, "--kind", "AIServices", "--sku", "S0", "-l", "westus", "--yes")
    k = az("cognitiveservices", "account", "keys", "list", "-n", ai, "-g", rg)
    k2 = az("cognitiveservices", "account", "keys", "regenerate", "-n", ai, "-g", rg, "--key-name", "key2")
    assert k2["key2"] != k["key2"] and k2["key1"] == k["key1"]

    az("group", "delete", "-n", rg, "--yes")
    assert rg not in [g["name"] for g in az("group", "list")]


def test_az_keyvault_scenario(az, server, vault_hosts):
    """az keyvault, unmodified: create, show without -g (az finds the group
    through the subscription's resource list), a data role for the signed-in
    principal, keys and secrets through the vault's host name (mapped with
    `keyrotor hosts --apply`, as a user without a *.localhost resolver
    does), then delete, list-deleted (vaults and managed HSMs) and purge."""
    b = server.bootstrap
    rg = f"rg-azkv-{uuid.uuid4().hex[:6]}"
    name = f"azkv{uuid.uuid4().hex[:8]}"
    az("group", "create", "-n", rg, "-l", "westus")
    created = az("keyvault", "create", "-n", name, "-g", rg, "--retention-days", "7")
    assert created["properties"]["vaultUri"] == f"https://{name}.vault.localhost:{server.port}/"
    assert created["properties"]["enableRbacAuthorization"] is True

    shown = az("keyvault", "show", "-n", name)  # no -g
    assert shown["id"] == created["id"] and shown["resourceGroup"] == rg

    # Owning the subscription opens no vault data: a data role does. By
    # object id and principal type, az needs no directory lookup.
    az("role", "assignment", "create", "--assignee-object-id", b["clientId"],
       "--assignee-principal-type", "ServicePrincipal", "--role", "Key Vault Administrator",
       "--scope", created["id"])
    vault_hosts()

    key = az("keyvault", "key", "create", "--vault-name", name, "-n", "k", "--kty", "RSA")
    assert key["key"]["kty"] == "RSA" and len(key["key"]["n"]) >= 256
    assert key["key"]["kid"].startswith(f"https://{name}.vault.localhost:{server.port}/keys/k/")
    assert [k["name"] for k in az("keyvault", "key", "list", "--vault-name", name)] == ["k"]
    az("keyvault", "secret", "set", "--vault-name", name, "-n", "db-password", "--value", "first")
    second = az("keyvault", "secret", "set", "--vault-name", name, "-n", "db-password", "--value", "second")
    got = az("keyvault", "secret", "show", "--vault-name", name, "-n", "db-password")
    assert got["value"] == "second" and got["id"] == second["id"]

    az("keyvault", "delete", "-n", name)  # no -g either
    assert name not in [v["name"] for v in az("keyvault", "list")]
    deleted = [d for d in az("keyvault", "list-deleted") if d["name"] == name]
    assert len(deleted) == 1 and deleted[0]["properties"]["vaultId"] == created["id"]
    az("keyvault", "purge", "-n", name)
    assert name not in [d["name"] for d in az("keyvault", "list-deleted")]

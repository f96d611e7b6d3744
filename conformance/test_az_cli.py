"""The unmodified az CLI (azure-cli from PyPI) against keyrotor: register the
cloud from its metadata endpoint, sign in as a service principal, then the
key commands of Cosmos DB, Batch and AI Services, disabling local auth,
`az resource list/show/update`, az keyvault (vault resources, keys and
secrets), and role assignments by appId, resolved through keyrotor's
Microsoft Graph. Skipped, loudly, only when azure-cli could not be installed."""

import json
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest
import requests


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

    def run(*args, check=True):
        p = subprocess.run([binary, *args, "-o", "json"], env=env, capture_output=True, text=True, timeout=300)
        if not check:
            return p
        assert p.returncode == 0, f"az {' '.join(args)}: {p.stderr}"
        return json.loads(p.stdout) if p.stdout.strip() else None

    b = server.bootstrap
    run("cloud", "register", "-n", "keyrotor", "--endpoint-resource-manager", b["resourceManager"])
    run("cloud", "set", "-n", "keyrotor")
    subs = run("login", "--service-principal", "-u", b["clientId"], f"--password={b['clientSecret']}", "--tenant", b["tenantId"])
    assert [s["id"] for s in subs] == [b["subscriptionId"]]
    run.env = env  # for the tests that expect a command to fail
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


def test_az_resource_list_show_update(az):
    """`az resource list` with the $filter forms az sends (group, name,
    type, tag), `az resource show|update --resource-type` without
    --api-version (az reads it from the provider's resource types)."""
    rg = f"rg-azres-{uuid.uuid4().hex[:6]}"
    other = f"rg-azres-{uuid.uuid4().hex[:6]}"
    az("group", "create", "-n", rg, "-l", "westus")
    az("group", "create", "-n", other, "-l", "westus")
    cosmos = f"azrescos-{uuid.uuid4().hex[:6]}"
    batch = f"azresbat{uuid.uuid4().hex[:6]}"
    az("cosmosdb", "create", "-n", cosmos, "-g", rg, "--tags", "team=billing")
    az("batch", "account", "create", "-n", batch, "-g", rg, "-l", "westus")
    elsewhere = f"azresoth{uuid.uuid4().hex[:6]}"
    az("batch", "account", "create", "-n", elsewhere, "-g", other, "-l", "westus")

    names = lambda rs: sorted(r["name"] for r in rs)
    assert names(az("resource", "list", "-g", rg)) == sorted([cosmos, batch])
    assert names(az("resource", "list", "-g", rg, "--name", batch)) == [batch]
    assert names(az("resource", "list", "--resource-type", "Microsoft.DocumentDB/databaseAccounts", "-g", rg)) == [cosmos]
    assert names(az("resource", "list", "--tag", "team=billing")) == [cosmos]
    assert names(az("resource", "list", "--tag", "team=other")) == []
    listed = az("resource", "list", "-g", rg, "--name", cosmos)[0]
    assert listed["resourceGroup"] == rg and listed["type"] == "Microsoft.DocumentDB/databaseAccounts"

    # No --api-version: az finds it in the provider's resource types.
    shown = az("resource", "show", "-g", rg, "-n", batch, "--resource-type", "Microsoft.Batch/batchAccounts")
    assert shown["name"] == batch and shown["properties"]["accountEndpoint"]
    updated = az("resource", "update", "-g", rg, "-n", cosmos, "--resource-type", "Microsoft.DocumentDB/databaseAccounts", "--set", "tags.env=prod")
    assert updated["tags"] == {"team": "billing", "env": "prod"}
    # The read-modify-write of the whole resource kept the account as it was.
    after = az("cosmosdb", "show", "-n", cosmos, "-g", rg)
    assert after["tags"] == {"team": "billing", "env": "prod"}
    assert after["documentEndpoint"] and after["disableLocalAuth"] is False

    # Key Vault's and Authorization's providers answer like the others.
    kv = f"azreskv{uuid.uuid4().hex[:6]}"
    az("keyvault", "create", "-n", kv, "-g", rg, "--retention-days", "7")
    assert az("resource", "show", "-g", rg, "-n", kv, "--resource-type", "Microsoft.KeyVault/vaults")["name"] == kv
    assert az("provider", "show", "-n", "Microsoft.KeyVault")["registrationState"] == "Registered"
    assert az("provider", "show", "-n", "Microsoft.Authorization")["registrationState"] == "Registered"

    # A group that does not exist is an error, not an empty list.
    p = subprocess.run([az_binary(), "resource", "list", "-g", f"nosuch-{uuid.uuid4().hex[:6]}", "-o", "json"],
                       env=az.env, capture_output=True, text=True, timeout=300)
    assert p.returncode != 0 and "ResourceGroupNotFound" in p.stderr, p.stderr
    az("group", "delete", "-n", rg, "--yes")
    az("group", "delete", "-n", other, "--yes")


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


READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"


def test_az_role_assignments_resolve_principals_through_graph(az, kr, server):
    """`az ad sp show` and `az role assignment create/list/delete --assignee
    <appId>`, unmodified: az finds keyrotor's Graph through the cloud's
    metadata (no extra flag) and resolves the principal there."""
    from azure.identity import ClientSecretCredential

    from conftest import ARM_SCOPE

    b = server.bootstrap
    name = f"az-graph-{uuid.uuid4().hex[:6]}"
    sp = json.loads(kr("identity", "sp", "create", "-n", name).stdout)
    app = sp["clientId"]

    shown = az("ad", "sp", "show", "--id", app)
    assert (shown["id"], shown["appId"], shown["displayName"]) == (app, app, name)
    assert shown["servicePrincipalNames"] == [app]
    missing = az("ad", "sp", "show", "--id", str(uuid.uuid4()), check=False)
    assert missing.returncode != 0 and "does not exist" in missing.stderr, missing.stderr

    rg = f"rg-azra-{uuid.uuid4().hex[:6]}"
    az("group", "create", "-n", rg, "-l", "westus")
    group_id = az("group", "show", "-n", rg, "--query", "id")
    cred = ClientSecretCredential(b["tenantId"], app, sp["secret"]["value"], authority=b["authority"], disable_instance_discovery=True)

    def read_group():
        token = cred.get_token(ARM_SCOPE).token
        url = f"{b['resourceManager'].rstrip('/')}{group_id}?api-version=2025-04-01"
        return requests.get(url, headers={"Authorization": f"Bearer {token}"}).status_code

    assert read_group() == 403

    created = az("role", "assignment", "create", "--assignee", app, "--role", "Reader", "--scope", group_id)
    assert created["principalId"] == app and created["principalType"] == "ServicePrincipal"
    assert created["scope"].lower() == group_id.lower()
    assert created["roleDefinitionId"].endswith(READER)
    assert read_group() == 200, "the principal reads the group with its own token"

    listed = az("role", "assignment", "list", "--assignee", app, "--scope", group_id)
    assert [(a["principalName"], a["roleDefinitionName"], a["principalId"]) for a in listed] == [(app, "Reader", app)]
    by_assignee = az("role", "assignment", "list", "--assignee", app, "--all")
    assert [(a["principalName"], a["roleDefinitionName"], a["scope"].lower()) for a in by_assignee] == [(app, "Reader", group_id.lower())]
    everything = az("role", "assignment", "list", "--all")
    mine = [a for a in everything if a["principalId"] == app]
    assert [(a["principalName"], a["roleDefinitionName"]) for a in mine] == [(app, "Reader")]
    # Every principal is resolved in one getByIds: its name is its appId.
    assert all(a["principalName"] == a["principalId"] for a in everything), everything

    az("role", "assignment", "delete", "--assignee", app, "--role", "Reader", "--scope", group_id)
    assert az("role", "assignment", "list", "--assignee", app, "--scope", group_id) == []
    assert read_group() == 403, "the deleted assignment no longer grants anything"
    again = az("role", "assignment", "delete", "--assignee", app, "--role", "Reader", "--scope", group_id, check=False)
    assert again.returncode != 0 and "No matched assignments" in again.stderr, again.stderr

    az("group", "delete", "-n", rg, "--yes")


def test_az_monitor_activity_log_lists_the_regeneration(az, server):
    """`az monitor activity-log list --resource-group G --offset 1h` (az's own
    $filter: unquoted times without an offset, resourceGroupName) shows the
    key renewal with caller, operation name and status, and no key value."""
    rg = f"rg-azact-{uuid.uuid4().hex[:6]}"
    az("group", "create", "-n", rg, "-l", "westus")
    batch = f"azact{uuid.uuid4().hex[:6]}"
    az("batch", "account", "create", "-n", batch, "-g", rg, "-l", "westus")
    renewed = az("batch", "account", "keys", "renew", "-n", batch, "-g", rg, "--key-name", "secondary")
    events = az("monitor", "activity-log", "list", "--resource-group", rg, "--offset", "1h")
    ops = [(e["operationName"]["value"], e["status"]["value"], e["caller"]) for e in events]
    caller = server.bootstrap["clientId"]
    assert ("Microsoft.Batch/batchAccounts/regenerateKeys/action", "Succeeded", caller) in ops, ops
    assert ("Microsoft.Batch/batchAccounts/write", "Succeeded", caller) in ops, ops
    text = json.dumps(events)
    assert renewed["primary"] not in text and renewed["secondary"] not in text
    by_status = az("monitor", "activity-log", "list", "--resource-group", rg, "--offset", "1h", "--status", "Failed")
    assert by_status == []
    az("group", "delete", "-n", rg, "--yes")

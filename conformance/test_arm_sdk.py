"""Conformance: the unmodified official Azure Python SDKs against keyrotor's
control plane, over HTTPS with the generated CA. Each test follows the
seeds' procedure: create, list keys, regenerate one key at a time, check
that exactly that key changed and its generationTime moved, delete."""

import uuid

import pytest
from azure.mgmt.batch.models import BatchAccountCreateParameters, BatchAccountRegenerateKeyParameters
from azure.mgmt.cognitiveservices.models import Account as CognitiveAccount
from azure.mgmt.cognitiveservices.models import AccountProperties, Sku
from azure.mgmt.cosmosdb.models import (
    DatabaseAccountCreateUpdateParameters,
    DatabaseAccountRegenerateKeyParameters,
    DatabaseAccountUpdateParameters,
    Location,
)

from conftest import ARM_SCOPE


def unique(prefix):
    return f"{prefix}{uuid.uuid4().hex[:10]}"


COSMOS_FIELDS = {
    "primary": "primary_master_key",
    "secondary": "secondary_master_key",
    "primaryReadonly": "primary_readonly_master_key",
    "secondaryReadonly": "secondary_readonly_master_key",
}


def cosmos_keys(client, rg, name):
    k = client.database_accounts.list_keys(rg, name)
    return {kind: getattr(k, f) for kind, f in COSMOS_FIELDS.items()}


def cosmos_generation_times(client, rg, name):
    meta = client.database_accounts.get(rg, name).keys_metadata
    return {
        "primary": meta.primary_master_key.generation_time,
        "secondary": meta.secondary_master_key.generation_time,
        "primaryReadonly": meta.primary_readonly_master_key.generation_time,
        "secondaryReadonly": meta.secondary_readonly_master_key.generation_time,
    }


def test_resource_group_lifecycle(resources):
    rg = unique("rg-")
    created = resources.resource_groups.create_or_update(rg, {"location": "westus", "tags": {"env": "test"}})
    assert created.name == rg and created.location == "westus" and created.tags == {"env": "test"}
    assert created.properties.provisioning_state == "Succeeded"
    assert resources.resource_groups.check_existence(rg) is True
    assert resources.resource_groups.get(rg).tags == {"env": "test"}
    assert rg in [g.name for g in resources.resource_groups.list()]
    resources.resource_groups.begin_delete(rg).result()
    assert resources.resource_groups.check_existence(rg) is False


def test_cosmos_rotation_procedure(resources, cosmos_mgmt):
    rg = unique("rg-")
    name = unique("cosmos-")
    resources.resource_groups.create_or_update(rg, {"location": "westus"})
    account = cosmos_mgmt.database_accounts.begin_create_or_update(
        rg,
        name,
        DatabaseAccountCreateUpdateParameters(
            location="westus",
            kind="GlobalDocumentDB",
            locations=[Location(location_name="westus", failover_priority=0)],
            database_account_offer_type="Standard",
            disable_local_auth=False,
        ),
    ).result()
    assert account.name == name
    assert account.provisioning_state == "Succeeded"
    assert account.document_endpoint.startswith("https://")
    assert account.keys_metadata.primary_master_key.generation_time is not None

    keys = cosmos_keys(cosmos_mgmt, rg, name)
    assert len(set(keys.values())) == 4
    for v in keys.values():
        assert len(v) == 88  # 64 random bytes, base64

    ro = cosmos_mgmt.database_accounts.list_read_only_keys(rg, name)
    assert ro.primary_readonly_master_key == keys["primaryReadonly"]
    assert ro.secondary_readonly_master_key == keys["secondaryReadonly"]
    ro2 = cosmos_mgmt.database_accounts.get_read_only_keys(rg, name)
    assert ro2.secondary_readonly_master_key == keys["secondaryReadonly"]

    # The seeds' order: secondary first, then primary, then the read-only pair.
    for kind in ["secondary", "primary", "secondaryReadonly", "primaryReadonly"]:
        before = cosmos_keys(cosmos_mgmt, rg, name)
        times_before = cosmos_generation_times(cosmos_mgmt, rg, name)
        cosmos_mgmt.database_accounts.begin_regenerate_key(rg, name, DatabaseAccountRegenerateKeyParameters(key_kind=kind)).result()
        after = cosmos_keys(cosmos_mgmt, rg, name)
        times_after = cosmos_generation_times(cosmos_mgmt, rg, name)
        for k in COSMOS_FIELDS:
            if k == kind:
                assert after[k] != before[k], f"{kind} did not change"
                assert times_after[k] > times_before[k], f"{kind} generationTime did not move"
            else:
                assert after[k] == before[k], f"regenerating {kind} touched {k}"
                assert times_after[k] == times_before[k]

    conns = cosmos_mgmt.database_accounts.list_connection_strings(rg, name).connection_strings
    current = cosmos_keys(cosmos_mgmt, rg, name)
    assert len(conns) == 4
    assert any(current["primary"] in c.connection_string for c in conns)

    names = [a.name for a in cosmos_mgmt.database_accounts.list_by_resource_group(rg)]
    assert names == [name]
    assert name in [a.name for a in cosmos_mgmt.database_accounts.list()]
    cosmos_mgmt.database_accounts.begin_delete(rg, name).result()
    assert list(cosmos_mgmt.database_accounts.list_by_resource_group(rg)) == []
    resources.resource_groups.begin_delete(rg).result()


def test_cosmos_update_keeps_keys(resources, cosmos_mgmt):
    rg = unique("rg-")
    name = unique("cosmos-")
    resources.resource_groups.create_or_update(rg, {"location": "westus"})
    params = DatabaseAccountCreateUpdateParameters(
        location="westus",
        locations=[Location(location_name="westus", failover_priority=0)],
        database_account_offer_type="Standard",
    )
    cosmos_mgmt.database_accounts.begin_create_or_update(rg, name, params).result()
    keys = cosmos_keys(cosmos_mgmt, rg, name)
    updated = cosmos_mgmt.database_accounts.begin_update(rg, name, DatabaseAccountUpdateParameters(tags={"team": "platform"})).result()
    assert updated.tags == {"team": "platform"}
    cosmos_mgmt.database_accounts.begin_create_or_update(rg, name, params).result()
    assert cosmos_keys(cosmos_mgmt, rg, name) == keys
    resources.resource_groups.begin_delete(rg).result()


def test_batch_rotation_procedure(resources, batch_mgmt):
    rg = unique("rg-")
    name = unique("ba")
    resources.resource_groups.create_or_update(rg, {"location": "westus"})
    account = batch_mgmt.batch_account.begin_create(rg, name, BatchAccountCreateParameters(location="westus")).result()
    assert account.name == name
    assert account.account_endpoint
    keys = batch_mgmt.batch_account.get_keys(rg, name)
    assert keys.account_name == name
    assert keys.primary != keys.secondary and len(keys.primary) == 88
    for key_name in ["Secondary", "Primary"]:
        before = batch_mgmt.batch_account.get_keys(rg, name)
        returned = batch_mgmt.batch_account.regenerate_key(rg, name, BatchAccountRegenerateKeyParameters(key_name=key_name))
        after = batch_mgmt.batch_account.get_keys(rg, name)
        assert (returned.primary, returned.secondary) == (after.primary, after.secondary)
        if key_name == "Primary":
            assert after.primary != before.primary and after.secondary == before.secondary
        else:
            assert after.secondary != before.secondary and after.primary == before.primary
    assert [a.name for a in batch_mgmt.batch_account.list_by_resource_group(rg)] == [name]
    batch_mgmt.batch_account.begin_delete(rg, name).result()
    assert list(batch_mgmt.batch_account.list_by_resource_group(rg)) == []
    resources.resource_groups.begin_delete(rg).result()


def test_ai_services_rotation_procedure(resources, cognitive_mgmt):
    rg = unique("rg-")
    name = unique("ai-")
    resources.resource_groups.create_or_update(rg, {"location": "eastus"})
    account = cognitive_mgmt.accounts.begin_create(
        rg,
        name,
        CognitiveAccount(
            kind="AIServices",
            sku=Sku(name="S0"),
            location="eastus",
            properties=AccountProperties(custom_sub_domain_name=name, disable_local_auth=False),
        ),
    ).result()
    assert account.name == name and account.kind == "AIServices"
    assert account.properties.endpoint.startswith("https://")
    keys = cognitive_mgmt.accounts.list_keys(rg, name)
    assert len(keys.key1) == 32 and keys.key1 != keys.key2
    for key_name in ["Key2", "Key1"]:
        before = cognitive_mgmt.accounts.list_keys(rg, name)
        returned = cognitive_mgmt.accounts.regenerate_key(rg, name, key_name)
        after = cognitive_mgmt.accounts.list_keys(rg, name)
        assert (returned.key1, returned.key2) == (after.key1, after.key2)
        if key_name == "Key1":
            assert after.key1 != before.key1 and after.key2 == before.key2
        else:
            assert after.key2 != before.key2 and after.key1 == before.key1
    assert name in [a.name for a in cognitive_mgmt.accounts.list()]
    cognitive_mgmt.accounts.begin_delete(rg, name).result()
    resources.resource_groups.begin_delete(rg).result()


def test_group_delete_cascades(resources, cosmos_mgmt, batch_mgmt, cognitive_mgmt):
    from azure.core.exceptions import ResourceNotFoundError

    rg = unique("rg-")
    resources.resource_groups.create_or_update(rg, {"location": "westus"})
    c = unique("cosmos-")
    b = unique("ba")
    a = unique("ai-")
    cosmos_mgmt.database_accounts.begin_create_or_update(
        rg,
        c,
        DatabaseAccountCreateUpdateParameters(
            location="westus", locations=[Location(location_name="westus")], database_account_offer_type="Standard"
        ),
    ).result()
    batch_mgmt.batch_account.begin_create(rg, b, BatchAccountCreateParameters(location="westus")).result()
    cognitive_mgmt.accounts.begin_create(rg, a, CognitiveAccount(kind="AIServices", sku=Sku(name="S0"), location="westus")).result()
    resources.resource_groups.begin_delete(rg).result()
    with pytest.raises(ResourceNotFoundError):
        cosmos_mgmt.database_accounts.get(rg, c)
    assert c not in [x.name for x in cosmos_mgmt.database_accounts.list()]
    assert b not in [x.name for x in batch_mgmt.batch_account.list()]
    assert a not in [x.name for x in cognitive_mgmt.accounts.list()]
    # A deleted name is free again, with new keys.
    resources.resource_groups.create_or_update(rg, {"location": "westus"})
    batch_mgmt.batch_account.begin_create(rg, b, BatchAccountCreateParameters(location="westus")).result()
    resources.resource_groups.begin_delete(rg).result()


def test_az_cli_scope_token_is_accepted(server, credential):
    """The az CLI asks for https://management.core.windows.net//.default."""
    import requests

    token = credential.get_token("https://management.core.windows.net//.default").token
    sub = server.bootstrap["subscriptionId"]
    r = requests.get(f"{server.url}/subscriptions?api-version=2022-12-01", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    subs = r.json()["value"]
    assert [s["subscriptionId"] for s in subs] == [sub]
    assert subs[0]["tenantId"] == server.bootstrap["tenantId"]


def test_wrong_secret_is_refused(server):
    from azure.core.exceptions import ClientAuthenticationError
    from azure.identity import ClientSecretCredential

    b = server.bootstrap
    bad = ClientSecretCredential(b["tenantId"], b["clientId"], "not-the-secret", authority=b["authority"], disable_instance_discovery=True)
    with pytest.raises(ClientAuthenticationError):
        bad.get_token(ARM_SCOPE)

"""Role-based access with the official SDKs: role definitions and
assignments through azure-mgmt-authorization and the keyrotor CLI, enforced
on the control plane (a Reader cannot read keys, a key operator can) and on
the data planes (data readers read, only data contributors write)."""

import json
import uuid

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.identity import ClientSecretCredential

from conftest import ARM_SCOPE, assign_role, mgmt_kwargs


def unique(prefix):
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def new_principal(server, kr):
    sp = json.loads(kr("identity", "sp", "create", "-n", unique("rbac-")).stdout)
    b = server.bootstrap
    cred = ClientSecretCredential(b["tenantId"], sp["clientId"], sp["secret"]["value"], authority=b["authority"], disable_instance_discovery=True)
    return sp["clientId"], cred


def group_scope(server, rg):
    return f"/subscriptions/{server.bootstrap['subscriptionId']}/resourceGroups/{rg}"


def test_reader_cannot_read_keys_and_key_operator_can(server, kr, resources, cosmos_mgmt, authz):
    from azure.mgmt.cosmosdb import CosmosDBManagementClient
    from azure.mgmt.cosmosdb.models import DatabaseAccountCreateUpdateParameters, DatabaseAccountRegenerateKeyParameters, Location

    rg, name = unique("rg-"), unique("rbac-")
    resources.resource_groups.create_or_update(rg, {"location": "westus"})
    cosmos_mgmt.database_accounts.begin_create_or_update(
        rg, name, DatabaseAccountCreateUpdateParameters(location="westus", locations=[Location(location_name="westus")], database_account_offer_type="Standard")
    ).result()
    cid, cred = new_principal(server, kr)
    as_sp = CosmosDBManagementClient(cred, server.bootstrap["subscriptionId"], **mgmt_kwargs(server))

    # No role yet: even reading the account is refused.
    with pytest.raises(HttpResponseError) as e:
        as_sp.database_accounts.get(rg, name)
    assert e.value.status_code == 403 and e.value.error.code == "AuthorizationFailed"

    ra = assign_role(authz, group_scope(server, rg), "Reader", cid)
    assert ra.principal_id == cid and ra.scope.lower() == group_scope(server, rg).lower()
    assert as_sp.database_accounts.get(rg, name).name == name
    before = cosmos_mgmt.database_accounts.list_keys(rg, name)
    with pytest.raises(HttpResponseError) as e:
        as_sp.database_accounts.list_keys(rg, name)
    assert e.value.status_code == 403 and e.value.error.code == "AuthorizationFailed"
    assert "listKeys/action" in e.value.error.message
    with pytest.raises(HttpResponseError) as e:
        as_sp.database_accounts.begin_regenerate_key(rg, name, DatabaseAccountRegenerateKeyParameters(key_kind="secondary")).result()
    assert e.value.status_code == 403
    assert cosmos_mgmt.database_accounts.list_keys(rg, name).secondary_master_key == before.secondary_master_key, "a refused regeneration changed the key"

    # The key operator role at the account scope, by CLI.
    out = json.loads(kr("role", "assignment", "create", "--assignee", cid, "--role", "Keyrotor Key Operator", "-g", rg, "-n", name).stdout)
    assert out["properties"]["roleName"] == "Keyrotor Key Operator"
    assert as_sp.database_accounts.list_keys(rg, name).primary_master_key == before.primary_master_key
    as_sp.database_accounts.begin_regenerate_key(rg, name, DatabaseAccountRegenerateKeyParameters(key_kind="secondary")).result()
    assert cosmos_mgmt.database_accounts.list_keys(rg, name).secondary_master_key != before.secondary_master_key
    # ...but not account writes.
    with pytest.raises(HttpResponseError) as e:
        as_sp.database_accounts.begin_delete(rg, name).result()
    assert e.value.status_code == 403

    # At the account: its own assignment; with the inherited ones (az's
    # --include-inherited), the group's Reader too.
    listed = json.loads(kr("role", "assignment", "list", "--assignee", cid, "-g", rg, "-n", name).stdout)
    assert {a["properties"]["roleName"] for a in listed} == {"Keyrotor Key Operator"}, listed
    listed = json.loads(kr("role", "assignment", "list", "--assignee", cid, "-g", rg, "-n", name, "--include-inherited").stdout)
    assert {a["properties"]["roleName"] for a in listed} == {"Reader", "Keyrotor Key Operator"}, listed
    at_scope = list(authz.role_assignments.list_for_scope(group_scope(server, rg), filter="atScope()"))
    assert [a.name for a in at_scope if a.principal_id == cid] == [ra.name]

    kr("role", "assignment", "delete", "--assignee", cid, "--role", "Keyrotor Key Operator", "-g", rg, "-n", name)
    with pytest.raises(HttpResponseError) as e:
        as_sp.database_accounts.list_keys(rg, name)
    assert e.value.status_code == 403, "a deleted assignment still grants access"
    authz.role_assignments.delete(group_scope(server, rg), ra.name)
    with pytest.raises(HttpResponseError):
        as_sp.database_accounts.get(rg, name)
    resources.resource_groups.begin_delete(rg).result()


def test_data_roles_decide_reads_and_writes(server, kr, resources, cosmos_mgmt, batch_mgmt, authz):
    from azure.batch import BatchClient
    from azure.batch.models import BatchPoolCreateOptions
    from azure.cosmos import CosmosClient, PartitionKey
    from azure.cosmos.exceptions import CosmosHttpResponseError
    from azure.mgmt.batch.models import BatchAccountCreateParameters
    from azure.mgmt.cosmosdb.models import DatabaseAccountCreateUpdateParameters, Location

    rg, name, bname, ainame = unique("rg-"), unique("data-"), unique("datab"), unique("dataai-")
    resources.resource_groups.create_or_update(rg, {"location": "westus"})
    acct = cosmos_mgmt.database_accounts.begin_create_or_update(
        rg, name, DatabaseAccountCreateUpdateParameters(location="westus", locations=[Location(location_name="westus")], database_account_offer_type="Standard")
    ).result()
    key = cosmos_mgmt.database_accounts.list_keys(rg, name).primary_master_key
    container = CosmosClient(acct.document_endpoint, credential=key).create_database("shop").create_container("orders", PartitionKey(path="/id"))
    container.create_item({"id": "o1", "total": 3})
    cid, cred = new_principal(server, kr)
    scope = group_scope(server, rg)

    # Without a data role the client cannot even read the account metadata it starts with.
    with pytest.raises(CosmosHttpResponseError) as e:
        CosmosClient(acct.document_endpoint, credential=cred)
    assert e.value.status_code == 403 and "does not have required RBAC permissions" in str(e.value)
    assert "readMetadata" in str(e.value)

    assign_role(authz, scope, "Cosmos DB Built-in Data Reader", cid)
    as_sp = CosmosClient(acct.document_endpoint, credential=cred)
    orders = as_sp.get_database_client("shop").get_container_client("orders")
    assert orders.read_item("o1", partition_key="o1")["total"] == 3
    assert [i["id"] for i in orders.query_items("SELECT * FROM c WHERE c.total = 3", enable_cross_partition_query=True)] == ["o1"]
    with pytest.raises(CosmosHttpResponseError) as e:
        orders.create_item({"id": "o2", "total": 5})
    assert e.value.status_code == 403 and "items/create" in str(e.value)
    assert [i["id"] for i in container.read_all_items()] == ["o1"], "a refused write changed data"

    assign_role(authz, scope, "Cosmos DB Built-in Data Contributor", cid)
    orders.create_item({"id": "o2", "total": 5})
    orders.delete_item("o1", partition_key="o1")
    assert [i["id"] for i in container.read_all_items()] == ["o2"]

    # Batch: a data reader lists, only a contributor creates.
    bacct = batch_mgmt.batch_account.begin_create(rg, bname, BatchAccountCreateParameters(location="westus")).result()
    batch = BatchClient("https://" + bacct.account_endpoint, cred)
    with pytest.raises(HttpResponseError) as e:
        list(batch.list_pools())
    assert e.value.status_code == 403
    assign_role(authz, scope, "Keyrotor Data Reader", cid)
    assert list(batch.list_pools()) == []
    pool = BatchPoolCreateOptions(id="p1", vm_size="standard_d2s_v3")
    with pytest.raises(HttpResponseError) as e:
        batch.create_pool(pool)
    assert e.value.status_code == 403 and e.value.error.code == "AuthorizationPermissionMismatch"
    assign_role(authz, scope, "Keyrotor Data Contributor", cid)
    batch.create_pool(pool)
    assert [p.id for p in batch.list_pools()] == ["p1"]

    # AI Services: reads pass with the reader role, writes (inference POSTs) need a contributor role.
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {authz._config.credential.get_token(ARM_SCOPE).token}"
    url = f"{server.url}{scope}/providers/Microsoft.CognitiveServices/accounts/{ainame}?api-version=2025-09-01"
    endpoint = s.put(url, json={"location": "westus", "kind": "AIServices", "sku": {"name": "S0"}}).json()["properties"]["endpoint"]
    other, other_cred = new_principal(server, kr)
    assign_role(authz, scope, "Keyrotor Data Reader", other)
    tok = other_cred.get_token("https://cognitiveservices.azure.com/.default").token
    h = {"Authorization": f"Bearer {tok}"}
    ca = server.bootstrap["caCert"]
    assert requests.get(f"{endpoint}openai/models", headers=h, verify=ca).status_code == 404  # authorized; no upstream
    r = requests.post(f"{endpoint}openai/deployments/x/chat/completions", headers=h, json={}, verify=ca)
    assert r.status_code == 403 and r.json()["error"]["code"] == "PermissionDenied", r.text
    resources.resource_groups.begin_delete(rg).result()

"""Entra-style bearer tokens from azure-identity on the data planes, and the
point of it all: with key auth disabled, key requests are refused while
token requests keep working."""

import uuid

import pytest
import requests

from conftest import ARM_SCOPE, assign_role


def unique(prefix):
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def group_scope(server, rg):
    return f"/subscriptions/{server.bootstrap['subscriptionId']}/resourceGroups/{rg}"


def test_cosmos_with_tokens_after_disabling_keys(server, credential, resources, cosmos_mgmt, authz):
    from azure.cosmos import CosmosClient
    from azure.cosmos.exceptions import CosmosHttpResponseError
    from azure.mgmt.cosmosdb.models import DatabaseAccountCreateUpdateParameters, DatabaseAccountUpdateParameters, Location

    rg, name = unique("rg-"), unique("tok-")
    resources.resource_groups.create_or_update(rg, {"location": "westus"})
    acct = cosmos_mgmt.database_accounts.begin_create_or_update(
        rg, name, DatabaseAccountCreateUpdateParameters(location="westus", locations=[Location(location_name="westus")], database_account_offer_type="Standard")
    ).result()
    key = cosmos_mgmt.database_accounts.list_keys(rg, name).primary_master_key
    # Owning the subscription does not open the data: a data role does.
    assign_role(authz, group_scope(server, rg), "Cosmos DB Built-in Data Contributor", server.bootstrap["clientId"])
    with_token = CosmosClient(acct.document_endpoint, credential=credential)
    with_key = CosmosClient(acct.document_endpoint, credential=key)
    with_token.create_database("viatoken")
    assert "viatoken" in [d["id"] for d in with_key.list_databases()]

    cosmos_mgmt.database_accounts.begin_update(rg, name, DatabaseAccountUpdateParameters(disable_local_auth=True)).result()
    with pytest.raises(CosmosHttpResponseError) as e:
        list(with_key.list_databases())
    assert e.value.status_code == 401 and "Local Authorization is disabled" in str(e.value)
    assert "viatoken" in [d["id"] for d in with_token.list_databases()]
    resources.resource_groups.begin_delete(rg).result()


def test_batch_and_ai_with_tokens(server, credential, resources, batch_mgmt, arm_session, authz):
    from azure.batch import BatchClient
    from azure.mgmt.batch.models import BatchAccountCreateParameters

    rg, name = unique("rg-"), unique("tokba")
    resources.resource_groups.create_or_update(rg, {"location": "westus"})
    assign_role(authz, group_scope(server, rg), "Keyrotor Data Contributor", server.bootstrap["clientId"])
    acct = batch_mgmt.batch_account.begin_create(rg, name, BatchAccountCreateParameters(location="westus")).result()
    client = BatchClient("https://" + acct.account_endpoint, credential)
    assert list(client.list_pools()) == []

    # AI Services: a Bearer token for https://cognitiveservices.azure.com passes the proxy check.
    ai = unique("tokai-")
    url = f"{server.url}/subscriptions/{server.bootstrap['subscriptionId']}/resourceGroups/{rg}/providers/Microsoft.CognitiveServices/accounts/{ai}?api-version=2025-09-01"
    r = arm_session.put(url, json={"location": "westus", "kind": "AIServices", "sku": {"name": "S0"}, "properties": {"disableLocalAuth": True}})
    endpoint = r.json()["properties"]["endpoint"]
    token = credential.get_token("https://cognitiveservices.azure.com/.default").token
    r = requests.post(f"{endpoint}openai/models", headers={"Authorization": f"Bearer {token}"}, verify=server.bootstrap["caCert"])
    assert r.status_code == 404 and r.json()["error"]["message"] == "Resource not found", r.text  # authenticated; no upstream set
    keys = arm_session.post(url.replace("?", "/listKeys?")).json()
    r = requests.post(f"{endpoint}openai/models", headers={"api-key": keys["key1"]}, verify=server.bootstrap["caCert"])
    assert r.status_code == 401 and r.json()["error"]["code"] == "AuthenticationTypeDisabled"
    # A token for another audience (ARM) is refused on the data plane.
    arm_token = credential.get_token(ARM_SCOPE).token
    r = requests.post(f"{endpoint}openai/models", headers={"Authorization": f"Bearer {arm_token}"}, verify=server.bootstrap["caCert"])
    assert r.status_code == 401
    resources.resource_groups.begin_delete(rg).result()


@pytest.fixture
def arm_session(credential):
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {credential.get_token(ARM_SCOPE).token}"
    return s

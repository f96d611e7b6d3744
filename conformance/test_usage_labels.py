"""Labelling applications for `keyrotor keys usage`, as README.md says: the
user agent an official SDK is given reaches the usage evidence of the key it
used (azure-cosmos appends `user_agent_suffix`, azure-core SDKs such as
azure-batch prepend `user_agent`)."""

import json
import uuid

from azure.core.credentials import AzureNamedKeyCredential


def usage_of(kr, rg, name, kind):
    usage = json.loads(kr("keys", "usage", "-g", rg, "-n", name).stdout)
    keys = usage["keys"] if isinstance(usage, dict) else usage
    return json.dumps(next(k for k in keys if k["keyKind"] == kind))


def test_sdk_user_agents_name_the_application_in_key_usage(server, kr):
    from azure.batch import BatchClient
    from azure.cosmos import CosmosClient

    rg = f"rg-{uuid.uuid4().hex[:8]}"
    kr("group", "create", "-n", rg, "-l", "westus", "-o", "none")
    cosmos, batch = f"label-{uuid.uuid4().hex[:8]}", f"label{uuid.uuid4().hex[:8]}"
    acct = json.loads(kr("account", "create", "--kind", "cosmos", "-g", rg, "-n", cosmos).stdout)
    key = json.loads(kr("keys", "list", "-g", rg, "-n", cosmos).stdout)["secondaryMasterKey"]
    client = CosmosClient(acct["properties"]["documentEndpoint"], credential=key,
                          user_agent_suffix="billing-service/3.2")
    list(client.list_databases())
    assert "billing-service/3.2" in usage_of(kr, rg, cosmos, "secondary")
    assert "billing-service/3.2" not in usage_of(kr, rg, cosmos, "primary")

    acct = json.loads(kr("account", "create", "--kind", "batch", "-g", rg, "-n", batch).stdout)
    keys = json.loads(kr("keys", "list", "-g", rg, "-n", batch).stdout)
    client = BatchClient("https://" + acct["properties"]["accountEndpoint"],
                         AzureNamedKeyCredential(batch, keys["primary"]), user_agent="nightly-render/1.0")
    assert list(client.list_pools()) == []
    assert "nightly-render/1.0" in usage_of(kr, rg, batch, "primary")
    kr("group", "delete", "-n", rg, "--yes")

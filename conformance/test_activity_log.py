"""Conformance: keyrotor's activity log through the unmodified
azure-mgmt-monitor (`activity_logs.list(filter=..., select=...)`): a key
regeneration, the key reads and a refused regeneration are entries with
caller, operation name in Azure's form, resource, status and correlation id;
no key value is in any entry; a `$filter` outside Azure Monitor's forms is
400 in ARM's error shape. (The az CLI's `az monitor activity-log list` is in
test_az_cli.py.)"""

import datetime
import json
import uuid

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.cosmosdb.models import (
    DatabaseAccountCreateUpdateParameters,
    DatabaseAccountRegenerateKeyParameters,
    Location,
)

from conftest import mgmt_kwargs


@pytest.fixture(scope="module")
def monitor(server, credential):
    from azure.mgmt.monitor import MonitorManagementClient

    return MonitorManagementClient(credential, server.bootstrap["subscriptionId"], **mgmt_kwargs(server))


def window(minutes=10):
    now = datetime.datetime.now(datetime.timezone.utc)
    fmt = lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return fmt(now - datetime.timedelta(minutes=minutes)), fmt(now + datetime.timedelta(minutes=1))


def test_monitor_sdk_lists_regeneration_reads_and_refusals(server, resources, cosmos_mgmt, monitor):
    rg = f"rg-act-{uuid.uuid4().hex[:8]}"
    name = f"cosmos-act-{uuid.uuid4().hex[:8]}"
    resources.resource_groups.create_or_update(rg, {"location": "westus"})
    cosmos_mgmt.database_accounts.begin_create_or_update(
        rg,
        name,
        DatabaseAccountCreateUpdateParameters(
            location="westus",
            locations=[Location(location_name="westus", failover_priority=0)],
            database_account_offer_type="Standard",
        ),
    ).result()
    before = cosmos_mgmt.database_accounts.list_keys(rg, name)
    cosmos_mgmt.database_accounts.begin_regenerate_key(
        rg, name, DatabaseAccountRegenerateKeyParameters(key_kind="primary")
    ).result()
    after = cosmos_mgmt.database_accounts.list_keys(rg, name)
    with pytest.raises(ResourceNotFoundError):
        cosmos_mgmt.database_accounts.begin_regenerate_key(
            rg, "cosmos-act-missing", DatabaseAccountRegenerateKeyParameters(key_kind="primary")
        ).result()

    start, end = window()
    events = list(
        monitor.activity_logs.list(
            filter=f"eventTimestamp ge '{start}' and eventTimestamp le '{end}' and resourceGroupName eq '{rg}'"
        )
    )
    caller = server.bootstrap["clientId"]
    account_id = (
        f"/subscriptions/{server.bootstrap['subscriptionId']}/resourceGroups/{rg}"
        f"/providers/Microsoft.DocumentDB/databaseAccounts/{name}"
    )

    def find(operation, status):
        found = [e for e in events if e.operation_name.value == operation and e.status.value == status]
        assert found, f"no {status} {operation} in {[(e.operation_name.value, e.status.value) for e in events]}"
        return found[0]

    regen = find("Microsoft.DocumentDB/databaseAccounts/regenerateKey/action", "Succeeded")
    assert regen.caller == caller
    assert regen.resource_id == account_id
    assert regen.resource_group_name == rg
    assert regen.resource_provider_name.value == "Microsoft.DocumentDB"
    assert regen.correlation_id and regen.event_data_id and regen.event_timestamp
    assert regen.level == "Informational"
    reads = [e for e in events if e.operation_name.value == "Microsoft.DocumentDB/databaseAccounts/listKeys/action"]
    assert len(reads) >= 2 and all(e.caller == caller for e in reads)
    find("Microsoft.DocumentDB/databaseAccounts/write", "Succeeded")
    refused = find("Microsoft.DocumentDB/databaseAccounts/regenerateKey/action", "Failed")
    assert refused.sub_status.value == "NotFound"
    assert refused.level == "Error"
    # Newest first, as Azure Monitor answers.
    stamps = [e.event_timestamp for e in events]
    assert stamps == sorted(stamps, reverse=True)

    # Nothing secret in any entry.
    text = json.dumps([e.as_dict() for e in events], default=str)
    for keys in (before, after):
        for v in (keys.primary_master_key, keys.secondary_master_key,
                  keys.primary_readonly_master_key, keys.secondary_readonly_master_key):
            assert v not in text

    # The other documented filters and $select.
    by_resource = list(monitor.activity_logs.list(
        filter=f"eventTimestamp ge '{start}' and eventTimestamp le '{end}' and resourceUri eq '{account_id}'"
    ))
    assert by_resource and all(e.resource_id.lower() == account_id.lower() for e in by_resource)
    by_correlation = list(monitor.activity_logs.list(
        filter=f"eventTimestamp ge '{start}' and eventTimestamp le '{end}' and correlationId eq '{regen.correlation_id}'"
    ))
    assert [e.event_data_id for e in by_correlation] == [regen.event_data_id]
    by_provider = list(monitor.activity_logs.list(
        filter=f"eventTimestamp ge '{start}' and eventTimestamp le '{end}' and resourceProvider eq 'Microsoft.DocumentDB'"
    ))
    cosmos_events = {e.event_data_id for e in events if e.operation_name.value.startswith("Microsoft.DocumentDB/")}
    assert cosmos_events and cosmos_events <= {e.event_data_id for e in by_provider}
    assert all(e.resource_provider_name.value == "Microsoft.DocumentDB" for e in by_provider)
    selected = list(monitor.activity_logs.list(
        filter=f"eventTimestamp ge '{start}' and eventTimestamp le '{end}' and resourceGroupName eq '{rg}'",
        select="operationName,status",
    ))
    assert len(selected) == len(events)
    assert all(e.operation_name and e.status and e.caller is None and e.resource_id is None for e in selected)


@pytest.mark.parametrize("bad", [
    "resourceGroupName eq 'x'",
    "eventTimestamp ge 'not a time'",
    "eventTimestamp ge '2026-01-01T00:00:00Z' and level eq 'Error'",
    "eventTimestamp ge '2026-01-01T00:00:00Z' or resourceGroupName eq 'x'",
])
def test_monitor_filters_outside_azures_forms_are_400(monitor, bad):
    with pytest.raises(HttpResponseError) as e:
        list(monitor.activity_logs.list(filter=bad))
    assert e.value.status_code == 400
    assert e.value.error.code == "InvalidParameter"

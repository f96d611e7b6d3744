"""Turning key ("local") authentication off safely with the keyrotor CLI:
the safety check refuses while a client still uses a key and allows once it
stopped; report-only mode counts exactly the requests that would break;
break-glass re-enabling switches itself off again."""

import json
import uuid

import requests

from conftest import wait_until
from test_dataplane_bad_input import cosmos_headers


def test_disable_local_auth_safely(server, kr):
    rg, name = f"rg-{uuid.uuid4().hex[:8]}", f"local-{uuid.uuid4().hex[:8]}"
    kr("group", "create", "-n", rg, "-l", "westus", "-o", "none")
    endpoint = json.loads(kr("account", "create", "--kind", "cosmos", "-g", rg, "-n", name).stdout)["properties"]["documentEndpoint"].rstrip("/")
    key = json.loads(kr("keys", "list", "-g", rg, "-n", name).stdout)["primaryMasterKey"]
    ca = server.bootstrap["caCert"]

    def read_dbs(ua="billing-service/3.2"):
        h = cosmos_headers(key, "GET", "dbs", "", extra={"User-Agent": ua})
        return requests.get(f"{endpoint}/dbs", headers=h, verify=ca)

    assert read_dbs().status_code == 200

    # 1. The safety check refuses while the key is in use, naming the client.
    refused = kr("auth", "disable-local", "-g", rg, "-n", name, check=False)
    assert refused.returncode != 0 and "billing-service/3.2" in refused.stderr and "primaryMasterKey" in refused.stderr, refused.stderr
    assert read_dbs().status_code == 200, "a refused switch changed something"

    # 2. Report-only: key requests still succeed and are counted exactly.
    kr("auth", "disable-local", "-g", rg, "-n", name, "--report-only", "-o", "none")
    for _ in range(7):
        assert read_dbs("nightly-export/1.0").status_code == 200
    status = json.loads(kr("auth", "status", "-g", rg, "-n", name).stdout)
    assert status["localAuth"].startswith("report-only"), status
    primary = next(k for k in status["keys"] if k["keyKind"] == "primary")
    assert primary["wouldBeRejected"] == 7, primary
    assert any("nightly-export/1.0" in c for c in primary["clients"]), primary
    assert all(k["wouldBeRejected"] == 0 for k in status["keys"] if k["keyKind"] != "primary")

    # 3. Once the client stopped (no use within the window), the switch is
    # allowed: refused (changing nothing, as in 1.) until 2 s have passed.
    def disabled():
        p = kr("auth", "disable-local", "-g", rg, "-n", name, "--window", "2s", "-o", "none", check=False)
        assert p.returncode == 0 or "primaryMasterKey" in p.stderr, p.stderr
        return p.returncode == 0

    wait_until(disabled, "disable-local allowed once the key was unused for 2 s", every=0.25)
    r = read_dbs()
    assert r.status_code == 401 and "Local Authorization is disabled" in r.json()["message"], r.text

    # 4. Break-glass: key auth works again for a while, then switches itself off.
    kr("auth", "enable-local", "-g", rg, "-n", name, "--for", "3s", "-o", "none")
    assert read_dbs().status_code == 200
    wait_until(lambda: read_dbs().status_code == 401, "key auth off again after the 3 s break-glass")

    # 5. Enabling for good.
    kr("auth", "enable-local", "-g", rg, "-n", name, "-o", "none")
    assert read_dbs().status_code == 200
    kr("group", "delete", "-n", rg, "--yes")


def test_batch_allowed_authentication_modes(server, resources, batch_mgmt):
    """Batch's switch is allowedAuthenticationModes without SharedKey."""
    from azure.batch import BatchClient
    from azure.core.credentials import AzureNamedKeyCredential
    from azure.core.exceptions import HttpResponseError
    from azure.mgmt.batch.models import BatchAccountCreateParameters, BatchAccountUpdateParameters

    rg, name = f"rg-{uuid.uuid4().hex[:8]}", f"modes{uuid.uuid4().hex[:8]}"
    resources.resource_groups.create_or_update(rg, {"location": "westus"})
    acct = batch_mgmt.batch_account.begin_create(rg, name, BatchAccountCreateParameters(location="westus")).result()
    keys = batch_mgmt.batch_account.get_keys(rg, name)
    client = BatchClient("https://" + acct.account_endpoint, AzureNamedKeyCredential(name, keys.primary))
    assert list(client.list_pools()) == []
    batch_mgmt.batch_account.update(rg, name, BatchAccountUpdateParameters(allowed_authentication_modes=["AAD"]))
    try:
        list(client.list_pools())
        raise AssertionError("SharedKey accepted although not allowed")
    except HttpResponseError as e:
        assert e.status_code == 403 and "KeyBasedAuthenticationNotPermitted" in str(e)
    batch_mgmt.batch_account.update(rg, name, BatchAccountUpdateParameters(allowed_authentication_modes=["SharedKey", "AAD"]))
    assert list(client.list_pools()) == []
    resources.resource_groups.begin_delete(rg).result()

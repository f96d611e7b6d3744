"""Conformance of the data planes with the unmodified azure-cosmos,
azure-batch and openai SDKs, following the seeds' rotation procedure:
work with the primary key, regenerate the secondary, switch the client,
regenerate the primary. Every request signed with a current key must
succeed; every request with a replaced key must fail."""

import json
import threading
import uuid
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from conftest import ARM_SCOPE, wait_until

warnings.filterwarnings("ignore", message="Unverified HTTPS request")


def unique(prefix):
    return f"{prefix}{uuid.uuid4().hex[:10]}"


class Ledger:
    """Outcomes of data-plane calls, by whether the key was current."""

    def __init__(self):
        self.current_failures = []
        self.replaced_successes = []
        self.current_ok = 0
        self.replaced_refused = 0

    def current(self, what, fn):
        try:
            result = fn()
            self.current_ok += 1
            return result
        except Exception as e:  # noqa: BLE001 - any failure counts
            self.current_failures.append(f"{what}: {e!r}")
            print(f"current-key request failed: {what}: {e!r}")

    def replaced(self, what, fn, expect_status):
        try:
            fn()
            self.replaced_successes.append(what)
        except Exception as e:  # noqa: BLE001
            status = getattr(e, "status_code", None) or getattr(getattr(e, "response", None), "status_code", None)
            assert status == expect_status, f"{what}: {e!r}"
            self.replaced_refused += 1

    def check(self):
        assert self.current_failures == [], self.current_failures
        assert self.replaced_successes == [], self.replaced_successes
        assert self.current_ok > 0 and self.replaced_refused > 0


@pytest.fixture(scope="module")
def arm(server, credential):
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {credential.get_token(ARM_SCOPE).token}"
    sub = server.bootstrap["subscriptionId"]

    class Arm:
        session = s

        def url(self, rg, provider="", name="", action=""):
            u = f"{server.url}/subscriptions/{sub}/resourceGroups/{rg}"
            if provider:
                u += f"/providers/{provider}/{name}"
            if action:
                u += f"/{action}"
            return u

        def usage(self, rg, provider, name):
            r = s.post(self.url(rg, provider, name, "listKeyUsage") + "?api-version=2026-03-15")
            assert r.status_code == 200, r.text
            return {k["keyKind"]: k for k in r.json()["keys"]}

    return Arm()


def test_cosmos_rotation_with_the_sdk(server, resources, cosmos_mgmt, arm):
    from azure.cosmos import CosmosClient, PartitionKey
    from azure.mgmt.cosmosdb.models import DatabaseAccountCreateUpdateParameters, DatabaseAccountRegenerateKeyParameters, Location

    rg, name = unique("rg-"), unique("cosmos-")
    resources.resource_groups.create_or_update(rg, {"location": "westus"})
    acct = cosmos_mgmt.database_accounts.begin_create_or_update(
        rg, name, DatabaseAccountCreateUpdateParameters(location="westus", locations=[Location(location_name="westus")], database_account_offer_type="Standard")
    ).result()
    endpoint = acct.document_endpoint
    keys = cosmos_mgmt.database_accounts.list_keys(rg, name)
    ledger = Ledger()

    def client(key):
        return CosmosClient(endpoint, credential=key)

    def container(c):
        return c.get_database_client("db1").get_container_client("items")

    app = client(keys.primary_master_key)
    db = ledger.current("create db", lambda: app.create_database("db1"))
    ledger.current("create container", lambda: db.create_container("items", partition_key=PartitionKey(path="/pk")))
    for i in range(5):
        ledger.current("create item", lambda i=i: container(app).create_item({"id": str(i), "pk": "p", "n": i}))
    assert ledger.current("read item", lambda: container(app).read_item("3", partition_key="p"))["n"] == 3
    assert len(ledger.current("read feed", lambda: list(container(app).read_all_items()))) == 5
    found = ledger.current("query", lambda: list(container(app).query_items("SELECT * FROM c WHERE c.n = @n", parameters=[{"name": "@n", "value": 4}], partition_key="p")))
    assert [d["id"] for d in found] == ["4"]
    assert len(ledger.current("cross-partition query", lambda: list(container(app).query_items("SELECT * FROM c", enable_cross_partition_query=True)))) == 5

    # Step 1: regenerate the idle secondary key. The app (primary) keeps working.
    old_secondary = keys.secondary_master_key
    cosmos_mgmt.database_accounts.begin_regenerate_key(rg, name, DatabaseAccountRegenerateKeyParameters(key_kind="secondary")).result()
    ledger.replaced("old secondary", lambda: list(client(old_secondary).list_databases()), 401)
    ledger.current("primary after secondary regen", lambda: container(app).upsert_item({"id": "0", "pk": "p", "n": 10}))
    keys = cosmos_mgmt.database_accounts.list_keys(rg, name)

    # Step 2: move the app to the new secondary key.
    app = client(keys.secondary_master_key)
    ledger.current("secondary works", lambda: container(app).read_item("0", partition_key="p"))
    before = arm.usage(rg, "Microsoft.DocumentDB/databaseAccounts", name)

    # Usage times have a resolution of one second (a usage read flushes
    # what is pending): secondary traffic until its last use is later.
    def secondary_traffic():
        for i in range(3):
            ledger.current("secondary traffic", lambda i=i: container(app).upsert_item({"id": f"s{i}", "pk": "p"}))
        now = arm.usage(rg, "Microsoft.DocumentDB/databaseAccounts", name)
        return now if now["secondary"]["lastUsedTime"] > before["secondary"]["lastUsedTime"] else None

    after = wait_until(secondary_traffic, "the secondary key's last use is later than before the traffic", every=0.2)
    # Usage shows the switch: the primary's last use stopped, the secondary's advanced.
    assert after["primary"]["lastUsedTime"] == before["primary"]["lastUsedTime"] is not None
    assert after["secondary"]["lastUsedTime"] > before["secondary"]["lastUsedTime"]
    assert after["secondary"]["clients"] and "azsdk-python-cosmos" in after["secondary"]["clients"][0]["userAgent"]
    meta = arm.session.get(arm.url(rg, "Microsoft.DocumentDB/databaseAccounts", name) + "?api-version=2026-03-15").json()["properties"]["keysMetadata"]
    assert meta["secondaryMasterKey"]["lastUsedTime"] == after["secondary"]["lastUsedTime"]

    # Step 3: regenerate the primary nobody uses; the replaced value is refused at once.
    old_primary = keys.primary_master_key
    cosmos_mgmt.database_accounts.begin_regenerate_key(rg, name, DatabaseAccountRegenerateKeyParameters(key_kind="primary")).result()
    ledger.replaced("old primary", lambda: container(client(old_primary)).read_item("0", partition_key="p"), 401)
    ledger.current("secondary after primary regen", lambda: container(app).read_item("0", partition_key="p"))

    # Read-only keys read but never write; a replaced read-only key is refused.
    ro = client(keys.primary_readonly_master_key)
    ledger.current("read-only read", lambda: container(ro).read_item("0", partition_key="p"))
    ledger.replaced("read-only write", lambda: container(ro).create_item({"id": "ro", "pk": "p"}), 403)
    cosmos_mgmt.database_accounts.begin_regenerate_key(rg, name, DatabaseAccountRegenerateKeyParameters(key_kind="primaryReadonly")).result()
    ledger.replaced("old read-only", lambda: container(ro).read_item("0", partition_key="p"), 401)
    ledger.check()
    resources.resource_groups.begin_delete(rg).result()


def test_batch_rotation_with_the_sdk(server, resources, batch_mgmt):
    from azure.batch import BatchClient
    from azure.batch.models import BatchJobCreateOptions, BatchPoolCreateOptions, BatchPoolInfo
    from azure.core.credentials import AzureNamedKeyCredential
    from azure.mgmt.batch.models import BatchAccountCreateParameters, BatchAccountRegenerateKeyParameters

    rg, name = unique("rg-"), unique("ba")
    resources.resource_groups.create_or_update(rg, {"location": "westus"})
    acct = batch_mgmt.batch_account.begin_create(rg, name, BatchAccountCreateParameters(location="westus")).result()
    endpoint = "https://" + acct.account_endpoint
    keys = batch_mgmt.batch_account.get_keys(rg, name)
    ledger = Ledger()

    def client(key):
        return BatchClient(endpoint, AzureNamedKeyCredential(name, key))

    app = client(keys.primary)
    assert ledger.current("list applications", lambda: list(app.list_applications())) == []
    ledger.current("create pool", lambda: app.create_pool(BatchPoolCreateOptions(id="pool1", vm_size="standard_d2s_v3")))
    ledger.current("create job", lambda: app.create_job(BatchJobCreateOptions(id="job1", pool_info=BatchPoolInfo(pool_id="pool1"))))
    assert [p.id for p in ledger.current("list pools", lambda: list(app.list_pools()))] == ["pool1"]
    assert [j.id for j in ledger.current("list jobs", lambda: list(app.list_jobs()))] == ["job1"]

    old_secondary = keys.secondary
    batch_mgmt.batch_account.regenerate_key(rg, name, BatchAccountRegenerateKeyParameters(key_name="Secondary"))
    ledger.replaced("old secondary", lambda: list(client(old_secondary).list_pools()), 403)
    ledger.current("primary still works", lambda: list(app.list_pools()))
    keys = batch_mgmt.batch_account.get_keys(rg, name)
    app = client(keys.secondary)
    ledger.current("switched", lambda: list(app.list_jobs()))
    old_primary = keys.primary
    batch_mgmt.batch_account.regenerate_key(rg, name, BatchAccountRegenerateKeyParameters(key_name="Primary"))
    ledger.replaced("old primary", lambda: list(client(old_primary).list_pools()), 403)
    ledger.current("secondary after primary regen", lambda: app.create_pool(BatchPoolCreateOptions(id="pool2", vm_size="standard_d2s_v3")))
    ledger.check()
    resources.resource_groups.begin_delete(rg).result()


class Upstream(BaseHTTPRequestHandler):
    """A small OpenAI-compatible upstream that records what reached it."""

    seen = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        Upstream.seen.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}})
        if body.get("stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for word in ["rotate", " safely"]:
                chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "m", "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
            self.wfile.write(b"data: [DONE]\n\n")
            return
        reply = {
            "id": "c1", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "hello from upstream"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 3, "total_tokens": 4},
        }
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def test_ai_services_proxy_rotation_with_openai(server, resources, cognitive_mgmt, arm):
    import httpx
    from openai import AuthenticationError, AzureOpenAI

    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    rg, name = unique("rg-"), unique("ai-")
    resources.resource_groups.create_or_update(rg, {"location": "eastus"})
    url = arm.url(rg, "Microsoft.CognitiveServices/accounts", name) + "?api-version=2025-09-01"
    r = arm.session.put(url, json={"location": "eastus", "kind": "AIServices", "sku": {"name": "S0"}, "properties": {}})
    assert r.status_code == 201, r.text
    endpoint = r.json()["properties"]["endpoint"]
    keys = cognitive_mgmt.accounts.list_keys(rg, name)
    http_client = httpx.Client(verify=server.bootstrap["caCert"])

    def client(key):
        return AzureOpenAI(azure_endpoint=endpoint, api_key=key, api_version="2024-06-01", http_client=http_client, max_retries=0)

    def chat(c):
        return c.chat.completions.create(model="gpt", messages=[{"role": "user", "content": "hi"}]).choices[0].message.content

    # Without an upstream the authenticated request answers 404 in the service's shape.
    resp = requests.post(f"{endpoint}openai/deployments/gpt/chat/completions?api-version=2024-06-01", headers={"api-key": keys.key1}, json={}, verify=server.bootstrap["caCert"])
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "404"
    r = arm.session.patch(url, json={"properties": {"upstreamUrl": f"http://127.0.0.1:{upstream.server_address[1]}"}})
    assert r.status_code == 200, r.text

    ledger = Ledger()
    app = client(keys.key1)
    assert ledger.current("chat", lambda: chat(app)) == "hello from upstream"
    stream = ledger.current("stream", lambda: "".join(c.choices[0].delta.content or "" for c in app.chat.completions.create(model="gpt", messages=[{"role": "user", "content": "hi"}], stream=True) if c.choices))
    assert stream == "rotate safely"
    seen = Upstream.seen[-1]
    assert seen["path"].startswith("/openai/deployments/gpt/chat/completions")
    assert "api-key" not in seen["headers"] and "ocp-apim-subscription-key" not in seen["headers"]

    old_key2 = keys.key2
    cognitive_mgmt.accounts.regenerate_key(rg, name, "Key2")
    ledger.replaced("old key2", lambda: chat(client(old_key2)), 401)
    keys = cognitive_mgmt.accounts.list_keys(rg, name)
    app = client(keys.key2)
    ledger.current("switched to key2", lambda: chat(app))
    old_key1 = keys.key1
    cognitive_mgmt.accounts.regenerate_key(rg, name, "Key1")
    ledger.replaced("old key1", lambda: chat(client(old_key1)), 401)
    ledger.current("key2 after key1 regen", lambda: chat(app))
    # Ocp-Apim-Subscription-Key works too; a wrong key gets the service's 401 body.
    r = requests.post(f"{endpoint}openai/deployments/gpt/chat/completions?api-version=2024-06-01", headers={"Ocp-Apim-Subscription-Key": keys.key2}, json={}, verify=server.bootstrap["caCert"])
    assert r.status_code == 200
    r = requests.post(f"{endpoint}openai/deployments/gpt/chat/completions?api-version=2024-06-01", headers={"api-key": old_key1}, json={}, verify=server.bootstrap["caCert"])
    assert r.status_code == 401 and r.json()["error"]["code"] == "401"
    ledger.check()
    with pytest.raises(AuthenticationError):
        chat(client("0" * 32))
    upstream.shutdown()
    resources.resource_groups.begin_delete(rg).result()


def test_regeneration_guard_refuses_a_key_in_use(server, resources, arm):
    import base64
    import hashlib
    import hmac
    from email.utils import formatdate

    rg, name = unique("rg-"), unique("guard")
    resources.resource_groups.create_or_update(rg, {"location": "westus"})
    url = arm.url(rg, "Microsoft.Batch/batchAccounts", name)
    r = arm.session.put(url + "?api-version=2025-06-01", json={"location": "westus", "properties": {"regenerationGuardMinutes": 15}})
    assert r.status_code == 200, r.text
    keys = arm.session.post(url + "/listKeys?api-version=2025-06-01").json()
    endpoint = "https://" + r.json()["properties"]["accountEndpoint"]
    path = endpoint.split("/", 3)[3]
    date = formatdate(usegmt=True)
    sts = f"GET\n\n\n\n\n\n\n\n\n\n\n\nocp-date:{date}\n/{name}/{path}/pools\napi-version:2025-06-01"
    sig = base64.b64encode(hmac.new(base64.b64decode(keys["primary"]), sts.encode(), hashlib.sha256).digest()).decode()
    r = requests.get(f"{endpoint}/pools?api-version=2025-06-01", headers={"ocp-date": date, "Authorization": f"SharedKey {name}:{sig}", "User-Agent": "nightly-job/1.0"}, verify=server.bootstrap["caCert"])
    assert r.status_code == 200, r.text
    before = arm.session.post(url + "/listKeys?api-version=2025-06-01").json()
    r = arm.session.post(url + "/regenerateKeys?api-version=2025-06-01", json={"keyName": "Primary"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "KeyInUse", r.text
    assert "nightly-job/1.0" in r.json()["error"]["message"]
    assert arm.session.post(url + "/listKeys?api-version=2025-06-01").json() == before
    # The idle key may be regenerated; force overrides the guard.
    assert arm.session.post(url + "/regenerateKeys?api-version=2025-06-01", json={"keyName": "Secondary"}).status_code == 200
    assert arm.session.post(url + "/regenerateKeys?api-version=2025-06-01&force=true", json={"keyName": "Primary"}).status_code == 200
    resources.resource_groups.begin_delete(rg).result()


def test_cli_guards_regeneration_of_a_key_in_use(server, kr):
    """`keyrotor keys regenerate` refuses a key used within --window and names its clients."""
    import base64
    import hashlib
    import hmac
    from email.utils import formatdate

    rg, name = unique("rg-"), unique("cli")
    kr("group", "create", "-n", rg, "-l", "westus", "-o", "none")
    acct = json.loads(kr("account", "create", "--kind", "batch", "-g", rg, "-n", name).stdout)
    keys = json.loads(kr("keys", "list", "-g", rg, "-n", name).stdout)
    endpoint = "https://" + acct["properties"]["accountEndpoint"]
    path = endpoint.split("/", 3)[3]
    date = formatdate(usegmt=True)
    sts = f"GET\n\n\n\n\n\n\n\n\n\n\n\nocp-date:{date}\n/{name}/{path}/jobs\napi-version:2025-06-01"
    sig = base64.b64encode(hmac.new(base64.b64decode(keys["primary"]), sts.encode(), hashlib.sha256).digest()).decode()
    r = requests.get(f"{endpoint}/jobs?api-version=2025-06-01", headers={"ocp-date": date, "Authorization": f"SharedKey {name}:{sig}", "User-Agent": "monthly-report/2.1"}, verify=server.bootstrap["caCert"])
    assert r.status_code == 200, r.text

    table = kr("keys", "usage", "-g", rg, "-n", name, "-o", "table").stdout
    primary_row = next(line for line in table.splitlines() if line.startswith("primary "))
    assert "monthly-report/2.1" in primary_row and "ACTIVE" in primary_row, table
    secondary_row = next(line for line in table.splitlines() if line.startswith("secondary "))
    assert secondary_row.rstrip().endswith("idle"), table

    refused = kr("keys", "regenerate", "-g", rg, "-n", name, "--key-kind", "primary", check=False)
    assert refused.returncode != 0 and "monthly-report/2.1" in refused.stderr, refused.stderr
    assert json.loads(kr("keys", "list", "-g", rg, "-n", name).stdout) == keys
    renewed = json.loads(kr("keys", "regenerate", "-g", rg, "-n", name, "--key-kind", "secondary").stdout)
    assert renewed["primary"] == keys["primary"] and renewed["secondary"] != keys["secondary"]
    # A window shorter than the time since last use lets it through; so does --force.
    forced = json.loads(kr("keys", "regenerate", "-g", rg, "-n", name, "--key-kind", "primary", "--force").stdout)
    assert forced["primary"] != keys["primary"]
    kr("group", "delete", "-n", rg, "--yes")

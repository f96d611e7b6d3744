"""Regression tests for the security findings of issue 12, sent the way the
adversarial test sent them (hand-signed requests, raw paths that no client
library normalises), against the real binary. Each would have passed the
attack before its fix."""

import base64
import hashlib
import hmac
import http.client
import json
import ssl
import threading
import urllib.parse
import uuid
from email.utils import formatdate

import pytest
import requests

from conftest import ARM_SCOPE, assign_role

COSMOS_API = "2026-03-15"
AI_API = "2025-09-01"


def sign(key, verb, rtype, link, date):
    sts = f"{verb.lower()}\n{rtype}\n{link}\n{date.lower()}\n\n"
    sig = base64.b64encode(hmac.new(base64.b64decode(key), sts.encode(), hashlib.sha256).digest()).decode()
    return urllib.parse.quote(f"type=master&ver=1.0&sig={sig}", safe="-_.!~*'()")


def cosmos_headers(key, verb, rtype, link, extra=None):
    date = formatdate(usegmt=True)
    h = {"authorization": sign(key, verb, rtype, link, date), "x-ms-date": date, "x-ms-version": "2020-07-15", "content-type": "application/json"}
    h.update(extra or {})
    return h


def raw(url, method, path, headers, body=b"", ca=None):
    """One request with its path exactly as given (http.client does not
    resolve dot segments or re-encode)."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPSConnection(u.hostname, u.port, context=ssl.create_default_context(cafile=ca), timeout=30)
    conn.putrequest(method, path, skip_accept_encoding=True)
    for k, v in headers:
        conn.putheader(k, v)
    conn.putheader("content-length", str(len(body)))
    conn.endheaders(body)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, data


@pytest.fixture(scope="module")
def env(server, credential):
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {credential.get_token(ARM_SCOPE).token}"
    sub = server.bootstrap["subscriptionId"]
    rg = f"rg-sec-{uuid.uuid4().hex[:6]}"
    base = f"{server.url}/subscriptions/{sub}/resourceGroups/{rg}"
    assert s.put(f"{base}?api-version=2025-04-01", json={"location": "westus"}).status_code == 201
    name = f"sec-{uuid.uuid4().hex[:6]}"
    cosmos = f"{base}/providers/Microsoft.DocumentDB/databaseAccounts/{name}"
    r = s.put(f"{cosmos}?api-version={COSMOS_API}", json={"location": "westus", "properties": {"databaseAccountOfferType": "Standard"}})
    assert r.status_code == 200, r.text
    endpoint = r.json()["properties"]["documentEndpoint"].rstrip("/")
    keys = s.post(f"{cosmos}/listKeys?api-version={COSMOS_API}").json()
    ca = server.bootstrap["caCert"]
    rw = keys["primaryMasterKey"]
    r = requests.post(f"{endpoint}/dbs", headers=cosmos_headers(rw, "POST", "dbs", ""), json={"id": "db1"}, verify=ca)
    assert r.status_code == 201, r.text
    r = requests.post(f"{endpoint}/dbs/db1/colls", headers=cosmos_headers(rw, "POST", "colls", "dbs/db1"), json={"id": "c1"}, verify=ca)
    assert r.status_code == 201, r.text
    yield {"s": s, "base": base, "rg": rg, "endpoint": endpoint, "keys": keys, "ca": ca, "sub": sub, "server": server}
    s.delete(f"{base}?api-version=2025-04-01")


def containers(env):
    h = cosmos_headers(env["keys"]["primaryMasterKey"], "GET", "colls", "dbs/db1")
    r = requests.get(f"{env['endpoint']}/dbs/db1/colls", headers=h, verify=env["ca"])
    assert r.status_code == 200, r.text
    return sorted(c["id"] for c in r.json()["DocumentCollections"])


def test_finding_1_a_read_only_key_never_writes_with_a_query_header(env):
    ro = env["keys"]["primaryReadonlyMasterKey"]
    before = containers(env)
    for path, rtype, link, body in [
        ("/dbs/db1/colls", "colls", "dbs/db1", {"id": "evil"}),
        ("/dbs", "dbs", "", {"id": "evildb"}),
    ]:
        for flag in ("True", "true", "TRUE"):
            h = cosmos_headers(ro, "POST", rtype, link, {"x-ms-documentdb-isquery": flag})
            r = requests.post(env["endpoint"] + path, headers=h, json=body, verify=env["ca"])
            # A query over containers or databases is not served (501); it never creates.
            assert r.status_code in (403, 501), (path, r.status_code, r.text)
            assert r.status_code != 201
    assert containers(env) == before
    # A repeated selector header is refused, not read either way.
    h = cosmos_headers(ro, "POST", "colls", "dbs/db1")
    hs = list(h.items()) + [("x-ms-documentdb-isquery", "True"), ("x-ms-documentdb-isquery", "False")]
    u = urllib.parse.urlsplit(env["endpoint"])
    status, _ = raw(env["endpoint"], "POST", u.path + "/dbs/db1/colls", hs, json.dumps({"id": "evil2"}).encode(), env["ca"])
    assert status == 400
    assert containers(env) == before
    # What a read-only key may do still works: a query over items.
    h = cosmos_headers(ro, "POST", "docs", "dbs/db1/colls/c1", {"x-ms-documentdb-isquery": "True", "content-type": "application/query+json"})
    r = requests.post(f"{env['endpoint']}/dbs/db1/colls/c1/docs", headers=h, data=json.dumps({"query": "SELECT * FROM c", "parameters": []}), verify=env["ca"])
    assert r.status_code == 200, r.text
    # An item create with the key is refused as a write.
    h = cosmos_headers(ro, "POST", "docs", "dbs/db1/colls/c1")
    r = requests.post(f"{env['endpoint']}/dbs/db1/colls/c1/docs", headers=h, json={"id": "x"}, verify=env["ca"])
    assert r.status_code == 403, r.text


def test_finding_1_a_data_reader_token_never_writes_with_a_query_header(env):
    from azure.identity import ClientSecretCredential

    s, server = env["s"], env["server"]
    r = s.post(f"{server.url}/providers/Keyrotor.Identity/servicePrincipals?api-version=2025-06-01", json={"displayName": "reader-app"})
    assert r.status_code == 201, r.text
    app = r.json()
    from azure.mgmt.authorization import AuthorizationManagementClient

    from conftest import mgmt_kwargs

    b = server.bootstrap
    admin = ClientSecretCredential(b["tenantId"], b["clientId"], b["clientSecret"], authority=b["authority"], disable_instance_discovery=True)
    authz = AuthorizationManagementClient(admin, b["subscriptionId"], **mgmt_kwargs(server))
    assign_role(authz, f"/subscriptions/{env['sub']}/resourceGroups/{env['rg']}", "Cosmos DB Built-in Data Reader", app["clientId"])
    cred = ClientSecretCredential(b["tenantId"], app["clientId"], app["secret"]["value"], authority=b["authority"], disable_instance_discovery=True)
    token = cred.get_token("https://cosmos.azure.com/.default").token
    auth = urllib.parse.quote(f"type=aad&ver=1.0&sig={token}", safe="-_.!~*'()")
    before = containers(env)
    h = {"authorization": auth, "x-ms-date": formatdate(usegmt=True), "x-ms-version": "2020-07-15", "x-ms-documentdb-isquery": "True"}
    r = requests.post(f"{env['endpoint']}/dbs/db1/colls", headers=h, json={"id": "evil-token"}, verify=env["ca"])
    assert r.status_code in (403, 501), r.text
    h.pop("x-ms-documentdb-isquery")
    r = requests.post(f"{env['endpoint']}/dbs/db1/colls", headers=h, json={"id": "evil-token"}, verify=env["ca"])
    assert r.status_code == 403, r.text
    assert containers(env) == before
    r = requests.get(f"{env['endpoint']}/dbs/db1/colls", headers=h, verify=env["ca"])
    assert r.status_code == 200, "the reader still reads"


def test_finding_4_cosmos_links_are_case_sensitive(env):
    key = env["keys"]["primaryMasterKey"]
    r = requests.post(f"{env['endpoint']}/dbs/db1/colls/c1/docs", headers=cosmos_headers(key, "POST", "docs", "dbs/db1/colls/c1"), json={"id": "d1"}, verify=env["ca"])
    assert r.status_code == 201, r.text
    good = cosmos_headers(key, "GET", "docs", "dbs/db1/colls/c1/docs/d1")
    r = requests.get(f"{env['endpoint']}/dbs/db1/colls/c1/docs/d1", headers=good, verify=env["ca"])
    assert r.status_code == 200
    u = urllib.parse.urlsplit(env["endpoint"])
    for other in ["/Dbs/db1/colls/c1/docs/d1", "/Dbs/DB1/colls/C1/docs/D1", "/dbs/DB1/colls/c1/docs/d1"]:
        status, body = raw(env["endpoint"], "GET", u.path + other, list(good.items()), ca=env["ca"])
        assert status == 401, (other, status, body)


def test_concurrent_regenerations_answer_their_own_values(env):
    s = env["s"]
    ai = f"{env['base']}/providers/Microsoft.CognitiveServices/accounts/sec-ai-{uuid.uuid4().hex[:6]}"
    r = s.put(f"{ai}?api-version={AI_API}", json={"location": "westus", "kind": "AIServices", "sku": {"name": "S0"}})
    assert r.status_code in (200, 201), r.text
    token = s.headers["Authorization"]
    answers, errors = [], []
    start = threading.Barrier(8)

    def regenerate():
        try:
            start.wait()
            r = requests.post(f"{ai}/regenerateKey?api-version={AI_API}", json={"keyName": "Key2"}, headers={"Authorization": token})
            assert r.status_code == 200, r.text
            answers.append(r.json()["key2"])
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=regenerate) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert len(answers) == 8 and len(set(answers)) == 8, "two regenerations answered one value"
    final = s.post(f"{ai}/listKeys?api-version={AI_API}").json()["key2"]
    assert final in answers


def test_arm_dot_segments_answer_400(env):
    s, server = env["s"], env["server"]
    token = s.headers["Authorization"]
    for path in [
        f"/subscriptions/{env['sub']}/resourceGroups/{env['rg']}/../other?api-version=2025-04-01",
        f"/subscriptions/{env['sub']}/resourceGroups/%2e%2e/providers?api-version=2025-04-01",
        f"/subscriptions/{env['sub']}/./resourceGroups?api-version=2025-04-01",
    ]:
        status, body = raw(server.url, "GET", path, [("authorization", token)], ca=server.bootstrap["caCert"])
        assert status == 400, (path, status, body)
        assert json.loads(body)["error"]["code"] == "InvalidRequestUri"

"""Hand-signed negative requests against the data planes (what no SDK
sends): each answers the service's own error shape and status, and changes
nothing."""

import base64
import hashlib
import hmac
import json
import urllib.parse
import uuid
from email.utils import formatdate

import pytest
import requests

from conftest import ARM_SCOPE


@pytest.fixture(scope="module")
def accounts(server, credential):
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {credential.get_token(ARM_SCOPE).token}"
    sub = server.bootstrap["subscriptionId"]
    rg = f"rg-neg-{uuid.uuid4().hex[:6]}"
    base = f"{server.url}/subscriptions/{sub}/resourceGroups/{rg}"
    assert s.put(f"{base}?api-version=2025-04-01", json={"location": "westus"}).status_code == 201
    cosmos = f"{base}/providers/Microsoft.DocumentDB/databaseAccounts/neg-{uuid.uuid4().hex[:6]}"
    r = s.put(f"{cosmos}?api-version=2026-03-15", json={"location": "westus", "properties": {"databaseAccountOfferType": "Standard"}})
    assert r.status_code == 200
    cosmos_endpoint = r.json()["properties"]["documentEndpoint"]
    cosmos_keys = s.post(f"{cosmos}/listKeys?api-version=2026-03-15").json()
    batch_name = f"neg{uuid.uuid4().hex[:8]}"
    batch = f"{base}/providers/Microsoft.Batch/batchAccounts/{batch_name}"
    r = s.put(f"{batch}?api-version=2025-06-01", json={"location": "westus"})
    batch_endpoint = "https://" + r.json()["properties"]["accountEndpoint"]
    batch_keys = s.post(f"{batch}/listKeys?api-version=2025-06-01").json()
    yield {
        "cosmos_endpoint": cosmos_endpoint.rstrip("/"),
        "cosmos_keys": cosmos_keys,
        "batch_endpoint": batch_endpoint,
        "batch_name": batch_name,
        "batch_keys": batch_keys,
        "ca": server.bootstrap["caCert"],
    }
    s.delete(f"{base}?api-version=2025-04-01")


def cosmos_headers(key, verb, rtype, link, date=None, extra=None):
    date = date or formatdate(usegmt=True)
    sts = f"{verb.lower()}\n{rtype}\n{link}\n{date.lower()}\n\n"
    sig = base64.b64encode(hmac.new(base64.b64decode(key), sts.encode(), hashlib.sha256).digest()).decode()
    h = {"authorization": urllib.parse.quote(f"type=master&ver=1.0&sig={sig}", safe="-_.!~*'()"), "x-ms-date": date, "x-ms-version": "2020-07-15"}
    h.update(extra or {})
    return h


def cosmos_dbs(a):
    h = cosmos_headers(a["cosmos_keys"]["primaryMasterKey"], "GET", "dbs", "")
    r = requests.get(f"{a['cosmos_endpoint']}/dbs", headers=h, verify=a["ca"])
    assert r.status_code == 200, r.text
    return [d["id"] for d in r.json()["Databases"]]


def assert_cosmos_error(r, status):
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert isinstance(body.get("code"), str) and isinstance(body.get("message"), str), body


def test_cosmos_signed_requests(accounts):
    a = accounts
    url = f"{a['cosmos_endpoint']}/dbs"
    key = a["cosmos_keys"]["primaryMasterKey"]
    good = cosmos_headers(key, "POST", "dbs", "")
    r = requests.post(url, headers=good, json={"id": "neg1"}, verify=a["ca"])
    assert r.status_code == 201, r.text
    before = cosmos_dbs(a)
    cases = [
        ("no authorization", {k: v for k, v in cosmos_headers(key, "POST", "dbs", "").items() if k != "authorization"}, 401),
        ("signed for GET", cosmos_headers(key, "GET", "dbs", ""), 401),
        ("signed for another link", cosmos_headers(key, "POST", "dbs", "dbs/x"), 401),
        ("malformed token", dict(good, authorization="type=master&ver=1.0"), 401),
        ("foreign key", cosmos_headers(base64.b64encode(b"x" * 64).decode(), "POST", "dbs", ""), 401),
        ("date 20 minutes old", cosmos_headers(key, "POST", "dbs", "", date=formatdate(timeval=__import__("time").time() - 1200, usegmt=True)), 403),
        ("date 20 minutes ahead", cosmos_headers(key, "POST", "dbs", "", date=formatdate(timeval=__import__("time").time() + 1200, usegmt=True)), 403),
        ("no date", {k: v for k, v in good.items() if k != "x-ms-date"}, 403),
        ("read-only key writing", cosmos_headers(a["cosmos_keys"]["primaryReadonlyMasterKey"], "POST", "dbs", ""), 403),
    ]
    for what, headers, status in cases:
        r = requests.post(url, headers=headers, json={"id": f"bad-{what}"}, verify=a["ca"])
        assert_cosmos_error(r, status)
    # Duplicate authorization headers (raw, since requests merges dicts).
    import http.client
    import ssl

    host = a["cosmos_endpoint"].split("/")[2]
    path = "/" + a["cosmos_endpoint"].split("/", 3)[3] + "/dbs"
    conn = http.client.HTTPSConnection(host.split(":")[0], int(host.split(":")[1]), context=ssl.create_default_context(cafile=a["ca"]))
    h = cosmos_headers(key, "POST", "dbs", "")
    conn.putrequest("POST", path)
    conn.putheader("authorization", h["authorization"])
    conn.putheader("authorization", h["authorization"])
    conn.putheader("x-ms-date", h["x-ms-date"])
    body = json.dumps({"id": "dup"}).encode()
    conn.putheader("content-length", str(len(body)))
    conn.endheaders(body)
    resp = conn.getresponse()
    assert resp.status == 401
    assert cosmos_dbs(a) == before
    # Unknown account and unsupported operations.
    other = a["cosmos_endpoint"].rsplit("/", 1)[0] + "/no-such-account"
    r = requests.get(f"{other}/dbs", headers=cosmos_headers(key, "GET", "dbs", ""), verify=a["ca"])
    assert_cosmos_error(r, 404)
    r = requests.get(f"{a['cosmos_endpoint']}/dbs/neg1/users", headers=cosmos_headers(key, "GET", "users", "dbs/neg1"), verify=a["ca"])
    assert_cosmos_error(r, 501)


def batch_headers(a, key, method, path, query, extra=None):
    date = formatdate(usegmt=True)
    h = {"ocp-date": date}
    h.update(extra or {})
    clen = h.get("content-length", "" if method in ("GET", "HEAD") else "0")
    ctype = h.get("content-type", "")
    sts = f"{method}\n\n\n{clen}\n\n{ctype}\n\n\n\n\n\n\nocp-date:{date}\n/{a['batch_name']}{path}"
    for k, v in sorted(query.items()):
        sts += f"\n{k}:{v}"
    sig = base64.b64encode(hmac.new(base64.b64decode(key), sts.encode(), hashlib.sha256).digest()).decode()
    h["Authorization"] = f"SharedKey {a['batch_name']}:{sig}"
    return h


def assert_batch_error(r, status, code):
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert body["code"] == code and body["message"]["lang"] == "en-US", body


def test_batch_signed_requests(accounts):
    a = accounts
    key = a["batch_keys"]["primary"]
    path = "/" + a["batch_endpoint"].split("/", 3)[3] + "/pools"
    url = f"{a['batch_endpoint']}/pools?api-version=2025-06-01"
    q = {"api-version": "2025-06-01"}
    r = requests.get(url, headers=batch_headers(a, key, "GET", path, q), verify=a["ca"])
    assert r.status_code == 200 and r.json()["value"] == []
    body = json.dumps({"id": "p1", "vmSize": "standard_d2s_v3"})
    ct = {"content-type": "application/json; odata=minimalmetadata", "content-length": str(len(body))}
    for what, headers in [
        ("signed for GET", batch_headers(a, key, "GET", path, q, ct)),
        ("signed for another query", batch_headers(a, key, "POST", path, {"api-version": "2020-01-01"}, ct)),
        ("other key", batch_headers(a, base64.b64encode(b"k" * 64).decode(), "POST", path, q, ct)),
        ("wrong account", dict(batch_headers(a, key, "POST", path, q, ct), Authorization=batch_headers(a, key, "POST", path, q, ct)["Authorization"].replace(a["batch_name"], "someoneelse", 1))),
        ("malformed", dict(batch_headers(a, key, "POST", path, q, ct), Authorization="SharedKey nocolon")),
        ("old date", dict(batch_headers(a, key, "POST", path, q, ct), **{"ocp-date": "Tue, 07 Jan 2025 12:00:00 GMT"})),
    ]:
        r = requests.post(url, headers=headers, data=body, verify=a["ca"])
        assert_batch_error(r, 403, "AuthenticationFailed")
    r = requests.get(url, headers=batch_headers(a, key, "GET", path, q), verify=a["ca"])
    assert r.json()["value"] == [], "a refused request created a pool"
    # Missing required property and bad JSON: 400 in Batch's shape.
    bad = json.dumps({"id": "p2"})
    r = requests.post(url, headers=batch_headers(a, key, "POST", path, q, {"content-type": "application/json", "content-length": str(len(bad))}), data=bad, verify=a["ca"])
    assert_batch_error(r, 400, "MissingRequiredProperty")
    r = requests.post(url, headers=batch_headers(a, key, "POST", path, q, {"content-type": "application/json", "content-length": "3"}), data="{x}", verify=a["ca"])
    assert_batch_error(r, 400, "InvalidRequestBody")
    tasks = "/" + a["batch_endpoint"].split("/", 3)[3] + "/certificates"
    r = requests.get(f"{a['batch_endpoint']}/certificates?api-version=2025-06-01", headers=batch_headers(a, key, "GET", tasks, q), verify=a["ca"])
    assert_batch_error(r, 501, "NotImplemented")

"""Bad input against the control plane, sent by hand: each answer is the ARM
error envelope with a fitting 4xx, and nothing changes."""

import base64
import json
import uuid

import pytest
import requests

from conftest import ARM_SCOPE

COSMOS_API = "2026-03-15"


@pytest.fixture(scope="module")
def arm(server, credential):
    token = credential.get_token(ARM_SCOPE).token
    sub = server.bootstrap["subscriptionId"]
    rg = f"rg-bad-{uuid.uuid4().hex[:8]}"
    name = f"bad-{uuid.uuid4().hex[:8]}"
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token}"
    base = f"{server.url}/subscriptions/{sub}/resourceGroups/{rg}"
    acct = f"{base}/providers/Microsoft.DocumentDB/databaseAccounts/{name}"
    assert s.put(f"{base}?api-version=2025-04-01", json={"location": "westus"}).status_code == 201
    r = s.put(
        f"{acct}?api-version={COSMOS_API}",
        json={"location": "westus", "properties": {"databaseAccountOfferType": "Standard", "locations": [{"locationName": "westus"}]}},
    )
    assert r.status_code == 200, r.text

    class Arm:
        session = s
        url = server.url
        account = acct
        group = base

        def keys(self):
            r = s.post(f"{acct}/listKeys?api-version={COSMOS_API}")
            assert r.status_code == 200
            return r.json()

    yield Arm()
    s.delete(f"{base}?api-version=2025-04-01")


def assert_arm_error(r, status, code=None):
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code, body


def test_malformed_json(arm):
    before = arm.keys()
    r = arm.session.post(
        f"{arm.account}/regenerateKey?api-version={COSMOS_API}", data=b'{"keyKind": "primary"', headers={"Content-Type": "application/json"}
    )
    assert_arm_error(r, 400, "InvalidRequestContent")
    r = arm.session.put(f"{arm.account}?api-version={COSMOS_API}", data=b"[1,2]", headers={"Content-Type": "application/json"})
    assert_arm_error(r, 400, "InvalidRequestContent")
    assert arm.keys() == before


def test_wrong_key_kind(arm):
    before = arm.keys()
    for body in ({"keyKind": "tertiary"}, {"keyKind": 1}, {}, {"keyName": "Key1"}):
        r = arm.session.post(f"{arm.account}/regenerateKey?api-version={COSMOS_API}", json=body)
        assert_arm_error(r, 400)
    assert arm.keys() == before


def test_unknown_account_and_group(arm):
    r = arm.session.post(f"{arm.group}/providers/Microsoft.DocumentDB/databaseAccounts/nosuch-acct/listKeys?api-version={COSMOS_API}")
    assert_arm_error(r, 404, "ResourceNotFound")
    r = arm.session.post(
        f"{arm.group}/providers/Microsoft.DocumentDB/databaseAccounts/nosuch-acct/regenerateKey?api-version={COSMOS_API}",
        json={"keyKind": "primary"},
    )
    assert_arm_error(r, 404, "ResourceNotFound")
    other = arm.group.rsplit("/", 1)[0] + "/no-such-group"
    r = arm.session.get(f"{other}?api-version=2025-04-01")
    assert_arm_error(r, 404, "ResourceGroupNotFound")
    # An account looked up in a group that does not exist: the group is named.
    r = arm.session.post(f"{other}/providers/Microsoft.DocumentDB/databaseAccounts/nosuch-acct/listKeys?api-version={COSMOS_API}")
    assert_arm_error(r, 404, "ResourceGroupNotFound")
    r = arm.session.put(
        f"{other}/providers/Microsoft.Batch/batchAccounts/orphan1?api-version=2025-06-01", json={"location": "westus"}
    )
    assert_arm_error(r, 404, "ResourceGroupNotFound")


def test_invalid_names(arm):
    sub_url = arm.group.rsplit("/resourceGroups/", 1)[0]
    r = arm.session.put(f"{sub_url}/resourcegroups/bad%20name?api-version=2025-04-01", json={"location": "westus"})
    assert_arm_error(r, 400, "InvalidResourceName")
    r = arm.session.put(f"{sub_url}/resourcegroups/ends-with-dot.?api-version=2025-04-01", json={"location": "westus"})
    assert_arm_error(r, 400, "InvalidResourceName")
    r = arm.session.put(
        f"{arm.group}/providers/Microsoft.DocumentDB/databaseAccounts/UPPER?api-version={COSMOS_API}",
        json={"location": "westus", "properties": {"databaseAccountOfferType": "Standard"}},
    )
    assert_arm_error(r, 400, "InvalidResourceName")
    r = arm.session.put(f"{arm.group}/providers/Microsoft.Batch/batchAccounts/has-hyphen?api-version=2025-06-01", json={"location": "westus"})
    assert_arm_error(r, 400, "InvalidResourceName")
    names = [g["name"] for g in arm.session.get(f"{sub_url}/resourcegroups?api-version=2025-04-01").json()["value"]]
    assert "bad name" not in names


def test_missing_required_fields(arm):
    r = arm.session.put(
        f"{arm.group}/providers/Microsoft.DocumentDB/databaseAccounts/nooffer?api-version={COSMOS_API}", json={"location": "westus"}
    )
    assert_arm_error(r, 400)
    r = arm.session.put(f"{arm.group}/providers/Microsoft.Batch/batchAccounts/noloc1?api-version=2025-06-01", json={})
    assert_arm_error(r, 400)
    r = arm.session.put(f"{arm.group}/providers/Microsoft.CognitiveServices/accounts/nosku?api-version=2025-09-01", json={"location": "westus", "kind": "AIServices"})
    assert_arm_error(r, 400)
    r = arm.session.get(f"{arm.group}/providers/Microsoft.DocumentDB/databaseAccounts?api-version=")
    assert_arm_error(r, 400, "MissingApiVersionParameter")


def test_oversized_body(arm):
    before = arm.keys()
    big = b'{"location": "westus", "tags": {"x": "' + b"a" * (2 * 1024 * 1024) + b'"}}'
    r = arm.session.put(f"{arm.account}?api-version={COSMOS_API}", data=big, headers={"Content-Type": "application/json"})
    assert_arm_error(r, 413)
    assert arm.keys() == before


def test_missing_forged_and_foreign_tokens(arm):
    before = arm.keys()
    url = f"{arm.account}/regenerateKey?api-version={COSMOS_API}"
    r = requests.post(url, json={"keyKind": "primary"})
    assert_arm_error(r, 401, "AuthenticationFailed")
    assert "Bearer" in r.headers.get("WWW-Authenticate", "")
    good = arm.session.headers["Authorization"].split(" ", 1)[1]
    h, p, s = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    claims["exp"] += 10**6
    forged_p = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    none_h = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    hs_h = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode()
    for token in (f"{h}.{forged_p}.{s}", f"{none_h}.{p}.", f"{hs_h}.{p}.{s}", "garbage", good[:-4] + "AAAA"):
        r = requests.post(url, json={"keyKind": "primary"}, headers={"Authorization": f"Bearer {token}"})
        assert_arm_error(r, 401, "InvalidAuthenticationToken")
    r = requests.post(url, json={"keyKind": "primary"}, headers={"Authorization": f"Basic {good}"})
    assert_arm_error(r, 401)
    assert arm.keys() == before


def test_token_for_another_audience_is_refused(server, arm):
    import requests as rq

    b = server.bootstrap
    r = rq.post(
        f"{b['authority']}/{b['tenantId']}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "client_id": b["clientId"], "client_secret": b["clientSecret"], "scope": "https://storage.azure.com/.default"},
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"
    r = rq.post(
        f"{b['authority']}/{b['tenantId']}/oauth2/v2.0/token",
        data={"grant_type": "password", "client_id": b["clientId"], "client_secret": b["clientSecret"], "scope": ARM_SCOPE},
    )
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"
    r = rq.post(
        f"{b['authority']}/00000000-0000-0000-0000-000000000000/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "client_id": b["clientId"], "client_secret": b["clientSecret"], "scope": ARM_SCOPE},
    )
    assert r.status_code == 400


def test_unimplemented_surface_is_501(arm):
    r = arm.session.put(f"{arm.account}/sqlDatabases/db1?api-version={COSMOS_API}", json={"properties": {}})
    assert_arm_error(r, 501, "NotImplemented")
    r = arm.session.get(f"{arm.group}/providers/Microsoft.Storage/storageAccounts?api-version=2023-01-01")
    assert_arm_error(r, 501, "NotImplemented")
    r = arm.session.get(f"{arm.url}/nowhere?api-version=1")
    assert_arm_error(r, 404)


def test_name_taken_in_another_group_is_conflict(arm):
    sub_url = arm.group.rsplit("/resourceGroups/", 1)[0]
    other = f"{sub_url}/resourceGroups/rg-other-{uuid.uuid4().hex[:6]}"
    assert arm.session.put(f"{other}?api-version=2025-04-01", json={"location": "westus"}).status_code == 201
    name = arm.account.rsplit("/", 1)[1]
    r = arm.session.put(
        f"{other}/providers/Microsoft.DocumentDB/databaseAccounts/{name}?api-version={COSMOS_API}",
        json={"location": "westus", "properties": {"databaseAccountOfferType": "Standard"}},
    )
    assert_arm_error(r, 409)
    arm.session.delete(f"{other}?api-version=2025-04-01")

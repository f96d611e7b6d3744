#!/usr/bin/env python3
"""Captures the known-answer vectors of the data-plane signature schemes
from the official Azure SDKs' own signing code, with fixed inputs:

* crates/keyrotor-auth/tests/vectors/cosmos.json: Cosmos DB master-key
  tokens, from azure-cosmos (`azure.cosmos._base.GetHeaders`, which calls
  `azure.cosmos.auth._get_authorization_header` and percent-encodes the
  token; request paths from `_base.GetPathFromLink` and the resource link
  from `_base.GetResourceIdOrFullNameFromLink`, as the client's operations
  use them; the URL from azure-core's `PipelineClient.format_url`).
* crates/keyrotor-auth/tests/vectors/shared_key.json: Batch SharedKey,
  from azure-batch (a real `azure.batch.BatchClient` whose pipeline runs
  `azure.batch._patch.BatchSharedKeyAuthPolicy`; a transport at the end of
  the pipeline takes the request as it would go on the wire and sends
  nothing).

The string to sign is recorded where the SDK hands it to HMAC (a wrapper
that records its argument and calls the SDK's own code).
crates/keyrotor-auth/tests/kat.rs checks keyrotor against every vector.

Usage (the SDK versions are pinned: other versions may send other
api-versions or headers, and the files record which produced them):

    python3 -m venv .venv-kat
    .venv-kat/bin/pip install -r scripts/kat-requirements.txt
    .venv-kat/bin/python scripts/capture-kat-vectors.py          # rewrite the files
    .venv-kat/bin/python scripts/capture-kat-vectors.py --check  # exit 1 if they differ
"""

import argparse
import base64
import datetime
import difflib
import email.utils
import hmac as _hmac
import json
import sys
import types
import urllib.parse
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "crates" / "keyrotor-auth" / "tests" / "vectors"
SCRIPT = "scripts/capture-kat-vectors.py"

# The Cosmos DB emulator's published key, and base64 of the bytes 0x00..0x3F.
EMULATOR_KEY = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="
BYTES_KEY = base64.b64encode(bytes(range(64))).decode()


def unix(http_date):
    return int(email.utils.parsedate_to_datetime(http_date).timestamp())


# ---------------------------------------------------------------- Cosmos DB


def cosmos_vectors():
    from azure.core import PipelineClient
    from azure.cosmos import _base, auth

    date = "Thu, 27 Apr 2017 00:51:12 GMT"
    endpoint = "https://localhost:8081/"
    pipeline = PipelineClient(endpoint)

    signed = []

    class RecordingHmac:
        """`hmac` as auth.py uses it (`hmac.new(key, body, sha256)`),
        recording the message."""

        def __getattr__(self, name):
            return getattr(_hmac, name)

        @staticmethod
        def new(key, msg=None, digestmod=None):
            signed.append(msg)
            return _hmac.new(key, msg, digestmod)

    auth.hmac = RecordingHmac()
    # GetHeaders stamps x-ms-date with the current time: fix it.
    _base.formatdate = lambda timeval=None, localtime=False, usegmt=False: date

    def case(name, method, key, link, resource_type, *, feed, operation):
        """`feed`: a feed or create on `link` (path = link + type), else
        the item `link` itself (path = link), as the client's operations
        build them."""
        if link == "":
            path, resource_id = "", ""  # GetDatabaseAccount: GetHeaders(…, "get", "", "", "", …)
        elif link == "dbs" and feed:
            path, resource_id = "/dbs", ""  # ReadDatabases / CreateDatabase
        elif feed:
            path = _base.GetPathFromLink(link, resource_type)
            resource_id = _base.GetResourceIdOrFullNameFromLink(link)
        else:
            path = _base.GetPathFromLink(link)
            resource_id = _base.GetResourceIdOrFullNameFromLink(link)
        conn = types.SimpleNamespace(
            master_key=key,
            resource_tokens=None,
            UseMultipleWriteLocations=False,
            client_id=None,
            connection_policy=types.SimpleNamespace(ResponsePayloadOnWriteDisabled=False),
        )
        signed.clear()
        headers = _base.GetHeaders(conn, {}, method.lower(), path, resource_id, resource_type, operation, {})
        assert len(signed) == 1, signed
        authorization = headers["authorization"]
        token = urllib.parse.unquote(authorization)
        assert token.startswith("type=master&ver=1.0&sig="), token
        url = urllib.parse.urlsplit(pipeline.format_url(path))
        return {
            "name": name,
            "method": method,
            "path": url.path,
            "resource_type": resource_type,
            "resource_link": resource_id,
            "key": key,
            "headers": {"x-ms-date": headers["x-ms-date"]},
            "now": unix(date),
            "string_to_sign": signed[0].decode("utf-8"),
            "signature": token.removeprefix("type=master&ver=1.0&sig="),
            "authorization": authorization,
        }

    k = EMULATOR_KEY
    vectors = [
        case("read the account", "GET", k, "", "", feed=True, operation="Read"),
        case("list databases", "GET", k, "dbs", "dbs", feed=True, operation="ReadFeed"),
        case("list containers", "GET", k, "dbs/db1", "colls", feed=True, operation="ReadFeed"),
        case("create an item", "POST", k, "dbs/db1/colls/c1", "docs", feed=True, operation="Create"),
        case("read an item", "GET", k, "dbs/db1/colls/c1/docs/d1", "docs", feed=False, operation="Read"),
        case("replace an item", "PUT", k, "dbs/db1/colls/c1/docs/d1", "docs", feed=False, operation="Replace"),
        case("delete a container", "DELETE", k, "dbs/db1/colls/c1", "colls", feed=False, operation="Delete"),
        case("read an item, names with spaces and capitals", "GET", k, "dbs/My Db/colls/Items 2/docs/Doc A", "docs", feed=False, operation="Read"),
        case("query items, another key", "POST", BYTES_KEY, "dbs/db1/colls/c1", "docs", feed=True, operation="Query"),
        case("read a stored procedure", "GET", BYTES_KEY, "dbs/db1/colls/c1/sprocs/sp1", "sprocs", feed=False, operation="Read"),
    ]
    return {
        "scheme": "Cosmos DB master-key token (type=master&ver=1.0&sig=...)",
        "produced_by": {
            "packages": {p: version(p) for p in ("azure-cosmos", "azure-core")},
            "code": "azure.cosmos._base.GetHeaders -> azure.cosmos.auth._get_authorization_header; "
            "paths from azure.cosmos._base.GetPathFromLink and GetResourceIdOrFullNameFromLink; "
            "URL from azure.core.PipelineClient.format_url",
            "script": SCRIPT,
        },
        "notes": "path: the request's URL path below the account endpoint; string_to_sign: the bytes the SDK "
        "passed to HMAC-SHA256; authorization: the header value as sent (the whole token percent-encoded); "
        "now: Unix seconds of x-ms-date.",
        "vectors": vectors,
    }


# ---------------------------------------------------------------- Batch


class Captured(Exception):
    pass


def shared_key_vectors():
    from azure.batch import BatchClient, models
    from azure.batch._patch import BatchSharedKeyAuthPolicy
    from azure.core.credentials import AzureNamedKeyCredential
    from azure.core.pipeline.transport import HttpTransport

    account = "myaccount"
    date = datetime.datetime(2025, 1, 7, 12, 0, 0, tzinfo=datetime.timezone.utc)
    endpoint = f"https://{account}.westus.batch.azure.com"
    signed = []
    sent = []

    class RecordingPolicy(BatchSharedKeyAuthPolicy):
        def _sign_string(self, string_to_sign):
            signed.append(string_to_sign)
            return super()._sign_string(string_to_sign)

    class CapturingTransport(HttpTransport):
        """The end of the pipeline: keeps the request, sends nothing."""

        def __enter__(self):
            return self

        def __exit__(self, *args):
            pass

        def open(self):
            pass

        def close(self):
            pass

        def send(self, request, **kwargs):
            sent.append(request)
            raise Captured()

    def case(name, key, call, expect_method):
        cred = AzureNamedKeyCredential(account, key)
        client = BatchClient(endpoint, cred, authentication_policy=RecordingPolicy(cred), transport=CapturingTransport())
        signed.clear()
        sent.clear()
        try:
            result = call(client)
            # Paged operations send on iteration.
            next(iter(result))
        except Captured:
            pass
        assert len(sent) == 1 and len(signed) == 1, (name, len(sent), len(signed))
        req = sent[0]
        assert req.method == expect_method, req.method
        url = urllib.parse.urlsplit(req.url)
        # Headers as sent, less the per-call and per-machine ones the
        # signature does not cover (client-request-id is a fresh UUID,
        # user-agent names the Python and OS versions).
        headers = {
            k.lower(): v
            for k, v in req.headers.items()
            if k.lower() not in ("authorization", "client-request-id", "user-agent")
        }
        return {
            "name": name,
            "method": req.method,
            "path": url.path,
            "query": url.query,
            "account": account,
            "key": key,
            "headers": dict(sorted(headers.items())),
            "body": req.body.decode("utf-8") if isinstance(req.body, bytes) else (req.body or ""),
            "now": unix(headers["ocp-date"]),
            "string_to_sign": signed[0],
            "authorization": req.headers["Authorization"],
        }

    k = BYTES_KEY
    pool = models.BatchPoolCreateOptions(id="p1", vm_size="standard_d2s_v3")
    vectors = [
        case("list applications", k, lambda c: c.list_applications(max_results=10, ocp_date=date), "GET"),
        case("create a pool", k, lambda c: c.create_pool(pool, ocp_date=date), "POST"),
        case("get a job, an id that needs percent-encoding", k, lambda c: c.get_job("job 1", ocp_date=date), "GET"),
        case("list jobs with a filter and a select", k, lambda c: c.list_jobs(filter="state eq 'active'", select=["id", "state"], ocp_date=date), "GET"),
        case("delete a task (no body)", k, lambda c: c.delete_task("job1", "task1", ocp_date=date), "DELETE"),
        case("a task file's range, another key", EMULATOR_KEY, lambda c: c.download_task_file("job1", "task1", "stdout.txt", ocp_range="bytes=0-99", ocp_date=date), "GET"),
    ]
    return {
        "scheme": "Azure Batch SharedKey (Authorization: SharedKey account:signature)",
        "produced_by": {
            "packages": {p: version(p) for p in ("azure-batch", "azure-core")},
            "code": "azure.batch.BatchClient with azure.batch._patch.BatchSharedKeyAuthPolicy (its _sign_string recorded)",
            "script": SCRIPT,
        },
        "notes": "path and query: raw, as on the wire; headers: every header sent except authorization, "
        "client-request-id and user-agent (not signed); string_to_sign: what the SDK passed to HMAC-SHA256; "
        "now: Unix seconds of ocp-date.",
        "vectors": vectors,
    }


def render(doc):
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="compare with the committed files; exit 1 on a difference")
    args = ap.parse_args()
    files = {"cosmos.json": cosmos_vectors(), "shared_key.json": shared_key_vectors()}
    differ = []
    for name, doc in files.items():
        path = OUT / name
        text = render(doc)
        if args.check:
            old = path.read_text(encoding="utf-8") if path.exists() else None
            if old != text:
                differ.append(path)
                rel = str(path.relative_to(ROOT))
                sys.stderr.writelines(difflib.unified_diff((old or "").splitlines(True), text.splitlines(True), rel, rel + " (from the SDKs)"))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)} ({len(doc['vectors'])} vectors)")
    if differ:
        for p in differ:
            print(f"differs from what the SDKs produce: {p.relative_to(ROOT)}", file=sys.stderr)
        return 1
    if args.check:
        print("the committed vectors match what the SDKs produce")
    return 0


if __name__ == "__main__":
    sys.exit(main())

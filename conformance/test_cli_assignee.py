"""keyrotor's CLI resolves `role assignment --assignee <display name>` in
keyrotor's Microsoft Graph (the same directory lookup az uses): a name one
principal has is that principal; an unknown or shared name is refused and
nothing is assigned."""

import json
import uuid


def assignments(kr, rg):
    return json.loads(kr("role", "assignment", "list", "-g", rg).stdout)


def test_assignee_by_unique_display_name(kr):
    rg = f"rg-assignee-{uuid.uuid4().hex[:6]}"
    kr("group", "create", "-n", rg, "-l", "westus", "-o", "none")
    name = f"named-app-{uuid.uuid4().hex[:6]}"
    app = json.loads(kr("identity", "sp", "create", "-n", name).stdout)["clientId"]

    created = json.loads(kr("role", "assignment", "create", "--assignee", name.upper(), "--role", "Reader", "-g", rg).stdout)
    assert created["properties"]["principalId"] == app
    by_name = json.loads(kr("role", "assignment", "list", "--assignee", name, "-g", rg).stdout)
    assert [a["properties"]["principalId"] for a in by_name] == [app]

    unknown = kr("role", "assignment", "create", "--assignee", f"nobody-{uuid.uuid4().hex[:6]}", "--role", "Reader", "-g", rg, check=False)
    assert unknown.returncode != 0 and "PrincipalNotFound" in unknown.stderr, unknown.stderr

    twin = json.loads(kr("identity", "sp", "create", "-n", name).stdout)["clientId"]
    before = assignments(kr, rg)
    shared = kr("role", "assignment", "create", "--assignee", name, "--role", "Reader", "-g", rg, check=False)
    assert shared.returncode != 0 and "AmbiguousAssignee" in shared.stderr, shared.stderr
    assert app in shared.stderr and twin in shared.stderr
    assert assignments(kr, rg) == before, "a refused assignee assigns nothing"

    # By client id it still works, and deletes by it too.
    kr("role", "assignment", "delete", "--assignee", app, "--role", "Reader", "-g", rg)
    assert all(a["properties"]["principalId"] != app for a in assignments(kr, rg))
    kr("group", "delete", "-n", rg, "--yes")

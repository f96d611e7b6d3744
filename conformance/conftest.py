"""Starts the real keyrotor binary for the conformance tests and hands out
credentials and SDK clients configured the way a user would configure them."""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARM_SCOPE = "https://management.azure.com/.default"


def _binary():
    env = os.environ.get("KEYROTOR_BIN")
    if env:
        return env
    for profile in ("release", "debug"):
        p = ROOT / "target" / profile / "keyrotor"
        if p.exists():
            return str(p)
    raise RuntimeError("build keyrotor first (cargo build --release) or set KEYROTOR_BIN")


def wait_until(condition, what, timeout=20.0, every=0.1):
    """Polls `condition` until it is true; fails naming `what` after
    `timeout` seconds (generous: the wait ends as soon as it holds, so a
    slow machine only waits longer). Returns the true value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout} s: {what}")
        time.sleep(every)


class Server:
    """The keyrotor process. It listens on port 0: the system picks a free
    port (no race with anything else on the machine) and the server reports
    it in its "serving <url> on <address>" line, read from its log."""

    def __init__(self, data_dir):
        self.data_dir = Path(data_dir)
        self.port = None
        self.url = None
        self.proc = None
        self.log = None

    def start(self):
        log_path = self.data_dir.parent / "keyrotor.log"
        log_from = log_path.stat().st_size if log_path.exists() else 0
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            [_binary(), "serve", "--data-dir", str(self.data_dir), "--listen", "127.0.0.1:0", "--test-clock"],
            stdout=self.log,
            stderr=self.log,
        )

        def bound_port():
            if self.proc.poll() is not None:
                raise RuntimeError(f"keyrotor exited with {self.proc.returncode}")
            text = log_path.read_bytes()[log_from:].decode("utf-8", "replace")
            for line in text.splitlines():
                if line.startswith("keyrotor: serving ") and " on " in line:
                    return int(line.split(" on ", 1)[1].split(" ", 1)[0].rsplit(":", 1)[1])
            return None

        self.port = wait_until(bound_port, "keyrotor reported the port it bound", timeout=30, every=0.02)
        self.url = f"https://127.0.0.1:{self.port}"

        def accepting():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return True
            except OSError:
                return False

        wait_until(accepting, "keyrotor accepts connections", every=0.02)
        self.bootstrap = json.loads((self.data_dir / "bootstrap.json").read_text())
        return self

    def stop(self, sig=None):
        if self.proc and self.proc.poll() is None:
            if sig is None:
                self.proc.terminate()
            else:
                self.proc.send_signal(sig)
            self.proc.wait(timeout=15)
        if self.log:
            self.log.close()


@pytest.fixture(scope="session")
def server():
    tmp = tempfile.mkdtemp(prefix="keyrotor-conformance-")
    srv = Server(Path(tmp) / "data").start()
    # How a user trusts the generated CA: REQUESTS_CA_BUNDLE (honoured by
    # requests, hence by azure-core and msal).
    os.environ["REQUESTS_CA_BUNDLE"] = srv.bootstrap["caCert"]
    yield srv
    srv.stop()
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def credential(server):
    from azure.identity import ClientSecretCredential

    b = server.bootstrap
    return ClientSecretCredential(
        b["tenantId"],
        b["clientId"],
        b["clientSecret"],
        authority=b["authority"],
        disable_instance_discovery=True,
    )


def mgmt_kwargs(server):
    return {"base_url": server.bootstrap["resourceManager"], "credential_scopes": [ARM_SCOPE]}


@pytest.fixture(scope="session")
def resources(server, credential):
    try:
        from azure.mgmt.resource.resources import ResourceManagementClient
    except ImportError:  # azure-mgmt-resource < 24
        from azure.mgmt.resource import ResourceManagementClient

    return ResourceManagementClient(credential, server.bootstrap["subscriptionId"], **mgmt_kwargs(server))


@pytest.fixture(scope="session")
def cosmos_mgmt(server, credential):
    from azure.mgmt.cosmosdb import CosmosDBManagementClient

    return CosmosDBManagementClient(credential, server.bootstrap["subscriptionId"], **mgmt_kwargs(server))


@pytest.fixture(scope="session")
def batch_mgmt(server, credential):
    from azure.mgmt.batch import BatchManagementClient

    return BatchManagementClient(credential, server.bootstrap["subscriptionId"], **mgmt_kwargs(server))


@pytest.fixture(scope="session")
def cognitive_mgmt(server, credential):
    from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

    return CognitiveServicesManagementClient(credential, server.bootstrap["subscriptionId"], **mgmt_kwargs(server))


@pytest.fixture(scope="session")
def authz(server, credential):
    from azure.mgmt.authorization import AuthorizationManagementClient

    return AuthorizationManagementClient(credential, server.bootstrap["subscriptionId"], **mgmt_kwargs(server))


def assign_role(authz, scope, role_name, principal_id):
    """Assigns a built-in role the way a user of the official SDK does:
    look the definition up by name, then PUT an assignment with a new GUID."""
    import uuid

    from azure.mgmt.authorization.models import RoleAssignmentCreateParameters

    definition = next(iter(authz.role_definitions.list(scope, filter=f"roleName eq '{role_name}'")))
    return authz.role_assignments.create(
        scope,
        str(uuid.uuid4()),
        RoleAssignmentCreateParameters(role_definition_id=definition.id, principal_id=principal_id, principal_type="ServicePrincipal"),
    )


def _localhost_names_resolve():
    """Whether this machine's resolver maps *.localhost to loopback
    (systemd-resolved and macOS do; plain glibc with /etc/hosts does not)."""
    try:
        addrs = {a[4][0] for a in socket.getaddrinfo("keyrotor-probe.vault.localhost", 443)}
    except OSError:
        return False
    return bool(addrs) and all(a == "::1" or a.startswith("127.") for a in addrs)


@pytest.fixture(scope="session")
def vault_hosts(server):
    """Makes vault host names ({vault}.vault.localhost) resolve the way a
    user does on a machine without a *.localhost resolver: call it after
    creating vaults and it runs `keyrotor hosts --apply`, which keeps them
    in this server's block of /etc/hosts; the block is removed at the end
    of the session (`keyrotor hosts --remove`). Where this process cannot
    write /etc/hosts (not root) and the resolver does not map *.localhost
    either, the tests that need it fail, saying why, unless
    KEYROTOR_SKIP_VAULT_HOSTS=1 asks to skip them (they never pass
    silently)."""
    env = dict(os.environ, KEYROTOR_BOOTSTRAP=str(server.data_dir / "bootstrap.json"))
    applied = []

    def apply():
        if not os.access("/etc/hosts", os.W_OK):
            if _localhost_names_resolve():
                return  # nothing to do: the resolver maps *.localhost already
            why = ("vault host names do not resolve here: /etc/hosts is not writable by this "
                   "process (run the conformance tests as root) and the resolver does not map "
                   "*.localhost to loopback")
            if os.environ.get("KEYROTOR_SKIP_VAULT_HOSTS") == "1":
                pytest.skip(why + " (KEYROTOR_SKIP_VAULT_HOSTS=1)")
            pytest.fail(why + "; set KEYROTOR_SKIP_VAULT_HOSTS=1 to skip these tests instead")
        p = subprocess.run([_binary(), "hosts", "--apply"], env=env, capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, f"keyrotor hosts --apply: {p.stderr}"
        applied.append(p.stdout)

    yield apply
    if applied:
        p = subprocess.run([_binary(), "hosts", "--remove"], env=env, capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, f"keyrotor hosts --remove: {p.stderr}"


@pytest.fixture
def kr(server):
    """Runs the keyrotor CLI against the test server; fails on a non-zero exit unless check=False."""
    env = dict(os.environ, KEYROTOR_BOOTSTRAP=str(server.data_dir / "bootstrap.json"))

    def run(*args, check=True, input=None):
        p = subprocess.run([_binary(), *args], env=env, capture_output=True, text=True, timeout=60, input=input)
        if check:
            assert p.returncode == 0, p.stderr
        return p

    return run

"""Shared set-up for the Argilla client compatibility tests.

The tests run inside a virtual environment that holds one pinned Argilla client
(requirements-argilla-*.txt) against a running workgate whose base URL is in
WORKGATE_BASE_URL (e.g. http://127.0.0.1:6900). `cargo xtask` builds the venvs
and sets the variable; by hand:

    WORKGATE_BASE_URL=http://127.0.0.1:6900 target/python-venvs/argilla-1.6/bin/python -m pytest -q tests/python

The server may be shared with other tests: every user and workspace made here
has a unique name, the default `argilla` user is only ever read, and the users
made here are deleted again at the end of the session.
"""

import atexit
import os
import shutil
import tempfile
import uuid

# Before argilla is imported: no telemetry, and the 1.2x client's `argilla login`
# keeps its credentials file in a scratch folder instead of ~/.cache/argilla.
os.environ.setdefault("ARGILLA_ENABLE_TELEMETRY", "0")
os.environ["ARGILLA_CACHE_DIR"] = tempfile.mkdtemp(prefix="workgate-argilla-cache-")
atexit.register(shutil.rmtree, os.environ["ARGILLA_CACHE_DIR"], ignore_errors=True)
for _name in ("ARGILLA_API_URL", "ARGILLA_API_KEY", "ARGILLA_WORKSPACE"):
    os.environ.pop(_name, None)

import httpx  # noqa: E402  (the client's own HTTP library)
import pytest  # noqa: E402
from packaging.version import Version  # noqa: E402

import argilla as rg  # noqa: E402

BASE_URL = (os.environ.get("WORKGATE_BASE_URL") or "").rstrip("/")
CLIENT_VERSION = Version(rg.__version__)
DEFAULT_API_KEY = "argilla.apikey"
PASSWORD = "workgate-py-1"  # 8+ characters


def pytest_configure(config):
    if not BASE_URL:
        raise pytest.UsageError("set WORKGATE_BASE_URL to a running workgate, e.g. http://127.0.0.1:6900")


def pytest_report_header(config):
    return f"argilla client {rg.__version__} against workgate at {BASE_URL}"


def unique(prefix: str) -> str:
    """A fresh name matching ^(?!-|_)[a-z0-9-_]+$."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def init(api_key: str, **kwargs):
    """`rg.init` as a user writes it; returns the active client it made."""
    rg.init(api_url=BASE_URL, api_key=api_key, **kwargs)
    return rg.active_client()


class Admin:
    """Admin tasks through the low-level HTTP client of the Argilla client (its
    `http_client`: parsed JSON back, the client's own exceptions on errors) -
    the way Argilla 1.6-1.8 users scripted user management. Holds its own
    client instance, so later `rg.init` calls for other users do not affect it."""

    def __init__(self):
        self.client = init(DEFAULT_API_KEY)
        self.http = self.client.http_client
        self.created_user_ids = []

    def create_user(self, role="annotator", username=None, **extra):
        body = {
            "first_name": "Py",
            "last_name": "Compat",
            "username": username or unique(role[:4]),
            "role": role,
            "password": PASSWORD,
            **extra,
        }
        user = self.http.post("/api/users", json=body)
        self.created_user_ids.append(user["id"])
        return user

    def create_workspace(self, name=None):
        return self.http.post("/api/workspaces", json={"name": name or unique("team")})

    def add_member(self, workspace_id, user_id):
        return self.http.post(f"/api/workspaces/{workspace_id}/users/{user_id}")

    def remove_member(self, workspace_id, user_id):
        return self.http.delete(f"/api/workspaces/{workspace_id}/users/{user_id}")

    def delete_user(self, user_id):
        user = self.http.delete(f"/api/users/{user_id}")
        if user_id in self.created_user_ids:
            self.created_user_ids.remove(user_id)
        return user


@pytest.fixture(scope="session")
def base_url():
    return BASE_URL


@pytest.fixture(scope="session")
def admin():
    a = Admin()
    yield a
    # best-effort clean-up of the users this session made (their personal workspaces stay, by design)
    for user_id in list(a.created_user_ids):
        try:
            a.delete_user(user_id)
        except Exception:
            pass


@pytest.fixture
def raw():
    """A bare httpx client on the server, for the calls the Argilla client has no function for."""
    with httpx.Client(base_url=BASE_URL, timeout=30) as c:
        yield c


@pytest.fixture
def annotator_in_team(admin):
    """An annotator that is a member of one fresh team workspace (besides its personal one)."""
    team = admin.create_workspace()
    user = admin.create_user("annotator")
    admin.add_member(team["id"], user["id"])
    return user, team

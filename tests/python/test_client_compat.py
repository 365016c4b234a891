"""The real Argilla Python client (1.6, 1.8, 1.29; one per venv) against workgate.

Each test uses the client the way its users do: `rg.init`, `rg.get_workspace` /
`rg.set_workspace`, the client's HTTP client and SDK functions, and, where the
client version has them, `rg.Workspace` and `rg.User`. Failures surface as the
client's own exceptions (`UnauthorizedApiError`, ...), so a server that answers
differently from Argilla makes these tests fail.
"""

import uuid

import pytest
from packaging.version import Version

import argilla as rg
from argilla.client.client import Argilla as ArgillaClient
from argilla.client.sdk.commons.errors import (
    AlreadyExistsApiError,
    ForbiddenApiError,
    NotFoundApiError,
    UnauthorizedApiError,
    ValidationApiError,
)
from argilla.client.sdk.commons.errors_handler import handle_response_error
from argilla.client.sdk.users import api as users_api

from conftest import BASE_URL, CLIENT_VERSION, DEFAULT_API_KEY, PASSWORD, init, unique

try:  # the 1.1x+ client's full user model
    from argilla.client.sdk.users.models import UserModel as ClientUser
except ImportError:  # 1.6-1.8: username, full_name, api_key, workspaces, ...
    from argilla.client.sdk.users.models import User as ClientUser

# The 1.6 and 1.8 clients select the caller's personal workspace (named after the
# username) in `rg.init`; the 1.29 client selects none (the default `argilla` user excepted).
SELECTS_PERSONAL_WORKSPACE = CLIENT_VERSION < Version("1.9")
HAS_LIST_WORKSPACES = hasattr(ArgillaClient, "list_workspaces")  # 1.8+
needs_workspace_class = pytest.mark.skipif(not hasattr(rg, "Workspace"), reason="rg.Workspace arrived in 1.8")
needs_user_class = pytest.mark.skipif(not hasattr(rg, "User"), reason="rg.User arrived in later 1.x")

UNAUTHORIZED = {
    "code": "argilla.api.errors::UnauthorizedError",
    "params": {"detail": "Could not validate credentials"},
}


def names(workspaces):
    return [w["name"] if isinstance(w, dict) else w.name for w in workspaces]


# ---------------------------------------------------------------------------------------------
# rg.init and the connected user


def test_default_admin_init_selects_its_workspace(admin):
    client = init(DEFAULT_API_KEY)
    assert client.user.username == "argilla"
    assert "argilla" in client.user.workspaces
    assert client.user.api_key == DEFAULT_API_KEY
    assert rg.get_workspace() == "argilla"


def test_whoami_parses_into_the_client_user_model(admin):
    me = users_api.whoami(admin.http)
    assert isinstance(me, ClientUser)
    assert me.username == "argilla"
    assert me.full_name
    assert me.api_key == DEFAULT_API_KEY
    assert "argilla" in me.workspaces


def test_wrong_api_key_raises_unauthorized(admin):
    with pytest.raises(UnauthorizedApiError) as err:
        rg.init(api_url=BASE_URL, api_key=unique("wrong-key"))
    assert err.value.ctx == UNAUTHORIZED


def test_unknown_workspace_is_refused_by_init(admin):
    with pytest.raises(Exception, match="Wrong provided workspace"):
        init(DEFAULT_API_KEY, workspace=unique("nowhere"))


# ---------------------------------------------------------------------------------------------
# users: created through the client's HTTP client, then used through rg.init


def test_new_annotator_key_works_and_lands_in_its_personal_workspace(admin):
    user = admin.create_user("annotator")
    username = user["username"]
    assert user["role"] == "annotator"
    assert user["workspaces"] == [username]
    assert "…" not in user["api_key"], "user creation returns the full key"

    client = init(user["api_key"])
    assert client.user.username == username
    assert client.user.full_name == "Py Compat"
    assert client.user.workspaces == [username]
    if SELECTS_PERSONAL_WORKSPACE:
        assert rg.get_workspace() == username
    else:
        assert rg.get_workspace() is None
    rg.set_workspace(username)
    assert rg.get_workspace() == username


def test_new_admin_sees_every_workspace(admin):
    team = admin.create_workspace()
    user = admin.create_user("admin")
    client = init(user["api_key"], workspace=team["name"])
    assert client.user.username == user["username"]
    assert rg.get_workspace() == team["name"]
    assert {"argilla", team["name"], user["username"]} <= set(client.user.workspaces)
    rg.set_workspace("argilla")
    assert rg.get_workspace() == "argilla"


def test_user_list_parses_into_the_client_user_model(admin):
    user = admin.create_user("annotator")
    listed = admin.http.get("/api/users")
    parsed = [ClientUser(**u) for u in listed]
    by_name = {u.username: u for u in parsed}
    assert "argilla" in by_name
    assert user["username"] in by_name
    assert by_name[user["username"]].workspaces == [user["username"]]
    # other users' keys are never shown in full
    assert by_name[user["username"]].api_key != user["api_key"]


def test_duplicate_username_raises_already_exists(admin):
    user = admin.create_user("annotator")
    with pytest.raises(AlreadyExistsApiError) as err:
        admin.create_user("annotator", username=user["username"])
    assert err.value.ctx == {
        "code": "argilla.api.errors::EntityAlreadyExistsError",
        "params": {"name": user["username"], "type": "User"},
    }


def test_invalid_user_raises_validation_error(admin):
    with pytest.raises(ValidationApiError) as err:
        admin.create_user("annotator", username="Not Valid", password="short")
    assert err.value.ctx["code"] == "argilla.api.errors::ValidationError"
    if CLIENT_VERSION.release[:2] == (1, 8):
        # the 1.8 client replaces the server's params of a 422 by {} (its errors_handler.py)
        assert err.value.ctx["params"] == {}
        return
    errors = err.value.ctx["params"]["errors"]
    assert [e["loc"] for e in errors] == [["body", "username"], ["body", "password"]]
    assert errors[1]["msg"] == "ensure this value has at least 8 characters"


def test_deleted_user_key_stops_working(admin):
    user = admin.create_user("annotator")
    init(user["api_key"])  # works before
    deleted = admin.delete_user(user["id"])
    assert deleted["username"] == user["username"]
    with pytest.raises(UnauthorizedApiError):
        rg.init(api_url=BASE_URL, api_key=user["api_key"])


def test_deleting_a_missing_user_raises_not_found(admin):
    missing = str(uuid.uuid4())
    with pytest.raises(NotFoundApiError) as err:
        admin.delete_user(missing)
    assert err.value.ctx["params"] == {"name": missing, "type": "User"}


# ---------------------------------------------------------------------------------------------
# team workspaces and membership


def test_admin_switches_to_a_new_team_workspace(admin):
    team = admin.create_workspace()
    assert set(team) >= {"id", "name", "inserted_at", "updated_at"}
    client = init(DEFAULT_API_KEY)
    rg.set_workspace(team["name"])
    assert rg.get_workspace() == team["name"]
    assert client.user.username == "argilla"


def test_duplicate_workspace_raises_already_exists(admin):
    team = admin.create_workspace()
    with pytest.raises(AlreadyExistsApiError) as err:
        admin.create_workspace(team["name"])
    assert err.value.ctx["params"] == {"name": team["name"], "type": "Workspace"}


def test_annotator_switches_between_its_workspaces_only(admin, annotator_in_team):
    user, team = annotator_in_team
    other = admin.create_workspace()
    client = init(user["api_key"])
    assert client.user.workspaces == [user["username"], team["name"]]
    rg.set_workspace(team["name"])
    assert rg.get_workspace() == team["name"]
    rg.set_workspace(user["username"])
    assert rg.get_workspace() == user["username"]
    for name in (other["name"], "argilla"):
        with pytest.raises(Exception, match="Wrong provided workspace"):
            rg.set_workspace(name)
    assert rg.get_workspace() == user["username"]

    init(user["api_key"], workspace=team["name"])
    assert rg.get_workspace() == team["name"]
    with pytest.raises(Exception, match="Wrong provided workspace"):
        init(user["api_key"], workspace=other["name"])


def test_annotator_lists_only_its_workspaces(admin, annotator_in_team):
    user, team = annotator_in_team
    admin.create_workspace()  # one it must not see
    client = init(user["api_key"])
    assert names(client.http_client.get("/api/workspaces")) == [user["username"], team["name"]]
    if HAS_LIST_WORKSPACES:
        listed = client.list_workspaces()
        assert names(listed) == [user["username"], team["name"]]
        assert str(listed[1].id) == team["id"]


def test_annotator_cannot_manage_users_or_workspaces(admin, annotator_in_team):
    user, team = annotator_in_team
    http = init(user["api_key"]).http_client
    forbidden = {
        "code": "argilla.api.errors::ForbiddenOperationError",
        "params": {"detail": "Operation not allowed"},
    }
    for call in (
        lambda: http.get("/api/users"),
        lambda: http.post(
            "/api/users",
            json={"first_name": "X", "username": unique("nope"), "password": PASSWORD},
        ),
        lambda: http.post("/api/workspaces", json={"name": unique("nope")}),
        lambda: http.get(f"/api/workspaces/{team['id']}/users"),
        lambda: http.post(f"/api/workspaces/{team['id']}/users/{user['id']}"),
    ):
        with pytest.raises(ForbiddenApiError) as err:
            call()
        assert err.value.ctx == forbidden


def test_membership_listing_and_removal(admin, annotator_in_team):
    user, team = annotator_in_team
    members = admin.http.get(f"/api/workspaces/{team['id']}/users")
    assert [m["username"] for m in members] == [user["username"]]
    with pytest.raises(AlreadyExistsApiError) as err:
        admin.add_member(team["id"], user["id"])
    assert err.value.ctx["params"] == {"name": user["id"], "type": "User"}

    after = admin.remove_member(team["id"], user["id"])
    assert after["username"] == user["username"]
    assert after["workspaces"] == [user["username"]]
    assert admin.http.get(f"/api/workspaces/{team['id']}/users") == []
    with pytest.raises(NotFoundApiError) as err:
        admin.remove_member(team["id"], user["id"])
    assert err.value.ctx["params"] == {"name": user["id"], "type": "User"}

    client = init(user["api_key"])
    assert client.user.workspaces == [user["username"]]
    with pytest.raises(Exception, match="Wrong provided workspace"):
        rg.set_workspace(team["name"])


# ---------------------------------------------------------------------------------------------
# password login. No Argilla 1.x Python client logs in with a username and password (they
# all authenticate with an API key); the token flow is the web app's. It is exercised
# here with httpx, the client's own HTTP library, and the client's error handling.


def test_password_login_token_and_bearer_auth(admin, raw):
    user = admin.create_user("annotator")
    resp = raw.post("/api/security/token", data={"username": user["username"], "password": PASSWORD})
    assert resp.status_code == 200, resp.text
    token = resp.json()
    assert token["token_type"] == "bearer"
    me = raw.get("/api/me", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert me.status_code == 200, me.text
    assert ClientUser(**me.json()).username == user["username"]

    # The client sends its api_key as X-Argilla-Api-Key (1.6/1.8 also as a Bearer token); a
    # login token is not an API key, so it is refused there, as by Argilla.
    with pytest.raises(UnauthorizedApiError):
        rg.init(api_url=BASE_URL, api_key=token["access_token"])


def test_wrong_password_is_unauthorized_for_the_client(admin, raw):
    user = admin.create_user("annotator")
    resp = raw.post("/api/security/token", data={"username": user["username"], "password": "not-the-password"})
    assert resp.status_code == 401
    with pytest.raises(UnauthorizedApiError) as err:
        handle_response_error(resp)
    assert err.value.ctx == UNAUTHORIZED


# ---------------------------------------------------------------------------------------------
# rg.Workspace (1.8+)


@needs_workspace_class
def test_workspace_from_name(admin, annotator_in_team):
    user, team = annotator_in_team
    init(user["api_key"])
    ws = rg.Workspace.from_name(team["name"])
    assert ws.name == team["name"]
    assert str(ws.id) == team["id"]
    with pytest.raises(ValueError):
        rg.Workspace.from_name("argilla")  # exists, but not for this annotator


@needs_workspace_class
def test_admin_list_workspaces_parses_models(admin):
    team = admin.create_workspace()
    client = init(DEFAULT_API_KEY)
    listed = {w.name: w for w in client.list_workspaces()}
    assert "argilla" in listed
    assert str(listed[team["name"]].id) == team["id"]
    assert listed[team["name"]].inserted_at.isoformat() == team["inserted_at"]


# ---------------------------------------------------------------------------------------------
# rg.User and the rest of rg.Workspace (later 1.x, here 1.29)


@needs_user_class
def test_user_me(admin):
    init(DEFAULT_API_KEY)
    me = rg.User.me()
    assert me.username == "argilla"
    assert me.is_admin
    assert me.api_key == DEFAULT_API_KEY
    assert "argilla" in names(me.workspaces)  # GET /api/v1/me/workspaces


@needs_user_class
def test_user_me_workspaces_for_an_annotator(admin, annotator_in_team):
    user, team = annotator_in_team
    init(user["api_key"])
    me = rg.User.me()
    assert me.is_annotator
    assert str(me.id) == user["id"]
    assert names(me.workspaces) == [user["username"], team["name"]]
    assert names(rg.Workspace.list()) == [user["username"], team["name"]]


@needs_user_class
def test_workspace_from_id_and_users(admin, annotator_in_team):
    user, team = annotator_in_team
    other = admin.create_workspace()
    init(DEFAULT_API_KEY)
    ws = rg.Workspace.from_id(uuid.UUID(team["id"]))
    assert ws.name == team["name"]
    assert [u.username for u in ws.users] == [user["username"]]
    assert team["name"] in names(rg.Workspace.list())
    with pytest.raises(ValueError) as err:  # 404
        rg.Workspace.from_id(uuid.uuid4())
    assert isinstance(err.value.__cause__, NotFoundApiError)
    with pytest.raises(ValueError) as err:  # 422 type_error.uuid
        rg.Workspace.from_id("not-a-uuid")
    assert isinstance(err.value.__cause__, ValidationApiError)

    init(user["api_key"])
    assert rg.Workspace.from_id(uuid.UUID(team["id"])).name == team["name"]
    with pytest.raises(RuntimeError) as err:  # 403: not a member
        rg.Workspace.from_id(uuid.UUID(other["id"]))
    assert isinstance(err.value.__cause__, ForbiddenApiError)


@needs_user_class
def test_cli_login_stores_credentials_for_rg_init(admin, annotator_in_team):
    from argilla.client.login import ArgillaCredentials, login

    user, team = annotator_in_team
    with pytest.raises(ValueError, match="Could not login"):
        login(api_url=BASE_URL, api_key=unique("wrong-key"))
    login(api_url=BASE_URL, api_key=user["api_key"], workspace=team["name"])
    try:
        rg.init()  # no arguments: the stored credentials
        assert rg.active_client().user.username == user["username"]
        assert rg.get_workspace() == team["name"]
    finally:
        ArgillaCredentials.remove()


# The 1.2x client lets only the `owner` role (introduced after 1.8) manage users and
# workspaces, and checks that on the client side (GET /api/me, then PermissionError).
# workgate's contract is Argilla 1.6-1.8, whose top role is `admin`: these are expected to
# fail until workgate grows an owner role; strict, so that they are noticed if they pass.
OWNER_ONLY = pytest.mark.xfail(
    strict=True,
    raises=PermissionError,
    reason="1.2x client: user/workspace management is owner-only; workgate has admin/annotator",
)


@needs_user_class
@OWNER_ONLY
def test_owner_only_user_create(admin):
    init(DEFAULT_API_KEY)
    rg.User.create(unique("owner"), PASSWORD, role="annotator")


@needs_user_class
@OWNER_ONLY
def test_owner_only_user_list(admin):
    init(DEFAULT_API_KEY)
    assert "argilla" in [u.username for u in rg.User.list()]


@needs_user_class
@OWNER_ONLY
def test_owner_only_workspace_create_and_add_user(admin):
    user = admin.create_user("annotator")
    init(DEFAULT_API_KEY)
    ws = rg.Workspace.create(unique("team"))
    ws.add_user(uuid.UUID(user["id"]))


@pytest.mark.skipif(not hasattr(rg, "server_info"), reason="rg.server_info arrived in later 1.x")
@pytest.mark.xfail(
    strict=True,
    raises=RuntimeError,
    reason="API.md 9.10: /api/_status reports {version, storage}; the client wants elasticsearch and mem_info",
)
def test_server_info(admin):
    init(DEFAULT_API_KEY)
    info = rg.server_info()
    assert info.url == BASE_URL

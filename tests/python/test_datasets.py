"""Datasets (API.md section 10) with the real Argilla clients 1.6, 1.8 and 1.29.

`rg.log`, `rg.load` (everything, small pages, `ids=`, `limit=`), `rg.copy`, `rg.delete` and
`rg.delete_records` for the three v0 tasks - TextClassification (single- and multi-label),
TokenClassification and Text2Text - as an admin, as an annotator member of the workspace and as
a non-member; the settings helpers for TextClassification and TokenClassification. What comes
back is compared field by field with what was logged.

The wire format these rely on is research/argilla-datasets.md (section 2: what each call sends;
section 6.2: who may, in which order). Where the clients differ:

- 1.6 has `rg.configure_dataset` and `Datasets.load_settings` instead of
  `rg.configure_dataset_settings` / `rg.load_dataset_settings`;
- 1.6 and 1.8 on Python 3.11 build the settings paths from `str(TaskType.x)`
  (`/api/datasets/<name>/TaskType.text_classification/settings`, research 2.8), which workgate
  also serves; checked on the wire below;
- 1.29 creates the dataset first (`POST /api/datasets`, a 409 is "exists, carry on") before it
  logs, so it cannot log as an annotator at all: a 1.8 server refuses an annotator's create with
  403 before it looks for the existing dataset (research 6.2), and the client does not catch 403.
  1.29 also looks a dataset up (`GET /api/datasets/<name>`) before deleting it, and after a v0
  error in `rg.load` / `rg.delete` it looks for a FeedbackDataset (`GET /api/v1/datasets`, not
  served: 404) and raises that failure, chained to the v0 one (see `refused`).

The whole module skips on a host that has no datasets (501 NotImplemented on GET /api/datasets).
"""

import contextlib
import datetime
import sys
import warnings
from urllib.parse import urlsplit

import httpx
import pytest
from packaging.version import Version

import argilla as rg
from argilla.client.sdk.commons.errors import (
    BadRequestApiError,
    ForbiddenApiError,
    NotFoundApiError,
)
from argilla.client.sdk.commons.errors_handler import handle_response_error

from conftest import BASE_URL, CLIENT_VERSION, DEFAULT_API_KEY, init, unique

CLIENT_1_6 = CLIENT_VERSION.release[:2] == (1, 6)
# 1.9+ clients (here 1.29) POST /api/datasets before every rg.log
LOG_CREATES_FIRST = CLIENT_VERSION >= Version("1.9")
# 1.2x's rg.load / rg.delete fall back to FeedbackDataset look-ups (v1) after a v0 error
FEEDBACK_FALLBACK = CLIENT_VERSION >= Version("1.9")
# 1.6-1.8 format TaskType(str, Enum) into URLs; Python 3.11 renders it as `TaskType.<member>`
TASKTYPE_PATHS = CLIENT_VERSION < Version("1.9") and sys.version_info >= (3, 11)

# 1.2x warns on every integer record id
pytestmark = pytest.mark.filterwarnings("ignore:Integer ids won't be supported:DeprecationWarning")

FORBIDDEN = "argilla.api.errors::ForbiddenOperationError"
GET_DENIED = "You don't have the necessary permissions to get this dataset."
CREATE_DENIED = (
    "You don't have the necessary permissions to create datasets. Only administrators can create datasets"
)
COPY_DENIED = (
    "You don't have the necessary permissions to copy this dataset. "
    "Only dataset creators or administrators can copy datasets"
)
DELETE_DENIED = (
    "You don't have the necessary permissions to delete this dataset. "
    "Only dataset creators or administrators can delete datasets"
)
DELETE_RECORDS_DENIED = (
    "You don't have the necessary permissions to delete records on this dataset. "
    "Only dataset creators or administrators can delete datasets"
)


def forbidden(detail):
    return {"code": FORBIDDEN, "params": {"detail": detail}}


# session scope: runs before the session-scoped `admin` fixture the tests use
@pytest.fixture(scope="session", autouse=True)
def datasets_served():
    resp = httpx.get(f"{BASE_URL}/api/datasets", headers={"X-Argilla-Api-Key": DEFAULT_API_KEY}, timeout=30)
    if resp.status_code == 501:
        pytest.skip(f"this host has no datasets yet: GET /api/datasets answers 501 ({resp.text[:200]})")
    assert resp.status_code == 200, resp.text


@pytest.fixture
def wire(monkeypatch):
    """Every request the client sends in this test, as (method, path, query)."""
    sent = []
    real_send, real_send_async = httpx.Client.send, httpx.AsyncClient.send

    def note(request):
        url = urlsplit(str(request.url))
        sent.append((request.method, url.path, url.query))

    def send(self, request, *args, **kwargs):
        note(request)
        return real_send(self, request, *args, **kwargs)

    async def send_async(self, request, *args, **kwargs):  # 1.6 logs through httpx.AsyncClient
        note(request)
        return await real_send_async(self, request, *args, **kwargs)

    monkeypatch.setattr(httpx.Client, "send", send)
    monkeypatch.setattr(httpx.AsyncClient, "send", send_async)
    return sent


class Refused:
    error = None

    @property
    def ctx(self):
        return self.error.ctx


@contextlib.contextmanager
def refused(cls):
    """Expects the client call in the block to fail with the v0 answer `cls` (yields it as
    `.error`, its envelope as `.ctx`).

    1.29's `rg.load` and `rg.delete`, after any v0 error, look for a FeedbackDataset of that name
    (`GET /api/v1/datasets`, not served by workgate: 404), and raise *that* failure, chained to
    the v0 error - which is then the one checked here."""
    holder = Refused()
    with pytest.raises(Exception) as info:
        yield holder
    err = info.value
    if not FEEDBACK_FALLBACK:
        assert isinstance(err, cls), repr(err)
    found = None
    while err is not None:  # the deepest one: the first error, the v0 answer
        if isinstance(err, cls):
            found = err
        err = err.__cause__ or err.__context__
    assert found is not None, f"no {cls.__name__} in {info.value!r}"
    holder.error = found


# ---------------------------------------------------------------------------------------------
# records per task, and how each one comes back


def _when(i):
    return datetime.datetime(2023, 6, 1, 10, 0, 0) + datetime.timedelta(minutes=i)


def _metadata(i):
    # nested metadata comes back flattened with "." (research 4.2)
    return {"i": i, "parity": "odd" if i % 2 else "even", "nested": {"k": f"v{i}"}}


def _status(i):
    # record 2 is Discarded; the others get the client's default: Validated if annotated, else Default
    return "Discarded" if i == 2 else None


def text_single(i, **over):
    annotated = i % 2 == 1
    fields = dict(
        id=i,  # int ids: the scan returns them in string order ("1" < "10" < "2")
        text=f"hello world {i}",
        prediction=[("pos", 0.8), ("neg", 0.2)],
        prediction_agent="model-a",
        annotation="pos" if annotated else None,
        annotation_agent="anna" if annotated else None,
        metadata=_metadata(i),
        event_timestamp=_when(i),
        vectors={"v": [0.1 * i, 0.5]},
        status=_status(i),
    )
    fields.update(over)
    return rg.TextClassificationRecord(**{k: v for k, v in fields.items() if v is not None})


def text_multi(i, **over):
    annotated = i % 2 == 1
    fields = dict(
        id=f"ml-{i:02d}",
        inputs={"title": f"title {i}", "body": ["line one", f"line {i}"]},
        multi_label=True,
        prediction=[("sports", 0.9), ("politics", 0.6), ("tech", 0.1)],
        prediction_agent="model-m",
        annotation=["sports", "politics"] if annotated else None,
        annotation_agent="anna" if annotated else None,
        metadata=_metadata(i),
        event_timestamp=_when(i),
        status=_status(i),
    )
    fields.update(over)
    return rg.TextClassificationRecord(**{k: v for k, v in fields.items() if v is not None})


def token(i, **over):
    annotated = i % 2 == 1
    word = f"w{i}"
    fields = dict(
        id=f"tok-{i:02d}",
        text=f"Anna visited Paris {word}",
        tokens=["Anna", "visited", "Paris", word],
        prediction=[("PER", 0, 4, 0.9), ("LOC", 13, 18, 0.7)],
        prediction_agent="model-t",
        annotation=[("PER", 0, 4), ("LOC", 13, 18)] if annotated else None,
        annotation_agent="anna" if annotated else None,
        metadata=_metadata(i),
        event_timestamp=_when(i),
        status=_status(i),
    )
    fields.update(over)
    return rg.TokenClassificationRecord(**{k: v for k, v in fields.items() if v is not None})


def text2text(i, **over):
    annotated = i % 2 == 1
    fields = dict(
        id=f"t2t-{i:02d}",
        text=f"hola mundo {i}",
        prediction=[(f"hello world {i}", 0.9), ("hi world", 0.3)],
        prediction_agent="model-s",
        annotation=f"hello world {i}" if annotated else None,
        annotation_agent="anna" if annotated else None,
        metadata=_metadata(i),
        event_timestamp=_when(i),
        status=_status(i),
    )
    fields.update(over)
    return rg.Text2TextRecord(**{k: v for k, v in fields.items() if v is not None})


KINDS = {
    "text-single-label": (text_single, ["inputs", "text", "multi_label", "vectors"]),
    "text-multi-label": (text_multi, ["inputs", "multi_label"]),
    "token": (token, ["text", "tokens"]),
    "text2text": (text2text, ["text"]),
}
COMMON = [
    "id",
    "prediction",
    "prediction_agent",
    "annotation",
    "annotation_agent",
    "status",
    "event_timestamp",
]


def flat(metadata, prefix=""):
    out = {}
    for k, v in metadata.items():
        if isinstance(v, dict):
            out.update(flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def assert_same(loaded, logged, kind):
    assert type(loaded) is type(logged)
    for field in COMMON + KINDS[kind][1]:
        assert getattr(loaded, field) == getattr(logged, field), f"{field} of record {logged.id}"
    assert loaded.metadata == flat(logged.metadata), f"metadata of record {logged.id}"


def assert_records(loaded, logged, kind):
    """`loaded` (an rg.load result) holds exactly `logged`, in the scan's id order."""
    loaded = list(loaded)
    expected = sorted(logged, key=lambda r: str(r.id))
    assert [r.id for r in loaded] == [r.id for r in expected]
    for got, want in zip(loaded, expected):
        assert_same(got, want, kind)


def records_of(kind, n=12, **over):
    make = KINDS[kind][0]
    return [make(i, **over) for i in range(1, n + 1)]


def scans(wire):
    """The `limit` of every scan request seen so far."""
    return [q for m, p, q in wire if m == "POST" and p.endswith("/records/:search")]


@pytest.fixture
def team(admin):
    return admin.create_workspace()


@pytest.fixture
def admin_in(team):
    """The default admin, connected with the fresh team workspace selected."""
    init(DEFAULT_API_KEY, workspace=team["name"])
    return team


kinds = pytest.mark.parametrize("kind", list(KINDS))


# ---------------------------------------------------------------------------------------------
# admin: log, load, copy, delete, delete_records


@kinds
def test_log_then_load_everything_in_pages_by_ids_and_limited(admin_in, kind, wire):
    name = unique(kind)
    logged = records_of(kind)
    result = rg.log(logged, name, batch_size=5, verbose=False)
    assert (result.processed, result.failed) == (12, 0)
    bulks = [p for m, p, q in wire if m == "POST" and p.endswith(":bulk")]
    task = {"token": "TokenClassification", "text2text": "Text2Text"}.get(kind, "TextClassification")
    assert bulks == [f"/api/datasets/{name}/{task}:bulk"] * 3

    assert_records(rg.load(name), logged, kind)

    del wire[:]
    assert_records(rg.load(name, batch_size=5), logged, kind)
    # 3 pages of 5, then (if the last page ended with a cursor) one that comes back empty
    assert scans(wire)[:3] == ["limit=5"] * 3 and len(scans(wire)) in (3, 4)

    wanted = [logged[0].id, logged[5].id, logged[10].id]
    assert_records(rg.load(name, ids=wanted), [logged[0], logged[5], logged[10]], kind)
    assert list(rg.load(name, ids=[unique("missing")])) == []

    del wire[:]
    first_four = sorted(logged, key=lambda r: str(r.id))[:4]
    assert_records(rg.load(name, limit=4, batch_size=3), first_four, kind)
    assert scans(wire) == ["limit=3", "limit=1"]


@kinds
def test_relog_upserts_by_id_and_merges(admin_in, kind):
    name = unique(kind)
    logged = records_of(kind, n=3)
    rg.log(logged, name, verbose=False)
    # record 1 again, without its annotation and with one more metadata key: Argilla's deep
    # merge keeps the stored annotation and the other metadata keys, the status is the new one
    again = KINDS[kind][0](1, annotation=None, annotation_agent=None, status="Default", metadata={"extra": "x"})
    rg.log([again], name, verbose=False)
    loaded = {r.id: r for r in rg.load(name)}
    assert len(loaded) == 3
    got = loaded[logged[0].id]
    assert got.annotation == logged[0].annotation
    assert got.status == "Default"
    assert got.metadata == {**flat(logged[0].metadata), "extra": "x"}
    assert_same(loaded[logged[1].id], logged[1], kind)


def dataset_json(name, workspace):
    """GET /api/datasets/{name} as the client sends it (the client keeps the answer to itself)."""
    resp = httpx.get(
        f"{BASE_URL}/api/datasets/{name}",
        headers={"X-Argilla-Api-Key": DEFAULT_API_KEY, "X-Argilla-Workspace": workspace},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


@kinds
def test_copy_within_and_across_workspaces_then_delete(admin, admin_in, kind):
    name = unique(kind)
    logged = records_of(kind, n=5)
    rg.log(logged, name, tags={"kind": kind}, metadata={"source": kind}, verbose=False)
    dataset = dataset_json(name, admin_in["name"])
    task = {"token": "TokenClassification", "text2text": "Text2Text"}.get(kind, "TextClassification")
    assert (dataset["name"], dataset["task"], dataset["workspace"]) == (name, task, admin_in["name"])
    assert (dataset["tags"], dataset["metadata"]) == ({"kind": kind}, {"source": kind})

    copy = f"{name}-copy"
    assert rg.copy(name, name_of_copy=copy) is None
    assert_records(rg.load(copy), logged, kind)
    dataset = dataset_json(copy, admin_in["name"])
    assert dataset["id"] == f"{admin_in['name']}.{copy}"
    assert dataset["created_by"] == "argilla"
    assert dataset["metadata"] == {"source": kind, "source_workspace": admin_in["name"], "copied_from": name}
    assert dataset["tags"] == {"kind": kind}

    other = admin.create_workspace()
    init(DEFAULT_API_KEY, workspace=admin_in["name"])  # refresh the client's workspace list
    rg.copy(name, name_of_copy=name, workspace=other["name"])  # same name, another workspace
    assert rg.get_workspace() == admin_in["name"], "the copy's workspace= is the target only"
    assert dataset_json(name, other["name"])["id"] == f"{other['name']}.{name}"

    rg.delete(name)
    with refused(NotFoundApiError):
        rg.load(name)
    assert_records(rg.load(copy), logged, kind)  # a copy is independent of its source
    assert_records(rg.load(name, workspace=other["name"]), logged, kind)

    rg.set_workspace(admin_in["name"])
    rg.delete(copy)
    with refused(NotFoundApiError):
        rg.load(copy)
    if LOG_CREATES_FIRST:
        with refused(NotFoundApiError):  # 1.29 looks the dataset up first
            rg.delete(copy)
    else:
        rg.delete(copy)  # a missing dataset: 200 null, as Argilla


@kinds
def test_delete_records_by_id_and_discard_only(admin_in, kind):
    name = unique(kind)
    logged = records_of(kind, n=6)
    rg.log(logged, name, verbose=False)
    gone = [logged[0].id, logged[3].id]
    assert rg.delete_records(name, ids=gone) == (2, 2)
    kept = [r for r in logged if r.id not in gone]
    assert_records(rg.load(name), kept, kind)

    assert rg.delete_records(name, ids=[logged[4].id], discard_only=True) == (1, 1)
    loaded = {r.id: r for r in rg.load(name)}
    assert loaded[logged[4].id].status == "Discarded"
    assert loaded[logged[4].id].annotation == logged[4].annotation
    for r in kept:
        if r.id != logged[4].id:
            assert_same(loaded[r.id], r, kind)

    assert rg.delete_records(name, ids=[unique("missing")]) == (0, 0)
    assert rg.delete_records(name) == (4, 4)  # no ids: every record
    assert len(rg.load(name)) == 0


def test_load_sorted_and_from_an_id(admin_in):
    name = unique("sorted")
    logged = records_of("text-single-label", n=7)
    rg.log(logged, name, verbose=False)
    # id_from: strictly after that id, in the scan's (string) id order
    assert [r.id for r in rg.load(name, id_from="3")] == [4, 5, 6, 7]
    # sort_by without a search engine, with an id tie-break: small pages lose no ties
    loaded = list(rg.load(name, sort=[("event_timestamp", "desc")], batch_size=2))
    assert [r.id for r in loaded] == [7, 6, 5, 4, 3, 2, 1]
    loaded = list(rg.load(name, sort=[("status", "asc")], batch_size=2))
    assert sorted(r.id for r in loaded) == list(range(1, 8))
    assert [r.status for r in loaded] == sorted(r.status for r in loaded)


def test_search_engine_queries_are_refused_with_400(admin_in):
    name = unique("noengine")
    rg.log(records_of("text-single-label", n=2), name, verbose=False)
    with refused(BadRequestApiError) as err:
        rg.load(name, query="hello")
    assert "query_text" in err.ctx["params"]["message"]
    with pytest.raises(BadRequestApiError) as err:
        rg.delete_records(name, query="hello")
    assert "query_text" in err.value.ctx["params"]["message"]
    assert len(rg.load(name)) == 2


def test_vector_load_is_refused_with_400(admin_in):
    name = unique("novector")
    rg.log(records_of("text-single-label", n=2), name, verbose=False)
    with refused(BadRequestApiError) as err:
        rg.load(name, vector=("v", [0.1, 0.5]))
    assert "vector" in err.ctx["params"]["message"]


def test_load_of_a_missing_dataset_is_not_found(admin_in):
    name = unique("missing")
    with refused(NotFoundApiError) as err:
        rg.load(name)
    assert err.ctx == {
        "code": "argilla.api.errors::EntityNotFoundError",
        "params": {"name": name, "type": "ServiceDataset"},
    }


# ---------------------------------------------------------------------------------------------
# an annotator member of the workspace


@pytest.fixture
def member(admin, team):
    """An annotator member of `team`, and a dataset per task the admin logged there."""
    user = admin.create_user("annotator")
    admin.add_member(team["id"], user["id"])
    init(DEFAULT_API_KEY, workspace=team["name"])
    datasets = {}
    for kind in KINDS:
        datasets[kind] = unique(kind)
        rg.log(records_of(kind, n=4), datasets[kind], verbose=False)
    init(user["api_key"], workspace=team["name"])
    return user, datasets


@kinds
def test_member_loads_logs_and_discards_but_cannot_create_copy_or_delete(member, kind):
    user, datasets = member
    name = datasets[kind]
    logged = records_of(kind, n=4)
    assert_records(rg.load(name), logged, kind)
    assert_records(rg.load(name, ids=[logged[1].id]), [logged[1]], kind)

    more = [KINDS[kind][0](i) for i in (5, 6)]
    if LOG_CREATES_FIRST:
        # 1.29: POST /api/datasets first; 403 (annotators create nothing) comes before 409
        with pytest.raises(ForbiddenApiError) as err:
            rg.log(more, name, verbose=False)
        assert err.value.ctx == forbidden(CREATE_DENIED)
    else:
        assert rg.log(more, name, verbose=False).processed == 2
        logged += more
        assert_records(rg.load(name), logged, kind)

    with pytest.raises(ForbiddenApiError) as err:  # creating is refused
        rg.log(records_of(kind, n=1), unique(kind), verbose=False)
    assert err.value.ctx == forbidden(CREATE_DENIED)

    with pytest.raises(ForbiddenApiError) as err:
        rg.copy(name, name_of_copy=f"{name}-copy")
    assert err.value.ctx == forbidden(COPY_DENIED)

    with refused(ForbiddenApiError) as err:  # not its own dataset
        rg.delete(name)
    assert err.ctx == forbidden(DELETE_DENIED)

    with pytest.raises(ForbiddenApiError) as err:
        rg.delete_records(name, ids=[logged[0].id], discard_when_forbidden=False)
    assert err.value.ctx == forbidden(DELETE_RECORDS_DENIED)

    assert rg.delete_records(name, ids=[logged[0].id], discard_only=True) == (1, 1)
    # a hard delete falls back to discarding (the client's retry sends {"query": {"ids": ...}});
    # only the selected record is discarded (API.md section 10), nothing is deleted
    with pytest.warns(UserWarning):
        rg.delete_records(name, ids=[logged[1].id])
    loaded = {r.id: r for r in rg.load(name)}
    assert sorted(loaded, key=str) == sorted((r.id for r in logged), key=str)
    assert [loaded[r.id].status for r in logged[:2]] == ["Discarded", "Discarded"]
    for r in logged[2:]:
        assert_same(loaded[r.id], r, kind)


def test_annotator_deletes_only_datasets_it_created(admin, team):
    """Only admins create datasets, so an annotator's own dataset is one it made while it was an
    admin (workgate lets an admin change a user's role: PATCH /api/users/{id})."""
    user = admin.create_user("admin")
    admin.add_member(team["id"], user["id"])
    init(user["api_key"], workspace=team["name"])
    own = unique("own")
    logged = records_of("text-single-label", n=4)
    rg.log(logged, own, verbose=False)
    init(DEFAULT_API_KEY, workspace=team["name"])
    theirs = unique("theirs")
    rg.log(logged, theirs, verbose=False)
    admin.http.patch(f"/api/users/{user['id']}", json={"role": "annotator"})

    init(user["api_key"], workspace=team["name"])
    assert rg.delete_records(own, ids=[logged[0].id], discard_when_forbidden=False) == (1, 1)
    assert_records(rg.load(own), logged[1:], "text-single-label")
    with pytest.raises(ForbiddenApiError) as err:
        rg.delete_records(theirs, ids=[logged[0].id], discard_when_forbidden=False)
    assert err.value.ctx == forbidden(DELETE_RECORDS_DENIED)
    with refused(ForbiddenApiError) as err:
        rg.delete(theirs)
    assert err.ctx == forbidden(DELETE_DENIED)
    rg.delete(own)
    with refused(NotFoundApiError):
        rg.load(own)
    assert len(rg.load(theirs)) == 4


# ---------------------------------------------------------------------------------------------
# a non-member


@kinds
def test_removed_member_is_refused_everything(admin, team, member, kind):
    """The client keeps the workspace it selected at rg.init; once the user is no longer a
    member, the server refuses each call with the dataset 'get' 403 (research 6.2)."""
    user, datasets = member
    name = datasets[kind]
    admin.remove_member(team["id"], user["id"])
    calls = {
        "load": lambda: rg.load(name),
        "copy": lambda: rg.copy(name, name_of_copy=f"{name}-copy"),
        "delete": lambda: rg.delete(name),
        "delete_records": lambda: rg.delete_records(name, ids=[1], discard_when_forbidden=False),
        "discard": lambda: rg.delete_records(name, ids=[1], discard_only=True),
    }
    calls["log"] = lambda: rg.log(records_of(kind, n=1), name, verbose=False)
    for what, call in calls.items():
        # 1.29 asks to create the dataset before it logs: that 403 is the create one
        denied = forbidden(CREATE_DENIED if what == "log" and LOG_CREATES_FIRST else GET_DENIED)
        with refused(ForbiddenApiError) as err, warnings.catch_warnings():
            # the discard retry after a 403 warns "Records will be discarded instead"
            warnings.filterwarnings("ignore", "Argilla server returned an error", UserWarning)
            call()
        assert err.ctx == denied, what
    init(DEFAULT_API_KEY, workspace=team["name"])
    assert_records(rg.load(name), records_of(kind, n=4), kind)  # nothing changed


def test_non_member_cannot_select_or_reach_the_workspace(admin, team, member, raw):
    _, datasets = member
    stranger = admin.create_user("annotator")
    with pytest.raises(Exception, match="Wrong provided workspace"):
        init(stranger["api_key"], workspace=team["name"])
    # the requests the client would send, with the workspace header it refuses to set
    name = datasets["text-single-label"]
    headers = {"X-Argilla-Api-Key": stranger["api_key"], "X-Argilla-Workspace": team["name"]}
    body = {"records": [{"id": 1, "inputs": {"text": "x"}}]}
    for method, path, json in (
        ("GET", f"/api/datasets/{name}", None),
        ("POST", f"/api/datasets/{name}/records/:search?limit=10", {"query": {}}),
        ("POST", f"/api/datasets/{name}/TextClassification:bulk", body),
        ("DELETE", f"/api/datasets/{name}/data?mark_as_discarded=true", {}),
        ("DELETE", f"/api/datasets/{name}", None),
    ):
        resp = raw.request(method, path, headers=headers, json=json)
        assert resp.status_code == 403, (method, path, resp.text)
        with pytest.raises(ForbiddenApiError) as err:
            handle_response_error(resp)
        assert err.value.ctx == forbidden(GET_DENIED), (method, path)
    # its own personal workspace holds no such dataset
    init(stranger["api_key"], workspace=stranger["username"])
    with refused(NotFoundApiError):
        rg.load(name)


# ---------------------------------------------------------------------------------------------
# dataset settings (label schema)


def configure_settings(name, settings):
    if CLIENT_1_6:
        return rg.configure_dataset(name, settings)
    return rg.configure_dataset_settings(name, settings)


def load_settings(name):
    if CLIENT_1_6:
        try:
            return rg.active_client().datasets.load_settings(name)
        except NotFoundApiError:
            return None
    return rg.load_dataset_settings(name)


SETTINGS_CASES = {
    "TextClassification": (
        lambda: rg.TextClassificationSettings(label_schema={"pos", "neg"}),
        lambda label: text_single(1, prediction=[(label, 1.0)], annotation=label),
        "text_classification",
    ),
    "TokenClassification": (
        lambda: rg.TokenClassificationSettings(label_schema={"PER", "LOC"}),
        lambda label: token(1, prediction=[(label, 0, 4, 0.9)], annotation=[(label, 0, 4)]),
        "token_classification",
    ),
}


@pytest.mark.parametrize("task", list(SETTINGS_CASES))
def test_settings_configure_load_and_enforce(admin_in, task, wire):
    make_settings, record_with, member = SETTINGS_CASES[task]
    name = unique("settings")
    configure_settings(name, make_settings())
    got = load_settings(name)
    assert type(got) is type(make_settings())
    assert set(got.label_schema) == set(make_settings().label_schema)

    segment = f"TaskType.{member}" if TASKTYPE_PATHS else task
    settings_paths = {(m, p) for m, p, q in wire if p.endswith("/settings")}
    assert settings_paths == {
        ("PATCH", f"/api/datasets/{name}/{segment}/settings"),
        ("GET", f"/api/datasets/{name}/{segment}/settings"),
    }

    allowed = sorted(make_settings().label_schema)[0]
    rg.log([record_with(allowed)], name, verbose=False)
    with pytest.raises(BadRequestApiError):
        rg.log([record_with("other")], name, verbose=False)
    assert [r.id for r in rg.load(name)] == [1 if task == "TextClassification" else "tok-01"]

    # configuring again replaces the schema
    configure_settings(name, type(make_settings())(label_schema=set(make_settings().label_schema) | {"other"}))
    assert set(load_settings(name).label_schema) == set(make_settings().label_schema) | {"other"}
    rg.log([record_with("other")], name, verbose=False)


def test_settings_of_a_dataset_without_any_are_none(admin_in):
    name = unique("nosettings")
    rg.log(records_of("text-single-label", n=1), name, verbose=False)
    assert load_settings(name) is None


@pytest.mark.parametrize("task", list(SETTINGS_CASES))
def test_member_reads_settings_but_cannot_save_them(admin, team, task):
    make_settings, _, _ = SETTINGS_CASES[task]
    user = admin.create_user("annotator")
    admin.add_member(team["id"], user["id"])
    init(DEFAULT_API_KEY, workspace=team["name"])
    name = unique("settings")
    configure_settings(name, make_settings())

    init(user["api_key"], workspace=team["name"])
    assert set(load_settings(name).label_schema) == set(make_settings().label_schema)
    # the helpers POST /api/datasets first; an annotator's create is refused before the 409
    with pytest.raises(ForbiddenApiError) as err:
        configure_settings(name, make_settings())
    assert err.value.ctx == forbidden(CREATE_DENIED)

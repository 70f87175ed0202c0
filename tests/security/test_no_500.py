"""No input makes Prism answer 5xx (issue 7, item 6).

First the four 500s found by probing, one test each. Then a walk of every URL pattern of the URL
conf (so a new view cannot be missed): its path parameters filled with objects of the user's team
and with malformed values, its query and form fields (those its forms and code read) with
malformed values from hypothesis, GET and POST, as an owner of the team. Nothing may answer 5xx.
"""

from __future__ import annotations

import copy
import io
import json
import zipfile

import pytest
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground.lib import jsonlimits
from tests import media_samples as samples
from tests.security import walk

DEEP = "[" * 5000 + "]" * 5000


def _owner_client(world) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(world.owner)
    return client


# --- the four found by probing ------------------------------------------------------------------


def test_a_huge_result_number_in_the_run_diff_is_a_form_error(walk_world):
    client = _owner_client(walk_world)
    url = reverse("runs:diff", args=[walk_world.run.pk])

    response = client.get(url, {"a": "99999999999999999999999", "b": walk_world.result.pk})

    assert response.status_code in (200, 400), response.status_code
    assert walk_world.run.results.count() == 2


def test_switching_to_a_team_that_is_not_a_number_says_so(walk_world):
    client = _owner_client(walk_world)

    response = client.post(reverse("accounts:team_switch"), {"team": "abc"}, follow=True)

    assert response.status_code == 200
    assert "You are not a member of that team." in response.content.decode()
    assert client.session.get("team_id") is None


def test_a_deeply_nested_json_schema_is_a_form_error_in_the_editor(walk_world):
    from playground.prompts import editor
    from playground.prompts.models import PromptDraft

    client = _owner_client(walk_world)
    data = editor.form_data(walk_world.version.content, {walk_world.item.pk: walk_world.item})
    data["json_schema"] = '{"a":' * 5000 + "1" + "}" * 5000

    for name in ("prompts:preview", "prompts:save"):
        response = client.post(reverse(name, args=[walk_world.prompt.pk]), data, HTTP_HX_REQUEST="true")
        assert response.status_code == 200, (name, response.status_code)
        assert "nested too deeply" in response.content.decode()
    assert walk_world.prompt.versions.count() == 2  # nothing saved
    draft = PromptDraft.objects.filter(prompt=walk_world.prompt).first()
    assert draft is None or "json_schema" not in draft.document.get("options", {})


@pytest.mark.parametrize("nested", [DEEP, '{"system": "x", "messages": ' + DEEP + "}",
                                    '{"variables": {"v": {"media": ' + DEEP + "}}}"])
def test_a_deeply_nested_prompt_json_is_refused_on_import(walk_world, nested):
    from playground.prompts.models import Prompt

    client = _owner_client(walk_world)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("prompt.json", nested)
    before = Prompt.objects.count()

    for name, data in (("export.zip", out.getvalue()), ("prompt.json", nested.encode())):
        upload = io.BytesIO(data)
        upload.name = name
        response = client.post(reverse("prompts:import"), {"file": upload})
        assert response.status_code == 200, (name, response.status_code)
        assert "Not imported" in response.content.decode() and "nested too deeply" in response.content.decode()
    assert Prompt.objects.count() == before


@pytest.mark.parametrize("document, why", [(b'{"system": NaN}', "NaN is not a JSON value"),
                                           (b'{"options": {"temperature": 1e400}}', "is too large"),
                                           (b'{"system": "a\\u0000b"}', "NUL character")])
def test_a_prompt_json_with_nan_a_huge_number_or_a_nul_is_refused_on_import(walk_world, document, why):
    from playground.prompts.models import Prompt

    client = _owner_client(walk_world)
    before = Prompt.objects.count()
    for name, data in (("export.zip", walk._zip({"prompt.json": document})), ("prompt.json", document)):
        upload = io.BytesIO(data)
        upload.name = name
        response = client.post(reverse("prompts:import"), {"file": upload})
        assert response.status_code == 200, (name, response.status_code)
        assert "Not imported" in response.content.decode() and why in response.content.decode()
    assert Prompt.objects.count() == before


# --- every URL pattern, every field ------------------------------------------------------------------




HUGE = "99999999999999999999999"
NASTY = [
    HUGE, "-" + HUGE, "-1", "0", "1e400", "nan", "-inf", "abc", "", " ", "x" * 10_000, "9" * 10_000,
    "[" * 5000, DEEP, '{"a":' * 3000 + "1" + "}" * 3000, "\x00", "a\x00b", "\ud800", b"\xff\xfe\xfd", b"caf\xc3",
    "null", "[]", "{}", "true", '"text"', '{"item": ' + HUGE + "}", '{"item": -1}', '{"item": "x"}',
    '{"url": "javascript:alert(1)", "kind": "image", "mime_type": "image/png"}', '{"media": {"item": 1}}',
    "<script>alert(1)</script>", "../../../etc/passwd", "\u202egnp.exe", "a,b,c", "m-0-p-0|" + HUGE,
    "remove_message:" + HUGE, "up_part:0:" + HUGE, "fallback:0:1:variant:max_edge=" + HUGE,
    "fallback:0:1:keyframes:frames=0", "option:clamp_temperature", "remove_var:" + "x" * 5000, "1:queued,x",
    "2020-02-30", "9999-12-31", "0001-01-01", '"\\u0000"', '{"item": 1, "x\\u0000": 1}',
]
# One field at a time (a malformed value among valid ones reaches further than all at once).
CORE = [HUGE, "-1", "abc", "", "x" * 10_000, "[" * 5000, "\x00", "\ud800", b"\xff\xfe", "9999-12-31", "0001-01-01",
        "1e400", "{}"]
# 3000000000 and 2**63 are past PostgreSQL's integer and bigint.
NASTY_INT_PARAMS = ["0", "3000000000", str(2**63), HUGE, "9" * 400]
NASTY_STR_PARAMS = ["-1", "abc", "x" * 5000, "%00", "%FF%FE", "%ED%A0%80", "..", "%2e%2e", "a.b", HUGE]
FILE_NAMES = ["photo.png", b"\xff\xfe.png", "x" * 300 + ".png", "a\x00.png", "../../evil.png", "\ud800.png", "",
              "prompt.json", "export.zip", "\u202egnp.exe"]
FILE_CONTENTS = [b"", b"\x00" * 64, b"\xff\xfe\xfd" * 100, samples.png_bytes(8, 8), DEEP.encode(),
                 b"{" * 5000, walk._zip({"prompt.json": DEEP.encode()}), walk._zip({"prompt.json": b"\xff\xfe"}),
                 walk._zip({"../evil": b"x", "prompt.json": b"{}"}), b"PK\x03\x04broken", b"RIFF\x00\x00\x00\x00WAVE",
                 b'{"system": NaN}', b'{"system": "a\\u0000b"}', b'{"options": {"temperature": 1e400}}',
                 walk._zip({"prompt.json": b'{"variables": {"x": Infinity}}'})]

PATTERNS = walk.patterns()
BY_KEY = {p.key: p for p in PATTERNS}
APP_KEYS = [p.key for p in PATTERNS if p.namespace != "admin"]
ADMIN_KEYS = [p.key for p in PATTERNS if p.namespace == "admin"]


def test_every_url_pattern_has_a_case_in_the_walk_table():
    missing = [p.key for p in PATTERNS if walk.case_for(p) is None]
    assert not missing, f"Add a Case to tests/security/walk.py CASES for each new URL pattern: {missing}"
    assert not set(walk.CASES) - set(BY_KEY), "CASES names patterns that no longer exist"
    for p in PATTERNS:
        case = walk.case_for(p)
        if case.scope != "admin" and p.namespace != "admin":
            assert set(case.params) == set(p.params), f"{p.key}: the case fills {set(case.params)}, the pattern has {set(p.params)}"


class Sender:
    """Requests as the owner, each inside a savepoint that is rolled back, so every request sees
    the same world (a delete does not spoil the requests after it)."""

    def __init__(self, world):
        self.client = Client(raise_request_exception=False)
        self.client.force_login(world.owner)
        self.cookies = copy.deepcopy(self.client.cookies)
        self.failures: list[str] = []

    def send(self, method, path, data=None, files=None, headers=None) -> int:
        data, headers = data or {}, headers or {}
        self.client.cookies = copy.deepcopy(self.cookies)  # a logout must not end the walk
        with transaction.atomic(), connection.execute_wrapper(_like_postgresql):
            if method in ("GET", "HEAD", "OPTIONS", "DELETE"):
                sent = walk.urlencoded(data).encode()
                response = self.client.generic(method, path + ("?" + sent.decode() if sent else ""), **headers)
            elif files:
                sent = walk.multipart(data, files)
                response = self.client.generic(method, path, sent, content_type=walk.MULTIPART, **headers)
            else:
                sent = walk.urlencoded(data).encode()
                response = self.client.generic(method, path, sent, content_type="application/x-www-form-urlencoded", **headers)
            status = response.status_code
            form = walk.urlencoded(data) + walk.urlencoded({n: "" for n, _ in (files or {}).values()})
            if method == "POST" and ("%00" in form or "%5Cu0000" in form):
                # SQLite stores NUL; PostgreSQL refuses it in text and jsonb (a 500 on the team pass).
                for where in _stored_nul():
                    self.failures.append(f"{method} {path[:200]} {_short(data)}: stored a NUL in {where}")
            if getattr(response, "streaming", False):
                try:
                    b"".join(response.streaming_content)
                except Exception as exc:
                    status = 599
                    self.failures.append(f"{method} {path[:200]}: the streamed body raised {exc!r}")
            transaction.set_rollback(True)
        if status >= 500:
            self.failures.append(f"{method} {path[:200]} {_short(data)} {_short(files)} {headers} -> {status}")
        return status


def _like_postgresql(execute, sql, params, many, context):
    """Refuse a NUL in a query parameter as psycopg does, so the embedded pass finds what would
    be a 500 at team scale (a search for "a\x00b" is fine on SQLite)."""
    rows = params if many else [params]
    for row in rows or ():
        for value in (row.values() if isinstance(row, dict) else row) or ():
            if isinstance(value, str) and "\x00" in value:
                raise ValueError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
    return execute(sql, params, many, context)


def _stored_nul() -> list[str]:
    from django.apps import apps

    found = []
    for model in apps.get_models():
        if model._meta.app_label not in ("auth", "accounts", "uploads", "prompts", "catalog", "runs"):
            continue
        names = [f.attname for f in model._meta.concrete_fields
                 if f.get_internal_type() in ("CharField", "TextField", "JSONField", "SlugField")]
        for row in model.objects.values_list(*names) if names else ():
            for value in row:
                try:
                    jsonlimits.depth(value)  # raises for a NUL in any string or key
                except ValueError:
                    found.append(f"{model.__name__}: {json.dumps(value)[:80]}")
    return found


def _short(value) -> str:
    text = repr(value)
    return text if len(text) < 300 else text[:300] + "…"


def _methods(case) -> list[str]:
    return (["GET"] if case.get else []) + (["POST"] if case.post else [])


def _fields(pattern, case) -> list[str]:
    return sorted(set(case.fields()) | walk.keys_read(pattern.callback) - set(case.files))


def _path_options(pattern, case, world) -> dict[str, list[str]]:
    options = {}
    for name, conv in pattern.params.items():
        valid = str(case.params[name](world))
        options[name] = [valid] + (NASTY_INT_PARAMS if conv == "int" else NASTY_STR_PARAMS)
    return options


HTMX = [{}, {"HTTP_HX_REQUEST": "true"}, {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "media-grid"},
        {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "x" * 3000}]
VALUES = st.one_of(st.sampled_from(NASTY), st.text(max_size=40), st.integers().map(str), st.binary(max_size=16))


def _walk_one(pattern, world, sender: Sender, examples: int) -> None:
    case = walk.case_for(pattern)
    base = case.data(world) if case.data else {}
    fields = _fields(pattern, case)
    valid = {name: opts[0] for name, opts in _path_options(pattern, case, world).items()}
    valid_path = pattern.path(valid)
    files = {f: ("photo.png", samples.png_bytes(8, 8)) for f in case.files}
    methods = _methods(case)

    # 0. Methods no view is written for: a 405 (or what the view makes of them), never a 5xx.
    for method in ("HEAD", "OPTIONS", "DELETE", "PUT", "PATCH"):
        sender.send(method, valid_path, base, files)
    # 1. Each path parameter malformed in turn, with otherwise valid data.
    for name, opts in _path_options(pattern, case, world).items():
        for i, bad in enumerate(opts[1:]):
            sender.send(methods[i % len(methods)], pattern.path({**valid, name: bad}), base, files)
    # 2. Every field set to each malformed value at once (GET and POST in turn), each malformed file.
    for i, bad in enumerate(NASTY if fields else ()):
        sender.send(methods[i % len(methods)], valid_path, {**base, **{f: bad for f in fields}}, files)
    if len(fields) <= 10:  # the editor's forty fields get their mixtures from hypothesis instead
        for i, (name, bad) in enumerate((name, bad) for name in fields for bad in CORE):
            sender.send(methods[i % len(methods)], valid_path, {**base, name: bad}, files)
    for name in FILE_NAMES:
        for content in FILE_CONTENTS[:: 1 if name == "photo.png" else 5]:
            sender.send("POST", valid_path, base, {f: (name, content) for f in case.files}) if case.files else None

    # 3. Mixtures: a few fields malformed, lists where one value is expected, htmx or not.
    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(method=st.sampled_from(methods),
           overrides=st.dictionaries(st.sampled_from(fields or ["q"]), VALUES | st.lists(VALUES, max_size=3), max_size=3),
           drop=st.sets(st.sampled_from(sorted(base) or ["-"]), max_size=3),
           headers=st.sampled_from(HTMX),
           upload=st.tuples(st.sampled_from(FILE_NAMES), st.sampled_from(FILE_CONTENTS)))
    def mix(method, overrides, drop, headers, upload):
        data = {k: v for k, v in base.items() if k not in drop} | overrides
        status = sender.send(method, valid_path, data, {f: upload for f in case.files}, headers)
        assert status < 500, sender.failures[-1]

    mix()


@pytest.mark.parametrize("key", APP_KEYS)
def test_no_input_to_a_view_gives_a_5xx(key, walk_world, walk_no_network):
    pattern = BY_KEY[key]
    if walk.case_for(pattern) is None:
        pytest.fail(f"{key} has no Case in tests/security/walk.py")
    sender = Sender(walk_world)
    _walk_one(pattern, walk_world, sender, examples=8)
    assert not sender.failures, "\n".join(sender.failures)


def test_no_input_to_the_admin_gives_a_5xx(walk_world, walk_no_network):
    """Django's admin: the walk users are not staff, so each page is a redirect to its login."""
    sender = Sender(walk_world)
    for key in ADMIN_KEYS:
        pattern = BY_KEY[key]
        path = pattern.path(walk.admin_values(pattern))
        for bad in (HUGE, "x" * 5000, "\x00", "\ud800"):
            sender.send("GET", path, {"q": bad, "o": bad, "p": bad})
            sender.send("POST", path, {"username": bad, "password": bad})
    assert not sender.failures, "\n".join(sender.failures)

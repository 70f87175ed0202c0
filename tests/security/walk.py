"""Every URL pattern of the URL conf, and how the security walks request each one.

``patterns()`` walks ``get_resolver().url_patterns`` recursively, so a view added anywhere shows
up here; ``CASES`` says, per pattern, how to fill its path parameters from a WalkWorld, which
methods it answers, who may use it, which query/form fields it reads and a valid POST for an
owner. Both walks fail when a pattern has no case.

Scopes:
    public    anyone, logged in or not (the login page)
    team      the current team of the session (lists, creating things): another team's member
              sees their own team, never team A's objects
    object    one object of team A named in the path: anyone outside team A gets 403/404
    admin     Django's admin: staff only (no walk user is staff), so a redirect to its login
    share     a share link's pages (/s/<token>/...): whoever holds a live link sees that one
              prompt, logged in or not. The walk's link is to a prompt of team B, so nothing of
              team A may show; team A's own links, revoked, expired, guessed and pointed at
              other media (all 404, nothing shown), are walked by test_share_walk.py
"""

from __future__ import annotations

import ast
import inspect
import io
import re
import textwrap
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote_from_bytes

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern


@dataclass(frozen=True)
class Pattern:
    key: str  # "namespace:name", or the route for an unnamed pattern
    parts: tuple  # the RoutePattern/RegexPattern of each level
    callback: Callable
    namespace: str

    @property
    def params(self) -> dict[str, str]:
        """Path parameter -> converter name ("int", "str", "path", or "regex")."""
        out = {}
        for part in self.parts:
            if isinstance(part, RoutePattern):
                for conv, name in re.findall(r"<(?:(\w+):)?(\w+)>", part._route):
                    out[name] = conv or "str"
            else:
                for name in re.compile(part._regex).groupindex:
                    out[name] = "regex"
        return out

    def path(self, values: dict[str, str]) -> str:
        """The URL path with each parameter replaced by values[name] (already URL-safe)."""
        text = ""
        for part in self.parts:
            if isinstance(part, RoutePattern):
                text += re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), part._route)
            else:
                regex = part._regex.removeprefix("^").removesuffix("$").removesuffix("\\Z")
                text += re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(values[m.group(1)]), regex).replace("\\", "")
        return "/" + text


def patterns() -> list[Pattern]:
    out: list[Pattern] = []

    def visit(entries, parts, namespaces):
        for entry in entries:
            if isinstance(entry, URLResolver):
                visit(entry.url_patterns, parts + (entry.pattern,), namespaces + ([entry.namespace] if entry.namespace else []))
            elif isinstance(entry, URLPattern):
                here = parts + (entry.pattern,)
                route = "".join(str(p) for p in here)
                key = ":".join(namespaces + [entry.name]) if entry.name else route
                out.append(Pattern(key, here, entry.callback, ":".join(namespaces)))

    visit(get_resolver().url_patterns, (), [])
    return out


def keys_read(callback) -> set[str]:
    """The literal keys the view function reads from request.GET / request.POST / request.FILES."""
    func = inspect.unwrap(callback)
    func = getattr(func, "view_class", func)
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError):
        return set()
    keys = set()
    for node in ast.walk(tree):
        target = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("get", "getlist"):
            target, arg = node.func.value, node.args[0] if node.args else None
        elif isinstance(node, ast.Subscript):
            target, arg = node.value, node.slice
        else:
            continue
        if (isinstance(target, ast.Attribute) and target.attr in ("GET", "POST", "FILES")
                and isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
            keys.add(arg.value)
    return keys


# --- how to request each pattern --------------------------------------------------------------------


def _pk(attr: str, sub: str = "pk"):
    return lambda w: getattr(getattr(w, attr), sub)


def _editor_data(w) -> dict:
    from playground.prompts import editor

    return editor.form_data(w.version.content, {w.item.pk: w.item})


def _editor_fields() -> list[str]:
    from playground.prompts.forms import MessageForm, PartForm, PreviewSettingsForm, PromptForm

    names = list(PromptForm.base_fields) + ["m-0-" + n for n in MessageForm.base_fields]
    names += [f"m-0-p-{i}-{n}" for i in (0, 1) for n in PartForm.base_fields]
    names += ["pv-" + n for n in PreviewSettingsForm.base_fields]
    return names + ["varlist", "var-subject", "varref-subject", "action", "pick", "stamp", "varsig",
                    "m-99999999999999999999999-role", "m-0-p-99999999999999999999999-type"]


def _variant_fields() -> list[str]:
    from playground.uploads.forms import VariantForm

    return sorted({n for kind in ("image", "audio", "video", "pdf") for n in VariantForm(kind=kind).fields})


def _form_fields(path: str, **kw) -> Callable[[], list[str]]:
    def get():
        module, _, name = path.rpartition(".")
        cls = getattr(__import__(module, fromlist=[name]), name)
        return list(cls.base_fields)
    return get


def _zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return out.getvalue()


@dataclass
class Case:
    scope: str  # public | team | object | admin
    get: bool = False  # answers GET
    post: bool = False  # answers POST
    params: dict[str, Callable] = field(default_factory=dict)  # path parameter -> value from the world
    # POST changes what the team shares: a viewer gets 403 and nothing changes. False for POSTs
    # that only read (preflight) or touch the user's own state (their draft, session, logout).
    write: bool = False
    owner_only: bool = False  # even GET is for owners only (provider and model forms)
    fields: Callable[[], list[str]] = list  # query/form field names the view reads (besides keys_read)
    files: tuple[str, ...] = ()  # multipart file fields
    data: Callable | None = None  # valid query (GET) or form (POST) data for an owner
    # The owner's valid POST is destructive or one-off: run it last (the walk checks it once).
    destructive: bool = False


PROMPT = {"prompt_id": _pk("prompt")}
ITEM = {"item_id": _pk("item")}
RUN = {"run_id": _pk("run")}
RESULT = {"result_id": _pk("result")}
PROVIDER = {"provider_id": _pk("provider")}
MODEL = {"model_id": _pk("model")}


def _walk_invite(team, by, **kw):
    from tests.factories import make_invite

    invite, token = make_invite(team, by, **kw)
    invite.token = token
    return invite


def _probe_turns(w, data: dict) -> dict:
    """``data``, after giving the walk's users their probe turns back (one per user every 5 s)."""
    from playground.catalog import probe

    for user in (w.owner, w.viewer, w.outsider):
        probe.reset_turns(user)
    probe.reset_provider_turns(w.provider)
    return data


def _viewer_membership(w) -> int:
    return w.viewer.memberships.get(team=w.team).pk


def walk_share(w):
    """The walk's share link (made once per world): to a prompt of team B with an image of team B,
    so the link's pages hold nothing of team A. Returns (link, token, item)."""
    if "share" not in w.__dict__:
        from tests.factories import doc_with, make_png, make_prompt, make_share_link

        item = make_png(w.other_team, "walk-b-shared.png", width=24, height=18, user=w.outsider)
        prompt = make_prompt(w.other_team, "Walk B shared prompt", user=w.outsider,
                             doc=doc_with({"text": "Look"}, {"media": {"item": item.pk}}, name="Walk B shared prompt"),
                             media_items=[item])
        link, token = make_share_link(prompt, user=w.outsider)
        w.__dict__["share"] = (link, token, item)
    return w.__dict__["share"]


def walk_share_link(w):
    """A link of team A's prompt (the sharer's pages: revoke, expiry), made once per world."""
    if "share_a" not in w.__dict__:
        from tests.factories import make_share_link

        w.__dict__["share_a"] = make_share_link(w.prompt, version=w.version, runs=[w.run], user=w.owner)
    return w.__dict__["share_a"]


SHARE = {"token": lambda w: walk_share(w)[1]}
SHARE_ITEM = {**SHARE, "item_id": lambda w: walk_share(w)[2].pk}
SHARE_LINK = {"link_id": lambda w: walk_share_link(w)[0].pk}


def walk_eval(w):
    """Team A's evaluation set with one case (the world's image), and a finished import, made once
    per world. Returns (set, case, import)."""
    if "eval" not in w.__dict__:
        from playground.evals.models import EvalImport
        from tests.factories import make_eval_case, make_eval_set

        eval_set = make_eval_set(w.team, f"{w.markers[0]} set", user=w.owner)
        case = make_eval_case(eval_set, w.item, expected=f"{w.markers[0]}-expected", tags=[f"{w.markers[0]}-tag"])
        job = EvalImport.objects.create(set=eval_set, created_by=w.owner, status=EvalImport.Status.DONE,
                                        file_name=f"{w.markers[0]}.zip", total=1, done=1, added=1)
        w.__dict__["eval"] = (eval_set, case, job)
    return w.__dict__["eval"]


EVAL_SET = {"set_id": lambda w: walk_eval(w)[0].pk}
EVAL_CASE = {"case_id": lambda w: walk_eval(w)[1].pk}


def walk_eval_results(w):
    """Team A's evaluation run over the walk's set: one answer of the world's model (holding the
    marker), scored, reviewed by the owner; made once per world. Returns (eval run, result)."""
    if "eval_results" not in w.__dict__:
        from tests.factories import make_eval_answer, make_eval_run, make_review

        eval_set, case, _ = walk_eval(w)
        eval_run = make_eval_run(w.team, eval_set, w.version, [w.model], user=w.owner, name=f"{w.markers[0]} eval",
                                 scorers=[{"name": "label", "config": {}}])
        result = make_eval_answer(eval_run, case, w.model, f"{w.markers[0]} answer", cost=0.001, latency_ms=120,
                                  scores={"label": (1.0, True, f"{w.markers[0]} named it",
                                                    {"expected_label": "a", "predicted": "a"})})
        make_review(result, w.owner, verdict=True, comment=f"{w.markers[0]} review")
        w.__dict__["eval_results"] = (eval_run, result)
    return w.__dict__["eval_results"]


EVAL_RUN = {"eval_run_id": lambda w: walk_eval_results(w)[0].pk}


def _run_form(w) -> dict:
    return {"version": str(w.version.number), "models": [str(w.model.pk)], "var-subject": "a dog"}


CASES: dict[str, Case] = {
    "": Case("team", get=True),  # / redirects to the library
    # accounts
    "accounts:login": Case("public", get=True, post=True, fields=lambda: ["username", "password", "next"],
                           data=lambda w: {"username": "nobody", "password": "wrong"}),
    "accounts:logout": Case("team", post=True),
    "accounts:team": Case("team", get=True),
    "accounts:team_switch": Case("team", post=True, fields=lambda: ["team", "next"],
                                 data=lambda w: {"team": str(w.team.pk), "next": "/prompts/"}),
    # A blank name: a valid one switches the poster's session to their new team, which the walk
    # checks stays on the outsider's own (tests/accounts cover creating one).
    "accounts:team_create": Case("team", post=True, fields=_form_fields("playground.accounts.forms.TeamForm"),
                                 data=lambda w: {"name": ""}),
    # Leaving names the team in the form, like the switch: the walk leaves team B, whose only owner
    # is refused and whom nobody else belongs to (a viewer really may leave team A: tests/accounts).
    "accounts:team_leave": Case("team", post=True, fields=lambda: ["team"], data=lambda w: {"team": str(w.other_team.pk)}),
    "accounts:invite_create": Case("object", post=True, params={"team_id": _pk("team")}, write=True,
                                   fields=_form_fields("playground.accounts.forms.InviteForm"),
                                   data=lambda w: {"role": "viewer", "max_uses": "1", "days": "7"}),
    "accounts:member_add": Case("object", post=True, params={"team_id": _pk("team")}, write=True,
                                fields=_form_fields("playground.accounts.forms.AddMemberForm"),
                                data=lambda w: {"username": "walk_outsider", "role": "viewer"}),
    "accounts:invite_revoke": Case("object", post=True, params={"invite_id": lambda w: _walk_invite(w.team, w.owner).pk},
                                   write=True, destructive=True),
    "accounts:member_role": Case("object", post=True, params={"membership_id": _viewer_membership}, write=True,
                                 fields=_form_fields("playground.accounts.forms.RoleForm"), data=lambda w: {"role": "editor"}),
    "accounts:member_remove": Case("object", post=True, params={"membership_id": _viewer_membership}, write=True,
                                   destructive=True),
    # A bearer link: whoever holds a valid token may join, so the walk's token opens team B (of
    # many uses); nothing of team A shows or changes. Guessed, used-up, expired and revoked
    # tokens (all 404) are in tests/accounts/test_invites.py.
    "accounts:invite_accept": Case("team", get=True, post=True,
                                   params={"token": lambda w: _walk_invite(w.other_team, w.outsider, max_uses=50).token}),
    # library
    "uploads:library": Case("team", get=True, fields=_form_fields("playground.uploads.forms.LibraryFilterForm"),
                            data=lambda w: {"kind": "image", "q": "photo", "page": "1"}),
    "uploads:upload": Case("team", post=True, write=True, files=("file",)),
    "uploads:add_url": Case("team", post=True, write=True, fields=_form_fields("playground.uploads.forms.UrlAddForm"),
                            data=lambda w: {"url": "https://media.example.invalid/cat.png", "mode": "copy"}),
    "uploads:detail": Case("object", get=True, params=ITEM, fields=lambda: ["page"]),
    "uploads:page": Case("object", get=True, params={"item_id": _pk("pdf"), "page": lambda w: 2}),
    "uploads:delete": Case("object", post=True, params={"item_id": _pk("audio")}, write=True, destructive=True),
    "uploads:file": Case("object", get=True, params=ITEM),
    "uploads:thumbnail": Case("object", get=True, params=ITEM),
    "uploads:variants": Case("object", get=True, params=ITEM),
    "uploads:variant_create": Case("object", post=True, params=ITEM, write=True, fields=_variant_fields,
                                   data=lambda w: {"max_edge": "48", "format": "jpeg", "quality": "80"}),
    "uploads:variant_delete": Case("object", post=True, params={**ITEM, "variant_id": _pk("variant")}, write=True,
                                   destructive=True),
    "uploads:variant_file": Case("object", get=True, params={**ITEM, "variant_id": _pk("variant"),
                                                              "position": _pk("variant_file", "position")}),
    # prompts
    "prompts:list": Case("team", get=True),
    "prompts:create": Case("team", post=True, write=True, fields=_form_fields("playground.prompts.forms.NewPromptForm"),
                           data=lambda w: {"name": "A new one"}),
    "prompts:import": Case("team", post=True, write=True, files=("file",)),
    "prompts:edit": Case("object", get=True, params=PROMPT),
    "prompts:preview": Case("object", post=True, params=PROMPT, fields=_editor_fields, data=_editor_data),
    "prompts:action": Case("object", post=True, params=PROMPT, fields=_editor_fields,
                           data=lambda w: {**_editor_data(w), "action": "add_message"}),
    "prompts:save": Case("object", post=True, params=PROMPT, write=True, fields=_editor_fields,
                         data=lambda w: {**_editor_data(w), "system": "changed"}),
    "prompts:discard": Case("object", post=True, params=PROMPT),
    "prompts:picker": Case("object", get=True, params=PROMPT, data=lambda w: {"kind": "image", "target": "m-0-new"}),
    "prompts:upload": Case("object", post=True, params=PROMPT, write=True, files=("file",)),
    "prompts:body": Case("object", get=True, params={**PROMPT, "column": lambda w: "chat"},
                         data=lambda w: {"version": "1"}),
    "prompts:versions": Case("object", get=True, params=PROMPT),
    "prompts:diff": Case("object", get=True, params=PROMPT, fields=_form_fields("playground.prompts.forms.DiffForm"),
                         data=lambda w: {"a": "1", "b": "2", "view": "json"}),
    "prompts:restore": Case("object", post=True, params={**PROMPT, "number": lambda w: 1}, write=True),
    "prompts:export": Case("object", get=True, params={**PROMPT, "number": lambda w: 2}),
    # providers
    "catalog:list": Case("team", get=True),
    "catalog:create": Case("team", get=True, post=True, write=True, owner_only=True,
                           fields=_form_fields("playground.catalog.forms.ProviderForm"),
                           data=lambda w: {"name": "Another", "protocol": "chat", "base_url": "https://api.example.invalid/v1",
                                           "key_source": "none", "max_concurrency": "4", "timeout_s": "60"}),
    "catalog:detail": Case("object", get=True, params=PROVIDER),
    "catalog:edit": Case("object", get=True, post=True, params=PROVIDER, write=True, owner_only=True,
                         fields=_form_fields("playground.catalog.forms.ProviderForm"),
                         data=lambda w: {"name": "Renamed", "protocol": "chat", "base_url": "https://api.example.invalid/v1",
                                         "key_source": "stored", "max_concurrency": "4", "timeout_s": "60"}),
    "catalog:delete": Case("object", get=True, post=True, params=PROVIDER, write=True, owner_only=True, destructive=True),
    "catalog:model_add": Case("object", post=True, params=PROVIDER, write=True,
                              fields=_form_fields("playground.catalog.forms.ProviderModelForm"),
                              data=lambda w: {"name": "another-model", "inputs": ["image"]}),
    "catalog:preset_models_add": Case("object", post=True, params=PROVIDER, write=True,
                                      data=lambda w: {"models": ["gpt-4o-mini"]}),
    # Test connection and the model list: sent to the world's provider (offline in the walks: a
    # connection error, shown as a page); each POST gets a fresh turn of the per-user limit.
    "catalog:test": Case("object", post=True, params=PROVIDER, write=True, fields=lambda: ["model"],
                         data=lambda w: _probe_turns(w, {})),
    "catalog:models_fetch": Case("object", post=True, params=PROVIDER, write=True,
                                 data=lambda w: _probe_turns(w, {})),
    "catalog:models_from_list": Case("object", post=True, params=PROVIDER, write=True, fields=lambda: ["models"],
                                     data=lambda w: {"models": ["walk-listed-model"]}),
    "catalog:model_row": Case("object", get=True, params=MODEL),
    "catalog:model_edit": Case("object", get=True, post=True, params=MODEL, write=True, owner_only=True,
                               fields=_form_fields("playground.catalog.forms.ProviderModelForm"),
                               data=lambda w: {"name": "renamed-model", "inputs": ["image"]}),
    "catalog:model_toggle": Case("object", post=True, params=MODEL, write=True),
    "catalog:model_delete": Case("object", post=True, params=MODEL, write=True, destructive=True),
    # runs
    "runs:list": Case("team", get=True, fields=lambda: ["model", "version", "since", "until"],
                      data=lambda w: {"since": "2020-01-01", "until": "2999-01-01"}),
    "runs:export": Case("team", get=True, params={"fmt": lambda w: "csv"}, fields=lambda: ["model", "since", "until"]),
    "runs:history": Case("object", get=True, params=PROMPT, fields=lambda: ["model", "version", "since", "until"],
                         data=lambda w: {"version": "2"}),
    "runs:prompt_export": Case("object", get=True, params={**PROMPT, "fmt": lambda w: "json"},
                               fields=lambda: ["model", "version", "since", "until"]),
    "runs:new": Case("object", get=True, params=PROMPT, fields=lambda: ["version", "models", "var-subject"],
                     data=_run_form),
    "runs:preflight": Case("object", post=True, params=PROMPT, fields=lambda: ["version", "models", "var-subject"],
                           data=_run_form),
    "runs:start": Case("object", post=True, params=PROMPT, write=True, fields=lambda: ["version", "models", "var-subject"],
                       data=_run_form),
    "runs:detail": Case("object", get=True, params=RUN),
    "runs:progress": Case("object", get=True, params=RUN, data=lambda w: {"known": f"{w.result.pk}:queued", "outputs": "1"}),
    "runs:cancel": Case("object", post=True, params=RUN, write=True),
    "runs:rerun": Case("object", post=True, params=RUN, write=True),
    "runs:diff": Case("object", get=True, params=RUN, fields=lambda: ["a", "b"],
                      data=lambda w: {"a": str(w.result.pk), "b": str(w.other_result.pk)}),
    "runs:request": Case("object", get=True, params=RESULT),
    "runs:body": Case("object", get=True, params=RESULT, data=lambda w: {"inline": "1"}),
    "runs:response": Case("object", get=True, params=RESULT, data=lambda w: {"download": "1"}),
    "runs:resend": Case("object", post=True, params=RESULT, write=True),
    # share links: the sharer's side (team A's prompt and links), then the visitor's (a bearer link)
    "sharing:manage": Case("object", get=True, params=PROMPT),
    "sharing:create": Case("object", post=True, params=PROMPT, write=True,
                           fields=_form_fields("playground.sharing.forms.LinkForm"),
                           data=lambda w: {"version": "latest", "runs": [str(w.run.pk)], "expires": "7d"}),
    "sharing:expiry": Case("object", post=True, params=SHARE_LINK, write=True,
                           fields=_form_fields("playground.sharing.forms.ExpiryForm"), data=lambda w: {"expires": "1d"}),
    "sharing:revoke": Case("object", post=True, params=SHARE_LINK, write=True, destructive=True),
    "sharing:page": Case("share", get=True, params=SHARE),
    "sharing:file": Case("share", get=True, params=SHARE_ITEM),
    "sharing:thumbnail": Case("share", get=True, params=SHARE_ITEM),
    # Forking into team A: the owner may, a viewer is refused (403), team B's owner gets a 404.
    "sharing:fork": Case("share", get=True, post=True, params=SHARE, write=True, fields=lambda: ["team"],
                         data=lambda w: {"team": str(w.team.pk)}),
    # evaluation sets
    "evals:list": Case("team", get=True),
    "evals:create": Case("team", post=True, write=True, fields=_form_fields("playground.evals.forms.NewSetForm"),
                         data=lambda w: {"name": "Walk new set", "expected_kind": "label"}),
    "evals:detail": Case("object", get=True, params=EVAL_SET, fields=lambda: ["tag", "q", "page"],
                         data=lambda w: {"tag": f"{w.markers[0]}-tag", "q": "expected"}),
    "evals:edit": Case("object", post=True, params=EVAL_SET, write=True, fields=_form_fields("playground.evals.forms.SetForm"),
                       data=lambda w: {"name": "Walk renamed", "description": "", "expected_kind": "label",
                                       "labels": "cat: kitten", "scorers": '[{"type": "exact"}]'}),
    "evals:delete": Case("object", post=True, params=EVAL_SET, write=True, destructive=True),
    "evals:upload": Case("object", post=True, params=EVAL_SET, write=True, files=("file",)),
    "evals:picker": Case("object", get=True, params=EVAL_SET, fields=lambda: ["kind", "q", "page"]),
    "evals:from_library": Case("object", post=True, params=EVAL_SET, write=True, fields=lambda: ["items"],
                               data=lambda w: {"items": [str(w.audio.pk)]}),
    "evals:import": Case("object", post=True, params=EVAL_SET, write=True, files=("file",)),
    "evals:export": Case("object", get=True, params=EVAL_SET),
    "evals:import_status": Case("object", get=True, params={"import_id": lambda w: walk_eval(w)[2].pk}),
    "evals:case_row": Case("object", get=True, params=EVAL_CASE),
    "evals:case_edit": Case("object", get=True, post=True, params=EVAL_CASE, write=True,
                            fields=_form_fields("playground.evals.forms.CaseForm"),
                            data=lambda w: {"expected": "a cat", "kind": "", "tags": "a; b", "fields": "color: red"}),
    "evals:case_delete": Case("object", post=True, params=EVAL_CASE, write=True, destructive=True),
    # evaluation results and review: every member reviews (viewers too), so the review POST is no "write"
    "evalruns:list": Case("team", get=True),
    "evalruns:new": Case("team", get=True, post=True, write=True,
                         fields=lambda: ["set", "version", "models", "arms", "samples", "budget", "reuse", "name", "action",
                                         "var-subject", "judge"],
                         data=lambda w: {"set": str(walk_eval(w)[0].pk), "version": str(w.version.pk),
                                         "models": [str(w.model.pk)], "action": "preflight"}),
    "evalruns:detail": Case("object", get=True, params=EVAL_RUN),
    "evalruns:progress": Case("object", get=True, params=EVAL_RUN),
    "evalruns:cancel": Case("object", post=True, params=EVAL_RUN, write=True),
    "evalruns:rescore": Case("object", post=True, params=EVAL_RUN, write=True, fields=lambda: ["scorers"]),
    "evalruns:results": Case("object", get=True, params=EVAL_RUN, fields=lambda: ["scorer", "col"]),
    "evalruns:grid": Case("object", get=True, params=EVAL_RUN, fields=lambda: ["filter", "tag", "cases", "scorer", "page"],
                          data=lambda w: {"filter": "failures", "tag": f"{w.markers[0]}-tag", "page": "1"}),
    "evalruns:compare": Case("object", get=True, params=EVAL_RUN, fields=lambda: ["a", "b", "scorer"]),
    "evalruns:export": Case("object", get=True, params={**EVAL_RUN, "fmt": lambda w: "csv"}),
    "evalruns:review_queue": Case("object", get=True, params=EVAL_RUN, fields=lambda: ["blind", "at"],
                                  data=lambda w: {"blind": "1"}),
    "evalruns:review": Case("object", post=True, params={"result_id": lambda w: walk_eval_results(w)[1].pk},
                            fields=lambda: ["verdict", "rating", "comment", "blind", "back"],
                            data=lambda w: {"verdict": "correct", "rating": "4", "comment": "fine"}),
}

# Served without any URL pattern or login: static files (WhiteNoise, before every view). They
# hold no team data; the walk checks that anonymous requests get them (or a 404), not a login.
PUBLIC_PATHS = ["/static/app.css", "/static/vendor/htmx.min.js"]

ADMIN = Case("admin", get=True, post=True)
ADMIN_PUBLIC = {"admin:login", "admin:logout"}  # for anyone (logging out is harmless); the rest is staff only


def case_for(pattern: Pattern) -> Case | None:
    if pattern.namespace == "admin":
        # Django's admin, guarded as a whole by admin_view (staff only); its patterns follow the
        # registered models, so they are walked with generic values instead of one case each.
        if pattern.key in ADMIN_PUBLIC:
            return Case("public", get=True, post=True)
        return ADMIN
    return CASES.get(pattern.key)


def admin_values(pattern: Pattern) -> dict[str, str]:
    values = {}
    for part in pattern.parts:
        if isinstance(part, RegexPattern):
            for name, alternatives in re.findall(r"\(\?P<(\w+)>([^)]*)\)", part._regex):
                values[name] = alternatives.split("|")[0] if name == "app_label" else "walk"
    for name in pattern.params:
        values.setdefault(name, "1")
    return values


def valid_path(pattern: Pattern, world) -> str:
    case = case_for(pattern)
    if case.scope == "admin" or pattern.namespace == "admin":
        return pattern.path(admin_values(pattern))
    return pattern.path({name: case.params[name](world) for name in pattern.params})


# --- raw request bodies (bytes everywhere, so invalid UTF-8 and lone surrogates can be sent) -------


def to_bytes(value) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogatepass")


def urlencoded(data: dict) -> str:
    pairs = []
    for key, value in data.items():
        for v in value if isinstance(value, list) else [value]:
            pairs.append(quote_from_bytes(to_bytes(key)) + "=" + quote_from_bytes(to_bytes(v)))
    return "&".join(pairs)


BOUNDARY = "walkBoundary7MA4YWxkTrZu0gW"


def multipart(data: dict, files: dict[str, tuple]) -> bytes:
    """files: field -> (file name, content), both str or bytes."""
    out = []
    for key, value in data.items():
        for v in value if isinstance(value, list) else [value]:
            out += [b"--" + BOUNDARY.encode(), b'Content-Disposition: form-data; name="' + to_bytes(key) + b'"', b"", to_bytes(v)]
    for key, (name, content) in files.items():
        out += [b"--" + BOUNDARY.encode(),
                b'Content-Disposition: form-data; name="' + to_bytes(key) + b'"; filename="' + to_bytes(name) + b'"',
                b"Content-Type: application/octet-stream", b"", to_bytes(content)]
    out += [b"--" + BOUNDARY.encode() + b"--", b""]
    return b"\r\n".join(out)


MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"

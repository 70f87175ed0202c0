"""A small shapes evaluation for the evalruns tests: six 800x600 PNG shapes in a label set, a
prompt with an image slot and a {{shape}} hint, and fake recogniser models on the fake provider.
Imported by tests/evalruns/test_runs_*.py (fixtures)."""

import base64
import io
import json
from dataclasses import dataclass
from decimal import Decimal

import pytest
from PIL import Image

from playground.evalruns import services, starting
from tests import eval_data
from tests.factories import doc_with, make_eval_case, make_eval_set, make_item, make_model, make_provider, make_version


@dataclass
class Shapes:
    team: object
    user: object
    eval_set: object
    cases: list
    version: object
    models: list
    provider: object


def shapes_world(team, user, server, tmp_path, *, n=6, models=("fake-see-err=0",), size=(800, 600)) -> Shapes:
    made = eval_data.make_shapes(tmp_path, n=n, size=size)
    eval_set = make_eval_set(team, "Shapes", user=user, expected_kind="label",
                             labels=[{"label": lbl, "synonyms": []} for lbl in eval_data.shape_labels()])
    cases = []
    for c in made:
        item = make_item(team, c.path.read_bytes(), c.path.name)
        cases.append(make_eval_case(eval_set, item, expected=c.expected, fields=c.fields, tags=c.tags))
    version = make_version(team, doc_with({"text": "Name the colour and shape ({{shape}}?)."},
                                          {"media_variable": "image", "kind": "image"}, variables={"shape": "any"}), user)
    provider = make_provider(team, server, "chat")
    pms = [make_model(provider, name) for name in models]
    return Shapes(team, user, eval_set, cases, version, pms, provider)


def start(w: Shapes, *, arms=("as-is",), samples=1, budget=None, reuse=False, models=None):
    return starting.create_eval_run(
        team=w.team, user=w.user, eval_set=w.eval_set, version=w.version,
        bindings=services.default_bindings(w.version, w.eval_set), provider_models=models or w.models,
        arms=services.clean_arms(list(arms)), samples=samples, budget_usd=Decimal(budget) if budget else None,
        reuse_identical=reuse,
    )


def images_in_body(raw: bytes) -> list[Image.Image]:
    """Every base64 image in a Chat body (image_url data URLs), decoded."""
    doc = json.loads(raw)
    out = []
    for m in doc["messages"]:
        for p in m["content"] if isinstance(m["content"], list) else []:
            if p.get("type") == "image_url":
                url = p["image_url"]["url"]
                out.append(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))
    return out


@pytest.fixture
def world(team, user, provider_server, tmp_path):
    return shapes_world(team, user, provider_server, tmp_path)

"""A small evaluation with hand-checked numbers, made row by row (nothing sent), shared by the
results and review tests.

Six label cases (2 circles, 2 squares, 2 stars), three models, one arm, scorer "label":
  A: right on cases 1-4, names "red circle" for case 5 (a blue square), fails on case 6.
     cost 0.01 per answer sent, latency 100..500 ms, 10 tokens in / 2 out each.
  B: right everywhere except case 3, which reviewer 1 and 2 both mark correct (overrides the
     scorer); on case 1 the reviewers split (a tie: the scorer's "right" stands). cost 0.02 each.
  C: right only on case 1; cost 0.03 each (dominated by B: not on the Pareto front).
Reviews on A: case 5 incorrect by both, case 1 correct by both.
"""

from dataclasses import dataclass

from playground.accounts.models import Membership
from tests.factories import (
    doc_with,
    make_eval_answer,
    make_eval_case,
    make_eval_run,
    make_eval_set,
    make_member,
    make_model,
    make_png,
    make_provider,
    make_review,
    make_version,
)

LABELS = [{"label": "red circle", "synonyms": []}, {"label": "blue square", "synonyms": []},
          {"label": "green star", "synonyms": []}]
EXPECTED = ["red circle", "blue square", "red circle", "green star", "blue square", "green star"]
TAGS = [["circle"], ["square"], ["circle"], ["star"], ["square"], ["star"]]


@dataclass
class World:
    team: object
    editor: object
    viewer: object
    reviewer2: object
    eval_set: object
    cases: list
    models: list
    eval_run: object
    answers: dict  # (model letter, case index 0-5) -> Result


def label_score(expected, predicted):
    passed = predicted == expected
    return (1.0 if passed else 0.0, passed, f"named {predicted}" if predicted else "named no label",
            {"expected_label": expected, "predicted": predicted})


def make_world() -> World:
    editor = make_member(role=Membership.Role.EDITOR)
    team = editor.memberships.get().team
    viewer = make_member(team, Membership.Role.VIEWER)
    reviewer2 = make_member(team, Membership.Role.EDITOR)
    eval_set = make_eval_set(team, "Shapes", user=editor, expected_kind="label", labels=LABELS)
    cases = []
    for i, (expected, tags) in enumerate(zip(EXPECTED, TAGS, strict=True)):
        cases.append(make_eval_case(eval_set, make_png(team, f"shape{i}.png", width=20 + i, height=16), expected=expected,
                                    tags=tags))
    provider = make_provider(team, name="Fake")
    models = [make_model(provider, name) for name in ("model-a", "model-b", "model-c")]
    version = make_version(team, doc_with({"text": "What shape?"}), user=editor)
    eval_run = make_eval_run(team, eval_set, version, models, user=editor, name="Shapes run",
                             scorers=[{"name": "label", "config": {"labels": LABELS}}])
    answers = {}
    for i, case in enumerate(cases):
        exp = EXPECTED[i]
        # A
        if i == 5:
            answers["A", i] = make_eval_answer(eval_run, case, models[0], "", status="failed")
        else:
            pred = "red circle" if i == 4 else exp
            answers["A", i] = make_eval_answer(eval_run, case, models[0], f"a {pred}", cost=0.01, latency_ms=100 * (i + 1),
                                               tokens=(10, 2), scores={"label": label_score(exp, pred)})
        # B
        pred = "green star" if i == 2 else exp
        answers["B", i] = make_eval_answer(eval_run, case, models[1], f"a {pred}", cost=0.02, latency_ms=200,
                                           tokens=(10, 2), scores={"label": label_score(exp, pred)})
        # C
        pred = exp if i == 0 else ("blue square" if exp != "blue square" else "green star")
        answers["C", i] = make_eval_answer(eval_run, case, models[2], f"a {pred}", cost=0.03, latency_ms=300,
                                           tokens=(10, 2), scores={"label": label_score(exp, pred)})
    for user in (editor, reviewer2):
        make_review(answers["B", 2], user, verdict=True)
        make_review(answers["A", 4], user, verdict=False)
        make_review(answers["A", 0], user, verdict=True)
    make_review(answers["B", 0], editor, verdict=True)
    make_review(answers["B", 0], reviewer2, verdict=False)
    return World(team, editor, viewer, reviewer2, eval_set, cases, models, eval_run, answers)

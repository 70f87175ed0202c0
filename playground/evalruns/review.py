"""Human review of an evaluation's outputs: verdicts, ratings, comments, blind order, the queue.

    save_review(result, user, verdict="correct", rating="4", comment="", blind=True)  # upsert, one per reviewer
    order = review_order(data, user.pk, blind=True)    # result ids: cases in order, each case's models
    queue_next(order, reviewed_ids, after=result_id)   # the next result this reviewer has not reviewed

Anyone in the run's team reviews, viewers included (the issue: a viewer "sees, reviews, rates").
Blind mode hides which model answered and shuffles the order of a case's answers, seeded by case and
reviewer: the same reviewer always sees the same order, two reviewers see different ones, and the
model's name shows once that reviewer has given the result a verdict or a rating.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Sequence

from django.db import transaction

MAX_COMMENT = 5_000


class Invalid(ValueError):
    """A review that cannot be saved; the message says why in plain words."""


def clean_review(verdict: str | None, rating: str | None, comment: str | None) -> tuple[bool | None, int | None, str]:
    verdict = (verdict or "").strip().lower()
    if verdict not in ("", "correct", "incorrect"):
        raise Invalid("The verdict must be correct or incorrect.")
    value = None if not verdict else verdict == "correct"
    rating = (rating or "").strip()
    score = None
    if rating:
        if rating not in ("1", "2", "3", "4", "5"):
            raise Invalid("The rating must be a whole number from 1 to 5.")
        score = int(rating)
    comment = (comment or "").replace("\x00", "").strip()
    if len(comment) > MAX_COMMENT:
        raise Invalid(f"The comment is longer than {MAX_COMMENT:,} characters.")
    if value is None and score is None and not comment:
        raise Invalid("Give a verdict, a rating or a comment.")
    return value, score, comment


def item_of(result):
    """The EvalItem a result answers (its run's), or None for a result outside any evaluation."""
    from playground.evalruns.models import EvalItem

    try:
        return result.run.eval_item
    except EvalItem.DoesNotExist:
        return None


def save_review(result, user, *, verdict=None, rating=None, comment=None, blind=False):
    """Create or replace ``user``'s review of ``result`` (one per reviewer). Raises Invalid."""
    from playground.evalruns.models import Review

    item = item_of(result)
    if item is None:
        raise Invalid("This result is not part of an evaluation.")
    value, score, text = clean_review(verdict, rating, comment)
    with transaction.atomic():
        review, _ = Review.objects.update_or_create(
            result=result, reviewer=user,
            defaults={"eval_run_id": item.eval_run_id, "case_id": item.case_id, "verdict": value,
                      "rating": score, "comment": text, "blind": bool(blind)})
    return review


def delete_review(result, user) -> int:
    from playground.evalruns.models import Review

    return Review.objects.filter(result=result, reviewer=user).delete()[0]


def blind_order(case_id: int, reviewer_id: int, result_ids: Sequence[int]) -> list[int]:
    """``result_ids`` shuffled by a generator seeded with the case and the reviewer: stable for one
    reviewer, different between reviewers (random.Random seeds a str through SHA-512, the same in
    every process)."""
    ids = sorted(result_ids)
    random.Random(f"prism-blind:{case_id}:{reviewer_id}").shuffle(ids)
    return ids


def review_order(results: Iterable[dict], case_ids: Sequence[int], columns: Sequence, reviewer_id: int,
                 blind: bool) -> list[int]:
    """Every result id in review order: the cases in order; within a case, the columns' order (and
    samples), or the blind order."""
    col_pos = {c.key: i for i, c in enumerate(columns)}
    by_case: dict[int, list[dict]] = defaultdict(list)
    for r in results:
        by_case[r["case_id"]].append(r)
    order = []
    for cid in case_ids:
        rows = by_case.get(cid, [])
        if blind:
            order += blind_order(cid, reviewer_id, [r["id"] for r in rows])
        else:
            order += [r["id"] for r in sorted(rows, key=lambda r: (col_pos.get(r["col"], 999), r["sample"], r["id"]))]
    return order


def queue_next(order: Sequence[int], reviewed: set[int], after: int | None = None) -> int | None:
    """The first result after ``after`` (from the start when None) that is not reviewed, wrapping
    round to the start; None when every one is."""
    start = order.index(after) + 1 if after in order else 0
    for rid in list(order[start:]) + list(order[:start]):
        if rid not in reviewed and rid != after:
            return rid
    return None


def queue_previous(order: Sequence[int], at: int | None) -> int | None:
    if at in order:
        i = order.index(at)
        return order[i - 1] if i > 0 else None
    return None

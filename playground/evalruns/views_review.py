"""Human review: the queue (one answer at a time, optionally blind, keyboard driven by
static/evalruns-review.js) and saving a review. Every team member reviews, viewers included (the
issue: a viewer "sees, reviews, rates"); another team's run or result is a 404. GET writes nothing."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from playground.accounts.teams import require_membership
from playground.evalruns import results, review
from playground.evalruns.models import Review
from playground.evalruns.views_results import get_eval_run
from playground.lib.ids import parse_id
from playground.runs.markdown import render_markdown
from playground.runs.models import Result


def _queue_url(eval_run_id, at=None, blind=False) -> str:
    query = {k: v for k, v in (("at", at), ("blind", "1" if blind else "")) if v}
    return reverse("evalruns:review_queue", args=[eval_run_id]) + (f"?{urlencode(query)}" if query else "")


@require_GET
@never_cache
def queue(request, eval_run_id: int):
    eval_run, membership = get_eval_run(request, eval_run_id)
    blind = request.GET.get("blind") == "1"
    data = results.load(eval_run)
    order = review.review_order(data.results, data.case_ids, data.columns, request.user.pk, blind)
    mine = {rid: (v, r) for rid, v, r in Review.objects.filter(eval_run=eval_run, reviewer=request.user)
            .values_list("result_id", "verdict", "rating")}
    at = parse_id(request.GET.get("at") or "")
    if at not in order:
        at = review.queue_next(order, set(mine))
    context = {"eval_run": eval_run, "blind": blind, "total": len(order), "done": len(mine), "done_all": at is None}
    if at is not None:
        result = Result.objects.select_related("run__eval_item__case").get(pk=at)
        case = result.run.eval_item.case
        in_case = {r["id"] for r in data.results if r["case_id"] == case.pk}
        case_results = [rid for rid in order if rid in in_case]
        own = Review.objects.filter(result=result, reviewer=request.user).first()
        col = next((c for c in data.columns if c.key == results.column_key(result.provider_model_id, result.run.eval_item.arm)), None)
        scores = list(result.eval_scores.order_by("scorer")) if (own or not blind) else []
        nxt, prev = review.queue_next(order, set(mine), at), review.queue_previous(order, at)
        context.update({
            "result": result, "case": case, "media": case.ordered_media(), "own": own,
            "reveal": not blind or own is not None, "column": col, "scores": scores,
            "output_html": render_markdown(result.output_text),
            "answer_number": case_results.index(at) + 1 if at in case_results else 1, "answers": len(case_results),
            "next_url": _queue_url(eval_run.pk, nxt, blind) if nxt else "",
            "previous_url": _queue_url(eval_run.pk, prev, blind) if prev else "",
            "position": order.index(at) + 1,
        })
    return render(request, "evalruns/review/queue.html", context)


@require_POST
def save(request, result_id: int):
    if parse_id(result_id) is None:
        raise Http404("Not found")
    result = get_object_or_404(Result.objects.select_related("run"), pk=result_id)
    item = review.item_of(result)
    if item is None:
        raise Http404("Not found")
    require_membership(request, result.run.team_id)  # 404 for another team's; viewers may review
    blind = request.POST.get("blind") == "1"
    back = request.POST.get("back")
    try:
        review.save_review(result, request.user, verdict=request.POST.get("verdict"), rating=request.POST.get("rating"),
                           comment=request.POST.get("comment"), blind=blind)
    except review.Invalid as exc:
        if request.htmx:
            return HttpResponse(str(exc), status=400)
        messages.error(request, f"The review was not saved: {exc}")
    if request.htmx:
        return render(request, "evalruns/review/_saved.html", {
            "result": result, "own": Review.objects.filter(result=result, reviewer=request.user).first()})
    if back == "grid":
        return redirect(reverse("evalruns:grid", args=[item.eval_run_id]) + f"#case-{item.case_id}")
    return redirect(_queue_url(item.eval_run_id, result.pk, blind))

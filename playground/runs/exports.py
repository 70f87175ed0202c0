"""Run history as CSV and JSON: one row per result, streamed.

    rows = exports.csv_rows(Result.objects.filter(run__team=team))   # an iterator of str
    json_text = "".join(exports.json_chunks(results))

The columns are what a comparison needs (tokens, cost, latency, finish reason, error, output)
and nothing that could carry a secret: no request headers, no URL query (Gemini's ``?key=``),
no request body. A cell that a spreadsheet would read as a formula (model output starting with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is prefixed with ``'`` in the CSV, as
OWASP advises; the JSON keeps the text as it is.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from decimal import Decimal

from playground.runs.display import OUTCOMES, Usage
from playground.runs.reconcile import pct_error

FIELDS = (
    "run_id", "created", "prompt", "version", "result_id", "provider", "protocol", "model", "status", "outcome",
    "input_tokens", "estimated_input_tokens", "estimate_error_pct", "output_tokens", "cached_input_tokens",
    "reasoning_tokens", "total_tokens", "cost_usd",
    "latency_first_byte_ms", "latency_total_ms", "finish_reason", "attempts", "error_status", "error_type",
    "error_message", "output_text",
)  # fmt: skip
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def row(result) -> dict:
    """The exported fields of one Result (select_related run__prompt_version__prompt)."""
    usage = Usage.of(result)
    estimated = (result.estimate or {}).get("total")  # the preview's estimate, kept at start_run
    error = pct_error(estimated, result.input_tokens)
    run = result.run
    version = run.prompt_version
    return {
        "run_id": run.pk,
        "created": run.created_at.isoformat(),
        "prompt": version.prompt.name,
        "version": version.number,
        "result_id": result.pk,
        "provider": result.provider_name,
        "protocol": result.protocol,
        "model": result.model_name,
        "status": result.status,
        "outcome": OUTCOMES.get(result.status, result.status),  # counted as the run page and the history count it
        "input_tokens": usage.input,
        "estimated_input_tokens": estimated,
        "estimate_error_pct": None if error is None else round(error, 1),
        "output_tokens": usage.output,
        "cached_input_tokens": usage.cached,
        "reasoning_tokens": usage.reasoning,
        "total_tokens": usage.total,
        "cost_usd": result.cost_usd,
        "latency_first_byte_ms": result.latency_first_byte_ms,
        "latency_total_ms": result.latency_total_ms,
        "finish_reason": result.finish_reason,
        "attempts": len(result.attempts or []),
        "error_status": result.error_status,
        "error_type": result.error_type,
        "error_message": result.error_message,
        "output_text": result.output_text,
    }


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value else "0"
    if isinstance(value, str):
        return "'" + value if value.startswith(_FORMULA_START) else value
    return str(value)


class _Line:
    def __init__(self):
        self.text = ""

    def write(self, text: str) -> None:
        self.text = text


def csv_rows(results: Iterable) -> Iterator[str]:
    """The CSV text, a header line then one line per result."""
    line = _Line()
    writer = csv.writer(line)
    writer.writerow(FIELDS)
    yield "\ufeff" + line.text  # a BOM, so spreadsheet programs read UTF-8 as UTF-8
    for result in _iterate(results):
        r = row(result)
        writer.writerow([_cell(r[f]) for f in FIELDS])
        yield line.text


def _json_value(value):
    if isinstance(value, Decimal):
        return float(value)  # 8 decimal places of USD fit a double exactly enough
    return value


def json_chunks(results: Iterable) -> Iterator[str]:
    """A JSON document: {"fields": [...], "results": [{...}, ...]}, streamed one result at a time."""
    yield '{"fields": ' + json.dumps(list(FIELDS)) + ', "results": ['
    first = True
    for result in _iterate(results):
        r = {k: _json_value(v) for k, v in row(result).items()}
        yield ("\n  " if first else ",\n  ") + json.dumps(r, ensure_ascii=False)
        first = False
    yield "\n]}\n"


def _iterate(results):
    return results.iterator(chunk_size=500) if hasattr(results, "iterator") else iter(results)



"""What a scorer returns, and how a scorer describes its settings (for forms and validation)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Score:
    """One scorer's verdict on one output.

    value: the scorer's number, or None when it could not score (the explanation says why). For the
      pass/fail scorers 1.0 or 0.0; for JSON field equality the share of fields equal; for a 1–5 judge
      (rating - 1) / 4; for WER and CER the error rate itself (lower is better, and it can pass 1.0
      when the output inserts words: the spec's ``higher_is_better`` says which way is good).
    passed: right or wrong, or None when the scorer has no threshold set (WER without max_wer) or
      could not score.
    explanation: one plain sentence for people.
    details: JSON-safe facts for screens: the predicted label, a WER alignment, per-field results...
    """

    value: float | None
    passed: bool | None
    explanation: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "passed": self.passed, "explanation": self.explanation, "details": self.details}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Score:
        return cls(data.get("value"), data.get("passed"), data.get("explanation", ""), data.get("details") or {})


@dataclass(frozen=True)
class ConfigField:
    """One setting of a scorer. type: "bool", "int", "float", "str", "text" (several lines), "choice"
    (one of ``choices``), "str_list" (a list of strings), "labels" (a list of labels, or a mapping of
    label to its synonyms), "json" (any JSON value, e.g. a schema)."""

    name: str
    type: str
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class ScorerSpec:
    """A scorer as a screen shows it. kind: "pass_fail", "fraction" (JSON fields), "error_rate" (WER,
    CER; lower is better) or "judge" (needs a model's answer; see playground/scoring/judge.py)."""

    name: str
    title: str
    help: str
    kind: str
    fields: tuple[ConfigField, ...]
    expected: str  # what the case's expected answer must be, in words
    higher_is_better: bool = True


class ConfigError(ValueError):
    """A scorer's configuration is not valid; ``errors`` lists every problem in plain words."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors

"""Every scorer by name, with its settings, so a screen can draw a form and check a config.

    SCORERS["exact"].fields            -> the ConfigFields to draw
    validate_config("regex", config)   -> [] or ["pattern: ..."]  (plain words, one per problem)
    make_scorer("wer", config)         -> a callable (output, expected) -> Score, built once per column
    score("exact", config, output, expected) -> Score

A config is a JSON object; missing settings take their defaults, unknown ones are errors.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from playground.scoring import judge, scorers
from playground.scoring.normalise import DEFAULT_NORMALISER, NORMALISERS
from playground.scoring.types import ConfigError, ConfigField, Score, ScorerSpec

_TEXT_OPTIONS = (
    ConfigField("ignore_case", "bool", True, "Ignore upper and lower case."),
    ConfigField("ignore_whitespace", "bool", True, "Treat runs of spaces and line breaks as one space; ignore them at the ends."),
    ConfigField("ignore_punctuation", "bool", True, "Treat punctuation as a space."),
    ConfigField("unicode_nfkc", "bool", True, "Unicode NFKC: full-width letters, ligatures and the like as their plain form."),
)
_RATE_OPTIONS = (
    ConfigField("normaliser", "choice", DEFAULT_NORMALISER, "Text normaliser applied to both transcripts first.",
                choices=tuple(NORMALISERS)),
    ConfigField("max_rate", "float", None, "Pass when the rate is at most this (0.1 = 10%); empty: no pass or fail, "
                "only the rate.", minimum=0.0),
)

SCORERS: dict[str, ScorerSpec] = {s.name: s for s in [
    ScorerSpec("exact", "Exact match", "The output equals the expected answer (one of them, if a list).", "pass_fail",
               _TEXT_OPTIONS, "text, or a list of accepted texts"),
    ScorerSpec("contains", "Contains", "The output contains the expected answer.", "pass_fail",
               (*_TEXT_OPTIONS,
                ConfigField("whole_word", "bool", False, "Only as whole words (\"cat\" not in \"concatenate\")."),
                ConfigField("require_all", "bool", False, "With a list of expected texts: all must appear, not just one.")),
               "text, or a list of texts"),
    ScorerSpec("regex", "Regular expression", "The output matches a regular expression.", "pass_fail", (
        ConfigField("pattern", "str", "", f"The pattern (Python syntax, at most {scorers.REGEX_MAX_PATTERN:,} "
                    "characters); empty: the case's expected answer is the pattern."),
        ConfigField("mode", "choice", "search", "search: anywhere in the output; fullmatch: the whole output.",
                    choices=("search", "fullmatch")),
        ConfigField("ignore_case", "bool", False, "Ignore upper and lower case."),
        ConfigField("expect_match", "bool", True, "Pass when it matches; off: pass when it does not."),
    ), "a pattern, when the config has none; otherwise unused"),
    ScorerSpec("label", "One of a list of labels", "Which label the output names, by whole words, with synonyms. "
               "Naming several labels is ambiguous and wrong.", "pass_fail", (
        ConfigField("labels", "labels", [], "The labels, each with its synonyms (\"cat\": [\"kitten\", \"feline\"]).",
                    required=True),
        ConfigField("on_several", "choice", "incorrect", "When the output names several labels: incorrect, or take "
                    "the first one named.", choices=("incorrect", "first")),
    ), "a label (or one of its synonyms)"),
    ScorerSpec("number", "Number within a tolerance", "The first number in the output is close to the expected one "
               "(\"1,234.5\", \"-3e2\"; numbers written as words are not read).", "pass_fail", (
        ConfigField("abs_tolerance", "float", 0.0, "Allowed difference (0.5: 9.5 to 10.5 pass for 10).", minimum=0.0),
        ConfigField("rel_tolerance", "float", 0.0, "Allowed difference as a share of the expected (0.05 = 5%). "
                    "The larger of the two allowances applies.", minimum=0.0),
        ConfigField("pick", "choice", "first", "Which number of the output: the first, the last, or the only one "
                    "(several different numbers fail).", choices=("first", "last", "only")),
    ), "a number"),
    ScorerSpec("json_schema", "JSON valid against a schema", "The output holds JSON (a ```json block, the whole "
               "output, or its first {...}) valid against a JSON Schema.", "pass_fail", (
        ConfigField("schema", "json", {"type": "object"}, "The JSON Schema (draft 2020-12 unless it says $schema).",
                    required=True),
    ), "unused"),
    ScorerSpec("json_fields", "JSON field equality", "Fields of the output's JSON equal the expected JSON's; the "
               "score is the share of fields equal.", "fraction", (
        ConfigField("fields", "str_list", [], "Dotted paths to compare (\"box.label\", \"items.0.name\"); empty: "
                    "every leaf of the expected answer."),
        ConfigField("number_tolerance", "float", 0.0, "Numbers within this count as equal.", minimum=0.0),
        ConfigField("ignore_case", "bool", False, "Compare strings ignoring case (spaces are always collapsed)."),
    ), "a JSON object (or its text)"),
    ScorerSpec("wer", "Word error rate", "Substituted, deleted and inserted words over the reference's words (jiwer), "
               "after a named text normaliser.", "error_rate", _RATE_OPTIONS, "the reference transcript",
               higher_is_better=False),
    ScorerSpec("cer", "Character error rate", "As WER, counting characters.", "error_rate", _RATE_OPTIONS,
               "the reference transcript", higher_is_better=False),
    ScorerSpec("judge", "Model as judge", "A model grades the output against a rubric; its answer is read into a "
               "score. Its requests cost like any other and are counted.", "judge", judge.CONFIG_FIELDS,
               "optional: given to the judge as the reference answer", ),
]}

_BUILDERS: dict[str, Callable[[dict], Callable[[str, Any], Score]]] = {
    "exact": scorers.ExactMatch,
    "contains": scorers.Contains,
    "regex": scorers.RegexMatch,
    "label": scorers.LabelMatch,
    "number": scorers.NumberMatch,
    "json_schema": scorers.JsonSchemaMatch,
    "json_fields": scorers.JsonFieldsMatch,
    "wer": lambda config: scorers.ErrorRate(config, "word"),
    "cer": lambda config: scorers.ErrorRate(config, "char"),
}


def _check_field(f: ConfigField, value: Any) -> str | None:
    t = f.type
    if value is None:
        return None if (f.default is None and not f.required) else f"{f.name}: a value is required"
    if t == "bool" and not isinstance(value, bool):
        return f"{f.name}: must be true or false"
    if t in ("int", "float"):
        if isinstance(value, bool) or not isinstance(value, int | float) or (t == "int" and not isinstance(value, int)):
            return f"{f.name}: must be a {'whole ' if t == 'int' else ''}number"
        if value != value or value in (float("inf"), float("-inf")):
            return f"{f.name}: must be a finite number"
        if f.minimum is not None and value < f.minimum:
            return f"{f.name}: must be at least {f.minimum:g}"
        if f.maximum is not None and value > f.maximum:
            return f"{f.name}: must be at most {f.maximum:g}"
    if t in ("str", "text") and not isinstance(value, str):
        return f"{f.name}: must be text"
    if t == "choice" and value not in f.choices:
        return f"{f.name}: must be one of {', '.join(f.choices)} (got {value!r})"
    if t == "str_list" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        return f"{f.name}: must be a list of texts"
    if t == "labels":
        if isinstance(value, list):
            ok = all(isinstance(v, str) and v.strip() for v in value)
        elif isinstance(value, dict):
            ok = all(isinstance(k, str) and k.strip() and isinstance(v, list) and all(isinstance(s, str) for s in v)
                     for k, v in value.items())
        else:
            ok = False
        if not ok:
            return f"{f.name}: must be a list of labels, or an object of label to a list of synonyms"
        if f.required and not value:
            return f"{f.name}: give at least one label"
    if f.required and t in ("str", "text") and not value.strip():
        return f"{f.name}: a value is required"
    return None


def _check_scorer(name: str, config: dict) -> list[str]:
    """Checks that need more than a field's type: a pattern that compiles, a valid schema, labels that
    do not share a synonym."""
    errors = []
    if name == "regex" and config["pattern"]:
        try:
            scorers.compile_pattern(config["pattern"], config["ignore_case"])
        except ValueError as e:
            errors.append(f"pattern: {e}")
    if name == "json_schema":
        import jsonschema

        schema = config["schema"]
        if not isinstance(schema, dict | bool):
            errors.append("schema: must be a JSON object")
        else:
            try:
                jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator).check_schema(schema)
            except jsonschema.SchemaError as e:
                errors.append(f"schema: not a valid JSON Schema: {e.message}")
    if name == "label":
        owner: dict[str, str] = {}
        for label, synonyms in scorers.labels_of(config["labels"]).items():
            for phrase in [label, *synonyms]:
                key = scorers._label_key(phrase)
                if not key:
                    errors.append(f"labels: {phrase!r} has no letters or digits")
                elif owner.setdefault(key, label) != label:
                    errors.append(f"labels: {phrase!r} belongs to both {owner[key]!r} and {label!r}")
    if name == "judge":
        errors += judge.check_config(config)
    return errors


def resolve_config(name: str, config: dict | None) -> dict:
    """The config with every default filled in. Raises ConfigError listing every problem."""
    errors = validate_config(name, config)
    if errors:
        raise ConfigError(errors)
    spec = SCORERS[name]
    config = config or {}
    return {f.name: config.get(f.name, f.default) for f in spec.fields}


def validate_config(name: str, config: dict | None) -> list[str]:
    """Every problem with a scorer's config, in plain words; [] when it is good."""
    spec = SCORERS.get(name)
    if spec is None:
        return [f"unknown scorer {name!r}: choose one of {', '.join(SCORERS)}"]
    config = {} if config is None else config
    if not isinstance(config, dict):
        return ["the config must be a JSON object"]
    known = {f.name for f in spec.fields}
    errors = [f"{key}: not a setting of {spec.title.lower()} (settings: {', '.join(sorted(known))})"
              for key in config if key not in known]
    for f in spec.fields:
        problem = _check_field(f, config.get(f.name, f.default) if f.name in config or not f.required else None)
        if problem:
            errors.append(problem)
    if errors:
        return errors
    return _check_scorer(name, {f.name: config.get(f.name, f.default) for f in spec.fields})


def make_scorer(name: str, config: dict | None) -> Callable[[str, Any], Score]:
    """A scorer ready to score many outputs: ``make_scorer(name, config)(output, expected) -> Score``.
    Raises ConfigError for a bad config, and for "judge" (a judge needs a model's answer: use
    judge.build_judge_request and judge.score_judge_answer)."""
    full = resolve_config(name, config)
    if name == "judge":
        raise ConfigError(["the judge scorer needs a model's answer: build the request with "
                           "judge.build_judge_request(), send it, then read it with judge.score_judge_answer()"])
    return _BUILDERS[name](full)


@lru_cache(maxsize=256)
def _cached(name: str, key: str) -> Callable[[str, Any], Score]:
    import json

    return make_scorer(name, json.loads(key))


def score(name: str, config: dict | None, output: str, expected: Any) -> Score:
    """Score one output. Scorers built for a config are kept (256 of them), so calling this in a loop
    is nearly as fast as make_scorer. Raises ConfigError for a bad config."""
    import json

    try:
        key = json.dumps(config or {}, sort_keys=True)
    except (TypeError, ValueError):
        raise ConfigError(["the config must be a JSON object"]) from None
    return _cached(name, key)(output, expected)

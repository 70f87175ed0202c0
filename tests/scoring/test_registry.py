"""The scorer registry: specs a form can draw, config validation in plain words, scoring by name."""

import json

import pytest

from playground.scoring.registry import SCORERS, make_scorer, resolve_config, score, validate_config
from playground.scoring.types import ConfigError, Score


def test_every_scorer_has_a_drawable_spec():
    assert set(SCORERS) == {"exact", "contains", "regex", "label", "number", "json_schema", "json_fields",
                            "wer", "cer", "judge"}
    for name, spec in SCORERS.items():
        assert spec.name == name and spec.title and spec.help and spec.expected
        assert spec.kind in ("pass_fail", "fraction", "error_rate", "judge")
        for field in spec.fields:
            assert field.type in ("bool", "int", "float", "str", "text", "choice", "str_list", "labels", "json")
            assert field.help.endswith((".", ")")), field
            if field.type == "choice":
                assert field.default in field.choices
        if not any(f.required for f in spec.fields):
            assert validate_config(name, {}) == [], name  # the defaults alone are a good config
    assert SCORERS["wer"].higher_is_better is False and SCORERS["exact"].higher_is_better is True


@pytest.mark.parametrize(("name", "config", "errors"), [
    ("nope", {}, ["unknown scorer 'nope': choose one of exact, contains, regex, label, number, json_schema, "
                  "json_fields, wer, cer, judge"]),
    ("exact", [], ["the config must be a JSON object"]),
    ("exact", {"ignore_case": "yes", "colour": 1}, [
        "colour: not a setting of exact match (settings: ignore_case, ignore_punctuation, ignore_whitespace, unicode_nfkc)",
        "ignore_case: must be true or false"]),
    ("regex", {"pattern": "(unclosed"}, ["pattern: the pattern is not a valid regular expression: missing ) at position 9"]),
    ("regex", {"pattern": "a" * 1001}, ["pattern: the pattern is 1,001 characters long; at most 1,000 are allowed"]),
    ("regex", {"mode": "match"}, ["mode: must be one of search, fullmatch (got 'match')"]),
    ("number", {"abs_tolerance": -1, "rel_tolerance": "5%"}, ["abs_tolerance: must be at least 0",
                                                            "rel_tolerance: must be a number"]),
    ("number", {"abs_tolerance": float("nan")}, ["abs_tolerance: must be a finite number"]),
    ("label", {}, ["labels: a value is required"]),
    ("label", {"labels": []}, ["labels: give at least one label"]),
    ("label", {"labels": {"cat": "kitten"}}, ["labels: must be a list of labels, or an object of label to a list of synonyms"]),
    ("label", {"labels": {"cat": ["kitty"], "dog": ["Kitty"]}}, ["labels: 'Kitty' belongs to both 'cat' and 'dog'"]),
    ("label", {"labels": ["cat", "!!!"]}, ["labels: '!!!' has no letters or digits"]),
    ("json_schema", {"schema": {"type": "banana"}}, ["schema: not a valid JSON Schema: 'banana' is not valid under "
                                                     "any of the given schemas"]),
    ("json_schema", {"schema": [1]}, ["schema: must be a JSON object"]),
    ("json_fields", {"fields": "a.b"}, ["fields: must be a list of texts"]),
    ("wer", {"normaliser": "whisper"}, ["normaliser: must be one of whisper-english-v1, basic-v1, none (got 'whisper')"]),
    ("wer", {"max_rate": True}, ["max_rate: must be a number"]),
    ("judge", {}, ["rubric: a value is required"]),
    ("judge", {"rubric": "  "}, ["rubric: a value is required"]),
    ("judge", {"rubric": "r", "pass_at": 6}, ["pass_at: must be at most 5"]),
    ("judge", {"rubric": "r", "pass_at": 3.5}, ["pass_at: must be a whole number"]),
])
def test_validate_config_errors(name, config, errors):
    assert validate_config(name, config) == errors


def test_good_configs_and_defaults():
    assert validate_config("wer", {"normaliser": "basic-v1", "max_rate": 0.1}) == []
    assert validate_config("wer", {"max_rate": None}) == []
    assert validate_config("label", {"labels": {"cat": ["kitten"], "dog": []}}) == []
    assert resolve_config("number", {"rel_tolerance": 0.1}) == {"abs_tolerance": 0.0, "rel_tolerance": 0.1, "pick": "first"}
    with pytest.raises(ConfigError) as raised:
        resolve_config("number", {"pick": "middle"})
    assert raised.value.errors == ["pick: must be one of first, last, only (got 'middle')"]


def test_score_by_name_and_bad_configs_raise():
    assert score("exact", None, "yes", "Yes").passed is True
    with pytest.raises(ConfigError, match="ignore_case: must be true or false"):
        score("exact", {"ignore_case": 1}, "yes", "yes")
    with pytest.raises(ConfigError, match="must be a JSON object"):
        score("exact", {"x": object()}, "yes", "yes")


def test_scores_round_trip_as_json():
    got = make_scorer("wer", {})("the cat sat", "the cat sat down")
    back = Score.from_dict(json.loads(json.dumps(got.to_dict())))
    assert back == got

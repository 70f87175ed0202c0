"""Each scorer's pass and fail cases, and the words it gives."""

import time

import pytest

from playground.scoring import scorers
from playground.scoring.registry import make_scorer, score

# ------------------------------------------------------------------ exact and contains

def test_exact_normalises_case_spaces_punctuation_and_unicode():
    assert score("exact", {}, "  A  Cat! ", "a cat").passed is True
    assert score("exact", {}, "ｃａｔ", "cat").passed is True  # full-width letters, NFKC
    got = score("exact", {}, "a small dog", "cat")
    assert got.passed is False and got.value == 0.0
    assert got.explanation == ("expected 'cat', got 'a small dog': no match after normalising case, whitespace, "
                               "punctuation and Unicode forms")


def test_exact_options_switch_each_step_off():
    assert score("exact", {"ignore_case": False}, "Cat", "cat").passed is False
    assert score("exact", {"ignore_punctuation": False}, "cat.", "cat").passed is False
    assert score("exact", {"ignore_whitespace": False}, "a  cat", "a cat").passed is False
    assert score("exact", {"unicode_nfkc": False}, "ｃａｔ", "cat").passed is False
    off = {"ignore_case": False, "ignore_punctuation": False, "ignore_whitespace": False, "unicode_nfkc": False}
    assert "compared as written" in score("exact", off, "Cat", "cat").explanation


def test_exact_accepts_any_of_a_list():
    got = score("exact", {}, "Feline", ["cat", "feline"])
    assert got.passed is True and got.details["matched"] == "feline"
    assert "any of 'cat', 'dog'" in score("exact", {}, "bird", ["cat", "dog"]).explanation


def test_contains_substring_and_whole_word():
    assert score("contains", {}, "It is concatenated", "cat").passed is True
    got = score("contains", {"whole_word": True}, "It is concatenated", "cat")
    assert got.passed is False and "as a whole word" in got.explanation
    assert score("contains", {"whole_word": True}, "A cat, I think.", "CAT").passed is True


def test_empty_expected_answers_are_not_scored():
    assert score("contains", {}, "anything", "").value is None
    assert score("contains", {}, "anything", ["", "  "]).value is None
    assert "no pattern" in score("regex", {}, "anything", None).explanation


def test_contains_all_or_any():
    assert score("contains", {}, "red and blue", ["red", "green"]).passed is True
    got = score("contains", {"require_all": True}, "red and blue", ["red", "green"])
    assert got.passed is False and got.details["missing"] == ["green"] and "'green'" in got.explanation


# ------------------------------------------------------------------ regex

def test_regex_search_fullmatch_and_negation():
    assert score("regex", {"pattern": r"\d{3}"}, "code 123 ok", None).passed is True
    assert score("regex", {"pattern": r"\d{3}", "mode": "fullmatch"}, "code 123", None).passed is False
    assert score("regex", {"pattern": "cat", "ignore_case": True}, "CAT", None).passed is True
    assert score("regex", {"pattern": "sorry", "expect_match": False}, "Here you go", None).passed is True
    got = score("regex", {"pattern": "sorry", "expect_match": False}, "Sorry, I can't", None)
    assert got.passed is True  # case matters unless ignore_case
    got = score("regex", {"pattern": "(?i)sorry", "expect_match": False}, "Sorry, I can't", None)
    assert got.passed is False and "must not" in got.explanation


def test_regex_pattern_from_the_expected_answer():
    assert score("regex", {}, "42 apples", r"^\d+ apples$").passed is True
    bad = score("regex", {}, "x", "(")
    assert bad.value is None and "not a valid regular expression" in bad.explanation


def test_regex_guards_against_catastrophic_patterns(monkeypatch):
    monkeypatch.setattr(scorers, "REGEX_TIMEOUT_S", 0.05)
    started = time.monotonic()
    got = score("regex", {"pattern": r"(a|aa)+$"}, "a" * 60 + "b", None)  # exponential backtracking
    assert time.monotonic() - started < 2
    assert got.value is None and got.passed is None and got.details == {"timeout": True}
    assert "took longer than 0.05 s" in got.explanation
    with pytest.raises(ValueError, match="at most 1,000"):
        scorers.compile_pattern("a" * 1001, False)


def test_long_outputs_are_read_up_to_the_limit():
    got = score("contains", {}, "x" * (scorers.MAX_CHARS + 10) + "needle", "needle")
    assert got.passed is False and "only the first 200,000 characters were read" in got.explanation


# ------------------------------------------------------------------ labels

LABELS = {"labels": {"cat": ["kitten", "feline"], "dog": ["puppy"], "red car": [], "car": ["automobile"]}}


@pytest.mark.parametrize(("output", "expected", "passed", "predicted"), [
    ("It's a kitten.", "cat", True, "cat"),
    ("CAT", "cat", True, "cat"),
    ("a puppy, clearly", "cat", False, "dog"),
    ("I see a red car", "red car", True, "red car"),  # the longer label wins over "car"
    ("an automobile", "car", True, "car"),
    ("concatenate", "cat", False, None),  # whole words only
    ("nothing here", "cat", False, None),
    ("Kitten", "feline", True, "cat"),  # the expected answer may be a synonym
])
def test_label_prediction(output, expected, passed, predicted):
    got = score("label", LABELS, output, expected)
    assert got.passed is passed and got.details["predicted"] == predicted


def test_several_labels_are_ambiguous_unless_first_is_asked():
    got = score("label", LABELS, "Either a cat or a dog", "cat")
    assert got.passed is False and got.details["predicted"] is None and got.details["ambiguous"] is True
    assert got.explanation == "expected 'cat', got 'Either a cat or a dog': ambiguous, it names 'cat', 'dog'"
    first = score("label", {**LABELS, "on_several": "first"}, "Either a dog or a cat", "cat")
    assert first.passed is False and first.details["predicted"] == "dog"


def test_label_synonyms_of_one_label_are_not_ambiguous():
    assert score("label", LABELS, "a kitten, a young cat", "cat").passed is True


def test_expected_answer_outside_the_labels_is_not_scored():
    got = score("label", LABELS, "a cat", "horse")
    assert got.value is None and "not one of the labels" in got.explanation


def test_labels_given_as_a_plain_list():
    assert score("label", {"labels": ["yes", "no"]}, "No.", "no").passed is True


# ------------------------------------------------------------------ numbers

@pytest.mark.parametrize(("text", "numbers"), [
    ("1,234.5 apples", [1234.5]),
    ("-3e2 degrees", [-300.0]),
    ("about .5 or 0.25", [0.5, 0.25]),
    ("−7 (unicode minus)", [-7.0]),
    ("2024-05-01", [2024.0, 5.0, 1.0]),  # the hyphens of a date are not minus signs
    ("a-3", [3.0]),
    ("+4", [4.0]),
    ("1,23", [1.0, 23.0]),  # not groups of three: not one number
    ("no numbers, five is a word", []),
    ("1e999 then 2.5E-1", [0.25]),  # an overflow is no number
])
def test_numbers_are_read_as_written(text, numbers):
    assert [n for n, _ in scorers.parse_numbers(text)] == numbers


def test_number_tolerances():
    assert score("number", {}, "It is 42.", 42).passed is True
    assert score("number", {}, "It is 42.5.", 42).passed is False
    assert score("number", {"abs_tolerance": 0.5}, "42.5", "42").passed is True  # the edge passes
    assert score("number", {"abs_tolerance": 0.5}, "42.51", "42").passed is False
    assert score("number", {"rel_tolerance": 0.05}, "1,049", 1000).passed is True
    assert score("number", {"rel_tolerance": 0.05}, "1,051", 1000).passed is False
    # the larger allowance applies
    assert score("number", {"abs_tolerance": 10, "rel_tolerance": 0.001}, "1,009", 1000).passed is True
    got = score("number", {}, "It is 41", 42)
    assert got.explanation == "expected 42 (exactly), got 41 = 41: off by 1"


def test_number_first_last_and_only():
    assert score("number", {}, "3 cats, total 7", 3).passed is True
    assert score("number", {"pick": "last"}, "3 cats, total 7", 7).passed is True
    got = score("number", {"pick": "only"}, "3 cats, total 7", 7)
    assert got.passed is False and "several numbers" in got.explanation
    assert score("number", {"pick": "only"}, "7, yes 7", 7).passed is True


def test_number_missing_or_unreadable():
    got = score("number", {}, "seven", 7)
    assert got.passed is False and "no number in the output" in got.explanation
    bad = score("number", {}, "7", "seven or eight")
    assert bad.value is None and "not one number" in bad.explanation
    assert score("number", {}, "7", True).value is None  # a boolean is not a number


# ------------------------------------------------------------------ JSON

def test_json_extraction_from_fence_whole_or_first_object():
    assert scorers.extract_json('Sure:\n```json\n{"a": 1}\n```\nDone') == ({"a": 1}, "a fenced block")
    assert scorers.extract_json('```\n[1, 2]\n```') == ([1, 2], "a fenced block")
    assert scorers.extract_json(' {"a": 2} ') == ({"a": 2}, "the whole output")
    assert scorers.extract_json('The answer is {"a": 3} I think {"b": 4}') == ({"a": 3}, "the first JSON object in the output")
    assert scorers.extract_json('braces {not json} then {"ok": true}') == ({"ok": True}, "the first JSON object in the output")
    assert scorers.extract_json("no json here") is None


def test_json_extraction_is_bounded_on_hostile_text():
    started = time.monotonic()
    assert scorers.extract_json("[" * 150_000) is None  # too deep for Python's parser: no JSON, no crash
    assert scorers.extract_json("{" * 150_000) is None
    assert scorers.extract_json('{"a": ' * 50_000) is None
    assert time.monotonic() - started < 5


SCHEMA = {"schema": {"type": "object", "required": ["label", "count"],
                     "properties": {"label": {"enum": ["cat", "dog"]}, "count": {"type": "integer", "minimum": 0}}}}


def test_json_schema_valid_and_invalid():
    assert score("json_schema", SCHEMA, '```json\n{"label": "cat", "count": 2}\n```', None).passed is True
    got = score("json_schema", SCHEMA, '{"label": "cow", "count": -1}', None)
    assert got.passed is False and got.details["error_count"] == 2
    assert got.details["errors"] == ["at $.count: -1 is less than the minimum of 0",
                                     "at $.label: 'cow' is not one of ['cat', 'dog']"]
    missing = score("json_schema", SCHEMA, "no JSON at all", None)
    assert missing.passed is False and "no JSON found" in missing.explanation


def test_json_fields_per_field_results():
    expected = {"label": "Cat", "box": {"x": 10, "y": 20}, "tags": ["a", "b"]}
    got = score("json_fields", {"fields": ["label", "box.x", "box.y", "tags.1", "missing"]},
                '{"label": "cat", "box": {"x": 10.4, "y": 20}, "tags": ["a", "b"]}', expected)
    by_path = {f["path"]: f for f in got.details["fields"]}
    assert by_path["label"]["equal"] is False  # case counts unless ignore_case
    assert by_path["box.x"]["equal"] is False and by_path["box.y"]["equal"] is True
    assert by_path["tags.1"]["equal"] is True
    assert by_path["missing"]["reason"] == "not in the expected answer"
    assert got.value == pytest.approx(2 / 5) and got.passed is False
    lenient = score("json_fields", {"ignore_case": True, "number_tolerance": 0.5},
                    '{"label": "cat", "box": {"x": 10.4, "y": 20}, "tags": ["a", "b"]}', expected)
    assert lenient.passed is True and lenient.value == 1.0  # every leaf of the expected answer
    assert [f["path"] for f in lenient.details["fields"]] == ["label", "box.x", "box.y", "tags.0", "tags.1"]


def test_json_fields_missing_and_types():
    got = score("json_fields", {}, '{"a": "1"}', '{"a": 1, "b": true}')
    assert [f["reason"] for f in got.details["fields"]] == ['expected 1, got "1"', "missing"]
    assert score("json_fields", {}, '{"ok": 1}', {"ok": True}).passed is False  # true is not 1


def test_make_scorer_is_reusable():
    exact = make_scorer("exact", {})
    assert [exact(o, "yes").passed for o in ("Yes", "no", "YES!")] == [True, False, True]

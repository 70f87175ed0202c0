"""The automatic scorers: each turns (output text, expected answer, config) into a Score.

Each scorer is a class whose constructor takes a checked config and prepares what it can once (patterns
compiled, a schema's validator built, the normaliser loaded), and whose ``__call__(output, expected)``
scores one output: ``registry.make_scorer`` builds one for a column of thousands of results.
Bad input (an output that is not JSON, a pattern that runs too long) gives a Score with its reason,
never an exception; only a bad config raises (ConfigError, from the registry's validation).
"""

from __future__ import annotations

import itertools
import json
import math
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

import regex
from rapidfuzz.distance import Levenshtein

from playground.scoring.normalise import get_normaliser
from playground.scoring.types import Score

MAX_CHARS = 200_000  # longer outputs are scored on their first MAX_CHARS characters (said in the explanation)
REGEX_MAX_PATTERN = 1_000  # characters in a pattern
REGEX_TIMEOUT_S = 0.25  # the `regex` package stops a match after this; catastrophic patterns give a reason, not a hang
MAX_JSON_ATTEMPTS = 20  # places an output's JSON is looked for (fenced blocks, then each "{" or "[")
MAX_WORDS = 20_000  # per side, for WER and CER (the alignment is quadratic in the worst case)


def _quote(text: str, limit: int = 60) -> str:
    text = " ".join(str(text).split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _bounded(output: str) -> tuple[str, str]:
    if output is None:
        output = ""
    if len(output) > MAX_CHARS:
        return output[:MAX_CHARS], f" (only the first {MAX_CHARS:,} characters were read)"
    return output, ""


def _expected_list(expected: Any) -> list[str]:
    if isinstance(expected, list | tuple):
        return [str(e) for e in expected]
    return ["" if expected is None else str(expected)]


# ---------------------------------------------------------------- text: exact, contains, regex


class TextNormaliser:
    """Exact match's and contains' normalising, each step switchable."""

    def __init__(self, case: bool = True, whitespace: bool = True, punctuation: bool = True, unicode: bool = True):
        self.case, self.whitespace, self.punctuation, self.unicode = case, whitespace, punctuation, unicode

    def __call__(self, text: str) -> str:
        if self.unicode:
            text = unicodedata.normalize("NFKC", text)
        if self.case:
            text = text.casefold()
        if self.punctuation:
            text = "".join(" " if unicodedata.category(c).startswith("P") else c for c in text)
        if self.whitespace:
            text = " ".join(text.split())
        return text

    def describe(self) -> str:
        steps = [n for n, on in (("case", self.case), ("whitespace", self.whitespace),
                                 ("punctuation", self.punctuation), ("Unicode forms", self.unicode)) if on]
        if not steps:
            return "compared as written"
        return "after normalising " + (", ".join(steps[:-1]) + " and " + steps[-1] if len(steps) > 1 else steps[0])


def _text_normaliser(config: dict) -> TextNormaliser:
    return TextNormaliser(config["ignore_case"], config["ignore_whitespace"], config["ignore_punctuation"],
                          config["unicode_nfkc"])


class ExactMatch:
    def __init__(self, config: dict):
        self.norm = _text_normaliser(config)

    def __call__(self, output: str, expected: Any) -> Score:
        output, cut = _bounded(output)
        got = self.norm(output)
        answers = _expected_list(expected)
        for answer in answers:
            if self.norm(answer) == got:
                return Score(1.0, True, f"matches {_quote(answer)} {self.norm.describe()}{cut}",
                             {"matched": answer, "normalised_output": got[:500]})
        what = _quote(answers[0]) if len(answers) == 1 else "any of " + ", ".join(_quote(a) for a in answers)
        return Score(0.0, False, f"expected {what}, got {_quote(output)}: no match {self.norm.describe()}{cut}",
                     {"normalised_output": got[:500]})


class Contains:
    def __init__(self, config: dict):
        self.norm = _text_normaliser(config)
        self.whole_word = config["whole_word"]
        self.require_all = config["require_all"]

    def _found(self, haystack: str, needle: str) -> bool:
        if not needle:
            return True
        if not self.whole_word:
            return needle in haystack
        return re.search(r"(?<!\w)" + re.escape(needle) + r"(?!\w)", haystack) is not None

    def __call__(self, output: str, expected: Any) -> Score:
        output, cut = _bounded(output)
        got = self.norm(output)
        answers = _expected_list(expected)
        if not any(self.norm(a) for a in answers):
            return Score(None, None, "the expected answer is empty; not scored")
        found = [a for a in answers if self.norm(a) and self._found(got, self.norm(a))]
        missing = [a for a in answers if a not in found]
        how = ("as a whole word " if self.whole_word else "") + self.norm.describe()
        details = {"found": found, "missing": missing}
        if self.require_all:
            if not missing:
                return Score(1.0, True, f"contains {', '.join(_quote(a) for a in answers)} {how}{cut}", details)
            return Score(0.0, False, f"does not contain {', '.join(_quote(a) for a in missing)} {how}{cut}", details)
        if found:
            return Score(1.0, True, f"contains {_quote(found[0])} {how}{cut}", details)
        what = _quote(answers[0]) if len(answers) == 1 else "any of " + ", ".join(_quote(a) for a in answers)
        return Score(0.0, False, f"does not contain {what} {how}{cut}", details)


def compile_pattern(pattern: str, ignore_case: bool) -> regex.Pattern:
    """Compile a user's pattern with the guards: at most REGEX_MAX_PATTERN characters. Raises ValueError."""
    if len(pattern) > REGEX_MAX_PATTERN:
        raise ValueError(f"the pattern is {len(pattern):,} characters long; at most {REGEX_MAX_PATTERN:,} are allowed")
    try:
        return regex.compile(pattern, regex.IGNORECASE if ignore_case else 0)
    except regex.error as e:
        raise ValueError(f"the pattern is not a valid regular expression: {e}") from None


class RegexMatch:
    """A regular expression from the config (or, when the config has none, the case's expected answer),
    run with the `regex` package's timeout so a catastrophic pattern stops after REGEX_TIMEOUT_S."""

    def __init__(self, config: dict):
        self.ignore_case = config["ignore_case"]
        self.full = config["mode"] == "fullmatch"
        self.expect_match = config["expect_match"]
        self.pattern = compile_pattern(config["pattern"], self.ignore_case) if config["pattern"] else None

    def __call__(self, output: str, expected: Any) -> Score:
        output, cut = _bounded(output)
        pattern = self.pattern
        if pattern is None:
            if expected in (None, ""):
                return Score(None, None, "no pattern: the config has none and the expected answer is empty; not scored")
            try:
                pattern = compile_pattern(str(expected or ""), self.ignore_case)
            except ValueError as e:
                return Score(None, None, f"the expected answer is used as the pattern, but {e}")
        try:
            found = (pattern.fullmatch if self.full else pattern.search)(output, timeout=REGEX_TIMEOUT_S)
        except TimeoutError:
            return Score(None, None, f"the pattern took longer than {REGEX_TIMEOUT_S} s on this output and was "
                         "stopped (it may backtrack catastrophically); not scored", {"timeout": True})
        where = "the whole output" if self.full else "the output"
        details = {"pattern": pattern.pattern, "match": found.group(0)[:500] if found else None}
        if found and self.expect_match:
            return Score(1.0, True, f"{where} matches /{pattern.pattern}/: {_quote(found.group(0))}{cut}", details)
        if not found and not self.expect_match:
            return Score(1.0, True, f"{where} does not match /{pattern.pattern}/, as required{cut}", details)
        if found:
            return Score(0.0, False, f"{where} matches /{pattern.pattern}/ ({_quote(found.group(0))}) but must not{cut}",
                         details)
        return Score(0.0, False, f"expected {where} to match /{pattern.pattern}/, got {_quote(output)}{cut}", details)


# ---------------------------------------------------------------- labels


def _label_key(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(" " if unicodedata.category(c)[0] in "PS" else c for c in text)
    return " ".join(text.split())


def labels_of(config_labels: list | dict) -> dict[str, list[str]]:
    """The config's labels as {label: [synonyms]}: a list of labels has no synonyms."""
    if isinstance(config_labels, dict):
        return {str(k): [str(s) for s in (v or [])] for k, v in config_labels.items()}
    return {str(k): [] for k in config_labels}


class LabelMatch:
    """Which of the labels the output names, by whole words (a label or any of its synonyms, case and
    punctuation ignored; "dark red" wins over "red" where both are labels). Naming two labels is
    ambiguous and counts as wrong, unless ``on_several`` is "first"."""

    def __init__(self, config: dict):
        self.labels = labels_of(config["labels"])
        self.first = config["on_several"] == "first"
        self.phrase_to_label: dict[str, str] = {}
        for label, synonyms in self.labels.items():
            for phrase in [label, *synonyms]:
                key = _label_key(phrase)
                if key:
                    self.phrase_to_label.setdefault(key, label)
        phrases = sorted(self.phrase_to_label, key=len, reverse=True)  # longest first: it wins at one position
        self.finder = re.compile(r"(?<!\w)(" + "|".join(re.escape(p) for p in phrases) + r")(?!\w)") if phrases else None

    def label_for(self, text: str) -> str | None:
        """The label a text (e.g. an expected answer) names exactly: the label itself or a synonym."""
        return self.phrase_to_label.get(_label_key(str(text)))

    def __call__(self, output: str, expected: Any) -> Score:
        output, cut = _bounded(output)
        want = self.label_for(expected)
        if want is None:
            return Score(None, None, f"the expected answer {_quote(expected)} is not one of the labels "
                         f"({', '.join(self.labels)}); not scored", {"expected_label": None, "predicted": None})
        named: list[str] = []
        for m in self.finder.finditer(_label_key(output)) if self.finder else ():
            label = self.phrase_to_label[m.group(1)]
            if label not in named:
                named.append(label)
        details: dict[str, Any] = {"expected_label": want, "named": named}
        if not named:
            return Score(0.0, False, f"expected {want!r}, got {_quote(output)}: names none of the labels{cut}",
                         {**details, "predicted": None})
        if len(named) > 1 and not self.first:
            return Score(0.0, False, f"expected {want!r}, got {_quote(output)}: ambiguous, it names "
                         f"{', '.join(repr(n) for n in named)}{cut}", {**details, "predicted": None, "ambiguous": True})
        predicted = named[0]
        details["predicted"] = predicted
        if predicted == want:
            return Score(1.0, True, f"names {want!r}, as expected{cut}", details)
        return Score(0.0, False, f"expected {want!r}, got {predicted!r}{cut}", details)


# ---------------------------------------------------------------- numbers

# A number as people write it: "1,234.5" (thousands in groups of three), "-3e2", ".5", "−7" (Unicode minus).
# The sign counts only when it does not follow a letter or digit ("a-3" and "2024-05" are not negative).
NUMBER = re.compile(
    r"(?<![\w.])([-+−]?)(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)(?:[eE]([-+]?\d+))?(?![\d])"
)


def parse_numbers(text: str) -> list[tuple[float, str]]:
    """Every number in a text, in order: (value, as written)."""
    found = []
    for m in NUMBER.finditer(text):
        sign, digits, exponent = m.groups()
        number = float(digits.replace(",", "") + (f"e{exponent}" if exponent else ""))  # 1e999: inf, dropped
        if sign in ("-", "−"):
            number = -number
        if math.isfinite(number):
            found.append((number, m.group(0)))
    return found


def expected_number(expected: Any) -> float | None:
    if isinstance(expected, bool):
        return None
    if isinstance(expected, int | float):
        return float(expected) if math.isfinite(expected) else None
    found = parse_numbers(str(expected or ""))
    return found[0][0] if len(found) == 1 else None


class NumberMatch:
    def __init__(self, config: dict):
        self.abs_tol = config["abs_tolerance"]
        self.rel_tol = config["rel_tolerance"]
        self.pick = config["pick"]

    def __call__(self, output: str, expected: Any) -> Score:
        output, cut = _bounded(output)
        want = expected_number(expected)
        if want is None:
            return Score(None, None, f"the expected answer {_quote(expected)} is not one number; not scored")
        numbers = parse_numbers(output)
        if not numbers:
            return Score(0.0, False, f"expected {want:g}, got {_quote(output)}: no number in the output{cut}",
                         {"expected": want, "got": None})
        if self.pick == "only" and len({n for n, _ in numbers}) > 1:
            return Score(0.0, False, f"expected {want:g}, got several numbers ({', '.join(w for _, w in numbers[:5])}); "
                         f"only one is allowed{cut}", {"expected": want, "got": None, "numbers": [n for n, _ in numbers]})
        got, written = numbers[-1] if self.pick == "last" else numbers[0]
        diff = abs(got - want)
        allowed = max(self.abs_tol, self.rel_tol * abs(want))
        details = {"expected": want, "got": got, "written": written, "difference": diff, "allowed": allowed}
        tolerance = "exactly" if allowed == 0 else f"within {allowed:g}"
        if diff <= allowed:
            return Score(1.0, True, f"got {written} = {got:g}, {tolerance} of {want:g}{cut}", details)
        return Score(0.0, False, f"expected {want:g} ({tolerance}), got {written} = {got:g}: off by {diff:g}{cut}",
                     details)


# ---------------------------------------------------------------- JSON

FENCE = re.compile(r"```[ \t]*(?:json|JSON|json5)?[ \t]*\n(.*?)```", re.DOTALL)


def extract_json(text: str) -> tuple[Any, str] | None:
    """The JSON value an output holds, and where it was found: a fenced ```json block, else the whole
    text, else the first {...} or [...] that parses. None if there is none."""
    decoder = json.JSONDecoder()
    # Each failed attempt may read to the end of the text, so attempts are bounded (a text of 200,000
    # "[" would otherwise take hours), and nesting too deep for Python's parser counts as no JSON.
    for m in itertools.islice(FENCE.finditer(text), MAX_JSON_ATTEMPTS):
        try:
            return json.loads(m.group(1)), "a fenced block"
        except (ValueError, RecursionError):
            continue
    try:
        return json.loads(text), "the whole output"
    except (ValueError, RecursionError):
        pass
    for m in itertools.islice(re.finditer(r"[{\[]", text), MAX_JSON_ATTEMPTS):
        try:
            value, _ = decoder.raw_decode(text, m.start())
        except (ValueError, RecursionError):
            continue
        if isinstance(value, dict | list):
            return value, "the first JSON object in the output"
    return None


def _json_path(path: list) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


class JsonSchemaMatch:
    def __init__(self, config: dict):
        import jsonschema

        schema = config["schema"]
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        self.validator = cls(schema)

    def __call__(self, output: str, expected: Any) -> Score:
        output, cut = _bounded(output)
        found = extract_json(output)
        if found is None:
            return Score(0.0, False, f"no JSON found in the output {_quote(output)}{cut}", {"json": None})
        value, where = found
        errors = sorted(self.validator.iter_errors(value), key=lambda e: list(map(str, e.absolute_path)))
        problems = [f"at {_json_path(list(e.absolute_path))}: {e.message}" for e in errors[:10]]
        details = {"found_in": where, "errors": problems, "error_count": len(errors)}
        if not errors:
            return Score(1.0, True, f"the JSON in {where} is valid against the schema{cut}", details)
        more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
        return Score(0.0, False, f"the JSON in {where} is not valid: {problems[0]}"
                     f"{'; ' + problems[1] if len(problems) > 1 else ''}{more}{cut}", details)


_MISSING = object()


def get_path(value: Any, path: str) -> Any:
    """A dotted path into JSON: "a.b.0.c" (a number indexes a list). _MISSING if absent."""
    for part in path.split(".") if path else []:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def leaf_paths(value: Any, prefix: str = "") -> list[str]:
    """Every leaf's dotted path (an empty object or list is a leaf)."""
    if isinstance(value, dict) and value:
        return [p for k, v in value.items() for p in leaf_paths(v, f"{prefix}.{k}" if prefix else str(k))]
    if isinstance(value, list) and value:
        return [p for i, v in enumerate(value) for p in leaf_paths(v, f"{prefix}.{i}" if prefix else str(i))]
    return [prefix]


class JsonFieldsMatch:
    def __init__(self, config: dict):
        self.fields = list(config["fields"])
        self.tolerance = config["number_tolerance"]
        self.norm = TextNormaliser(case=config["ignore_case"], whitespace=True, punctuation=False, unicode=True)

    def _equal(self, want: Any, got: Any) -> bool:
        if isinstance(want, bool) or isinstance(got, bool):
            return want is got
        if isinstance(want, int | float) and isinstance(got, int | float):
            return abs(want - got) <= self.tolerance
        if isinstance(want, str) and isinstance(got, str):
            return self.norm(want) == self.norm(got)
        return want == got

    def __call__(self, output: str, expected: Any) -> Score:
        output, cut = _bounded(output)
        if isinstance(expected, str):
            try:
                expected = json.loads(expected)
            except ValueError:
                return Score(None, None, "the expected answer is not JSON; not scored")
        found = extract_json(output)
        if found is None:
            return Score(0.0, False, f"no JSON found in the output {_quote(output)}{cut}", {"fields": []})
        value, where = found
        paths = self.fields or [p for p in leaf_paths(expected) if p]
        if not paths:
            return Score(None, None, "no fields to compare: the expected answer has none and the config names none")
        results = []
        for path in paths:
            want, got = get_path(expected, path), get_path(value, path)
            if want is _MISSING:
                results.append({"path": path, "expected": None, "got": None, "equal": False,
                                "reason": "not in the expected answer"})
            elif got is _MISSING:
                results.append({"path": path, "expected": want, "got": None, "equal": False, "reason": "missing"})
            else:
                equal = self._equal(want, got)
                results.append({"path": path, "expected": want, "got": got, "equal": equal,
                                "reason": "equal" if equal else f"expected {json.dumps(want)[:80]}, got {json.dumps(got)[:80]}"})
        right = sum(r["equal"] for r in results)
        details = {"found_in": where, "fields": results}
        if right == len(results):
            return Score(1.0, True, f"all {len(results)} fields equal (JSON from {where}){cut}", details)
        wrong = [f"{r['path']} ({r['reason']})" for r in results if not r["equal"]]
        return Score(right / len(results), False, f"{right} of {len(results)} fields equal; wrong: "
                     f"{'; '.join(wrong[:3])}{' …' if len(wrong) > 3 else ''}{cut}", details)


# ---------------------------------------------------------------- transcripts: WER and CER

_OP_NAMES = {"equal": "equal", "replace": "substitute", "insert": "insert", "delete": "delete"}


def align(ref: Sequence[str] | str, hyp: Sequence[str] | str) -> tuple[dict[str, int], list[tuple[str, int, int, int, int]]]:
    """Counts (hits, substitutions, deletions, insertions) and opcodes aligning ref to hyp: words (lists)
    or characters (strings). This is jiwer 4's process_words, made directly: jiwer maps words to ids and
    calls rapidfuzz's Levenshtein.opcodes, as here (rapidfuzz takes the words themselves); jiwer's
    per-call input checks and transforms cost five times the alignment. tests/scoring/test_error_rate.py
    checks that counts and alignments equal jiwer.process_words and process_characters."""
    counts = {"hits": 0, "substitutions": 0, "deletions": 0, "insertions": 0}
    ops = []
    for tag, i1, i2, j1, j2 in Levenshtein.opcodes(ref, hyp):
        if tag == "equal":
            counts["hits"] += i2 - i1
        elif tag == "replace":
            counts["substitutions"] += i2 - i1
        elif tag == "delete":
            counts["deletions"] += i2 - i1
        else:
            counts["insertions"] += j2 - j1
        ops.append((_OP_NAMES[tag], i1, i2, j1, j2))
    return counts, ops


class ErrorRate:
    """Word (``unit="word"``) or character (``"char"``) error rate of the output against the expected
    transcript, both normalised by the chosen named normaliser first; characters count spaces, as
    jiwer's CER does. details holds the counts, both normalised texts, and for WER the alignment:
    [{"type": "equal"|"substitute"|"insert"|"delete", "ref": [words], "hyp": [words]}], in order."""

    def __init__(self, config: dict, unit: str):
        self.unit = unit
        self.normaliser_name = config["normaliser"]
        self.normalise = get_normaliser(self.normaliser_name)
        self.threshold = config["max_rate"]

    def __call__(self, output: str, expected: Any) -> Score:
        output, cut = _bounded(output)
        ref = " ".join(self.normalise(str(expected or "")).split())
        hyp = " ".join(self.normalise(output).split())
        name = "WER" if self.unit == "word" else "CER"
        if not ref:
            return Score(None, None, f"the expected transcript is empty after normalising ({self.normaliser_name}); "
                         f"{name} is undefined", {"normaliser": self.normaliser_name})
        ref_words, hyp_words = ref.split(), hyp.split()
        if len(ref_words) > MAX_WORDS or len(hyp_words) > MAX_WORDS:
            return Score(None, None, f"a transcript has more than {MAX_WORDS:,} words; not scored")
        details: dict[str, Any] = {"normaliser": self.normaliser_name, "reference": ref, "hypothesis": hyp}
        if self.unit == "word":
            counts, ops = align(ref_words, hyp_words)
            n = len(ref_words)
            details["alignment"] = [{"type": t, "ref": ref_words[i1:i2], "hyp": hyp_words[j1:j2]}
                                    for t, i1, i2, j1, j2 in ops]
        else:
            counts, _ = align(ref, hyp)
            n = len(ref)
        errors = counts["substitutions"] + counts["deletions"] + counts["insertions"]
        rate = errors / n
        details.update(counts, rate=rate, reference_length=n)
        unit = "words" if self.unit == "word" else "characters"
        words = (f"{name} {rate:.1%}: {counts['substitutions']} substituted, {counts['deletions']} deleted, "
                 f"{counts['insertions']} inserted of {n} reference {unit} ({self.normaliser_name}){cut}")
        passed = None if self.threshold is None else rate <= self.threshold
        if passed is not None:
            words += f"; {'within' if passed else 'over'} the limit of {self.threshold:.1%}"
        return Score(rate, passed, words, details)

"""Validate our request bodies against the official SDKs' own request types, strictly.

OpenAI and Anthropic describe request params as TypedDicts. pydantic's TypeAdapter checks their
types and required keys but ignores unknown keys, so a misspelt optional key (``detial``) would
pass. :func:`check_typed` walks the same annotations and also fails on any key a TypedDict does
not declare; ``validate_params`` runs both.

Gemini's types are pydantic models with ``extra="forbid"`` and camelCase aliases; on top of
validating them, :func:`gemini_sdk_request` has the SDK build its own request from them so the
test can compare it with ours (same fields, same places).
"""

from __future__ import annotations

import collections.abc
import types as pytypes
import typing
from functools import cache
from types import SimpleNamespace
from typing import Literal, get_args, get_origin

from pydantic import TypeAdapter
from typing_extensions import get_type_hints, is_typeddict


class Invalid(AssertionError):
    pass


_LISTS = {list, tuple, collections.abc.Iterable, collections.abc.Sequence, typing.Iterable, typing.Sequence}


def _hints(tp):
    return get_type_hints(tp)


def check_typed(value, tp, path: str = "$") -> None:
    """Raise Invalid unless ``value`` fits ``tp`` with no undeclared keys anywhere."""
    if tp is typing.Any or tp is object:
        return
    origin = get_origin(tp)
    args = get_args(tp)
    if is_typeddict(tp):
        if not isinstance(value, dict):
            raise Invalid(f"{path}: expected an object for {tp.__name__}, got {type(value).__name__}")
        hints = _hints(tp)
        for key in tp.__required_keys__:
            if key not in value:
                raise Invalid(f"{path}: missing required key {key!r} of {tp.__name__}")
        for key, item in value.items():
            if key not in hints:
                raise Invalid(f"{path}: unknown key {key!r} for {tp.__name__}")
            check_typed(item, hints[key], f"{path}.{key}")
        return
    if origin in (typing.Union, pytypes.UnionType):
        errors = []
        for arg in args:
            try:
                check_typed(value, arg, path)
                return
            except Invalid as exc:
                errors.append(str(exc))
        raise Invalid(f"{path}: matches no branch of the union:\n  " + "\n  ".join(errors))
    if origin is Literal or origin is typing.Literal:
        if value not in args:
            raise Invalid(f"{path}: {value!r} is not one of {args}")
        return
    if origin is typing.Annotated:
        return check_typed(value, args[0], path)
    if origin in _LISTS or getattr(origin, "__name__", "") == "SequenceNotStr":
        if not isinstance(value, list):
            raise Invalid(f"{path}: expected a list, got {type(value).__name__}")
        for i, item in enumerate(value):
            check_typed(item, args[0] if args else typing.Any, f"{path}[{i}]")
        return
    if origin in (dict, collections.abc.Mapping, dict):
        if not isinstance(value, dict):
            raise Invalid(f"{path}: expected an object")
        for k, item in value.items():
            check_typed(item, args[1] if args else typing.Any, f"{path}.{k}")
        return
    if tp is type(None):
        if value is not None:
            raise Invalid(f"{path}: expected null")
        return
    if tp is bool:
        if not isinstance(value, bool):
            raise Invalid(f"{path}: expected a boolean")
        return
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid(f"{path}: expected an integer")
        return
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise Invalid(f"{path}: expected a number")
        return
    if tp is str:
        if not isinstance(value, str):
            raise Invalid(f"{path}: expected a string")
        return
    if isinstance(tp, type):  # e.g. file-like or PathLike branches of Anthropic's Base64FileInput
        if not isinstance(value, tp):
            raise Invalid(f"{path}: expected {tp.__name__}")
        return
    raise Invalid(f"{path}: type {tp!r} not understood by check_typed")


@cache
def _adapter(tp) -> TypeAdapter:
    return TypeAdapter(tp)


def validate_params(body: dict, tp) -> None:
    """The SDK's types through pydantic (types, required keys), then the strict key walk."""
    _adapter(tp).validate_python(body)
    check_typed(body, tp)


# --- Gemini ------------------------------------------------------------------------------------

GEMINI_TOP_KEYS = {"contents", "systemInstruction", "generationConfig"}


def gemini_validate(body: dict) -> None:
    from google.genai import types

    unknown = set(body) - GEMINI_TOP_KEYS
    if unknown:
        raise Invalid(f"$: unknown top-level keys {sorted(unknown)}")
    for c in body["contents"]:
        types.Content.model_validate(c)
    if "systemInstruction" in body:
        types.Content.model_validate(body["systemInstruction"])
    if "generationConfig" in body:
        types.GenerateContentConfig.model_validate(body["generationConfig"])


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def _camel_keys(node, skip=("responseJsonSchema",)):
    if isinstance(node, dict):
        return {_camel(k): (v if _camel(k) in skip else _camel_keys(v, skip)) for k, v in node.items()}
    if isinstance(node, list):
        return [_camel_keys(v, skip) for v in node]
    return node


def gemini_sdk_request(body: dict, model: str) -> dict:
    """The request python-genai itself would send for the same contents and settings (built
    from its pydantic types and its own request converter), keys camelCased."""
    from google.genai import _common, models, types

    config = dict(body.get("generationConfig", {}))
    if "systemInstruction" in body:
        config["systemInstruction"] = body["systemInstruction"]
    params = types._GenerateContentParameters(
        model=model,
        contents=[types.Content.model_validate(c) for c in body["contents"]],
        config=types.GenerateContentConfig.model_validate(config) if config else None,
    )
    request = models._GenerateContentParameters_to_mldev(SimpleNamespace(vertexai=False), params, None, params)
    request = _common.encode_unserializable_types(_common.convert_to_dict(request))
    request.pop("_url", None)
    request.pop("config", None)
    return _camel_keys(request)

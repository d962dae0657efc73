"""Decode a JSON body into a wire Struct; on failure, name every violation.

msgspec decodes and validates in one pass and stops at the first error. Clients deserve the whole
list, so a failed body is re-checked, on the error path only, against the JSON Schema that msgspec
generates from the same Struct (so the two can never drift apart).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import msgspec
from jsonschema import Draft202012Validator, FormatChecker, ValidationError

from threadline.errors import BadRequest, FieldViolation
from threadline.wire.common import Timestamp

_format_checker = FormatChecker()
_timestamp_decoder = msgspec.json.Decoder(Timestamp)


@_format_checker.checks("date-time", raises=msgspec.DecodeError)
def _is_timestamp(value: object) -> bool:
    # The same parser as the fast path, so both agree on what a timestamp is.
    if isinstance(value, str):
        _timestamp_decoder.decode(msgspec.json.encode(value))
    return True


@functools.cache
def _decoder(type_: Any) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(type_)


@functools.cache
def _validator(type_: Any) -> Draft202012Validator:
    return Draft202012Validator(msgspec.json.schema(type_), format_checker=_format_checker)


def decode(body: bytes | msgspec.Raw, type_: Any) -> Any:
    """Decode body (JSON bytes, or a Raw piece of a larger body) as type_ (a Struct or a union
    of them), or raise BadRequest naming every violation."""
    try:
        return _decode(body, type_)
    except RecursionError:  # msgspec and the schema check both recurse on nesting
        raise BadRequest("The request body is nested too deeply.") from None


def decode_part(part: msgspec.Raw, type_: Any) -> Any:
    """decode() for a piece of a body that decode() already accepted as a whole (a /batch item):
    the whole was searched for U+0000 then, so the piece is not copied to be searched again."""
    try:
        return _typed(part, type_)
    except RecursionError:
        raise BadRequest("The request body is nested too deeply.") from None


def _decode(body: bytes | msgspec.Raw, type_: Any) -> Any:
    data = body if isinstance(body, bytes) else memoryview(body).tobytes()
    if b"\\u0000" in data:  # rare: only then look for the character itself
        _refuse_nul(_decode_untyped(body))
    return _typed(body, type_)


def _typed(body: bytes | msgspec.Raw, type_: Any) -> Any:
    try:
        return _decoder(type_).decode(body)
    except msgspec.ValidationError as exc:
        # A typed decode can stop at a wrong type before it reaches broken syntax later on.
        instance = _decode_untyped(body)
        found = violations(type_, instance) or [_from_msgspec(exc)]
        raise BadRequest(_summary(found), violations=found) from None
    except msgspec.DecodeError as exc:
        raise _malformed(exc) from None


def _nul_paths(value: Any, where: str) -> Iterator[str]:
    if isinstance(value, str):
        if "\x00" in value:
            yield where
    elif isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                yield where
            yield from _nul_paths(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _nul_paths(item, f"{where}[{i}]")


def _refuse_nul(instance: Any) -> None:
    """PostgreSQL cannot store U+0000 in text or JSON, so no backend accepts it (both must
    answer alike), and it is refused before anything is written."""
    found = [
        FieldViolation(where, "must not contain the NUL character (U+0000)")
        for where in _nul_paths(instance, "$")
    ]
    if found:
        raise BadRequest(_summary(found), violations=found)


def _decode_untyped(body: bytes | msgspec.Raw) -> Any:
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise _malformed(exc) from None


def _malformed(exc: msgspec.DecodeError) -> BadRequest:
    return BadRequest(f"The request body is not valid JSON: {exc}")


def _summary(found: list[FieldViolation]) -> str:
    listed = "; ".join(f"{v.field}: {v.message}" for v in found)
    return f"The request body is invalid ({len(found)} problem{'s' * (len(found) > 1)}): {listed}"


def _from_msgspec(exc: msgspec.ValidationError) -> FieldViolation:
    message, _, where = str(exc).partition(" - at `")
    return FieldViolation(field=where.rstrip("`") or "$", message=message)


def violations(type_: Any, instance: Any) -> list[FieldViolation]:
    """Every way instance breaks the JSON Schema of type_, as (field, message) pairs."""
    validator = _validator(type_)
    found = list(_walk(validator, validator.iter_errors(instance)))
    unique = {(v.field, v.message): v for v in found}
    return sorted(unique.values(), key=lambda v: v.field)


def _path(error: ValidationError) -> str:
    out = "$"
    for part in error.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _walk(
    validator: Draft202012Validator, errors: Iterator[ValidationError]
) -> Iterator[FieldViolation]:
    for error in errors:
        if error.validator in ("anyOf", "oneOf"):
            yield from _union(validator, error)
        else:
            yield _describe(error)


def _union(validator: Draft202012Validator, error: ValidationError) -> Iterator[FieldViolation]:
    schema = error.schema if isinstance(error.schema, dict) else {}
    discriminator = schema.get("discriminator")
    instance = error.instance
    if discriminator and isinstance(instance, dict):
        # A tagged union: check the variant the tag names, not every variant.
        tag_name = discriminator["propertyName"]
        mapping: dict[str, str] = discriminator["mapping"]
        tag = instance.get(tag_name)
        where = _path(error)
        if not isinstance(tag, str) or tag not in mapping:
            allowed = ", ".join(sorted(mapping))
            problem = "is required" if tag is None else f"{tag!r} is not allowed"
            yield FieldViolation(f"{where}.{tag_name}", f"{problem}; one of {allowed}")
            return
        root = validator.schema if isinstance(validator.schema, dict) else {}
        variant = {"$ref": mapping[tag], "$defs": root.get("$defs", {})}
        nested = validator.evolve(schema=variant).iter_errors(instance)
        for sub in _walk(validator, nested):
            yield FieldViolation(where + sub.field[1:], sub.message)
        return
    # A branch whose JSON type fits failed deeper down: its own errors say more than
    # "matches no branch". Otherwise the value has a type no branch takes.
    deeper = [sub for sub in error.context or [] if sub.relative_path or sub.validator != "type"]
    if deeper:
        yield from _walk(validator, iter(deeper))
        return
    types = [_type_names(sub.validator_value) for sub in error.context or []]
    got = _JSON_TYPES.get(type(instance), "another type")
    yield FieldViolation(_path(error), f"must be {' or '.join(dict.fromkeys(types))}, got {got}")


_JSON_TYPES = {
    dict: "object",
    list: "array",
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
    type(None): "null",
}


def _type_names(value: Any) -> str:
    return " or ".join(value) if isinstance(value, list) else str(value)


def _describe(error: ValidationError) -> FieldViolation:
    where = _path(error)
    kind = error.validator
    value = error.validator_value
    if kind == "required":
        missing = str(error.message).split("'")[1]
        return FieldViolation(f"{where}.{missing}", "is required")
    if kind == "type":
        got = _JSON_TYPES.get(type(error.instance), "another type")
        return FieldViolation(where, f"must be {_type_names(value)}, got {got}")
    if kind in ("enum", "const"):
        options = list(value) if kind == "enum" else [value]  # type: ignore[arg-type]
        return FieldViolation(
            where, f"{error.instance!r} is not one of {', '.join(map(str, options))}"
        )
    if kind == "minLength":
        return FieldViolation(
            where, "must not be empty" if value == 1 else f"must be at least {value} characters"
        )
    if kind == "minItems":
        return FieldViolation(where, f"must contain at least {value} item{'s' * (value != 1)}")
    if kind == "format":
        return FieldViolation(
            where, "must be an ISO 8601 date-time with a timezone, e.g. 2026-02-01T10:00:00Z"
        )
    return FieldViolation(where, error.message)

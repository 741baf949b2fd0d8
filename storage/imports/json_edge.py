"""JSON at the edge: its size, depth and container count checked before it is parsed whole, then
parsed once (an import file, a push, a Partner Center answer)."""

from __future__ import annotations

import json
from typing import Any

from storage import limits
from storage.errors import DocumentError

MAX_DEPTH = 32
"""Deeper JSON than any document of ours needs is refused before it is read further."""


def shape_problem(value: Any, *, max_depth: int = MAX_DEPTH, nul: bool = True) -> str | None:
    """The first thing in decoded JSON that no document may hold, with where it is: nesting deeper
    than ``max_depth``, or a NUL character in a string (PostgreSQL cannot store one). None if clean.
    Iterative, so a hostile document cannot exhaust the stack; only containers are stacked (a list
    of millions of numbers costs no memory here). ``nul=False`` checks the depth only (a list whose
    items are checked one by one later)."""
    if isinstance(value, str):
        return "the document: contains a NUL character" if nul and "\x00" in value else None
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        if not isinstance(item, dict | list):
            continue
        if depth >= max_depth:
            return f"{path or 'the document'}: nested deeper than {max_depth} levels"
        pairs = item.items() if isinstance(item, dict) else enumerate(item)
        for key, child in pairs:
            if isinstance(key, str) and nul and "\x00" in key:
                return f"{path or 'the document'}: a key contains a NUL character"
            if isinstance(child, str):
                if nul and "\x00" in child:
                    return f"{_child_path(path, key)}: contains a NUL character"
            elif isinstance(child, dict | list):
                stack.append((child, _child_path(path, key), depth + 1))
    return None


def _child_path(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def container_problem(data: str | bytes, *, limit: int = limits.MAX_JSON_CONTAINERS) -> str | None:
    """More objects and arrays than ``limit``, counted without decoding (``{`` and ``[`` inside
    strings count too: an upper bound, in C speed), or None. A body of nothing but ``{}`` would cost
    a hundred times its size in memory once decoded; it is refused before."""
    opening = (b"{", b"[") if isinstance(data, bytes) else ("{", "[")
    count = data.count(opening[0]) + data.count(opening[1])  # type: ignore[arg-type]
    if count <= limit:
        return None
    return (
        f"more than {limit:,} objects and arrays, over what the limits allow "
        f"(at most {limits.MAX_OFFERS_PER_DOCUMENT:,} offers, {limits.MAX_STEPS_PER_OFFER} steps and "
        f"{limits.MAX_MESSAGES_PER_OFFER} messages each)"
    )


def load_json(data: str | bytes, *, source: str, nul: bool = True) -> Any:
    """Decode JSON and check its shape (:func:`shape_problem`); a clear :class:`DocumentError`
    for malformed, non-UTF-8, too deep or NUL-carrying input, or for more containers than any
    document within the limits has (checked before decoding), never a RecursionError."""
    too_many = container_problem(data)
    if too_many is not None:
        raise DocumentError(f"{source}: {too_many}")
    try:
        doc = json.loads(data)
    except json.JSONDecodeError as exc:
        raise DocumentError(
            f"{source}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{source}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except RecursionError:
        raise DocumentError(f"{source}: nested deeper than {MAX_DEPTH} levels") from None
    problem = shape_problem(doc, nul=nul)
    if problem is not None:
        raise DocumentError(f"{source}: {problem}")
    return doc

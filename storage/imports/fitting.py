"""Documents measured against the store's limits before anything is built: the problems counted (a
refusal names them), or a synced product cut down to fit (its unresolved issues first)."""

from __future__ import annotations

from typing import Any

from storage import limits

_STRING_LIMITS = {
    "name": 500,
    "stepName": 500,
    "description": 4000,
    "estimatedTimeFrame": 200,
    "messageHtml": limits.MAX_MESSAGE_HTML,
}


def _items(value: Any, key: str) -> list[Any]:
    found = value.get(key) if isinstance(value, dict) else None
    return found if isinstance(found, list) else []


def count_problems(raw: Any) -> list[str]:
    """An offer's steps and messages over the limits (``storage.limits``), counted on the raw
    document before anything is validated or built."""
    status = raw.get("status") if isinstance(raw, dict) else None
    steps = _items(status, "steps")
    problems = []
    if len(steps) > limits.MAX_STEPS_PER_OFFER:
        problems.append(
            f"status.steps: {len(steps):,} steps, "
            f"more than the limit of {limits.MAX_STEPS_PER_OFFER} per offer"
        )
    own = _items(status, "messages")
    if len(own) > limits.MAX_STEP_MESSAGES:
        problems.append(
            f"status.messages: {len(own):,} messages, more than the limit of {limits.MAX_STEP_MESSAGES}"
        )
    total = len(own)
    for i, step in enumerate(steps[: limits.MAX_STEPS_PER_OFFER]):
        count = len(_items(step, "messages"))
        total += count
        if count > limits.MAX_STEP_MESSAGES:
            problems.append(
                f"status.steps[{i}].messages: {count:,} messages, more than the limit of "
                f"{limits.MAX_STEP_MESSAGES} per step"
            )
    if total > limits.MAX_MESSAGES_PER_OFFER and not problems:
        problems.append(
            f"status: {total:,} messages in all, "
            f"more than the limit of {limits.MAX_MESSAGES_PER_OFFER} per offer"
        )
    return problems


def _cut(item: Any) -> Any:
    if not isinstance(item, dict):
        return item
    out = dict(item)
    for key, limit in _STRING_LIMITS.items():
        value = out.get(key)
        if isinstance(value, str) and len(value) > limit:
            out[key] = value[: limit - 1] + "…"
    return out


def _fit_messages(messages: list[Any], room: int) -> list[Any]:
    """The first messages that fit ``room``, and one that counts the rest."""
    if len(messages) <= room:
        return [_cut(m) for m in messages]
    kept = [_cut(m) for m in messages[: max(room - 1, 0)]]
    dropped = messages[len(kept) :]
    stamp = next((m.get("timestamp") for m in dropped if isinstance(m, dict) and m.get("timestamp")), None)
    note = {
        "messageHtml": f"… and {len(dropped):,} more message(s): see the offer in Partner Center.",
        "level": "warning",
        "timestamp": stamp if isinstance(stamp, str) else "1970-01-01T00:00:00Z",
    }
    return [*kept, note]


def fit_to_limits(raw: Any) -> Any:
    """A sync source's offer brought within the limits instead of refused: the first steps and
    messages kept, one message saying how many more there were, long texts cut."""
    if not isinstance(raw, dict) or not isinstance(raw.get("status"), dict):
        return raw
    status = dict(raw["status"])
    steps = _items(status, "steps")
    room = limits.MAX_MESSAGES_PER_OFFER
    extra = len(steps) - limits.MAX_STEPS_PER_OFFER
    own = _items(status, "messages")
    if extra > 0:
        note = f"… and {extra:,} more step(s): see the offer in Partner Center."
        own = [*own, {"messageHtml": note, "level": "warning", "timestamp": "1970-01-01T00:00:00Z"}]
    room -= 1  # for the note of messages no step had room for
    status["messages"] = _fit_messages(own, min(limits.MAX_STEP_MESSAGES - 1, room))
    room -= len(status["messages"])
    fitted, lost = [], 0
    for step in steps[: limits.MAX_STEPS_PER_OFFER]:
        step = _cut(step)
        if isinstance(step, dict) and isinstance(step.get("messages"), list):
            if room > 0:
                step["messages"] = _fit_messages(step["messages"], min(limits.MAX_STEP_MESSAGES, room))
                room -= len(step["messages"])
            else:
                lost, step["messages"] = lost + len(step["messages"]), []
        fitted.append(step)
    if lost:
        note = f"… and {lost:,} more message(s) of later steps: see the offer in Partner Center."
        status["messages"].append(
            {"messageHtml": note, "level": "warning", "timestamp": "1970-01-01T00:00:00Z"}
        )
    if "steps" in status:
        status["steps"] = fitted
    return {**_cut(raw), "status": status}

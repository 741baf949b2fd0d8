"""Partner Center's validations (the resource tree's read-only ``validations`` of every resource) as
the offer's messages: Microsoft's levels mapped to the project's, most severe first, bounded.

Microsoft's validation schema has two levels, ``informational`` and ``warning`` (no ``error``): on a
failed submission every validation is shown as at least a warning, since an informational one may be
all that explains the failure (docs/partner-center.md, *Validations*)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from bot.sources.submissions import Shape
from storage import limits, safetext
from storage.imports.documents import MessageIn
from storage.statuses import MessageLevel

KNOWN_LEVELS = frozenset({"informational", "warning"})
"""The levels of Microsoft's validation schema (there is no ``error`` level)."""


def _bounded(limit: int) -> Any:
    """A before-validator that cuts a string to ``limit`` characters (ending it with "…"), so a long
    text is kept, shortened, instead of making the whole answer unreadable."""

    def cut(value: Any) -> Any:
        if isinstance(value, str) and len(value) > limit:
            return value[: limit - 1] + "…"
        return value

    return BeforeValidator(cut)


class Validation(Shape):
    code: Annotated[str, _bounded(200)] = ""
    level: Annotated[str, _bounded(80)] = ""
    message: Annotated[str, _bounded(limits.MAX_MESSAGE_TEXT)] = ""
    resource_id: Annotated[str | None, _bounded(400)] = Field(default=None, alias="resourceId")


class Resource(Shape):
    id: Annotated[str, _bounded(400)] = ""
    validations: list[Validation] = Field(default_factory=list)


class ResourceTree(Shape):
    resources: list[Resource] = Field(default_factory=list)


_LEVELS = {
    "error": MessageLevel.ERROR,
    "warning": MessageLevel.WARNING,
    "information": MessageLevel.INFORMATION,
    "informational": MessageLevel.INFORMATION,
    "info": MessageLevel.INFORMATION,
}
_SEVERITY = {MessageLevel.ERROR: 0, MessageLevel.WARNING: 1, None: 2, MessageLevel.INFORMATION: 3}
"""Most severe first: errors, warnings, levels nobody documents, then informational ones."""


def validation_message(validation: Validation, *, when: datetime, failed: bool = False) -> MessageIn:
    """A validation as a message of the offer. An unknown level shows as a warning that names it; on a
    failed submission every validation is at least a warning (Microsoft's schema has no error level, so
    an ``informational`` one may be all that explains the failure), its own level named in the text."""
    level = _LEVELS.get(validation.level.lower())
    text = validation.message.strip() or "(no message)"
    shown = level or MessageLevel.WARNING
    if failed and shown is MessageLevel.INFORMATION:
        shown = MessageLevel.WARNING
    if level is None or shown is not level:
        text = f"[{validation.level or 'no level'}] {text}"
    if validation.code:
        text = f"{text} ({validation.code})"
    return MessageIn(level=shown, text=safetext.escape(text), timestamp=when)


def validation_messages(
    validations: Sequence[Validation], *, when: datetime, failed: bool, limit: int = limits.MAX_STEP_MESSAGES
) -> tuple[MessageIn, ...]:
    """Every validation as a message, most severe first; beyond ``limit``, the first ``limit - 1``
    and one line that says how many more there are (the offer is never dropped for it)."""
    ordered = sorted(validations, key=lambda v: _SEVERITY[_LEVELS.get(v.level.lower())])
    messages = [
        validation_message(v, when=when, failed=failed)
        for v in ordered[: limit if len(ordered) <= limit else limit - 1]
    ]
    more = len(ordered) - len(messages)
    if more:
        text = f"… and {more} more validation(s): see the offer in Partner Center."
        level = MessageLevel.WARNING if failed else MessageLevel.INFORMATION
        messages.append(MessageIn(level=level, text=text, timestamp=when))
    return tuple(messages)

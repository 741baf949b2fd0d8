"""How much one offer may hold, wherever it comes from: the limits of what is stored and shown.

A sync never refuses what Microsoft sends for them: beyond a limit it keeps the first items and says
how many more there are."""

from __future__ import annotations

MAX_STEP_MESSAGES = 100
"""Messages (validations, issues) kept per step of an offer."""
MAX_MESSAGE_TEXT = 4_000
"""Characters of one message's text."""
MAX_REASON = 300
"""Characters of a stored reason (why Microsoft's details could not be read)."""

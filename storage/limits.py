"""How much one document and one offer may hold, wherever they come from: the limits of what is
stored and shown (docs/security.md, *Limits*).

An import or a push over a limit is refused with an error that names it, before the document is
built. A sync never refuses what Microsoft sends for them: beyond a limit it keeps the first items
and says how many more there are."""

from __future__ import annotations

MAX_OFFERS_PER_DOCUMENT = 5_000
"""Offers in one import document or push."""
MAX_STEPS_PER_OFFER = 50
"""Publishing steps of one offer (Microsoft's longest step list has eight)."""
MAX_MESSAGES_PER_OFFER = 200
"""Messages of one offer: its own and all its steps' together."""
MAX_STEP_MESSAGES = 100
"""Messages (validations, issues) of one step, or of the offer itself."""
MAX_MESSAGE_TEXT = 4_000
"""Characters of one message's text as stored (its HTML may be up to five times longer)."""
MAX_MESSAGE_HTML = 20_000
"""Characters of one message's HTML in a document."""
MAX_JSON_CONTAINERS = 200_000
"""Objects and arrays in one document, counted before it is decoded: no document within the limits
above needs as many, and a body of nothing but ``{}`` or ``[]`` is refused before it costs memory."""
MAX_PROBLEMS = 20
"""Problems of a refused document collected and shown; validation stops at the 21st."""
MAX_REASON = 300
"""Characters of a stored reason (why Microsoft's details could not be read)."""

# ruff: noqa: E501, UP031, S603  (a documentation tool: long HTML and CSS lines, a fixed Chromium call)
"""Draw the pictures of the README and the docs from the bot's own Block Kit, in both languages:

    python docs/pictures.py [--chromium /usr/bin/chromium]

A temporary store gets the sample offers, a channel subscription and one failure; the real
renderers draw an offer's card, the failure's alert, the Home tab and the digest; each is turned
into a small Slack-like HTML page (mrkdwn, fields, context, buttons and menus) and shot with
headless Chromium (Debian's ``chromium`` and ``fonts-noto-color-emoji`` packages), then cropped to its content. The PNGs land in
``docs/pictures/`` and are committed: CI does not need Chromium.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import struct
import subprocess
import sys
import tempfile
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OUT = ROOT / "docs" / "pictures"
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
EMOJI = {
    ":alarm_clock:": "⏰", ":bell:": "🔔", ":gear:": "⚙️", ":grey_question:": "❔", ":hourglass:": "⌛",
    ":hourglass_flowing_sand:": "⏳", ":information_source:": "ℹ️", ":large_blue_circle:": "🔵",
    ":no_entry:": "⛔", ":no_entry_sign:": "🚫", ":raised_hand:": "✋", ":raising_hand:": "🙋",
    ":red_circle:": "🔴", ":test_tube:": "🧪", ":warning:": "⚠️", ":wastebasket:": "🗑️",
    ":white_check_mark:": "✅", ":white_circle:": "⚪", ":x:": "❌", ":zzz:": "💤",
}  # fmt: skip
WIDTH = 760

# --- mrkdwn and blocks as HTML -------------------------------------------------------------


def mrkdwn(text: str) -> str:
    """Slack's mrkdwn as HTML. The renderers already escape ``&``, ``<`` and ``>`` as Slack wants,
    which is HTML's escaping too; what is left in angle brackets is a link or a mention."""
    for code, char in EMOJI.items():
        text = text.replace(code, char)
    text = re.sub(r"```(.+?)```", lambda m: f"<pre>{m.group(1)}</pre>", text, flags=re.S)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"<(https?://[^|>]+)\|([^>]+)>", r'<a href="\1">\2</a>', text)
    text = re.sub(r"<(https?://[^>]+)>", r'<a href="\1">\1</a>', text)
    text = re.sub(r"<@(U\w+)>", r'<span class="mention">@\1</span>', text)
    text = re.sub(
        r"<#(C\w+)(?:\|([^>]+))?>",
        lambda m: f'<span class="mention">#{m.group(2) or m.group(1)}</span>',
        text,
    )
    text = re.sub(r"<!date\^\d+\^[^|]*\|([^>]+)>", r"\1", text)
    text = re.sub(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])", r"<b>\1</b>", text)
    text = re.sub(r"(?<![\w_])_([^_\n]+)_(?![\w_])", r"<i>\1</i>", text)
    text = re.sub(r"(?<![\w~])~([^~\n]+)~(?![\w~])", r"<s>\1</s>", text)
    return text.replace("\n", "<br>")


def _text(obj: dict[str, Any] | None) -> str:
    if not obj:
        return ""
    if obj.get("type") == "plain_text":
        return html.escape(obj.get("text", ""), quote=False)
    return mrkdwn(obj.get("text", ""))


def _element(e: dict[str, Any]) -> str:
    if e.get("type") == "button":
        style = " primary" if e.get("style") == "primary" else " danger" if e.get("style") == "danger" else ""
        return f'<span class="button{style}">{_text(e.get("text"))}</span>'
    if e.get("type") in ("static_select", "overflow", "users_select", "channels_select"):
        return f'<span class="button select">{_text(e.get("placeholder")) or "…"} ▾</span>'
    if e.get("type") in ("mrkdwn", "plain_text"):
        return _text(e)
    if e.get("type") == "image":
        return ""
    return ""


def block_html(block: dict[str, Any]) -> str:
    kind = block.get("type")
    if kind == "header":
        return f"<h3>{_text(block['text'])}</h3>"
    if kind == "section":
        out = ""
        if block.get("text"):
            accessory = (
                f'<div class="accessory">{_element(block["accessory"])}</div>'
                if block.get("accessory")
                else ""
            )
            out += f'<div class="section">{accessory}{_text(block["text"])}</div>'
        if block.get("fields"):
            out += (
                '<div class="fields">' + "".join(f"<div>{_text(f)}</div>" for f in block["fields"]) + "</div>"
            )
        return out
    if kind == "context":
        return '<div class="context">' + " ".join(_element(e) for e in block.get("elements", [])) + "</div>"
    if kind == "actions":
        return '<div class="actions">' + "".join(_element(e) for e in block.get("elements", [])) + "</div>"
    if kind == "divider":
        return "<hr>"
    return ""


STYLE = (
    """
body { margin: 0; background: #fff; font: 15px/1.46 -apple-system, "Segoe UI", Lato, "DejaVu Sans", sans-serif;
       color: #1d1c1d; width: %dpx; }
.message { display: flex; padding: 16px 20px; }
.avatar { width: 36px; height: 36px; border-radius: 6px; background: #2b6cb0; color: #fff; font-weight: 700;
          display: flex; align-items: center; justify-content: center; margin-right: 10px; flex: none; }
.who b { margin-right: 6px; } .app { background: #eee; color: #555; font-size: 10px; padding: 1px 3px;
        border-radius: 2px; margin-right: 6px; } .time { color: #616061; font-size: 12px; }
.body { flex: 1; min-width: 0; } .home { padding: 20px 24px; }
h3 { font-size: 18px; margin: 6px 0 8px; }
.section { margin: 4px 0 8px; overflow-wrap: anywhere; } .accessory { float: right; margin-left: 12px; }
.fields { display: grid; grid-template-columns: 1fr 1fr; gap: 6px 16px; margin: 4px 0 10px; }
.context { color: #616061; font-size: 13px; margin: 4px 0 8px; }
.actions { margin: 8px 0; display: flex; flex-wrap: wrap; gap: 8px; }
.button { border: 1px solid #bbb; border-radius: 4px; padding: 3px 12px; font-weight: 700; font-size: 14px; }
.button.primary { background: #007a5a; color: #fff; border-color: #007a5a; }
.button.danger { color: #e01e5a; } .select { font-weight: 400; }
code { background: #f6f6f6; border: 1px solid #ddd; border-radius: 3px; color: #c01343; font-size: 12px;
       padding: 1px 3px; } a { color: #1264a3; text-decoration: none; }
.mention { background: #e8f5fa; color: #1264a3; padding: 0 2px; border-radius: 3px; }
hr { border: 0; border-top: 1px solid #ddd; margin: 12px 0; }
"""
    % WIDTH
)


def page(blocks: list[dict[str, Any]], *, home: bool, when: str) -> str:
    inner = "".join(block_html(b) for b in blocks)
    if home:
        content = f'<div class="home">{inner}</div>'
    else:
        who = f'<div class="who"><b>offerbot</b><span class="app">APP</span><span class="time">{when}</span></div>'
        content = (
            f'<div class="message"><div class="avatar">ob</div><div class="body">{who}{inner}</div></div>'
        )
    return f'<!DOCTYPE html><html><head><meta charset="utf-8"><style>{STYLE}</style></head><body>{content}</body></html>'


# --- PNG cropping (no image library needed) ------------------------------------------------


def _png_rows(data: bytes) -> tuple[int, int, int, list[bytes]]:
    """Width, height, bytes per pixel and the unfiltered rows of an 8-bit RGB(A) PNG."""
    pos, chunks = 8, b""
    width = height = bpp = 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            if depth != 8 or color not in (2, 6):
                raise ValueError("only 8-bit RGB or RGBA PNGs")
            bpp = 4 if color == 6 else 3
        elif kind == b"IDAT":
            chunks += body
        pos += 12 + length
    raw, stride, rows, prev = zlib.decompress(chunks), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - bpp] if x >= bpp else 0
            up, corner = prev[x], prev[x - bpp] if x >= bpp else 0
            if kind == 1:
                line[x] = (line[x] + left) & 255
            elif kind == 2:
                line[x] = (line[x] + up) & 255
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[x] = (line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


def crop(path: Path, margin: int = 12) -> None:
    """Cut the white rows under the content, keeping ``margin`` pixels."""
    width, _height, bpp, rows = _png_rows(path.read_bytes())
    white = b"\xff" * (width * bpp) if bpp == 3 else None
    last = 0
    for y, row in enumerate(rows):
        blank = (
            row == white
            if white is not None
            else all(row[i : i + 3] == b"\xff\xff\xff" for i in range(0, len(row), 4))
        )
        if not blank:
            last = y
    rows = rows[: min(len(rows), last + 1 + margin)]
    color = 6 if bpp == 4 else 2
    raw = b"".join(b"\x00" + r for r in rows)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, len(rows), 8, color, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def shoot(chromium: str, source: Path, target: Path) -> None:
    subprocess.run(
        [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--force-device-scale-factor=1", f"--window-size={WIDTH},2400", f"--screenshot={target}",
         source.as_uri()],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    crop(target)


# --- what is drawn ---------------------------------------------------------------------------


def scenes() -> dict[str, tuple[list[dict[str, Any]], bool]]:
    """name -> (blocks, is the Home tab), per language, from a temporary store and the renderers."""
    from sqlmodel import select

    from bot.i18n import Language, translator
    from bot.render.alerts import render_alert
    from bot.render.digest import render_digest
    from bot.render.home import render_home
    from bot.render.offers import render_card
    from bot.usecases.digest import digest_for
    from bot.usecases.home import home_of
    from storage import db
    from storage.alerts.subscriptions import Target, subscribe
    from storage.imports.documents import parse_document
    from storage.imports.importer import import_offers
    from storage.models import Offer
    from storage.reads.offers import load_card

    out: dict[str, tuple[list[dict[str, Any]], bool]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        engine = db.make_engine(f"sqlite:///{tmp}/pictures.db")
        db.migrate(engine)
        factory = db.session_factory(engine)
        samples = json.loads((ROOT / "storage" / "samples" / "offers.json").read_text())
        with db.transaction(factory) as s:
            import_offers(
                s,
                team_id="T0PICTURE",
                offers=parse_document(json.dumps(samples)),
                now=NOW - timedelta(days=2),
            )
            for kind, dest in (("channel", "C0RELEASE"), ("user", "U0PAT0001")):
                subscribe(s, team_id="T0PICTURE", destination_kind=kind, destination=dest, target=Target("all"),
                          events=(), created_by="U0PAT0001", now=NOW)  # fmt: skip
        with factory() as s:
            woodgrove = s.exec(select(Offer).where(Offer.offer_id == "woodgrove-insights-app")).one()
            card = load_card(s, offer=woodgrove)
            home = home_of(s, team_id="T0PICTURE", user_id="U0PAT0001")
            digest = digest_for(s, team_id="T0PICTURE", channel_id="C0RELEASE", user_id="U0PAT0001", now=NOW)
        engine.dispose()
    for lang in (Language.EN, Language.FR):
        tr = translator(lang)
        out[f"card-{lang.value}"] = (render_card(card, tr=tr).blocks, False)
        alert = render_alert(card, old_status="in_progress", new_status="failed", tr=tr)
        out[f"alert-{lang.value}"] = (alert.blocks, False)
        out[f"home-{lang.value}"] = (render_home(home, tr=tr)["blocks"], True)
        out[f"digest-{lang.value}"] = (render_digest(digest, tr=tr).blocks, False)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, (blocks, home) in scenes().items():
            source = Path(tmp) / f"{name}.html"
            source.write_text(page(blocks, home=home, when="9:00 AM" if name.endswith("en") else "09:00"))
            shoot(args.chromium, source, OUT / f"{name}.png")
            print(f"docs/pictures/{name}.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

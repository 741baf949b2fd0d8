"""``/offer-status history <offer>``: the status timeline, who worked on the alerts, where alerts went,
paged with buttons. The alert is posted by the real watcher into the fake Slack; the command and
the clicks are real signed requests. Runs on SQLite and, where TEST_DATABASE_URL is set, PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest

from bot.i18n import ENGLISH
from bot.render.textview import blocks_to_text
from bot.slack import answers
from storage import db
from storage.errors import UsageError
from storage.models import StatusChange
from tests.conftest import NOW, TEAM, action_body, post, sign, slash_body
from tests.support.alerted import PAT, button, click, updates
from tests.support.alerts import CHANNEL, OPS, offer_pk
from tests.support.fakeslack import FakeSlack

pytestmark = pytest.mark.usefixtures("alerted")


def ask(server: Any, text: str, **who: str) -> dict[str, Any]:
    body = slash_body(text, **who)
    status, raw = post(server.url + "/slack/events", body, sign(body))
    assert status == 200
    return dict(json.loads(raw))


def test_history_shows_the_timeline_who_took_it_and_where_alerts_went(
    app_server: Any, fake_slack: FakeSlack, factory: db.SessionFactory, alerted: dict[str, Any]
) -> None:
    pk = str(offer_pk(factory, "contoso-analytics-vm"))
    click(app_server, fake_slack, button("alert_on_it", pk), channel=CHANNEL, ts=alerted["channel_ts"])
    updates(fake_slack, 1)
    answer = ask(app_server, "history contoso-analytics-vm")
    shown = blocks_to_text(answer["blocks"])
    lines = shown.splitlines()
    assert lines[0] == "History of Contoso Analytics VM"
    assert "Publishing steps" in shown  # the steps, with their estimates
    start = lines.index("*What happened, newest first*")
    newest_first = [ln for ln in lines[start + 1 :] if " · " in ln and "UTC" in ln]
    steps = "\n".join(lines[:start])
    assert "*3. Certification* — blocked · since 2026-11-24 09:05 UTC · Microsoft estimates _3 days_" in steps
    assert f"<@{PAT}> took the alert in <#{CHANNEL}>" in newest_first[0]
    assert any(f"Alert to <#{CHANNEL}>: sent" in ln for ln in newest_first)
    # Another person's direct message is theirs: Pat reads that one went, not to whom.
    assert any("Alert to someone else by direct message: sent" in ln for ln in newest_first)
    assert not any(OPS in ln for ln in newest_first)
    assert any("*Publish failed* (was Publish in progress, import)" in ln for ln in newest_first)
    assert "First seen as *Publish in progress* (import)" in newest_first[-1]
    assert answer["text"] == "History of Contoso Analytics VM: 5 entries"
    own = blocks_to_text(ask(app_server, "history contoso-analytics-vm", user=OPS)["blocks"])
    assert f"Alert to <@{OPS}> by direct message: sent" in own


def test_history_names_a_private_channel_only_to_its_members(
    app_server: Any, fake_slack: FakeSlack, factory: db.SessionFactory, alerted: dict[str, Any]
) -> None:
    fake_slack.private_channels.add(CHANNEL)
    fake_slack.channel_members[CHANNEL] = [OPS]
    outsider = blocks_to_text(ask(app_server, "history contoso-analytics-vm")["blocks"])
    assert "Alert to another channel: sent" in outsider and CHANNEL not in outsider
    member = blocks_to_text(ask(app_server, "history contoso-analytics-vm", user=OPS)["blocks"])
    assert f"Alert to <#{CHANNEL}>: sent" in member
    typed_there = blocks_to_text(ask(app_server, "history contoso-analytics-vm", channel=CHANNEL)["blocks"])
    assert f"Alert to <#{CHANNEL}>: sent" in typed_there  # the channel one types in is seen


def test_history_pages_by_command_and_by_button(
    app_server: Any, fake_slack: FakeSlack, factory: db.SessionFactory
) -> None:
    pk = offer_pk(factory, "contoso-analytics-vm")
    with db.transaction(factory) as s:
        for i in range(41):  # 41 more changes: 45 entries with the alert's history
            s.add(
                StatusChange(
                    team_id=TEAM,
                    offer_pk=pk,
                    old_status="in_progress",
                    new_status="failed" if i % 2 else "in_progress",
                    changed_at=NOW + timedelta(days=1, minutes=i),
                    source="sync",
                    handled_at=NOW,
                )
            )
    first = ask(app_server, "history contoso-analytics-vm")
    assert "1–20 of 45 (page 1 of 3: `/offer-status history contoso-analytics-vm page N`)" in json.dumps(
        first["blocks"], ensure_ascii=False
    )
    (buttons,) = [b for b in first["blocks"] if b["type"] == "actions"]
    (next_button,) = buttons["elements"]
    assert next_button["text"]["text"] == "Next"
    last = ask(app_server, "history contoso-analytics-vm page 3")
    assert "41–45 of 45" in json.dumps(last["blocks"], ensure_ascii=False)
    body = action_body(next_button["value"], next_button["action_id"], response_url=fake_slack.response_url)
    assert post(app_server.url + "/slack/events", body, sign(body))[0] == 200
    (page2,) = fake_slack.wait_for("response_url")
    assert page2.body["replace_original"] is True
    assert "21–40 of 45" in json.dumps(page2.body["blocks"], ensure_ascii=False)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("history", "`history` needs an offer"),
        ("history contoso-analytics-vm page 0", '"page" takes a page number from 1'),
    ],
)
def test_history_refusals_say_what_to_do(factory: db.SessionFactory, text: str, says: str) -> None:
    with factory() as session, pytest.raises(UsageError, match=re.escape(says)):
        answers.handle_command(session, team_id=TEAM, text=text, tr=ENGLISH, now=NOW)


def test_history_of_an_offer_it_cannot_find_says_what_it_found(factory: db.SessionFactory) -> None:
    with factory() as session:
        reply = answers.handle_command(
            session, team_id=TEAM, text="history zzqq-nothing", tr=ENGLISH, now=NOW
        )
    assert "No offer matches" in reply.text


@pytest.mark.parametrize("value", ['{"h":1}', '{"h":"x","o":0}', '{"h":1,"o":-4}', "[]", '{"h":0,"o":0}'])
def test_a_forged_history_button_is_out_of_date(factory: db.SessionFactory, value: str) -> None:
    with factory() as session, pytest.raises(UsageError, match="out of date"):
        answers.handle_history_page(session, team_id=TEAM, value=value, tr=ENGLISH)

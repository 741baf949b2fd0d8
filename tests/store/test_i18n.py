"""French and English: the catalogues are complete and consistent with the code, every text offerbot
writes exists in French, and each reader gets their language (Slack locale, channel setting, shell)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po
from sqlmodel import select

from bot.alerting.outcomes import WatcherConfig
from bot.alerting.watcher import run_pass
from bot.i18n import ENGLISH, LOCALE_DIR, Language, Translator, language_of, translator
from bot.render.alerts import (
    render_alert,
    render_reminder,
)
from bot.render.blocks import Reply, esc
from bot.render.help import render_error
from bot.render.offers import render_card
from bot.settings import Settings
from bot.slack import answers, grammar
from bot.slack.app import make_client
from bot.slack.clients import OneWorkspace
from bot.slack.people import People
from bot.slack.shell import answer as shell_answer
from storage import db
from storage.alerts.subscriptions import Target, subscribe
from storage.channels import set_language
from storage.errors import UsageError
from storage.models import Message, Offer, Step
from storage.people import cached_locale
from storage.reads.offers import OfferCard, load_card
from storage.statuses import FILTER_WORDS
from storage.workspaces import LOCAL_TEAM
from tests.conftest import NOW, ROOT, TEAM, load_samples
from tests.support.answers import _reply_text, every_answer
from tests.support.fakeslack import FakeSlack

FRENCH = translator(Language.FR)
PO = LOCALE_DIR / "fr" / "LC_MESSAGES" / "offerbot.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|\{(\w+)\}")


def french_catalogue() -> Any:
    with PO.open("rb") as fp:
        return read_po(fp, locale="fr")


def code_messages() -> set[str | tuple[str, ...]]:
    """Every message marked in the code, extracted as ``pybabel extract`` does."""
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    found: set[str | tuple[str, ...]] = set()
    for folder in ("bot", "storage"):
        for _file, _line, message, _comments, _context in extract_from_dir(ROOT / folder, keywords=keywords):
            found.add(message)
    return found


# --- the catalogues ---------------------------------------------------------------------------


def test_every_message_in_the_code_is_in_the_catalogue_and_translated() -> None:
    catalogue = french_catalogue()
    in_code = code_messages()
    assert len(in_code) > 100  # the extraction itself works
    in_catalogue = {m.id for m in catalogue if m.id}
    missing = sorted(str(m) for m in in_code - in_catalogue)
    assert not missing, f"not in {PO.name} (run pybabel extract, then pybabel update): {missing}"
    stale = sorted(str(m) for m in in_catalogue - in_code)
    assert not stale, f"in {PO.name} but no longer in the code (run pybabel update): {stale}"


def test_no_french_entry_is_empty_or_fuzzy_and_plurals_have_every_form() -> None:
    catalogue = french_catalogue()
    for message in catalogue:
        if not message.id:
            continue
        assert "fuzzy" not in message.flags, f"fuzzy: {message.id!r}"
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(s.strip() for s in strings), f"untranslated: {message.id!r}"
        if message.pluralizable:
            assert len(strings) == catalogue.num_plurals, f"plural forms of {message.id!r}"


def placeholders(text: str) -> set[str]:
    return {a or b for a, b in PLACEHOLDER.findall(text)}


def test_translations_keep_the_placeholders_of_their_source() -> None:
    for message in french_catalogue():
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        wanted = set().union(*(placeholders(i) for i in ids))
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for string in strings:
            # a plural's "%(n)d" may be dropped by a form that spells the number out; nothing else
            assert placeholders(string) - {"n"} == wanted - {"n"}, f"{message.id!r} -> {string!r}"


def test_the_placeholder_check_would_catch_a_mismatch() -> None:
    assert placeholders("%(offer)s est %(status)s") != placeholders("%(offer)s is %(state)s")
    assert placeholders("{date_short_pretty} à {time}") == {"date_short_pretty", "time"}


def test_plurals_follow_each_languages_rules() -> None:
    for n, english, french in (
        (0, "0 unresolved issues", "0 problème non résolu"),
        (1, "1 unresolved issue", "1 problème non résolu"),
        (2, "2 unresolved issues", "2 problèmes non résolus"),
    ):
        for tr, expected in ((ENGLISH, english), (FRENCH, french)):
            assert tr.ngettext("%(n)d unresolved issue", "%(n)d unresolved issues", n) == expected


def test_slack_locales_map_to_languages() -> None:
    assert language_of("fr-FR") is Language.FR and language_of("fr-CA") is Language.FR
    assert language_of("fr") is Language.FR
    for other in ("en-US", "en-GB", "de-DE", "es-ES", "", None, "frx-YY"):
        assert language_of(other) is Language.EN


# --- every text in French ---------------------------------------------------------------------


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-zÀ-ÿ’']+", text) if len(w) >= 3}


def english_vocabulary() -> set[str]:
    """The words of offerbot's English texts that its French texts never use: finding one in a French
    answer means a text was not translated. Command words stay English by design."""
    catalogue = french_catalogue()
    english: set[str] = set()
    french: set[str] = set()
    for message in catalogue:
        if not message.id:
            continue
        for text in message.id if isinstance(message.id, tuple) else (message.id,):
            english |= _words(re.sub(r"`[^`]*`|%\(\w+\)[sd]|\{\w+\}", " ", text))
        for text in message.string if isinstance(message.string, tuple) else (message.string,):
            french |= _words(re.sub(r"`[^`]*`|%\(\w+\)[sd]|\{\w+\}", " ", text))
    command_words = _words(" ".join(grammar.ALERT_VERBS) + " " + " ".join(FILTER_WORDS.values()))
    command_words |= {"list", "help", "page", "all", "threading", "language", "signoff"}
    return english - french - command_words


def _without_data(text: str, cards: list[OfferCard]) -> str:
    """The text with what comes from the data removed: names, ids, steps, messages, links."""
    text = json.loads(json.dumps(text))
    data: list[str] = []
    for card in cards:
        offer = card.offer
        data += [offer.name, offer.offer_id, offer.publisher_id, *offer.preview_links, *offer.live_links]
        if offer.feed is None:  # the sync's step names and times are offerbot's words, not data
            data += [s.name for s in card.steps] + [s.estimated_time for s in card.steps]
        data += [m.text for m in card.messages]
    for item in sorted(set(filter(None, data)), key=len, reverse=True):  # longest first
        for form in (item, esc(item), json.dumps(item)[1:-1], json.dumps(esc(item))[1:-1]):
            text = text.replace(form, " ")
    text = re.sub(r"https?://[^\s|>\"]+", " ", text)  # links
    text = re.sub(r"<[@#!][^>]*>", " ", text)  # mentions, channels, dates
    text = re.sub(r":[a-z_]+:", " ", text)  # emoji
    text = re.sub(r"`[^`]*`", " ", text)  # command syntax
    text = re.sub(
        r'"(type|text|block_id|action_id|value|url|elements|fields|emoji|verbatim|placeholder|options|accessory)"',
        " ",
        text,
    )
    text = re.sub(r'"\d+:\d[hdw]"', " ", text)  # the snooze menu's values
    text = re.sub(r'"(sub|mute):\d+"|"home"', " ", text)  # the Home tab's button values
    return re.sub(
        r'"(section|mrkdwn|plain_text|header|context|divider|actions|button|static_select|open_offer_status|'
        r'open_partner_center|offer_list_page[:\d]*|offer_history_page[:\d]*|alert_on_it|alert_snooze|alert_mute_offer|home_refresh|home_remove_alert)"',
        " ",
        text,
    )


BAD_COMMANDS = [
    "list nope",
    "list page x",
    "list page 0",
    "list failed live",
    "x" * 600,
    "subscribe",
    "subscribe publisher:",
    "unsubscribe failed",
    "settings",
    "settings language de",
    "settings threading maybe",
    "notify-me all",
    "mute-me all",
]


def every_error(factory: db.SessionFactory, tr: Translator) -> list[Reply]:
    """The answers to commands and buttons a user got wrong, as the shell and Slack show them."""
    replies: list[Reply] = []
    with factory() as session:
        for text in BAD_COMMANDS:
            with pytest.raises(UsageError) as caught:
                answers.handle_command(session, team_id=TEAM, text=text, tr=tr, now=NOW)
            replies.append(render_error(caught.value, tr=tr))
        for bad in (
            lambda: answers.offer_card(session, team_id=TEAM, value="999999", tr=tr),
            lambda: answers.offer_card(session, team_id=TEAM, value="nope", tr=tr),
            lambda: answers.handle_page_action(session, team_id=TEAM, value="{", tr=tr),
        ):
            with pytest.raises(UsageError) as caught:
                bad()
            replies.append(render_error(caught.value, tr=tr))
    return replies


def synced_card() -> OfferCard:
    """An offer as the Partner Center sync stores it: the three steps it builds are named by offerbot
    (so they must be translated), with their submission times."""
    offer = Offer(
        id=999,
        team_id=TEAM,
        publisher_id="contoso",
        offer_id="contoso-synced",
        name="Contoso Synced",
        offer_type="saas",
        publish_status="running",
        listing="listed",
        status="signoff",
        status_changed_at=NOW,
        updated_at=NOW,
        content_hash="x",
        feed="partner-center",
        feed_key="0f4a3b5c-1d2e-4f60-8a9b-0c1d2e3f4a5b",
        observed_at=NOW,
    )
    names = ["Publish to preview", "Publisher sign-off", "Publish to live"]
    states = ["complete", "waitingForPublisherReview", "notStarted"]
    steps = [
        Step(
            offer_pk=999,
            position=i,
            step_id=step_id,
            name=names[i],
            status=states[i],
            estimated_time=NOW.strftime("submitted %Y-%m-%d %H:%M UTC") if i < 2 else "",
        )
        for i, step_id in enumerate(("publish-preview", "publisher-signoff", "publish-live"))
    ]
    message = Message(
        offer_pk=999, step_position=1, level="warning", text="Check the preview.", timestamp=NOW
    )
    return OfferCard(offer=offer, steps=steps, messages=[message])


@pytest.fixture
def sample_cards(factory: db.SessionFactory) -> list[OfferCard]:
    load_samples(factory)
    with factory() as session:
        offers = session.exec(select(Offer).order_by(Offer.id)).all()
        return [*(load_card(session, offer=o) for o in offers), synced_card()]


def test_every_answer_and_error_in_french_has_no_english_word_offerbot_wrote(
    factory: db.SessionFactory, sample_cards: list[OfferCard]
) -> None:
    vocabulary = english_vocabulary()
    assert {"publish", "issues", "reminder", "subscribed", "channel", "offer"} <= vocabulary
    english = every_answer(sample_cards, ENGLISH) + every_error(factory, ENGLISH)
    french = every_answer(sample_cards, FRENCH) + every_error(factory, FRENCH)
    assert len(english) == len(french) > 300
    # The check bites: the same answers in English are full of those words.
    english_hits = set().union(*(_words(_without_data(_reply_text(r), sample_cards)) for r in english))
    assert len(english_hits & vocabulary) > 150
    for reply in french:
        text = _without_data(_reply_text(reply), sample_cards)
        leaked = _words(text) & vocabulary
        assert not leaked, f"English in a French answer: {sorted(leaked)}\n{text[:600]}"


def test_the_steps_the_sync_builds_are_named_in_the_readers_language() -> None:
    card = synced_card()
    english = json.dumps(render_card(card, tr=ENGLISH).blocks)
    french = json.dumps(render_card(card, tr=FRENCH).blocks, ensure_ascii=False)
    assert "*1. Publish to preview*" in english and "_submitted <!date^" in english
    assert "*1. Publication en préversion*" in french and "*2. Validation par l’éditeur*" in french
    assert "_soumission\u00a0: <!date^" in french and "|2026-11-24 09:00 UTC>" in french
    assert "*Validation par l’éditeur\u00a0:* Check the preview." in french  # the message stays data
    # An imported document's step with the same id is data: shown as written.
    imported = OfferCard(offer=card.offer.model_copy(update={"feed": None}), steps=card.steps, messages=[])
    assert "*1. Publish to preview*" in json.dumps(render_card(imported, tr=FRENCH).blocks)


def test_the_french_card_and_alert_read_as_the_portal_does(sample_cards: list[OfferCard]) -> None:
    woodgrove = next(c for c in sample_cards if c.offer.offer_id == "woodgrove-insights-app")
    card = render_card(woodgrove, tr=FRENCH)
    assert card.text.startswith(
        "Woodgrove Insights &amp; Reporting (woodgrove-insights-app)\u00a0: Échec de la publication"
    )
    blob = json.dumps(card.blocks, ensure_ascii=False)
    assert "*Étapes de publication*" in blob and "terminée" in blob
    assert "<!date^" in blob and "{date_short_pretty} à {time}" in blob  # Slack words the date itself
    alert = render_alert(woodgrove, old_status="in_progress", new_status="failed", tr=FRENCH)
    assert (
        alert.text
        == "Woodgrove Insights &amp; Reporting\u00a0: Échec de la publication (avant\u00a0: Publication en cours)"
    )
    (actions,) = [b for b in alert.blocks if b["type"] == "actions"]
    buttons = [(e.get("text") or e["placeholder"])["text"] for e in actions["elements"]]
    assert buttons == ["Voir le statut", "Ouvrir l’Espace partenaires", "Je m’en occupe", "Reporter"]
    options = [o["text"]["text"] for o in actions["elements"][3]["options"]]
    assert options == ["1 heure", "4 heures", "1 jour", "1 semaine"]
    for status, label in (
        ("in_progress", "Publication en cours"),
        ("canceled", "Publication annulée"),
        ("signoff", "En attente de la validation par l’éditeur"),
        ("delisted", "Retirée"),
    ):
        assert label in render_reminder(woodgrove, status=status, since=NOW, tr=FRENCH).text


# --- who reads in which language --------------------------------------------------------------


class MovingClock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> Any:
        return self.now


def test_a_users_locale_is_asked_once_a_day_and_a_failure_is_english(
    factory: db.SessionFactory, fake_slack: FakeSlack
) -> None:
    fake_slack.locales["U0FR"] = "fr-FR"
    clock = MovingClock()
    client = make_client(Settings(slack_bot_token="xoxb-i18n", slack_api_url=fake_slack.url))
    languages = People(session_factory=factory, clients=OneWorkspace(client), clock=clock)
    assert languages.of_user(team_id=TEAM, user_id="U0FR") is Language.FR
    assert languages.of_user(team_id=TEAM, user_id="U0EN") is Language.EN
    (first, _) = fake_slack.calls_to("users.info")
    assert first.body["user"] == "U0FR" and first.body["include_locale"] in (True, "true", "1")
    with factory() as s:
        assert cached_locale(s, team_id=TEAM, user_id="U0FR", now=clock()) == (True, "fr-FR")
    # Cached: another process (a new People) asks nobody within the day.
    again = People(session_factory=factory, clients=OneWorkspace(client), clock=clock)
    assert again.of_user(team_id=TEAM, user_id="U0FR") is Language.FR
    assert len(fake_slack.calls_to("users.info")) == 2
    # A day later Slack is asked again; the user switched to English.
    clock.now += timedelta(days=1, minutes=1)
    fake_slack.locales["U0FR"] = "en-GB"
    assert again.of_user(team_id=TEAM, user_id="U0FR") is Language.EN
    # Slack failing: the last answer stands, and Slack is not asked again for ten minutes.
    clock.now += timedelta(days=2)
    fake_slack.fail("users.info", error="user_not_found")
    assert again.of_user(team_id=TEAM, user_id="U0FR") is Language.EN
    asked = len(fake_slack.calls_to("users.info"))
    assert again.of_user(team_id=TEAM, user_id="U0FR") is Language.EN
    assert len(fake_slack.calls_to("users.info")) == asked
    clock.now += timedelta(minutes=11)
    fake_slack.locales["U0FR"] = "fr-BE"
    assert again.of_user(team_id=TEAM, user_id="U0FR") is Language.FR
    # Slack down: one call, no retry (an answer must not wait), English, and no error.
    fake_slack.outage("users.info")
    before = len(fake_slack.calls_to("users.info"))
    fresh = People(session_factory=factory, clients=OneWorkspace(client), clock=clock)
    assert fresh.of_user(team_id=TEAM, user_id="U0NEWER") is Language.EN
    assert len(fake_slack.calls_to("users.info")) == before + 1


def test_the_watcher_writes_each_destination_in_its_language(
    factory: db.SessionFactory, fake_slack: FakeSlack
) -> None:
    """A channel set to French gets French alerts; a user whose Slack is in French gets French DMs;
    another channel follows OFFERBOT_LANGUAGE (English here)."""
    clock = MovingClock()
    client = make_client(Settings(slack_bot_token="xoxb-i18n", slack_api_url=fake_slack.url))
    fake_slack.locales["U0FRDM"] = "fr-CA"
    load_samples(factory)
    with db.transaction(factory) as s:
        for kind, destination in (("channel", "C0FR"), ("channel", "C0EN"), ("user", "U0FRDM")):
            subscribe(
                s,
                team_id=TEAM,
                destination_kind=kind,
                destination=destination,
                target=Target(kind="all"),
                events=(),
                created_by="U0CREATOR",
                now=clock(),
            )
        set_language(s, team_id=TEAM, channel="C0FR", language="fr")
    report = run_pass(
        session_factory=factory, client=client, clock=clock, sleep=lambda _s: None, config=WatcherConfig()
    )
    assert report.sent >= 3
    posted = [c.body for c in fake_slack.calls_to("chat.postMessage")]
    by_channel: dict[str, str] = {}
    for p in posted:
        by_channel[p["channel"]] = by_channel.get(p["channel"], "") + p["text"] + "\n"
    assert "Échec de la publication (avant\u00a0: nouvelle offre)" in by_channel["C0FR"]
    assert "Publish failed (was new)" in by_channel["C0EN"]
    assert "Échec de la publication" in by_channel["DU0FRDM"]


def test_a_french_user_gets_french_answers_over_signed_http(
    fake_slack: FakeSlack, factory: db.SessionFactory, database_url: str
) -> None:
    from bot.http.server import wsgi_app
    from bot.slack.app import create_app
    from tests.conftest import RunningServer, post, sign, slash_body

    fake_slack.locales["U0USER001"] = "fr-FR"
    load_samples(factory)
    settings = Settings(
        slack_bot_token="xoxb-t",
        slack_signing_secret="test-signing-secret",
        slack_api_url=fake_slack.url,
        database_url=database_url,
    )
    running = RunningServer(
        wsgi_app(create_app(settings, session_factory=factory), factory, signing_secret="test-signing-secret")
    )
    try:

        def ask(text: str) -> dict[str, Any]:
            body = slash_body(text)
            status, raw = post(running.url + "/slack/events", body, sign(body))
            assert status == 200
            return dict(json.loads(raw))

        assert ask("woodgrove")["text"].endswith("Échec de la publication, 1 problème non résolu")
        assert "statut inconnu" in ask("list nope")["text"]
        assert "alertes de ce canal sont désormais rédigées en anglais" in ask("settings language en")["text"]
        assert len(fake_slack.calls_to("users.info")) == 1  # asked once, then remembered
        # The channel's language (English, just set) words the public confirmation of subscribe.
        assert "Abonnement de ce canal" in ask("subscribe all")["text"]
        posted = sorted(c.body["text"] for c in fake_slack.wait_for("chat.postMessage", count=2))
        assert posted[0].startswith(":bell: <@U0USER001> subscribed this channel")
        assert posted[1].endswith("set the language of this channel's alerts to English.")
    finally:
        running.close()


def test_the_shell_speaks_french_with_lang_fr(factory: db.SessionFactory) -> None:
    load_samples(factory, team=LOCAL_TEAM)
    out = shell_answer(factory, "/offer-status woodgrove", tr=FRENCH)
    assert "Échec de la publication" in out and "Étapes de publication" in out
    assert "Commande inconnue /autre" in shell_answer(factory, "/autre", tr=FRENCH)
    assert "statut inconnu «\u00a0nope\u00a0»" in shell_answer(factory, "list nope", tr=FRENCH)

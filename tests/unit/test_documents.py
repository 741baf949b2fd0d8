import json
from copy import deepcopy
from typing import Any

import pytest

from storage.errors import DocumentError
from storage.imports.documents import parse_document
from storage.statuses import Listing, MessageLevel, OfferStatus, OfferType, StepState
from tests.conftest import NOW as NOW_
from tests.conftest import samples_text


def sample() -> dict[str, Any]:
    return json.loads(samples_text())


def error_of(doc: Any) -> str:
    with pytest.raises(DocumentError) as info:
        parse_document(doc if isinstance(doc, str) else json.dumps(doc), source="offers.json")
    return str(info.value)


def test_samples_parse() -> None:
    offers = parse_document(samples_text())
    assert [o.offer_id for o in offers][:3] == [
        "contoso-analytics-vm",
        "fabrikam-cloud-advisory",
        "woodgrove-insights-app",
    ]
    vm = offers[0]
    assert vm.offer_type == OfferType.VIRTUAL_MACHINE
    assert vm.publish_status is OfferStatus.IN_PROGRESS
    assert [s.state for s in vm.steps][:3] == [StepState.COMPLETE, StepState.COMPLETE, StepState.IN_PROGRESS]
    assert len(vm.steps) == 8
    assert vm.notification_emails == ("marketplace-ops@contoso.example",)
    assert offers[2].notification_emails == ("release@woodgrove.example", "cto@woodgrove.example")
    assert offers[5].listing is Listing.DELISTED
    review = offers[2].steps[5]
    assert review.messages[0].level is MessageLevel.ERROR
    assert (
        "<https://solutiontemplates.visualstudio.com/marketplacesolutions/_git/woodgrove/pullrequest/4711|pull request 4711>"
        in review.messages[0].text
    )


def test_values_are_case_insensitive_and_partner_center_types_accepted() -> None:
    doc = sample()
    offer = doc["offers"][0]
    offer["offerType"] = "azureVirtualMachine"
    offer["status"]["status"] = "Running"
    offer["status"]["steps"][0]["status"] = "Complete"
    offer["status"]["steps"][0]["messages"][0]["level"] = "Information"
    parsed = parse_document(json.dumps(doc))[0]
    assert parsed.offer_type == OfferType.VIRTUAL_MACHINE
    assert parsed.publish_status is OfferStatus.IN_PROGRESS
    assert parsed.steps[0].state is StepState.COMPLETE
    for name, kind in [
        ("azureApplication", "azure-application"),
        ("softwareAsAService", "saas"),
        ("azureContainer", "container"),
        ("iotEdgeModule", "iot-edge-module"),
        ("dynamics365ForCustomerEngagement", "dynamics-365"),
        ("consultingService", "consulting-service"),
    ]:
        offer["offerType"] = name
        assert parse_document(json.dumps(doc))[0].offer_type == kind


def test_status_values_map_as_domain_section_3() -> None:
    doc = sample()
    expected = {
        "neverPublished": OfferStatus.NOT_STARTED,
        "notStarted": OfferStatus.NOT_STARTED,
        "running": OfferStatus.IN_PROGRESS,
        "failed": OfferStatus.FAILED,
        "canceled": OfferStatus.CANCELED,
        "waitingForPublisherReview": OfferStatus.SIGNOFF,
        "succeeded": OfferStatus.LIVE,
    }
    for value, status in expected.items():
        doc["offers"][0]["status"]["status"] = value
        assert parse_document(json.dumps(doc))[0].publish_status is status


def test_unknown_step_status_names_offer_field_and_value() -> None:
    doc = sample()
    doc["offers"][2]["status"]["steps"][4]["status"] = "done"
    message = error_of(doc)
    assert 'offers[2] (woodgrove-insights-app): status.steps[4].status: unknown step status "done"' in message
    assert "nothing was imported" in message


def test_malformed_json_gets_line_and_column() -> None:
    message = error_of('{"offers": [\n  {"offerId": "a",}\n]}')
    assert message.startswith("offers.json: invalid JSON at line 2, column 19")


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d.__setitem__("offers", {}), '"offers" must be an array'),
        (lambda d: d.pop("offers"), 'expected an object with an "offers" array'),
        (lambda d: d["offers"].__setitem__(0, 5), "offers[0]: expected an object, got 5"),
        (
            lambda d: d["offers"][0].pop("publisherId"),
            "offers[0] (contoso-analytics-vm): publisherId: missing",
        ),
        (
            lambda d: d["offers"][0].__setitem__("name", ""),
            "offers[0] (contoso-analytics-vm): name: must not be empty",
        ),
        (lambda d: d["offers"][0].__setitem__("name", 7), "name: expected a string, got 7"),
        (lambda d: d["offers"][0].__setitem__("offerType", "vm"), 'offerType: unknown offer type "vm"'),
        (
            lambda d: d["offers"][0].__setitem__("listing", "hidden"),
            'listing: expected "listed" or "delisted", got "hidden"',
        ),
        (lambda d: d["offers"][0].pop("status"), "offers[0] (contoso-analytics-vm): status: missing"),
        (
            lambda d: d["offers"][0]["status"].__setitem__("status", "done"),
            'status.status: unknown offer status "done"',
        ),
        (
            lambda d: d["offers"][0]["status"].__setitem__("steps", "x"),
            'status.steps: expected an array, got "x"',
        ),
        (lambda d: d["offers"][0]["status"]["steps"][0].pop("id"), "status.steps[0].id: missing"),
        (
            lambda d: d["offers"][0]["status"]["steps"][1].__setitem__("id", "displaydummycertify"),
            "status.steps[1].id: duplicate step id",
        ),
        (
            lambda d: d["offers"][0]["status"]["steps"][0].__setitem__("progressPercentage", 140),
            "status.steps[0].progressPercentage: expected a number from 0 to 100, got 140",
        ),
        (
            lambda d: d["offers"][0]["status"]["steps"][0]["messages"][0].__setitem__("level", "fatal"),
            'status.steps[0].messages[0].level: unknown message level "fatal"',
        ),
        (
            lambda d: d["offers"][0]["status"]["steps"][0]["messages"][0].__setitem__(
                "timestamp", "yesterday"
            ),
            'status.steps[0].messages[0].timestamp: not an ISO-8601 timestamp: "yesterday"',
        ),
        (
            lambda d: d["offers"][0]["status"]["steps"][0]["messages"][0].pop("messageHtml"),
            "status.steps[0].messages[0].messageHtml: missing",
        ),
        (
            lambda d: d["offers"][0]["status"].__setitem__("previewLinks", ["javascript:alert(1)"]),
            'status.previewLinks[0]: not an http(s) URL: "javascript:alert(1)"',
        ),
        (
            lambda d: d["offers"][0]["status"].__setitem__("notificationEmails", "ops, a@b.example"),
            'status.notificationEmails: not an email address: "ops"',
        ),
        (
            lambda d: d["offers"].append(deepcopy(d["offers"][0])),
            "offers[6] (contoso-analytics-vm): offerId: the same offer as offers[0]",
        ),
        (lambda d: d["offers"][0].__setitem__("name", "x" * 501), "name: longer than 500 characters"),
    ],
)
def test_each_kind_of_bad_input_is_named(mutate: Any, expected: str) -> None:
    doc = sample()
    mutate(doc)
    assert expected in error_of(doc)


def test_all_problems_are_listed_not_only_the_first() -> None:
    doc = sample()
    doc["offers"][0]["offerType"] = "nope"
    doc["offers"][3]["status"]["status"] = "nope"
    message = error_of(doc)
    assert "2 problem(s)" in message
    assert "offers[0] (contoso-analytics-vm): offerType" in message
    assert "offers[3] (tailspin-flight-ops): status.status" in message


def test_not_utf8() -> None:
    with pytest.raises(DocumentError, match="not UTF-8"):
        parse_document(b'{"offers": ["\xff"]}', source="x.json")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"offers": ' + "[" * 5000 + "]" * 5000 + "}", "offers.json: nested deeper than 32 levels"),
        ('{"offers": [' + '{"a": ' * 40 + "1" + "}" * 40 + "]}", "nested deeper than 32 levels"),
        (None, "offers.json: offers[0].name: contains a NUL character"),
        (None, "offers.json: offers[0].status.steps[0].messages[0].messageHtml: contains a NUL character"),
    ],
)
def test_hostile_shapes_are_refused_with_a_clear_message(text: str | None, expected: str) -> None:
    if text is None:
        doc = sample()
        if "name" in expected:
            doc["offers"][0]["name"] = "Contoso\x00 VM"
        else:
            doc["offers"][0]["status"]["steps"][0]["messages"][0]["messageHtml"] = "a\x00b"
        text = json.dumps(doc)
    assert expected in error_of(text)


def test_every_problem_is_listed_whatever_the_models_refused() -> None:
    doc = sample()
    offer = doc["offers"][0]
    offer["offerType"] = "widget"
    offer["status"]["steps"][0]["status"] = "done"
    offer["status"]["steps"][1]["id"] = offer["status"]["steps"][0]["id"]
    offer["status"]["notificationEmails"] = "a, b"
    message = error_of(doc)
    assert "5 problem(s)" in message, message
    for part in (
        'unknown offer type "widget"',
        'unknown step status "done"',
        "status.steps[1].id: duplicate",
        'not an email address: "a"',
        'not an email address: "b"',
    ):
        assert part in message, part


def test_strings_are_stripped_as_python_strips_them() -> None:
    doc = sample()
    doc["offers"][0]["name"] = "\x1f"
    assert "name: must not be empty" in error_of(doc)
    doc["offers"][0]["name"] = "\x1fContoso\x1f"
    doc["offers"][0]["offerType"] = "\x1fsaas\x1f"
    doc["offers"][0]["status"]["status"] = " "
    assert "status.status: must not be empty" in error_of(doc)
    doc["offers"][0]["status"]["status"] = "running"
    offer = parse_document(json.dumps(doc))[0]
    assert (offer.name, offer.offer_type) == ("Contoso", "saas")


# --- limits (storage/limits.py), checked before anything is built ---------------------------


def _one(status: dict[str, Any]) -> str:
    return json.dumps(
        {"offers": [{"publisherId": "p", "offerId": "o", "name": "n", "offerType": "saas", "status": status}]}
    )


def test_documents_over_the_limits_are_refused_naming_the_limit() -> None:
    from storage import limits

    step = {"id": "s", "stepName": "S", "status": "inProgress"}
    message = {"messageHtml": "m", "level": "error", "timestamp": "2026-11-20T10:00:00Z"}
    cases = {
        "more than the limit of 50 per offer": {
            "status": "running",
            "steps": [{**step, "id": f"s{i}"} for i in range(limits.MAX_STEPS_PER_OFFER + 1)],
        },
        "more than the limit of 100 per step": {
            "status": "running",
            "steps": [{**step, "messages": [message] * (limits.MAX_STEP_MESSAGES + 1)}],
        },
        "messages in all, more than the limit of 200 per offer": {
            "status": "running",
            "steps": [{**step, "id": f"s{i}", "messages": [message] * 60} for i in range(4)],
        },
    }
    for needle, status in cases.items():
        with pytest.raises(DocumentError, match=needle):
            parse_document(_one(status))
    many = json.dumps({"offers": [{}] * (limits.MAX_OFFERS_PER_DOCUMENT + 1)})
    with pytest.raises(DocumentError, match="5,001 offers, more than the limit of 5,000 per document"):
        parse_document(many)
    bomb = '{"offers": [' + ",".join(["{}"] * (limits.MAX_JSON_CONTAINERS + 1)) + "]}"
    with pytest.raises(DocumentError, match="more than 200,000 objects and arrays"):
        parse_document(bomb)


def test_validation_stops_after_twenty_problems() -> None:
    bad = json.dumps({"offers": [{"publisherId": 1}] * 1000})
    with pytest.raises(DocumentError) as caught:
        parse_document(bad)
    lines = str(caught.value).splitlines()
    assert lines[0] == "input: more than 20 problems, nothing was imported; the first 20:"
    assert len(lines) == 22 and lines[-1] == "... and more (validation stopped there)"


def test_a_sync_sources_offer_over_the_limits_is_kept_cut_to_them() -> None:
    from storage import limits
    from storage.imports.documents import parse_offer
    from storage.imports.fitting import fit_to_limits

    message = {"messageHtml": "m" * 30_000, "level": "error", "timestamp": "2026-11-20T10:00:00Z"}
    steps = [
        {"id": f"s{i}", "stepName": "S" * 900, "status": "blocked", "messages": [message] * 150}
        for i in range(70)
    ]
    raw = {
        "publisherId": "p",
        "offerId": "o",
        "name": "n",
        "offerType": "saas",
        "status": {"status": "failed", "steps": steps},
    }
    offer = parse_offer(fit_to_limits(raw), source="p/o")
    assert len(offer.steps) == limits.MAX_STEPS_PER_OFFER
    total = len(offer.messages) + sum(len(s.messages) for s in offer.steps)
    assert total <= limits.MAX_MESSAGES_PER_OFFER
    texts = [m.text for m in offer.messages]
    assert "… and 20 more step(s): see the offer in Partner Center." in texts
    assert any(t.startswith("… and ") and "later steps" in t for t in texts)
    assert offer.steps[0].messages[-1].text == "… and 51 more message(s): see the offer in Partner Center."
    assert len(offer.steps[0].name) == 500


def test_names_and_ids_are_one_line_with_nothing_invisible_and_look_alike_ids_are_refused() -> None:
    from bot.i18n import ENGLISH
    from bot.render.lists import offer_line
    from storage.models import Offer

    doc = json.loads(samples_text())
    first = doc["offers"][0]
    first["name"] = "Evil\n:white_check_mark: *Contoso VM* — Live\u202e\u200b\u2066 \t  end"
    first["status"]["steps"][0]["stepName"] = "Step\r\nforged\u200d"
    offers = parse_document(json.dumps(doc))
    assert offers[0].name == "Evil :white_check_mark: *Contoso VM* — Live end"
    assert offers[0].steps[0].name == "Step forged"
    row = Offer(
        team_id="T", publisher_id="p", offer_id="o", name=offers[0].name, offer_type="saas",
        publish_status="failed", listing="listed", status="failed", status_changed_at=NOW_,
        updated_at=NOW_, content_hash="x",
    )  # fmt: skip
    line = offer_line(row, ENGLISH)
    assert "\n" not in line and "*Contoso VM*" not in line and ":white_check_mark:" not in line
    doc["offers"][0]["offerId"] = "contoso-\u0430nalytics-vm"  # a Cyrillic "а"
    with pytest.raises(
        DocumentError, match='offerId: mixes Latin and Cyrillic letters \\("а" is Cyrillic\\)'
    ):
        parse_document(json.dumps(doc))
    doc["offers"][0]["offerId"] = "\u200b\u202e"
    with pytest.raises(DocumentError, match="offerId: must not be empty"):
        parse_document(json.dumps(doc))

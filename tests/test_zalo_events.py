"""Tests for parsing Zalo webhook bodies into typed events and for their dedup keys."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.zalo.events import (
    Attachment,
    AudioEvent,
    BusinessCardEvent,
    EventParseError,
    FileEvent,
    FollowEvent,
    GifEvent,
    ImageEvent,
    LinkEvent,
    LocationEvent,
    MediaEvent,
    OASendEvent,
    ReceivedEvent,
    SeenEvent,
    StickerEvent,
    SubmitInfoEvent,
    TextEvent,
    UnfollowEvent,
    UnknownEvent,
    VideoEvent,
    WithdrawEvent,
    ZaloEvent,
    dedup_key,
    is_from_citizen,
    parse_event,
)

FIXTURES = Path(__file__).parent / "fixtures" / "zalo"
APP_ID = "3608465249409039670"
CITIZEN = "2468458835291979220"
OA = "3886132808788086450"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def load(name: str) -> dict[str, Any]:
    """Load a webhook fixture as a dict."""
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def raw(name: str) -> bytes:
    """Load a webhook fixture as the exact bytes Zalo would send."""
    return (FIXTURES / f"{name}.json").read_bytes()


# fixture -> (class, msg_id, counts as a citizen interaction)
WEBHOOK_FIXTURES: dict[str, tuple[type[ZaloEvent], str | None, bool]] = {
    "user_send_text": (TextEvent, "a1b2c3d4e5f60718293a", True),
    "user_send_text_button_payload": (TextEvent, "a1b2c3d4e5f60718293b", True),
    "user_send_image": (ImageEvent, "b1b2c3d4e5f60718293a", True),
    "user_send_gif": (GifEvent, "b1b2c3d4e5f60718293b", True),
    "user_send_file": (FileEvent, "c1b2c3d4e5f60718293a", True),
    "user_send_location": (LocationEvent, "d1b2c3d4e5f60718293a", True),
    "user_send_sticker": (StickerEvent, "e1b2c3d4e5f60718293a", True),
    "user_send_link": (LinkEvent, "f1b2c3d4e5f60718293a", True),
    "user_send_audio": (AudioEvent, "01b2c3d4e5f60718293a", True),
    "user_send_video": (VideoEvent, "11b2c3d4e5f60718293a", True),
    "user_send_business_card": (BusinessCardEvent, "21b2c3d4e5f60718293a", True),
    "user_submit_info_flat": (SubmitInfoEvent, None, True),
    "user_submit_info_nested": (SubmitInfoEvent, None, True),
    "follow": (FollowEvent, None, True),
    "unfollow": (UnfollowEvent, None, True),
    "user_withdraw": (WithdrawEvent, None, True),
    "user_received_message": (ReceivedEvent, "5f3c0d2e8e1a4b7c9d0e", False),
    "user_seen_message": (SeenEvent, None, False),
    "oa_send_text_by_officer": (OASendEvent, "7b5e2f4a0a3c6d9e1f2a", False),
}


def test_every_webhook_fixture_is_covered():
    event_fixtures = {
        path.stem
        for path in FIXTURES.glob("*.json")
        if "event_name" in json.loads(path.read_bytes())
    }

    assert event_fixtures == set(WEBHOOK_FIXTURES)


@pytest.mark.parametrize("name", sorted(WEBHOOK_FIXTURES))
def test_fixture_parses_to_its_class_with_citizen_and_oa_ids(name):
    expected_class, msg_id, _ = WEBHOOK_FIXTURES[name]
    body = load(name)

    event = parse_event(body)

    assert type(event) is expected_class
    assert event.event_name == body["event_name"]
    assert event.app_id == APP_ID
    assert event.user_id == CITIZEN
    assert event.oa_id == OA
    assert event.msg_id == msg_id
    assert event.timestamp - EPOCH == timedelta(milliseconds=int(body["timestamp"]))


@pytest.mark.parametrize("name", sorted(WEBHOOK_FIXTURES))
def test_is_from_citizen(name):
    _, _, from_citizen = WEBHOOK_FIXTURES[name]

    assert is_from_citizen(parse_event(load(name))) is from_citizen


def test_timestamp_is_aware_utc_with_milliseconds():
    event = parse_event(load("user_send_text"))

    assert event.timestamp == datetime(2025, 11, 27, 3, 50, 0, 123000, tzinfo=UTC)


def test_text_event():
    event = parse_event(load("user_send_text"))

    assert isinstance(event, TextEvent)
    assert event.text == "Tôi muốn gửi phản ánh"
    assert event.quote_msg_id is None


def test_text_event_button_payload_and_quote():
    body = load("user_send_text_button_payload")
    body["message"]["quote_msg_id"] = "q1"

    event = parse_event(body)

    assert event.text == "#menu:submit"
    assert event.quote_msg_id == "q1"


def test_events_are_frozen():
    event = parse_event(load("user_send_text"))

    with pytest.raises(dataclasses.FrozenInstanceError):
        event.text = "changed"  # type: ignore[misc]


def test_image_event_with_caption():
    event = parse_event(load("user_send_image"))

    assert isinstance(event, MediaEvent)
    assert event.caption == "Ảnh hiện trường"
    assert event.attachments == (
        Attachment(
            type="image",
            url="https://photo-stal-1.zdn.vn/example/image.jpg",
            thumbnail="https://photo-stal-1.zdn.vn/example/thumb.jpg",
        ),
    )


def test_media_event_without_caption_has_empty_caption():
    assert parse_event(load("user_send_audio")).caption == ""


def test_file_event_attachment_fields():
    (attachment,) = parse_event(load("user_send_file")).attachments

    assert attachment == Attachment(
        type="file",
        url="https://f1.zdn.vn/example/don-de-nghi.pdf",
        thumbnail=None,
        name="don-de-nghi.pdf",
        size=482133,
        file_type="pdf",
        checksum="9e107d9d372bb6826bd81d3542a419d6",
        description=None,
    )


def test_link_event_empty_thumbnail_is_none():
    (attachment,) = parse_event(load("user_send_link")).attachments

    assert attachment.url == "https://dichvucong.gov.vn"
    assert attachment.thumbnail is None
    assert attachment.description == "Cổng Dịch vụ công quốc gia"


def test_business_card_phone_from_json_description():
    event = parse_event(load("user_send_business_card"))

    assert isinstance(event, BusinessCardEvent)
    assert event.phone == "0912345678"
    assert event.attachments[0].url == ""


@pytest.mark.parametrize("description", ["not json", '["0912345678"]', '{"qrCodeUrl": "x"}', ""])
def test_business_card_tolerates_description_without_phone(description):
    body = load("user_send_business_card")
    body["message"]["attachments"][0]["payload"]["description"] = description

    assert parse_event(body).phone is None


def test_location_event_decimals():
    event = parse_event(load("user_send_location"))

    assert isinstance(event, LocationEvent)
    assert event.latitude == Decimal("21.0285011")
    assert event.longitude == Decimal("105.8542034")
    assert event.caption == ""


def test_location_accepts_numbers():
    body = load("user_send_location")
    body["message"]["attachments"][0]["payload"]["coordinates"] = {
        "latitude": -90,
        "longitude": 180,
    }

    event = parse_event(body)

    assert (event.latitude, event.longitude) == (Decimal(-90), Decimal(180))


@pytest.mark.parametrize(
    "coordinates",
    [
        {"latitude": "90.0001", "longitude": "105.85"},
        {"latitude": "21.02", "longitude": "-180.5"},
        {"latitude": "abc", "longitude": "105.85"},
        {"latitude": "NaN", "longitude": "105.85"},
        {"latitude": "21.02", "longitude": "Infinity"},
        {"latitude": "21.02"},
        {"latitude": True, "longitude": "105.85"},
        "21.02,105.85",
    ],
)
def test_bad_location_raises(coordinates):
    body = load("user_send_location")
    body["message"]["attachments"][0]["payload"]["coordinates"] = coordinates

    with pytest.raises(EventParseError, match="user_send_location"):
        parse_event(body)


def test_location_without_attachments_raises():
    body = load("user_send_location")
    del body["message"]["attachments"]

    with pytest.raises(EventParseError, match="attachments"):
        parse_event(body)


def test_submit_info_flat():
    event = parse_event(load("user_submit_info_flat"))

    assert isinstance(event, SubmitInfoEvent)
    assert (event.name, event.phone, event.address) == (
        "Nguyễn Văn An",
        "84912345678",
        "12 Hàng Bạc",
    )
    assert (event.ward, event.district, event.city) == (
        "Phường Hoàn Kiếm",
        "Quận Hoàn Kiếm",
        "Hà Nội",
    )
    assert (event.email, event.dob, event.gender) == (None, None, None)


def test_submit_info_nested():
    event = parse_event(load("user_submit_info_nested"))

    assert isinstance(event, SubmitInfoEvent)
    assert (event.name, event.phone, event.dob, event.gender) == (
        "Trần Thị Bình",
        "0987654321",
        "01/02/1985",
        "female",
    )
    assert (event.address, event.ward, event.district, event.city) == (
        "5 Tràng Thi",
        "Phường Cửa Nam",
        None,
        "Hà Nội",
    )
    assert event.email is None


def test_submit_info_strips_and_empties_to_none():
    body = load("user_submit_info_flat")
    body["info"] = {
        "name": "  An  ",
        "phone": "",
        "address": "   ",
        "city": None,
        "email": " a@b.vn ",
    }

    event = parse_event(body)

    assert (event.name, event.phone, event.address, event.city) == ("An", None, None, None)
    assert event.email == "a@b.vn"


def test_submit_info_without_info_raises():
    body = load("user_submit_info_flat")
    del body["info"]

    with pytest.raises(EventParseError, match="info"):
        parse_event(body)


def test_follow_and_unfollow_source():
    follow = parse_event(load("follow"))
    unfollow = parse_event(load("unfollow"))

    assert follow.source == unfollow.source == "oa_profile"
    assert not isinstance(follow, UnfollowEvent)
    assert not isinstance(unfollow, FollowEvent)


def test_received_receipt():
    event = parse_event(load("user_received_message"))

    assert event.msg_ids == ("5f3c0d2e8e1a4b7c9d0e",)


def test_seen_receipt_with_list():
    event = parse_event(load("user_seen_message"))

    assert event.msg_ids == ("5f3c0d2e8e1a4b7c9d0e", "6a4d1e3f9f2b5c8d0e1f")
    assert not isinstance(event, ReceivedEvent)


def test_seen_receipt_with_single_id():
    body = load("user_seen_message")
    body["message"] = {"msg_id": "5f3c0d2e8e1a4b7c9d0e"}

    event = parse_event(body)

    assert isinstance(event, SeenEvent)
    assert event.msg_ids == ("5f3c0d2e8e1a4b7c9d0e",)
    assert event.msg_id == "5f3c0d2e8e1a4b7c9d0e"


@pytest.mark.parametrize("name", ["user_received_message", "user_seen_message"])
def test_receipt_without_ids_raises(name):
    body = load(name)
    body["message"] = {}

    with pytest.raises(EventParseError, match="msg_id"):
        parse_event(body)


def test_oa_send_by_officer():
    event = parse_event(load("oa_send_text_by_officer"))

    assert isinstance(event, OASendEvent)
    assert event.admin_id == "7650012345678901234"
    assert event.text == "Chào anh, cán bộ đã tiếp nhận."


def test_every_oa_send_event_is_an_echo():
    body = load("oa_send_text_by_officer")
    body["event_name"] = "oa_send_image"
    del body["sender"]["admin_id"]
    del body["message"]["text"]

    event = parse_event(body)

    assert isinstance(event, OASendEvent)
    assert (event.user_id, event.admin_id, event.text) == (CITIZEN, None, None)


def test_unknown_event_is_kept():
    body = load("user_send_text")
    body["event_name"] = "user_reacted_message"

    event = parse_event(body)

    assert type(event) is UnknownEvent
    assert (event.event_name, event.user_id, event.msg_id) == (
        "user_reacted_message",
        CITIZEN,
        "a1b2c3d4e5f60718293a",
    )
    assert not is_from_citizen(event)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"event_name": "something_new", "sender": "x", "timestamp": "soon", "message": []},
        {"event_name": 42},
    ],
)
def test_unknown_or_malformed_unknown_event_never_raises(body):
    event = parse_event(body)

    assert type(event) is UnknownEvent
    assert event.user_id is None
    assert event.timestamp is None


def test_probe_body_is_unknown():
    assert parse_event(load("probe_empty")) == UnknownEvent(event_name="")


@pytest.mark.parametrize("name", ["user_send_text", "user_send_image", "user_submit_info_flat"])
def test_body_without_sender_raises(name):
    body = load(name)
    del body["sender"]

    with pytest.raises(EventParseError, match="sender.id"):
        parse_event(body)


@pytest.mark.parametrize(
    ("name", "party"),
    [
        ("follow", "follower"),
        ("user_received_message", "recipient"),
        ("oa_send_text_by_officer", "recipient"),
    ],
)
def test_body_without_citizen_side_raises(name, party):
    body = load(name)
    body[party] = {"id": ""}

    with pytest.raises(EventParseError, match=f"{party}.id"):
        parse_event(body)


@pytest.mark.parametrize("body", [[], "text", None])
def test_body_not_a_dict_raises(body):
    with pytest.raises(EventParseError, match="JSON object"):
        parse_event(body)


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("user_send_text", lambda body: body["message"].pop("text")),
        ("user_send_image", lambda body: body["message"].update(attachments=[])),
        ("user_send_file", lambda body: body["message"].update(attachments=["x"])),
        ("user_send_text", lambda body: body.update(timestamp="yesterday")),
    ],
    ids=["text-without-text", "image-without-attachments", "bad-attachment", "bad-timestamp"],
)
def test_known_event_missing_what_it_needs_raises(name, change):
    body = load(name)
    change(body)

    with pytest.raises(EventParseError, match=load(name)["event_name"]):
        parse_event(body)


def test_parse_does_not_mutate_body():
    body = load("user_submit_info_nested")
    before = copy.deepcopy(body)

    parse_event(body)

    assert body == before


def test_dedup_key_uses_event_name_and_msg_id():
    assert dedup_key(load("user_send_text"), raw("user_send_text")) == (
        "user_send_text:a1b2c3d4e5f60718293a"
    )


def test_dedup_keys_of_echo_and_receipt_with_same_msg_id_differ():
    receipt = load("user_received_message")
    echo = load("oa_send_text_by_officer")
    echo["message"]["msg_id"] = receipt["message"]["msg_id"]

    receipt_key = dedup_key(receipt, json.dumps(receipt).encode())
    echo_key = dedup_key(echo, json.dumps(echo).encode())

    assert receipt_key != echo_key
    assert receipt_key == "user_received_message:5f3c0d2e8e1a4b7c9d0e"


@pytest.mark.parametrize(
    "name", ["user_submit_info_flat", "follow", "user_withdraw", "user_seen_message", "probe_empty"]
)
def test_dedup_key_without_msg_id_hashes_raw_body(name):
    key = dedup_key(load(name), raw(name))

    assert key == "sha256:" + hashlib.sha256(raw(name)).hexdigest()


def test_dedup_key_differs_for_different_bodies_without_msg_id():
    assert dedup_key(load("follow"), raw("follow")) != dedup_key(load("unfollow"), raw("unfollow"))


def test_dedup_key_for_non_dict_body_hashes_raw_body():
    assert dedup_key([], b"[]") == "sha256:" + hashlib.sha256(b"[]").hexdigest()  # type: ignore[arg-type]


def test_dedup_key_with_long_msg_id_is_bounded_and_stable():
    body = load("user_send_text")
    body["message"]["msg_id"] = "x" * 200
    other = copy.deepcopy(body)
    other["message"]["msg_id"] = "x" * 199 + "y"

    key = dedup_key(body, b"ignored")

    assert len(key) <= 100
    assert key == dedup_key(body, b"other bytes")
    assert key != dedup_key(other, b"ignored")

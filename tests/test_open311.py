"""Open311 GeoReport v2 (read-only JSON): services, requests with the standard filters and paging,
one request by id, error arrays, CORS; published cases only and nothing personal in any answer.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from tests import test_public
from tests.test_public import assert_no_personal_data

clock = test_public.clock
seeded = test_public.seeded

RANGE = {"start_date": "2026-10-15T00:00:00+07:00", "end_date": "2026-12-10T00:00:00Z"}
REQUEST_KEYS = {
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
}


def get(client, path: str, **args):
    """GET an Open311 path; check the headers every answer carries and that nothing leaks."""
    response = client.get(path, query_string=args)
    assert response.mimetype == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert_no_personal_data(response)
    return response


def ids(response) -> list[str]:
    return [item["service_request_id"] for item in response.json]


def test_services_are_the_fields(client, seeded):
    services = get(client, "/open311/v2/services.json").json
    assert [service["service_code"] for service in services][:3] == [
        "DAT-DAI",
        "XAY-DUNG",
        "GIAO-THONG",
    ]
    traffic = next(s for s in services if s["service_code"] == "GIAO-THONG")
    assert traffic == {
        "service_code": "GIAO-THONG",
        "service_name": "Giao thông",
        "description": "Phản ánh, kiến nghị về lĩnh vực Giao thông",
        "metadata": False,
        "type": "realtime",
        "keywords": "phản ánh, kiến nghị, giao thông",
        "group": "Sở Giao thông vận tải",
    }


def test_requests_list_published_cases_only_newest_first(client, seeded, clock):
    response = get(client, "/open311/v2/requests.json", **RANGE)
    assert response.status_code == 200
    listed = ids(response)
    assert len(listed) == 14
    assert listed[:2] == [seeded.published, seeded.edited]
    assert seeded.answered not in listed and seeded.processing not in listed


def test_a_request_has_the_standard_fields_and_only_public_text(client, seeded, clock):
    (item,) = get(client, f"/open311/v2/requests/{seeded.published}.json").json
    assert set(item) >= REQUEST_KEYS
    assert item["service_request_id"] == seeded.published
    assert item["status"] == "closed"
    assert item["service_code"] == "GIAO-THONG" and item["service_name"] == "Giao thông"
    assert item["agency_responsible"] == "Sở Giao thông vận tải"
    assert item["description"].startswith("Tôi là [đã ẩn], nhà ở [đã ẩn], phường Hàng Bạc.")
    assert item["status_notes"].startswith("Trả lời ông [đã ẩn] (điện thoại [đã ẩn]):")
    assert item["requested_datetime"] == "2026-11-27T08:30:00+07:00"
    assert item["updated_datetime"] == "2026-12-02T08:30:00+07:00"
    assert item["expected_datetime"] == "2026-12-25T23:59:59+07:00"
    assert item["address"] == "Ngã tư Hàng Bạc - Hàng Đào, trước [đã ẩn]"
    assert (item["lat"], item["long"]) == (21.034, 105.8524)
    assert "media_url" not in item


def test_a_hidden_identity_publishes_no_coordinates_and_the_edited_text(client, seeded, clock):
    (item,) = get(client, f"/open311/v2/requests/{seeded.edited}.json").json
    assert "lat" not in item and "long" not in item
    assert item["description"] == "Người dân phản ánh rác thải tồn đọng nhiều ngày tại khu dân cư."
    assert item["status_notes"] == (
        "Công ty môi trường đã thu gom rác và bố trí lịch thu gom hằng ngày."
    )
    assert item["address"] == "[đã ẩn]"


def test_one_request_is_found_by_its_code_however_typed(client, seeded, clock):
    assert ids(get(client, "/open311/v2/requests/pakn.20261127.0001.json")) == [seeded.published]


@pytest.mark.parametrize("code", ["PAKN.20261127.0003", "PAKN.20261127.0004", "PAKN.20261127.0999"])
def test_an_unpublished_or_unknown_request_is_an_error_array(client, seeded, code):
    response = get(client, f"/open311/v2/requests/{code}.json")
    assert response.status_code == 404
    assert response.json == [
        {"code": 404, "description": f"Không có PAKN đã công khai với mã {code}."}
    ]


def test_service_request_ids_override_the_other_filters(client, seeded, clock):
    response = get(
        client,
        "/open311/v2/requests.json",
        service_request_id=f"{seeded.edited}, {seeded.answered},{seeded.published}",
        status="open",
        service_code="Y-TE",
    )
    assert sorted(ids(response)) == sorted([seeded.published, seeded.edited])


def test_filter_by_service_code_and_status(client, seeded, clock):
    health = get(client, "/open311/v2/requests.json", service_code="Y-TE", **RANGE)
    assert len(ids(health)) == 4
    assert {item["service_code"] for item in health.json} == {"Y-TE"}
    several = get(client, "/open311/v2/requests.json", service_code="Y-TE,MOI-TRUONG", **RANGE)
    assert len(ids(several)) == 5
    closed = get(client, "/open311/v2/requests.json", status="closed", **RANGE)
    assert len(ids(closed)) == 14
    assert get(client, "/open311/v2/requests.json", status="open", **RANGE).json == []


def test_filter_by_requested_datetime(client, seeded, clock):
    response = get(
        client,
        "/open311/v2/requests.json",
        start_date="2026-11-03T09:00:00+07:00",
        end_date="2026-11-05",
    )
    # Cường's cases received 1 Nov 09:00 + n days: 3, 4 and 5 Nov.
    assert ids(response) == ["PAKN.20261101.0005", "PAKN.20261101.0004", "PAKN.20261101.0003"]
    naive = get(
        client,
        "/open311/v2/requests.json",
        start_date="2026-11-27T00:00:00",
        end_date="2026-11-27T23:59:59",
    )
    assert ids(naive) == [seeded.published]


def test_the_default_range_is_the_last_90_days(client, seeded, clock):
    assert len(ids(get(client, "/open311/v2/requests.json"))) == 14
    clock.now = datetime.fromisoformat("2027-02-26T03:00:00+00:00")  # 91 days after 27 Nov
    assert get(client, "/open311/v2/requests.json").json == []


def test_paging(client, seeded, clock):
    first = get(client, "/open311/v2/requests.json", page_size="5", **RANGE)
    third = get(client, "/open311/v2/requests.json", page_size="5", page="3", **RANGE)
    everything = ids(get(client, "/open311/v2/requests.json", **RANGE))
    assert ids(first) == everything[:5]
    assert ids(third) == everything[10:]
    assert get(client, "/open311/v2/requests.json", page="9", **RANGE).json == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"status": "pending"}, "status chỉ nhận open hoặc closed."),
        ({"start_date": "hôm qua"}, "start_date không hợp lệ"),
        ({"end_date": "2026-13-01"}, "end_date không hợp lệ"),
        ({"start_date": "2026-12-01", "end_date": "2026-11-01"}, "start_date phải trước end_date."),
        ({"start_date": "2026-01-01", "end_date": "2026-12-01"}, "không được quá 90 ngày"),
        ({"page": "0"}, "page phải là số nguyên"),
        ({"page_size": "5000"}, "page_size phải là số nguyên từ 1 đến 500."),
        ({"service_request_id": ",".join(["PAKN.20261127.0001"] * 101)}, "Tối đa 100"),
    ],
)
def test_bad_arguments_are_error_arrays(client, seeded, clock, args, message):
    response = get(client, "/open311/v2/requests.json", **args)
    assert response.status_code == 400
    (error,) = response.json
    assert error["code"] == 400 and message in error["description"]


def test_no_answer_ever_contains_personal_data(client, seeded, clock):
    # `get` checks every body; this walks every published case and every listing once more.
    listed = get(client, "/open311/v2/requests.json", **RANGE).json
    for item in listed:
        get(client, f"/open311/v2/requests/{item['service_request_id']}.json")
    get(
        client,
        "/open311/v2/requests.json",
        service_request_id=",".join(i["service_request_id"] for i in listed),
    )
    get(client, "/open311/v2/services.json")

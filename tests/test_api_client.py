"""The PartnerStack API client against `responses` (no server): envelopes, paging, retries and their
bounds, every error as one line with a named exit code, and a secret key that never leaks."""

from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from diagnose.core.errors import BadInput, ExitCode
from diagnose.web.partnerstack_api import (
    ApiConflict,
    ApiError,
    ApiInvalid,
    ApiNotFound,
    ApiRefused,
    Credentials,
    PartnerStackClient,
    check_base_url,
    retry_after_seconds,
)

BASE = "https://api.partnerstack.com/api/v2/"
PUBLIC = "pk_live_PUBLIC0123456789"
SECRET = "sk_live_SeCrEtLeAk9876543210zyxw"
TOKEN = base64.b64encode(f"{PUBLIC}:{SECRET}".encode()).decode()


class FakeTime:
    """sleep() records and advances a clock, so backoff is checked without waiting."""

    def __init__(self):
        self.now, self.sleeps = 1000.0, []

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds

    def monotonic(self):
        return self.now


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as r:
        yield r


@pytest.fixture
def clock():
    return FakeTime()


@pytest.fixture
def client(clock):
    with PartnerStackClient(Credentials(PUBLIC, SECRET), sleep=clock.sleep, clock=clock.monotonic) as c:
        yield c


def envelope(data, status=200):
    return {"data": data, "message": "OK", "status": status}


def query(call):
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


# -- requests and envelopes --------------------------------------------------------------------

def test_get_sends_basic_auth_and_a_timeout_and_returns_the_data(rsps, client):
    rsps.add("GET", BASE + "customers/cus_1", json=envelope({"key": "cus_1", "email": "a@b.c"}))
    assert client.customer("cus_1") == {"key": "cus_1", "email": "a@b.c"}
    request = rsps.calls[0].request
    assert request.headers["Authorization"] == "Basic " + TOKEN
    assert request.req_kwargs["timeout"] == 10.0


def test_keys_in_paths_are_encoded(rsps, client):
    rsps.add("GET", BASE + "customers/a%2Fb%3Fc", json=envelope({"key": "x"}))
    assert client.customer("a/b?c") == {"key": "x"}
    with pytest.raises(BadInput):
        client.customer("  ")
    with pytest.raises(BadInput):
        client.partnership("..")


def test_paging_follows_the_cursor_until_has_more_is_false(rsps, client):
    pages = [[{"key": f"c{n}"} for n in range(start, start + 3)] for start in (0, 3, 6)]
    for n, page in enumerate(pages):
        rsps.add("GET", BASE + "customers", json=envelope({"items": page, "has_more": n < 2}))
    got = [item["key"] for item in client.customers(partner_key="jane")]
    assert got == [f"c{n}" for n in range(9)]
    sent = [query(call) for call in rsps.calls]
    assert [q.get("starting_after") for q in sent] == [None, "c2", "c5"]
    assert all(q["limit"] == "250" and q["partner_key"] == "jane" for q in sent)


def test_times_are_sent_in_epoch_milliseconds(rsps, client):
    rsps.add("GET", BASE + "customers", json=envelope({"items": [], "has_more": False}))
    start = datetime(2024, 3, 1, tzinfo=UTC)
    list(client.customers(min_created=start, max_created=1709337600000))
    q = query(rsps.calls[0])
    assert (q["min_created"], q["max_created"]) == ("1709251200000", "1709337600000")


def test_a_cursor_that_does_not_move_stops_paging(rsps, client):
    rsps.add("GET", BASE + "customers", json=envelope({"items": [{"key": "same"}], "has_more": True}))
    with pytest.raises(ApiError, match="did not move past 'same'"):
        list(client.customers())
    assert len(rsps.calls) == 2


def test_an_item_without_a_key_cannot_be_paged_past(rsps, client):
    rsps.add("GET", BASE + "partnerships", json=envelope({"items": [{"email": "x@y.z"}], "has_more": True}))
    with pytest.raises(ApiError, match="item without a 'key'"):
        list(client.partnerships())


@pytest.mark.parametrize("limit", [0, 251, "250", True])
def test_a_page_holds_1_to_250_items(client, limit):
    with pytest.raises(BadInput, match="1 to 250"):
        list(client.paginate("customers", limit=limit))


# -- retries -----------------------------------------------------------------------------------

def test_a_429_waits_the_retry_after_seconds_then_succeeds(rsps, client, clock):
    rsps.add("GET", BASE + "customers/k", status=429, headers={"Retry-After": "2"}, json={"message": "slow down"})
    rsps.add("GET", BASE + "customers/k", json=envelope({"key": "k"}))
    assert client.customer("k") == {"key": "k"}
    assert clock.sleeps == [2.0] and len(rsps.calls) == 2


def test_a_429_with_an_http_date_waits_until_then(rsps, client, clock):
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=5), usegmt=True)
    rsps.add("GET", BASE + "customers/k", status=429, headers={"Retry-After": when})
    rsps.add("GET", BASE + "customers/k", json=envelope({"key": "k"}))
    client.customer("k")
    assert len(clock.sleeps) == 1 and 3.0 <= clock.sleeps[0] <= 5.0


def test_a_429_asking_for_too_long_a_wait_gives_up_at_once(rsps, client, clock):
    rsps.add("GET", BASE + "customers/k", status=429, headers={"Retry-After": "3600"})
    with pytest.raises(ApiError, match="asks to wait 3600 s") as caught:
        client.customer("k")
    assert caught.value.status == 429 and len(rsps.calls) == 1 and clock.sleeps == []


def test_429s_without_retry_after_back_off_exponentially_and_are_bounded(rsps, client, clock):
    rsps.add("GET", BASE + "customers", status=429, json={"message": "Too Many Requests", "status": 429})
    with pytest.raises(ApiError, match=r"HTTP 429 5 times") as caught:
        list(client.customers())
    assert caught.value.status == 429 and caught.value.exit_code == ExitCode.INCOMPLETE
    assert len(rsps.calls) == 5  # max_retries=4: one try and four retries
    for n, slept in enumerate(clock.sleeps):
        assert 0.5 * 2 ** n * 0.5 <= slept <= 0.5 * 2 ** n


def test_5xx_is_retried_then_succeeds(rsps, client, clock):
    rsps.add("GET", BASE + "customers/k", status=503)
    rsps.add("GET", BASE + "customers/k", status=500, body="<html>oops</html>")
    rsps.add("GET", BASE + "customers/k", json=envelope({"key": "k"}))
    assert client.customer("k") == {"key": "k"}
    assert len(rsps.calls) == 3 and len(clock.sleeps) == 2


def test_5xx_until_the_retries_run_out_says_how_many_times(rsps, clock):
    c = PartnerStackClient(Credentials(PUBLIC, SECRET), max_retries=2, sleep=clock.sleep, clock=clock.monotonic)
    rsps.add("GET", BASE + "customers/k", status=502)
    with pytest.raises(ApiError) as caught:
        c.customer("k")
    assert str(caught.value) == "PartnerStack answered 5xx 3 times on GET /customers/k (last: HTTP 502): try again later"
    assert caught.value.status == 502 and len(rsps.calls) == 3


def test_creating_a_customer_is_not_retried_after_a_5xx(rsps, client):
    rsps.add("POST", BASE + "customers", status=500)
    with pytest.raises(ApiError, match="may or may not have been applied"):
        client.create_customer(customer_key="u1", email="a@b.c", partner_key="jane")
    assert len(rsps.calls) == 1


def test_a_keyed_transaction_is_idempotent_so_it_is_retried(rsps, client):
    rsps.add("POST", BASE + "transactions", status=503)
    rsps.add("POST", BASE + "transactions", json=envelope({"key": "sale-0001"}))
    fields = {"customer_external_key": "u1", "amount": 0, "currency": "usd", "key": "sale-0001"}
    assert client.create_transaction(**fields) == {"key": "sale-0001"}
    assert len(rsps.calls) == 2 and all(json.loads(c.request.body) == fields for c in rsps.calls)


def test_connection_failures_are_retried_then_reported_in_one_line(rsps, client, clock):
    rsps.add("GET", BASE + "customers/k", body=requests.exceptions.ConnectionError("Connection refused by host"))
    with pytest.raises(ApiError) as caught:
        client.customer("k")
    assert str(caught.value) == ("could not reach PartnerStack at api.partnerstack.com (5 attempts) on "
                                 "GET /customers/k: the connection was refused")
    assert caught.value.status is None and len(clock.sleeps) == 4


def test_a_post_is_retried_after_a_connect_timeout_but_not_after_a_read_timeout(rsps, client):
    rsps.add("POST", BASE + "customers", body=requests.exceptions.ConnectTimeout("connect timed out"))
    rsps.add("POST", BASE + "customers", json=envelope({"key": "cus_1"}))
    assert client.create_customer(customer_key="u1", email="a@b.c", partner_key="jane") == {"key": "cus_1"}
    rsps.add("POST", BASE + "customers", body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(ApiError, match="no answer within 10 s; it may or may not have been applied"):
        client.create_customer(customer_key="u2", email="a@b.c", partner_key="jane")
    assert len(rsps.calls) == 3


# -- errors ------------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [401, 403])
def test_refused_keys_say_so_and_name_the_auth_mix_up(rsps, client, status):
    rsps.add("GET", BASE + "customers", status=status, json={"message": "Unauthorized", "status": status})
    with pytest.raises(ApiRefused) as caught:
        list(client.customers())
    text = str(caught.value)
    assert text.startswith("PartnerStack refused the API keys") and "\n" not in text
    assert "Basic auth" in text and "Bearer" in text and "pk_live_PUBL" in text
    assert caught.value.status == status and caught.value.exit_code == ExitCode.INCOMPLETE


def test_not_found_is_none_for_lookups_and_a_one_line_error_otherwise(rsps, client):
    rsps.add("GET", BASE + "partnerships/ghost", status=404, json={"message": "Not found", "status": 404})
    rsps.add("GET", BASE + "customers/ghost", status=404, json={"message": "Not found", "status": 404})
    assert client.partnership("ghost") is None and client.customer("ghost") is None
    with pytest.raises(ApiNotFound, match=r"^partnership 'ghost' not found in this program \(HTTP 404"):
        client.get("partnerships/ghost")


@pytest.mark.parametrize("body, field", [
    ({"message": "partner_key 'zz' is not a partner of this program", "status": 422}, "partner_key"),
    ({"message": "Validation failed", "errors": {"email": ["is invalid"]}, "status": 422}, "email"),
    ({"message": "Invalid", "field": "provider_key"}, "provider_key"),
    ({"message": "Invalid", "errors": [{"field": "name", "message": "too long"}]}, "name"),
    ({"message": "Something is wrong"}, None),
], ids=["in-message", "errors-map", "field", "errors-list", "unnamed"])
def test_a_422_names_the_field_the_api_named(rsps, client, body, field):
    rsps.add("POST", BASE + "customers", status=422, json=body)
    with pytest.raises(ApiInvalid) as caught:
        client.create_customer(customer_key="u1", email="a@b.c", partner_key="zz", name="N", provider_key="p")
    assert caught.value.field == field and caught.value.status == 422
    assert (f"field {field!r}" in str(caught.value)) == (field is not None)
    assert str(caught.value).startswith("PartnerStack rejected POST /customers")


def test_a_duplicate_is_a_conflict_and_a_400_is_invalid(rsps, client):
    rsps.add("POST", BASE + "customers", status=409, json={"message": "customer_key already exists"})
    with pytest.raises(ApiConflict) as caught:
        client.create_customer(customer_key="u1", email="a@b.c", partner_key="jane")
    assert caught.value.field == "customer_key" and isinstance(caught.value, ApiInvalid)
    rsps.add("GET", BASE + "customers", status=400, json={"message": "limit is not a number"})
    with pytest.raises(ApiInvalid, match="field 'limit'"):
        list(client.customers())


def test_an_error_envelope_sent_with_http_200_is_an_error(rsps, client):
    rsps.add("GET", BASE + "customers", json={"message": "min_created is invalid", "status": 422})
    with pytest.raises(ApiInvalid, match="field 'min_created'"):
        list(client.customers(min_created=0))


@pytest.mark.parametrize("kwargs, message", [
    ({"body": "<html>Gateway</html>", "content_type": "text/html"}, "answer to GET /customers/k is not JSON (HTTP 200, text/html: '<html>Gateway</html>')"),
    ({"json": {"message": "OK", "status": 200}}, "answer to GET /customers/k has no 'data' envelope (it has: message, status)"),
    ({"json": [1, 2]}, "has no 'data' envelope (it has: list)"),
    ({"body": ""}, "answered GET /customers/k with an empty body (HTTP 200)"),
], ids=["html", "no-data", "list", "empty"])
def test_a_malformed_answer_says_so_and_names_the_path(rsps, client, kwargs, message):
    rsps.add("GET", BASE + "customers/k", **kwargs)
    with pytest.raises(ApiError) as caught:
        client.customer("k")
    assert message in str(caught.value)


def test_a_list_without_items_is_malformed(rsps, client):
    rsps.add("GET", BASE + "transactions", json=envelope({"results": []}))
    with pytest.raises(ApiError, match=r"GET /transactions is not a list of items"):
        list(client.transactions())


def test_a_redirect_is_not_followed(rsps, client):
    rsps.add("GET", BASE + "customers/k", status=301, headers={"Location": "https://elsewhere.example/x"})
    with pytest.raises(ApiError, match="redirect .HTTP 301. to https://elsewhere.example/x: check the API base URL"):
        client.customer("k")
    assert len(rsps.calls) == 1


def test_an_invalid_post_is_refused_before_anything_is_sent(rsps, client):
    with pytest.raises(ApiInvalid, match="not sent: POST /transactions: field 'customer_external_key'") as caught:
        client.create_transaction(customer_key="cus_1", customer_external_key="u1", amount=100, currency="usd")
    assert caught.value.status is None
    with pytest.raises(ApiInvalid, match="field 'amount'"):
        client.create_transaction(customer_email="a@b.c", amount=None, currency="usd")
    with pytest.raises(ApiInvalid, match="field 'name'"):
        client.create_customer(customer_key="u1", email="a@b.c", partner_key="jane", name="x" * 101)
    assert len(rsps.calls) == 0


def test_find_partnership_by_email_pages_through_a_server_that_ignores_the_filter(rsps, client):
    rsps.add("GET", BASE + "partnerships", json=envelope({"items": [{"key": "p1", "email": "a@x.io"}], "has_more": True}))
    rsps.add("GET", BASE + "partnerships", json=envelope({"items": [{"key": "p2", "email": " Jane@X.io"}], "has_more": False}))
    assert client.find_partnership_by_email("jane@x.io ")["key"] == "p2"
    assert query(rsps.calls[0])["email"] == "jane@x.io"


def test_find_partnership_by_email_drops_a_filter_the_server_refuses(rsps, client):
    rsps.add("GET", BASE + "partnerships", status=422, json={"message": "email is not a filter"})
    rsps.add("GET", BASE + "partnerships", json=envelope({"items": [{"key": "p1", "email": "x@y.z"}], "has_more": False}))
    assert client.find_partnership_by_email("jane@x.io") is None
    assert "email" not in query(rsps.calls[1])


# -- the secret never leaks --------------------------------------------------------------------

ECHO = f"bad key {SECRET} (Authorization: Basic {TOKEN})"
LEAKY = [
    ("401", {"status": 401, "json": {"message": ECHO, "status": 401}}),
    ("403", {"status": 403, "body": ECHO}),
    ("404", {"status": 404, "json": {"message": ECHO}}),
    ("422", {"status": 422, "json": {"message": ECHO, "errors": {SECRET: [ECHO]}}}),
    ("409", {"status": 409, "json": {"message": ECHO}}),
    ("429", {"status": 429, "json": {"message": ECHO}, "headers": {"Retry-After": "9999"}}),
    ("500", {"status": 500, "json": {"message": ECHO}}),
    ("418", {"status": 418, "json": {"message": ECHO}}),
    ("not-json", {"status": 200, "body": ECHO}),
    ("no-data", {"status": 200, "json": {ECHO: 1}}),
    ("redirect", {"status": 302, "headers": {"Location": f"https://x.example/?k={SECRET}"}}),
    ("connection", {"body": requests.exceptions.ConnectionError(ECHO)}),
]


@pytest.mark.parametrize("kwargs", [k for _, k in LEAKY], ids=[n for n, _ in LEAKY])
def test_the_secret_never_appears_in_errors_reprs_or_logs(rsps, client, caplog, kwargs):
    caplog.set_level(logging.DEBUG)
    rsps.add("GET", BASE + "customers", **kwargs)
    with pytest.raises(ApiError) as caught:
        list(client.customers())
    seen = [str(caught.value), repr(caught.value), repr(client), str(client), repr(client.credentials),
            str(client.credentials), caplog.text, repr(vars(caught.value))]
    for text in seen:
        assert SECRET not in text and TOKEN not in text
    assert "\n" not in str(caught.value)


# -- base URL ----------------------------------------------------------------------------------

@pytest.mark.parametrize("url, ok", [
    ("https://api.partnerstack.com/api/v2", "https://api.partnerstack.com/api/v2/"),
    ("http://127.0.0.1:8080/api/v2/", "http://127.0.0.1:8080/api/v2/"),
    ("http://localhost:9/", "http://localhost:9/"),
    ("http://[::1]:9/v2", "http://[::1]:9/v2/"),
])
def test_base_urls_that_are_accepted(url, ok):
    assert check_base_url(url) == ok


@pytest.mark.parametrize("url, says", [
    ("ftp://api.partnerstack.com/", "not an http(s) URL"),
    ("api.partnerstack.com/api/v2", "not an http(s) URL"),
    ("file:///etc/passwd", "not an http(s) URL"),
    ("http://api.partnerstack.com/api/v2/", "plain http"),
    ("http://10.0.0.5/api/v2/", "plain http"),
    ("https://api.partnerstack.com/api/v2/?x=1", "query or fragment"),
])
def test_base_urls_that_are_refused(url, says):
    with pytest.raises(BadInput, match=says.replace("(", r"\(").replace(")", r"\)")):
        PartnerStackClient(Credentials(PUBLIC, SECRET), base_url=url)


def test_a_base_url_with_a_password_is_refused_without_repeating_it():
    with pytest.raises(BadInput) as caught:
        check_base_url(f"https://user:{SECRET}@api.partnerstack.com/")
    assert SECRET not in str(caught.value) and "must not carry" in str(caught.value)


def test_plain_http_elsewhere_only_when_allowed():
    assert check_base_url("http://10.0.0.5/api/v2", allow_http=True) == "http://10.0.0.5/api/v2/"


@pytest.mark.parametrize("value, seconds", [("2", 2.0), ("0.5", 0.5), ("-3", 0.0), ("soon", None), ("nan", None),
                                            ("", None), (None, None)])
def test_retry_after_in_seconds(value, seconds):
    assert retry_after_seconds(value) == seconds


def test_retry_after_as_a_date():
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("Wed, 01 May 2024 12:00:30 GMT", now=now) == 30.0
    assert retry_after_seconds("Wed, 01 May 2024 11:00:00 GMT", now=now) == 0.0


def test_a_window_page_outside_its_range_is_an_error(rsps, client):
    rsps.add("GET", BASE + "customers", json=envelope({"items": [], "has_more": False}))  # the probe: filtered
    rsps.add("GET", BASE + "customers", json=envelope({"items": [{"key": "c1", "created_at": 5_000_000}], "has_more": False}))
    with pytest.raises(ApiError, match="with a customer created at 5000000: the window cannot be read in slices"):
        list(client.customers_window(1000, 2000, concurrency=2))


# -- found by a new-user test against a server of their own ----------------------------------------


def test_more_promised_but_an_empty_page_is_an_error_not_the_end(rsps, client):
    rsps.get(BASE + "customers", json=envelope({"items": [{"key": "c1"}], "has_more": True}))
    rsps.get(BASE + "customers", json=envelope({"items": [], "has_more": True}))
    with pytest.raises(ApiError, match="says there is more but sent an empty page"):
        list(client.paginate("customers"))


def test_an_item_repeated_on_the_next_page_is_yielded_once(rsps, client):
    rsps.get(BASE + "customers", json=envelope({"items": [{"key": "c1"}, {"key": "c2"}], "has_more": True}))
    rsps.get(BASE + "customers", json=envelope({"items": [{"key": "c2"}, {"key": "c3"}], "has_more": False}))
    assert [c["key"] for c in client.paginate("customers")] == ["c1", "c2", "c3"]


def test_a_404_page_that_is_not_partnerstacks_is_a_wrong_url_not_not_found(rsps, client):
    rsps.get(BASE + "partnerships/jane", body="<html><h1>Not Found</h1></html>", status=404,
             content_type="text/html")
    with pytest.raises(ApiError, match="check the API base URL") as caught:
        client.partnership("jane")
    assert not isinstance(caught.value, ApiNotFound)


def test_an_email_filter_that_matches_exactly_falls_back_to_paging(rsps, client):
    jane = {"key": "p1", "partner_key": "jane", "email": "Jane@Partners.Example"}
    rsps.get(BASE + "partnerships", json=envelope({"items": [], "has_more": False}),
             match=[responses.matchers.query_param_matcher({"email": "jane@partners.example", "limit": "250"})])
    rsps.get(BASE + "partnerships", json=envelope({"items": [jane], "has_more": False}))
    assert client.find_partnership_by_email("jane@partners.example")["partner_key"] == "jane"


def test_an_answer_over_the_cap_is_refused_unread(rsps, client, monkeypatch):
    from diagnose.web import partnerstack_api

    monkeypatch.setattr(partnerstack_api, "MAX_ANSWER_BYTES", 1 << 20)
    rsps.get(BASE + "customers", body=b'{"data": {"items": [' + b" " * (2 << 20) + b"]}}")
    with pytest.raises(ApiError, match="is over 1 MB"):
        list(client.paginate("customers"))

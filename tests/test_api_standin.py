"""The API client against the local stand-in of the PartnerStack API (a real HTTP server on
127.0.0.1): paging, the concurrent window (each customer exactly once, under 429s, on a skewed
window, stopped early), idempotent transactions, and the stand-in's own rules."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
import requests

from diagnose.core.partnerstack import TEST_PARTNER_KEY
from diagnose.demo.api_standin import ApiStandIn
from diagnose.demo.api_store import DAY_MS
from diagnose.web.partnerstack_api import (
    ApiConflict,
    ApiError,
    ApiInvalid,
    ApiRefused,
    Credentials,
    PartnerStackClient,
)

PUBLIC, SECRET = "pk_test_STANDIN01", "sk_test_STANDINsecret0123456789"
START = 1_704_067_200_000  # 2024-01-01
END = START + 365 * DAY_MS


@pytest.fixture
def api():
    with ApiStandIn(PUBLIC, SECRET) as server:
        yield server


def client_for(api, **options) -> PartnerStackClient:
    options.setdefault("backoff", 0.01)
    return PartnerStackClient(Credentials(api.public_key, api.secret_key), base_url=api.url, **options)


@pytest.fixture
def client(api):
    with client_for(api) as c:
        yield c


def keys(items) -> Counter:
    return Counter(item["key"] for item in items)


def test_paging_1000_customers_yields_each_once_in_pages_of_250(api, client):
    api.populate(1000, START, END)
    got = keys(client.customers())
    assert set(got.values()) == {1} and set(got) == {c["key"] for c in api.customers}
    pages = api.requests_to("customers")
    assert len(pages) == 4 and all(r.params["limit"] == "250" for r in pages)
    assert [r.params.get("starting_after") is None for r in pages] == [True, False, False, False]


def test_the_window_yields_each_customer_inside_it_exactly_once(api, client):
    api.populate(1000, START, END)
    edge = [api.add_customer(f"edge-{n}", f"e{n}@x.io", created_at=t)
            for n, t in enumerate((START - 1, START, END - 1, END))]
    got = keys(client.customers_window(START, END, concurrency=4))
    inside = {c["key"] for c in api.customers if START <= c["created_at"] < END}
    assert set(got) == inside and set(got.values()) == {1}
    assert edge[1]["key"] in got and edge[2]["key"] in got
    assert edge[0]["key"] not in got and edge[3]["key"] not in got
    slices = {(r.params["min_created"], r.params["max_created"]) for r in api.requests_to("customers")}
    assert len(slices) >= 16  # 4 workers x 4 slices each


def test_the_window_survives_429s_and_every_worker_waits_after_one(api):
    api.populate(1000, START, END)
    with client_for(api) as c:
        stream = c.customers_window(START, END, concurrency=4, limit=50)
        first = next(stream)
        api.fail_next(429, count=6, retry_after=0.05, path="customers")  # while the workers run
        got = keys([first, *stream])
    assert len(got) == 1000 and set(got.values()) == {1}
    assert sum(r.status == 429 for r in api.requests) == 6


def test_after_a_429_no_worker_sends_until_retry_after_has_passed(api):
    api.populate(1000, START, END)
    with client_for(api) as c:
        stream = c.customers_window(START, END, concurrency=4, limit=20)
        next(stream)
        api.fail_next(429, count=1, retry_after=1.0, path="customers")
        got = 1 + sum(1 for _ in stream)
    assert got == 1000
    log = list(api.requests)
    limited = next(r for r in log if r.status == 429)
    # requests already on their way when the 429 came may arrive a little later on a loaded machine:
    # 0.3 s of slack (CI's 2 cores ran at a load of 15 when 0.1 s was not enough)
    during = [r for r in log if limited.at + 0.3 < r.at < limited.at + 0.8]
    assert during == [], f"{len(during)} requests while every worker should have been waiting"
    assert any(r.at >= limited.at + 1.0 for r in log)


def test_a_skewed_window_is_split_so_the_busy_stretch_spreads_over_workers(api, client):
    api.populate(1500, END - DAY_MS, END)  # the whole year's customers in its last day
    got = keys(client.customers_window(START, END, concurrency=4, limit=50))
    assert len(got) == 1500 and set(got.values()) == {1}
    slices = {(r.params["min_created"], r.params["max_created"]) for r in api.requests_to("customers")}
    assert len(slices) > 16  # the busy slice was split (the initial slices are 16)


def test_stopping_early_stops_the_workers(api, client):
    api.populate(3000, START, END)
    stream = client.customers_window(START, END, concurrency=4, limit=10)
    first = [next(stream) for _ in range(5)]
    stream.close()
    settled = len(api.requests)
    time.sleep(0.3)
    assert len(first) == 5 and len(api.requests) == settled
    assert not [t for t in threading.enumerate() if t.name.startswith("partnerstack-window")]


def test_an_error_in_one_worker_is_raised_and_stops_the_rest(api):
    api.populate(1000, START, END)
    api.fail_next(500, count=1000, path="customers")
    with client_for(api, max_retries=1) as c, pytest.raises(ApiError, match="answered 5xx 2 times"):
        list(c.customers_window(START, END, concurrency=4))
    time.sleep(0.2)
    assert not [t for t in threading.enumerate() if t.name.startswith("partnerstack-window")]


@pytest.mark.parametrize("concurrency", [0, 33, 2.5, True])
def test_the_window_concurrency_is_bounded(client, concurrency):
    from diagnose.core.errors import BadInput

    with pytest.raises(BadInput, match="concurrency"):
        client.customers_window(START, END, concurrency=concurrency)


# -- writes ------------------------------------------------------------------------------------

def test_customers_are_created_once_and_transactions_are_idempotent_by_key(api, client):
    api.add_partnership("jane")
    created = client.create_customer(customer_key="user-1", email="ann@x.io", partner_key="jane",
                                     name="Ann", provider_key="cus_stripe1")
    assert created["test"] is True and created["customer_key"] == "user-1" and created["key"] != "user-1"
    with pytest.raises(ApiConflict, match="customer_key"):
        client.create_customer(customer_key="user-1", email="ann@x.io", partner_key="jane")
    sale = {"customer_external_key": "user-1", "amount": 4900, "currency": "usd", "key": "ticket-42-sale"}
    first, again = client.create_transaction(**sale), client.create_transaction(**sale)
    assert first == again and len(api.transactions) == 1
    assert first["customer_key"] == created["key"] and first["customer_external_key"] == "user-1"
    by_ps_key = client.create_transaction(customer_key=created["key"], amount=0, currency="usd")
    assert by_ps_key["key"] != first["key"] and len(api.transactions) == 2
    assert keys(client.transactions(customer_key=created["key"])) == Counter({first["key"]: 1, by_ps_key["key"]: 1})


def test_the_company_key_in_customer_key_is_refused_with_the_hint(api, client):
    api.add_partnership("jane")
    client.create_customer(customer_key="user-1", email="ann@x.io", partner_key="jane")
    with pytest.raises(ApiInvalid, match="customer_external_key") as caught:
        client.create_transaction(customer_key="user-1", amount=100, currency="usd")
    assert caught.value.field == "customer_key" and caught.value.status == 422


def test_a_customer_for_someone_who_is_not_a_partner_is_refused(api, client):
    with pytest.raises(ApiInvalid) as caught:
        client.create_customer(customer_key="u", email="a@b.c", partner_key="stranger")
    assert caught.value.field == "partner_key" and "not a partner of this program" in str(caught.value)
    assert api.customers == []


def test_live_looking_keys_create_live_customers():
    with ApiStandIn("pk_live_ABC", "sk_live_DEF") as api, client_for(api) as c:
        api.add_partnership("jane")
        assert c.create_customer(customer_key="u", email="a@b.c", partner_key="jane")["test"] is False
        assert c.credentials.test is False


# -- reads -------------------------------------------------------------------------------------

def test_lookups_by_key_and_by_email(api, client):
    api.add_partnership("jane", email="Jane@Partners.example", archived=True)
    customer = api.add_customer("user-9", "z@x.io", "jane", provider_key="cus_9")
    assert client.partnership("jane")["archived"] is True
    assert client.partnership(TEST_PARTNER_KEY)["partner_key"] == TEST_PARTNER_KEY
    assert client.partnership("nobody") is None
    assert client.find_partnership_by_email("jane@partners.EXAMPLE")["partner_key"] == "jane"
    assert client.find_partnership_by_email("nobody@x.io") is None
    assert client.customer("user-9")["provider_key"] == "cus_9"
    assert client.customer(customer["key"])["customer_key"] == "user-9"
    assert client.customer("ghost") is None


def test_the_partnerships_are_paged_through_for_an_email(api, client):
    for n in range(30):
        api.add_partnership(f"p{n}", email=f"p{n}@x.io")
    assert client.find_partnership_by_email("P0@x.io")["partner_key"] == "p0"
    assert len(api.requests_to("partnerships")) == 1  # 31 partnerships fit one page of 250


def test_5xx_and_malformed_answers_on_demand(api, client):
    api.add_customer("u", "a@b.c")
    api.fail_next(503, count=2)
    assert client.customer("u")["email"] == "a@b.c"
    api.fail_next(200, body="<html>maintenance</html>")
    with pytest.raises(ApiError, match="is not JSON"):
        client.customer("u")


def test_wrong_keys_are_refused_and_never_logged(api):
    with client_for(api) as good:
        good.customer("x")
    wrong = Credentials(PUBLIC, "sk_test_wrong0123456789abcdef")
    with PartnerStackClient(wrong, base_url=api.url) as bad, pytest.raises(ApiRefused):
        bad.customer("x")
    answer = requests.get(api.url + "customers", headers={"Authorization": f"Bearer {SECRET}"}, timeout=5)
    assert answer.status_code == 401 and answer.json() == {"message": "Unauthorized: the API keys were not accepted",
                                                           "status": 401}
    assert [r.authorized for r in api.requests] == [True, False, False]
    assert SECRET not in repr(api.requests)


@pytest.mark.parametrize("params, field", [({"limit": 251}, "limit"), ({"limit": 0}, "limit"),
                                           ({"min_created": "yesterday"}, "min_created"),
                                           ({"starting_after": "cus_none"}, "starting_after")])
def test_the_stand_in_validates_paging(api, client, params, field):
    api.add_customer("u", "a@b.c")
    with pytest.raises(ApiInvalid) as caught:
        client.get("customers", params)
    assert caught.value.field == field


def test_ending_before_pages_back_towards_the_newest(api):
    api.populate(30, START, END)
    auth = (PUBLIC, SECRET)
    newest_first = [c["key"] for c in requests.get(api.url + "customers", params={"limit": 30}, auth=auth,
                                                   timeout=5).json()["data"]["items"]]
    page = requests.get(api.url + "customers", params={"limit": 5, "ending_before": newest_first[20]}, auth=auth,
                        timeout=5).json()["data"]
    assert [c["key"] for c in page["items"]] == newest_first[15:20] and page["has_more"] is True


def test_the_stand_in_serves_requests_concurrently():
    with ApiStandIn(PUBLIC, SECRET, latency=0.2) as api:
        started = time.monotonic()
        threads = [threading.Thread(target=requests.get, args=(api.url + "customers",),
                                    kwargs={"auth": (PUBLIC, SECRET), "timeout": 5}) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert time.monotonic() - started < 0.8  # 8 x 0.2 s one after the other would take 1.6 s
        assert len(api.requests) == 8


def test_rewards_are_listed_by_customer_and_a_live_sale_makes_a_pending_one():
    with ApiStandIn("pk_live_ABC", "sk_live_DEF") as api, client_for(api) as c:
        api.add_partnership("jane")
        customer = api.add_customer("user-1", "ann@x.io", "jane")
        other = api.add_customer("user-2", "bob@x.io", "jane")
        api.add_reward("user-1", "approved", created_at=START)
        api.add_reward(other["key"], "declined", created_at=END)
        c.create_transaction(customer_external_key="user-1", amount=5000, currency="usd", key="sale-0001")
        mine = list(c.paginate("rewards", {"customer_key": customer["key"]}))
        assert sorted(r["status"] for r in mine) == ["approved", "pending"]
        assert {r["customer_key"] for r in mine} == {customer["key"]}
        assert [r["amount"] for r in mine if r["status"] == "pending"] == [1000]
        assert {r["customer_key"] for r in c.paginate("rewards", {"min_created": END, "max_created": END})} == {other["key"]}


def test_a_test_sale_makes_no_reward(api, client):
    api.add_partnership("jane")
    api.add_customer("user-1", "ann@x.io", "jane")
    client.create_transaction(customer_external_key="user-1", amount=5000, currency="usd")
    assert api.rewards == [] and list(client.paginate("rewards")) == []


def test_a_server_that_ignores_the_created_filter_is_read_with_one_cursor(api, client, caplog):
    api.populate(600, START, END + 30 * DAY_MS)
    api.store.ignore_created = True
    got = keys(client.customers_window(START, END, concurrency=4))
    inside = {c["key"] for c in api.customers if START <= c["created_at"] < END}
    assert set(got) == inside and set(got.values()) == {1} and len(inside) < 600
    probe, *rest = api.requests_to("customers")
    assert (probe.params["min_created"], probe.params["max_created"], probe.params["limit"]) == ("0", "1", "1")
    assert len(rest) == 3  # 600 customers, one cursor: 3 pages of 250
    assert "ignores min_created" in caplog.text


def test_a_concurrency_of_1_is_one_cursor(api, client):
    api.populate(600, START, END)
    assert len(keys(client.customers_window(START, END, concurrency=1))) == 600
    assert len(api.requests_to("customers")) == 3

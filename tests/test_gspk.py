import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diagnose.checks.gspk import check_gspk
from diagnose.core.partnerstack import decode_partner_key, encode_partner_key, looks_like_partner_key


@pytest.mark.parametrize(
    "value, expected",
    [
        ("NWMzOGRkZGJmN2Zj", "5c38dddbf7fc"),  # unpadded, as live links carry it
        ("  NWMzOGRkZGJmN2Zj\n", "5c38dddbf7fc"),  # surrounding white space
        ("Z3N0ZXN0", "gstest"),
        ("bmd1eWVudGhpYmluaDg3NTM", "nguyenthibinh8753"),  # unpadded vanity key
        ("bmd1eWVudGhpYmluaDg3NTM=", "nguyenthibinh8753"),  # padded
        ("bmd1eWVudGhpYmluaDg3NTM%3D", "nguyenthibinh8753"),  # percent-encoded padding
        ("bmd1eWVudGhpYmluaDg3NTM%253D", "nguyenthibinh8753"),  # encoded twice
        (base64.urlsafe_b64encode("jöhn?>>".encode()).decode(), "jöhn?>>"),  # URL-safe alphabet
        (base64.b64encode("jöhn?>>".encode()).decode(), "jöhn?>>"),  # standard alphabet with + /
        (base64.b64encode("jöhn?>>".encode()).decode().replace("+", " "), "jöhn?>>"),  # + became a space
    ],
)
def test_decodes_every_encoding_seen(value, expected):
    assert decode_partner_key(value) == (expected, None)


@pytest.mark.parametrize(
    "value, reason",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("not base64!", "outside the base64 alphabet"),
        ("abcde", "cannot encode whole bytes"),
        (base64.b64encode(b"\xff\xfe\x00").decode(), "not UTF-8"),
        (base64.b64encode(b"ab\x00cd").decode(), "non-printable"),
        ("QQ===", "padding"),
    ],
)
def test_rejects_values_that_are_not_partner_keys(value, reason):
    key, why = decode_partner_key(value)
    assert key is None
    assert reason in why


def test_encode_is_the_inverse_and_unpadded():
    assert encode_partner_key("5c38dddbf7fc") == "NWMzOGRkZGJmN2Zj"
    assert decode_partner_key(encode_partner_key("a")) == ("a", None)


def test_takes_the_key_from_a_whole_url():
    r = check_gspk("https://acme.example/?pscd=get.acme.example&ps_partner_key=NWMzOGRkZGJmN2Zj&ps_xid=iQq&gsxid=iQq&gspk=NWMzOGRkZGJmN2Zj")
    assert r.evidence.partner_key == "5c38dddbf7fc"
    assert r.evidence.source == "gspk"  # the first family wins when both agree
    assert r.status == "pass"


def test_url_without_partner_key():
    r = check_gspk("https://acme.example/?utm_source=x&gsxid=abc")
    assert r.codes() == ["no-partner-key"]
    assert r.evidence.partner_key is None


def test_url_whose_two_key_params_disagree():
    r = check_gspk("https://acme.example/?gspk=NWMzOGRkZGJmN2Zj&ps_partner_key=Z3N0ZXN0")
    assert "params-disagree" in r.codes()


def test_partner_mismatch_and_match():
    assert check_gspk("NWMzOGRkZGJmN2Zj", partner="5c38dddbf7fc").status == "pass"
    r = check_gspk("Z3N0ZXN0", partner="5c38dddbf7fc")
    assert r.codes() == ["partner-mismatch", "test-partner"]
    assert check_gspk("Z3N0ZXN0").codes() == ["test-partner"]  # never credits a real partner
    assert check_gspk("Z3N0ZXN0", partner="gstest").codes() == []  # unless that is what was asked
    assert r.evidence.matches_expected is False
    assert r.evidence.is_test_partner is True


def test_invalid_value_gives_invalid_gspk():
    r = check_gspk("%%%not-base64%%%")
    assert r.codes() == ["invalid-gspk"]


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_decoding_never_raises_on_arbitrary_text(text):
    key, reason = decode_partner_key(text)
    assert (key is None) != (reason is None)
    if key is not None:
        assert key.isprintable()
    result = check_gspk(text)  # the whole check never raises either, and never errors
    # warn: the test partner, or a decoded value that cannot be a partner key (issue #8)
    assert result.status in ("pass", "warn", "fail")
    if key is not None:
        shaped = looks_like_partner_key(key)
        assert ("not-a-partner-key" in result.codes()) is not shaped
        if shaped and key != "gstest":
            assert result.status == "pass"


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp", "Co", "Cn")), min_size=1).filter(lambda s: s.strip() and s.isprintable()))
def test_any_printable_key_survives_encoding(key):
    assert decode_partner_key(encode_partner_key(key)) == (key, None)


@pytest.mark.parametrize(
    "decoded",
    ["hello world", "john doe", "a;b", "<script>", "ab/cd", "jane?ref=1", "100%", "jöhn"],
)
def test_a_decoded_value_that_cannot_be_a_partner_key_is_a_named_warning(decoded):
    r = check_gspk(encode_partner_key(decoded))
    assert r.codes() == ["not-a-partner-key"]
    assert r.status == "warn"
    assert r.evidence.partner_key == decoded  # still shown: the evidence is what the link carries
    message = r.problems[0].message
    assert repr(decoded) in message


@pytest.mark.parametrize(
    "key",
    ["5c38dddbf7fc", "A1B2C3D4E5F6", "nguyenthibinh8753", "jane.doe", "jane_doe", "jane-doe-2", "gstest", "x"],
)
def test_partner_key_shapes_pass(key):
    r = check_gspk(encode_partner_key(key), partner=key)
    assert "not-a-partner-key" not in r.codes()
    assert r.status == "pass"


def test_a_value_that_is_not_a_key_is_shown_safely_and_shortly():
    decoded = "x y" * 200
    r = check_gspk(encode_partner_key(decoded))
    message = r.problems[0].message
    assert r.codes() == ["not-a-partner-key"]
    assert len(message) < 300 and "\n" not in message


def test_not_a_partner_key_in_a_url_names_the_parameter_and_still_compares():
    enc = encode_partner_key("hello world")
    r = check_gspk(f"https://acme.example/?gspk={enc}&ps_partner_key={enc}", partner="5c38dddbf7fc")
    assert r.codes() == ["partner-mismatch", "not-a-partner-key"]
    assert "gspk" in r.problems[1].message

import json

import pytest

from diagnose.checks.gspk import check_gspk
from diagnose.checks.link import Hop, LinkEvidence
from diagnose.checks.snippet import check_snippet_html
from diagnose.core.evidence import CheckResult, Problem, Status, error, fail, warn


def roundtrip(result):
    data = json.loads(json.dumps(result.to_dict()))
    back = CheckResult.from_dict(data)
    assert back == result
    assert back.to_dict() == data
    return data


def test_status_is_the_worst_problem():
    ev = LinkEvidence(input_url="https://x.example/")
    assert CheckResult("link", ev).status is Status.PASS
    assert CheckResult("link", ev, (warn("a", "m"),)).status is Status.WARN
    assert CheckResult("link", ev, (warn("a", "m"), fail("b", "m"))).status is Status.FAIL
    assert CheckResult("link", ev, (fail("b", "m"), error("c", "m"))).status is Status.ERROR
    assert not CheckResult("link", ev, (error("c", "m"),)).ran


def test_link_result_round_trips_with_nested_hops():
    ev = LinkEvidence(
        input_url="https://acme.partnerlinks.io/jane",
        final_url="https://acme.example/?gspk=NWMzOGRkZGJmN2Zj",
        hops=(
            Hop("https://acme.partnerlinks.io/jane", 302, "http", 12, "https://acme.example/?gspk=x", {}),
            Hop("https://acme.example/?gspk=NWMzOGRkZGJmN2Zj", 200, "final", 30, None, {"gspk": "NWMzOGRkZGJmN2Zj"}),
        ),
        params={"gspk": "NWMzOGRkZGJmN2Zj"},
        partner_key="5c38dddbf7fc",
        dropped_params=("gsxid",),
        dropped_at_hop=1,
        completed=True,
    )
    data = roundtrip(CheckResult("link", ev, (fail("params-dropped", "lost"), warn("no-click-id", "x"))))
    assert data["status"] == "fail"
    assert data["hops"][1]["params"] == {"gspk": "NWMzOGRkZGJmN2Zj"}
    assert [p["code"] for p in data["problems"]] == ["params-dropped", "no-click-id"]


def test_gspk_and_snippet_results_round_trip():
    roundtrip(check_gspk("NWMzOGRkZGJmN2Zj", partner="someone"))
    html = "<html><head><script>growsumo._initialize('pk_" + "a" * 32 + "');</script></head></html>"
    roundtrip(check_snippet_html(html, url="https://acme.example/"))


@pytest.mark.parametrize(
    "data, message",
    [
        ({"check": "nope"}, "unknown check"),
        ({"check": "link"}, "missing field 'input_url'"),
        ({"check": "link", "input_url": 3}, "expected str"),
        ({"check": "link", "input_url": "u", "hops": [{"url": "u"}]}, "missing field"),
        ({"check": "gspk", "input": "x", "problems": [{"code": "a"}]}, r"gspk\.problems\[0\]: missing field 'message'"),
        ([], "JSON object"),
        ({"check": "link", "input_url": "u", "colour": "blue"}, "^link: unknown field 'colour'$"),
        ({"check": "link", "input_url": "u", "hops": [{"url": "u", "status_code": 200, "kind": "final",
                                                       "elapsed_ms": 1, "paramz": {}}]},
         r"^link\.hops\[0\]: unknown field 'paramz' \(did you mean 'params'\?\)$"),
        ({"check": "link", "input_url": "u", "a": 1, "b": 2}, "^link: unknown fields 'a', 'b'$"),
        ({"check": "link", "input_url": "u", "dropped_at_hop": "2"}, r"^link\.dropped_at_hop: expected int, got '2'$"),
        ({"check": "link", "input_url": "u", "completed": 1}, r"^link\.completed: expected bool, got 1$"),
        ({"check": []}, r"^check result\.check: expected a check name, got \[\]$"),
        ({"check": {"a": 1}}, "expected a check name"),
        ({"input_url": "u"}, "missing field 'check'"),
        ({"check": "gspk", "input": "x", "problems": [{"code": "a", "message": "m", "severity": "pass"}]},
         "cannot have severity 'pass'"),
        ({"check": "gspk", "input": "x", "status": "fail"}, r"^gspk\.status: 'fail' disagrees with its problems"),
    ],
)
def test_from_dict_rejects_malformed_input(data, message):
    with pytest.raises(ValueError, match=message):
        CheckResult.from_dict(data)


def test_from_dict_checks_the_name_it_was_saved_under():
    data = CheckResult("link", LinkEvidence(input_url="u")).to_dict()
    assert CheckResult.from_dict(data, "link").check == "link"
    with pytest.raises(ValueError, match="^snippet.check: evidence saved as 'snippet' cannot come from the 'link' check$"):
        CheckResult.from_dict(data, "snippet")
    with pytest.raises(ValueError, match="^cookie-safari-itp.check: "):
        CheckResult.from_dict(data, "cookie-safari-itp")
    with pytest.raises(ValueError, match=r"^link-x\.hops: expected a list"):
        CheckResult.from_dict({**data, "hops": 3}, "link-x")  # a variant of the link check: errors rooted at it


def test_problem_cannot_be_pass():
    with pytest.raises(ValueError):
        Problem("x", "y", Status.PASS)

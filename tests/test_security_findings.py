"""Issue #24, security findings from a probe of the running app: one test (or a few) per
finding, each failing before its fix."""
from __future__ import annotations

import pytest

from erp.security import IntegerConverter
from tests.conftest import login
from tests.factories.core import PASSWORD


# -- 5. ids beyond 64 bits and control characters in `next` ----------------------------------

def _int_routes(app):
    from werkzeug.routing import IntegerConverter as AnyIntegerConverter

    for rule in app.url_map.iter_rules():
        ints = [name for name, converter in rule._converters.items()
                if isinstance(converter, AnyIntegerConverter)]
        if ints:
            yield rule, ints


def test_every_int_route_uses_the_bounded_converter(app):
    from werkzeug.routing import IntegerConverter as Plain

    plain = [rule.rule for rule in app.url_map.iter_rules()
             for converter in rule._converters.values()
             if isinstance(converter, Plain) and not isinstance(converter, IntegerConverter)]
    assert plain == []


@pytest.mark.parametrize("huge", [2**63, 2**64])
def test_every_route_answers_404_to_an_id_beyond_64_bits(app, client_as, huge):
    client = client_as("admin")
    failures = []
    routes = list(_int_routes(app))
    assert len(routes) > 20
    for rule, ints in routes:
        values = {name: huge if name in ints else ("product" if "type" in name else "x")
                  for name in rule.arguments}
        url = rule.build(values, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            status = client.open(url, method=method, data={}).status_code
            if status != 404:
                failures.append(f"{method} {url}: {status}")
    assert failures == []


def test_the_largest_64_bit_id_is_still_a_plain_404(client_as):
    client = client_as("admin")
    assert client.get(f"/catalog/products/{2**63 - 1}").status_code == 404


@pytest.mark.parametrize("target", [
    "/admin/users\r\nSet-Cookie: evil=1",
    "/\nhttps://evil.example.com",
    "/catalog\x7f",
    "/\tadmin",
])
def test_next_with_control_characters_falls_back_to_the_dashboard(client, make_user, target):
    user = make_user("admin")
    response = client.post("/login", query_string={"next": target},
                           data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    again = client.get("/login", query_string={"next": target})  # already logged in
    assert again.status_code == 302
    assert again.headers["Location"] == "/"

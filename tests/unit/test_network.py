"""Allow-lists and the client address behind trusted proxies."""

import pytest

from api.network_policy import is_admin_route
from infrastructure.network import BadNetwork, Networks, client_address, forwarded_chain

PROXIES = Networks.parse("10.0.0.0/8, 127.0.0.1")


def test_without_trusted_proxies_the_forwarded_header_is_ignored():
    assert client_address("203.0.113.9", ["198.51.100.1"], Networks()) == "203.0.113.9"


def test_a_trusted_proxy_passes_on_the_client_it_saw():
    assert client_address("10.0.0.2", ["198.51.100.1"], PROXIES) == "198.51.100.1"


def test_a_client_cannot_smuggle_an_address_past_the_proxies():
    # The client wrote "10.9.9.9" itself; the proxy appended the address it really saw.
    chain = forwarded_chain(["10.9.9.9, 198.51.100.1"])
    assert client_address("127.0.0.1", chain, PROXIES) == "198.51.100.1"


def test_chains_of_trusted_proxies_are_walked_from_the_right():
    chain = forwarded_chain(["198.51.100.1", "10.0.0.5, 10.0.0.6"])
    assert client_address("127.0.0.1", chain, PROXIES) == "198.51.100.1"


def test_an_untrusted_peer_is_the_client_even_with_a_header():
    assert client_address("198.51.100.7", ["10.0.0.1"], PROXIES) == "198.51.100.7"


def test_garbage_in_the_header_stops_the_walk():
    assert client_address("127.0.0.1", ["not-an-ip"], PROXIES) == "127.0.0.1"


def test_allow_lists_match_networks_and_mapped_ipv4():
    allowed = Networks.parse("192.0.2.0/24,2001:db8::/32")
    assert allowed.allows("192.0.2.77") and allowed.allows("::ffff:192.0.2.77")
    assert allowed.allows("2001:db8::1")
    assert not allowed.allows("198.51.100.1") and not allowed.allows("unknown")
    assert Networks().allows("198.51.100.1")  # an empty list restricts nothing


def test_a_bad_network_is_refused():
    with pytest.raises(BadNetwork):
        Networks.parse("10.0.0.0/33")


@pytest.mark.parametrize(
    ("method", "path", "admin"),
    [
        ("GET", "/api/admin/stats", True),
        ("GET", "/api//admin/", True),
        ("GET", "/metrics/", True),
        ("PUT", "/api/agents/demo", True),
        ("POST", "/api/agents/reload", True),
        ("GET", "/api/agents/demo", False),
        ("GET", "/api/administrator", False),
        ("POST", "/api/auth/login", False),
    ],
)
def test_admin_routes(method, path, admin):
    assert is_admin_route(method, path) is admin

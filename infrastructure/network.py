"""Networks: CIDR allow-lists, and who the client is when trusted proxies stand in front.

`X-Forwarded-For` is written by whoever sent the request, so it is believed only as far
as the hops that appended to it are proxies we trust: read from the right, every address
a trusted proxy added is skipped, and the first untrusted one is the client.
"""

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class BadNetwork(ValueError):
    """A CIDR list entry that is not a network."""


def parse_networks(text: str | None) -> tuple[Network, ...]:
    """Comma- or space-separated networks (`10.0.0.0/8, ::1`); a bare address is a /32 or /128."""
    if not text:
        return ()
    entries = text.replace(",", " ").split()
    try:
        return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)
    except ValueError as error:
        raise BadNetwork(str(error)) from None


def parse_address(text: str) -> Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[::1]:443" as some proxies write it
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.7:5123"
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    # An IPv4 client seen through an IPv6 socket: match it against IPv4 networks.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@dataclass(frozen=True, slots=True)
class Networks:
    """A set of networks; empty means "no restriction" for an allow-list."""

    networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> "Networks":
        return cls(parse_networks(text))

    def __bool__(self) -> bool:
        return bool(self.networks)

    def contains(self, address: str) -> bool:
        if not self.networks:
            return False
        parsed = parse_address(address)
        return parsed is not None and any(parsed in network for network in self.networks)

    def allows(self, address: str) -> bool:
        """An allow-list check: everything passes an empty list."""
        return not self.networks or self.contains(address)


def forwarded_chain(headers: Iterable[str]) -> list[str]:
    """Every X-Forwarded-For header, in order, split into its hops (leftmost = first)."""
    return [hop.strip() for header in headers for hop in header.split(",") if hop.strip()]


def client_address(peer: str, forwarded_for: list[str], trusted_proxies: Networks) -> str:
    """The client as the last untrusted hop: the peer itself unless it is a trusted proxy."""
    if not trusted_proxies.contains(peer):
        return peer
    client = peer
    for hop in reversed(forwarded_for):
        if parse_address(hop) is None:
            break  # garbage: trust nothing further left than what we have
        client = str(parse_address(hop))
        if not trusted_proxies.contains(client):
            break
    return client

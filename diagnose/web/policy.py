"""The one private-network policy: which addresses an untrusted link may reach, how that is checked,
and the one message a refusal gives. Three enforcement points use it: safe HTTP (web/fetch.py, every
hop and the connected socket), the guard proxy (every connection of the browser, web/guard_proxy.py)
and the browser check's own fetches (through the guard proxy)."""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass

DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_BYTES = 5_000_000
DEFAULT_MAX_REDIRECTS = 20
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36 diagnose/0.1"
)
ALLOW_PRIVATE_ENV = "DIAGNOSE_ALLOW_PRIVATE_NETWORK"


def env_allows_private() -> bool:
    return os.environ.get(ALLOW_PRIVATE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class NetPolicy:
    """How carefully to talk to untrusted hosts."""

    timeout: float = DEFAULT_TIMEOUT  # connect and read timeout, and each hop's total deadline
    max_bytes: int = DEFAULT_MAX_BYTES
    max_redirects: int = DEFAULT_MAX_REDIRECTS
    allow_private: bool = False
    user_agent: str = USER_AGENT


class PrivateAddress(Exception):
    """A host resolved to an address that is not public."""

    def __init__(self, host: str, address: str):
        super().__init__(f"{host} resolves to {address}, which is not a public address")
        self.host = host
        self.address = address

    @property
    def refusal(self) -> str:
        return refusal(self.host, self.address)


NOT_PUBLIC = "not a public address"


def refusal(where: str, address: str | None = None) -> str:
    """The one message for a refused visit: ``where`` is a host or a URL."""
    why = f": it resolves to {address}, {NOT_PUBLIC}" if address and address != where else f": {NOT_PUBLIC}"
    return f"refused to visit {where}{why} (use --allow-private-network for a test site)"


class ResolveError(Exception):
    pass


# The IANA special-purpose address registries (IPv4 and IPv6), as data: blocks that are not globally
# reachable, and the few blocks inside them that are. Kept here rather than read from ipaddress's
# is_global, whose tables differ between Python versions (3.11 counts fec0::/10, 192.0.0.8 and
# 192.88.99.0/24 as global). Multicast and the reserved ranges are refused too.
NOT_GLOBAL = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4", "255.255.255.255/32",
    "::/128", "::1/128", "64:ff9b:1::/48", "100::/64", "100:0:0:1::/64", "2001::/23", "2001:db8::/32",
    "3fff::/20", "5f00::/16", "fc00::/7", "fe80::/10", "fec0::/10",
))
GLOBAL_INSIDE = tuple(ipaddress.ip_network(n) for n in (
    "192.0.0.9/32", "192.0.0.10/32",  # PCP and TURN anycast
    "2001:1::1/128", "2001:1::2/128", "2001:1::3/128", "2001:3::/32", "2001:4:112::/48",
    "2001:20::/28", "2001:30::/28",
))
NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, NAT64, 6to4), which is what it reaches."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def is_public_address(address: str) -> bool:
    """True only for a globally reachable unicast address (IPv4 inside IPv6 judged by the IPv4)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and (v4 := _embedded_ipv4(ip)) is not None:
        ip = v4
    if any(ip in net for net in GLOBAL_INSIDE):
        return True
    if ip.is_multicast or ip.is_reserved or any(ip in net for net in NOT_GLOBAL if net.version == ip.version):
        return False
    return ip.is_global


def resolve(host: str, port: int | None) -> list[str]:
    if "%" not in host:  # an address written as one needs no look-up (what getaddrinfo would answer)
        try:
            if str(ipaddress.ip_address(host)) == host:
                return [host]
        except ValueError:
            pass
    try:
        infos = socket.getaddrinfo(host, port or 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ResolveError(f"cannot resolve {host}: {exc}") from None
    return sorted({info[4][0] for info in infos})


def check_host(host: str, port: int | None, allow_private: bool) -> list[str]:
    """Resolve ``host``; raise PrivateAddress unless every address is public (or allowed)."""
    addresses = resolve(host, port)
    if not allow_private:
        for address in addresses:
            if not is_public_address(address):
                raise PrivateAddress(host, address)
    return addresses

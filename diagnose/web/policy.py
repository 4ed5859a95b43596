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


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        # IPv4 carried inside IPv6 (mapped, 6to4, Teredo) is judged by the IPv4 address it carries.
        embedded = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
        if any(v4 is not None and not is_public_address(str(v4)) for v4 in embedded):
            return False
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast and not ip.is_reserved


def resolve(host: str, port: int | None) -> list[str]:
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

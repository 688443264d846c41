"""Refuse URLs that would make Mosaic fetch from inside its own network (SSRF).

Two layers, both needed:
- `check_url` before each request and each redirect hop: scheme, credentials, and every address
  the host resolves to (one bad address is enough to refuse: the resolver may pick any of them).
- `guarded_adapter` for requests: its connections resolve the host again at connect time, check
  those addresses, and connect to exactly the address that was checked. A DNS answer that changes
  between the check and the connection (rebinding) therefore cannot reach a refused address, while
  the Host header, SNI and certificate checks still use the hostname.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util import connection as urllib3_connection

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
SCHEMES = ("http", "https")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
_KINDS = ("loopback", "link_local", "unspecified", "multicast", "private", "reserved")


class UrlRefused(ValueError):
    """Not an OSError on purpose: urllib3 and requests pass it through instead of retrying it."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class AllowList:
    hosts: frozenset[str]
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]

    def allows(self, host: str, ip: IPAddress) -> bool:
        if _normal_host(host) in self.hosts:
            return True
        candidates = [ip] + ([ip.ipv4_mapped] if getattr(ip, "ipv4_mapped", None) else [])
        return any(c.version == net.version and c in net for c in candidates for net in self.networks)


def allow_list(entries: Iterable[str] | AllowList | None) -> AllowList:
    if isinstance(entries, AllowList):
        return entries
    return _parse(tuple(entries or ()))


@lru_cache(maxsize=32)
def _parse(entries: tuple[str, ...]) -> AllowList:
    hosts, networks = set(), []
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            hosts.add(_normal_host(entry))
    return AllowList(frozenset(hosts), tuple(networks))


def check_url(url: str, allowlist: Iterable[str] | AllowList | None) -> None:
    """Raise UrlRefused unless `url` is http(s), has no credentials and reaches only allowed addresses."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlRefused(f"malformed URL: {exc}") from None
    if parts.scheme.lower() not in SCHEMES:
        raise UrlRefused(f"only http and https URLs are fetched, not {parts.scheme or 'a bare path'!r}")
    if "@" in parts.netloc:
        raise UrlRefused("URLs with credentials are refused")
    if not parts.hostname:
        raise UrlRefused("the URL has no host")
    port = port or (443 if parts.scheme.lower() == "https" else 80)
    check_addresses(parts.hostname, resolve(parts.hostname, port), allowlist)


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (all families), in the resolver's order, without repeats."""
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UrlRefused(f"cannot resolve {host}: {exc}") from None
    found: dict[IPAddress, None] = {}
    for *_, sockaddr in infos:
        found[ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])] = None
    if not found:
        raise UrlRefused(f"{host} resolves to no address")
    return list(found)


def check_addresses(host: str, addresses: list[IPAddress], allowlist: Iterable[str] | AllowList | None) -> None:
    allowed = allow_list(allowlist)
    for ip in addresses:
        kind = forbidden_kind(ip)
        if kind and not allowed.allows(host, ip):
            shown = host if host == str(ip) else f"{host} ({ip})"
            raise UrlRefused(f"{shown} is a {kind} address; add it to MOSAIC_URL_ALLOWLIST to allow it")


def forbidden_kind(ip: IPAddress) -> str | None:
    """Why `ip` must not be fetched from ("loopback", "private", …), or None for a public address."""
    if ip.version == 6 and ip.ipv4_mapped:
        return forbidden_kind(ip.ipv4_mapped)  # ::ffff:a.b.c.d is the IPv4 host a.b.c.d itself
    if ip.version == 6:
        # IPv6 forms that carry an IPv4 address reach that IPv4 host: judge the IPv4 one too.
        embedded = [ip.sixtofour, ip.teredo[1] if ip.teredo else None]
        if ip in NAT64:
            embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        for inner in embedded:
            if inner is not None and (kind := forbidden_kind(inner)):
                return kind
    for kind in _KINDS:
        if getattr(ip, f"is_{kind}"):
            return kind.replace("_", "-")
    if not ip.is_global:  # shared (100.64/10), documentation, benchmarking … ranges
        return "non-global"
    return None


def _normal_host(host: str) -> str:
    return host.strip("[]").rstrip(".").lower()


# -- connections that connect only to checked addresses ------------------------------------------

def _connect_checked(conn: HTTPConnection, allowlist: AllowList):
    host = conn.host
    addresses = resolve(host, conn.port)
    check_addresses(host, addresses, allowlist)
    error: Exception | None = None
    for ip in addresses:
        # An IP literal: urllib3's create_connection does no further DNS lookup for it.
        try:
            return urllib3_connection.create_connection(
                (str(ip), conn.port), conn.timeout, source_address=conn.source_address,
                socket_options=conn.socket_options,
            )
        except TimeoutError as exc:
            error = ConnectTimeoutError(conn, f"connection to {host} timed out (connect timeout={conn.timeout})")
            error.__cause__ = exc
        except OSError as exc:
            error = NewConnectionError(conn, f"failed to establish a new connection: {exc}")
    raise error


def guarded_adapter(allowlist: Iterable[str] | AllowList | None, pool_maxsize: int = 10) -> HTTPAdapter:
    """A requests adapter (mount it on http:// and https://) whose connections enforce the allow-list."""
    allowed = allow_list(allowlist)

    class GuardedHTTPConnection(HTTPConnection):
        def _new_conn(self):
            return _connect_checked(self, allowed)

    class GuardedHTTPSConnection(HTTPSConnection):
        def _new_conn(self):
            return _connect_checked(self, allowed)

    class GuardedHTTPPool(HTTPConnectionPool):
        ConnectionCls = GuardedHTTPConnection

    class GuardedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = GuardedHTTPSConnection

    class GuardedAdapter(HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs):
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": GuardedHTTPPool, "https": GuardedHTTPSPool}

        def proxy_manager_for(self, proxy, **kwargs):
            # Through a proxy the peer would be the proxy, not the checked host.
            raise UrlRefused("downloads never go through a proxy")

    return GuardedAdapter(pool_connections=32, pool_maxsize=pool_maxsize, max_retries=0)

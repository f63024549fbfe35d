"""Outbound HTTP from workflows, only where the installation allows.

A host is resolved before anything is sent, and every address it resolves to must be allowed:
public addresses are; loopback, link-local, private, reserved and this server's own addresses
are not, unless `SDL_HTTP_ALLOWED_HOSTS` lists the host name, the address or a network holding
it (a lab lists its instruments). The request then goes to the address that was checked (so a
second DNS answer cannot differ), and each redirect is checked the same way. A refusal never
connects, so it cannot tell an open port from a closed one.
"""

import ipaddress
import socket
from functools import cache

import httpx
from django.conf import settings

MAX_REDIRECTS = 5
SECRET_HEADERS = {"authorization", "cookie", "proxy-authorization"}
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(Exception):
    pass


@cache
def _allowed() -> tuple[set[str], list]:
    names, networks = set(), []
    for entry in settings.SDL_HTTP_ALLOWED_HOSTS:
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            names.add(entry.lower().rstrip("."))
    return names, networks


@cache
def _own_addresses() -> frozenset:
    found = set()
    for name in {socket.gethostname(), socket.getfqdn()}:
        try:
            found |= {info[4][0] for info in socket.getaddrinfo(name, None)}
        except OSError:
            pass
    return frozenset(ipaddress.ip_address(a.split("%")[0]) for a in found)


def literal_address(host: str) -> Address | None:
    """The address a host names without DNS (`10.0.0.1`, `[::1]`, `2130706433`, `0x7f.1`)."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:  # the forms inet_aton accepts: what the resolver would turn them into
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def address_refusal(host: str, address: Address) -> str | None:
    """Why an address may not be reached, or None."""
    names, networks = _allowed()
    if host.lower().rstrip(".") in names or any(address in net for net in networks):
        return None
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    private = (
        address.is_loopback
        or address.is_link_local
        or address.is_private
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
    )
    if private or address in _own_addresses():
        return (
            f"{host} is an internal address ({address}): SDL Canvas calls only public hosts "
            "and those the installation lists in SDL_HTTP_ALLOWED_HOSTS"
        )
    return None


def url_refusal(url: str) -> str | None:
    """What can be known without DNS (for validation): why this URL would be refused."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        return f"not a URL: {exc}"
    if parsed.scheme not in ("http", "https"):
        return "only http and https URLs"
    if parsed.userinfo:
        return "a URL may not carry a user name or password (send them as headers)"
    host = parsed.host
    if host.lower().rstrip(".") == "localhost" or host.lower().endswith(".localhost"):
        return address_refusal(host, ipaddress.ip_address("127.0.0.1"))
    address = literal_address(host)
    return address_refusal(host, address) if address is not None else None


def resolve(url: httpx.URL) -> Address:
    """The checked address to connect to (Refused when the host is not allowed)."""
    refusal = url_refusal(str(url))
    if refusal:
        raise Refused(refusal)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(url.host, port, type=socket.SOCK_STREAM)
    except OSError:
        raise Refused(f"{url.host} does not resolve")
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    for address in addresses:
        refusal = address_refusal(url.host, address)
        if refusal:
            raise Refused(refusal)
    return addresses[0]


def request(method: str, url: str, *, headers=None, json=None, timeout=30.0) -> httpx.Response:
    """An HTTP request to checked addresses only, following at most five checked redirects
    (credentials are not carried to another host)."""
    current, headers, body = httpx.URL(url), dict(headers or {}), json
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            response = _send(client, method, current, headers, body)
            if not response.is_redirect:
                return response
            following = current.join(response.headers["location"])
            if (following.scheme, following.host, following.port) != (
                current.scheme,
                current.host,
                current.port,
            ):
                headers = {k: v for k, v in headers.items() if k.lower() not in SECRET_HEADERS}
            if response.status_code in (301, 302, 303) and method != "HEAD":
                method, body = "GET", None
            current = following
    raise Refused(f"more than {MAX_REDIRECTS} redirects")


def _send(client, method, url: httpx.URL, headers: dict, body) -> httpx.Response:
    """To the checked address, with the host name in Host (and TLS's SNI and certificate)."""
    address = resolve(url)
    extensions = {"sni_hostname": url.host} if url.scheme == "https" else {}
    return client.request(
        method,
        url.copy_with(host=str(address)),
        headers={**headers, "Host": url.netloc.decode()},
        json=body,
        extensions=extensions,
    )

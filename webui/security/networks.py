"""Which client addresses a key works from: its list of addresses and CIDR networks."""

import functools
import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_network(entry: str) -> Network:
    """One entry ("203.0.113.7", "10.0.0.0/8", "2001:db8::/32"); ValueError saying what is
    wrong with it. Host bits set under the mask ("10.0.0.1/8") are refused rather than
    silently widened, since the owner likely meant something else."""
    try:
        return ipaddress.ip_network(entry)
    except ValueError:
        pass
    try:
        widened = ipaddress.ip_network(entry, strict=False)
    except ValueError:
        raise ValueError(
            f"{entry!r} is not an IPv4 or IPv6 address or network (such as 203.0.113.7, "
            "10.0.0.0/8 or 2001:db8::/32)"
        ) from None
    raise ValueError(f"{entry!r} has host bits set: write the network as {widened}")


def normal_form(entry: str) -> str:
    """The entry as stored: a single address without its /32 or /128, a network as CIDR."""
    network = parse_network(entry)
    if network.num_addresses == 1:
        return str(network.network_address)
    return str(network)


@functools.lru_cache(maxsize=1024)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    # The same lists come back request after request: parse each once per process.
    return tuple(parse_network(entry) for entry in entries)


def address_allowed(address: str, entries: Iterable[str]) -> bool:
    """Whether the client address is in one of the (stored, valid) entries; an address that
    is not one (no socket address) is in none. An IPv4 client seen over IPv6 as ::ffff:a.b.c.d
    counts as a.b.c.d."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in _networks(tuple(entries)))

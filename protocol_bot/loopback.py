"""Whether an address is this machine only: all that an unauthenticated local mode may talk to."""

from __future__ import annotations

import ipaddress
import urllib.parse


def is_loopback_host(host: str) -> bool:
    """'localhost', 127.0.0.0/8 or ::1: this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str | None) -> bool:
    """A URL whose host is this machine only (a malformed one is not)."""
    try:
        host = urllib.parse.urlsplit(url or "").hostname or ""
    except ValueError:
        return False
    return is_loopback_host(host)

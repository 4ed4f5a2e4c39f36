"""One place that builds the async DNS resolver (delivery by MX, recipient-domain checks).

Tests point it at a local stub server on loopback; production uses the system resolver."""

from __future__ import annotations

import dns.asyncresolver


def make_resolver(
    nameservers: list[str] | None = None, port: int = 53, timeout: float = 5.0
) -> dns.asyncresolver.Resolver:
    """A resolver with short timeouts. Empty `nameservers` means /etc/resolv.conf."""
    if nameservers:
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = list(nameservers)
        resolver.port = port
    else:
        resolver = dns.asyncresolver.Resolver()
    resolver.timeout = timeout
    resolver.lifetime = timeout
    return resolver

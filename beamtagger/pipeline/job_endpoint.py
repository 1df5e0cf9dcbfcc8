"""Whether anything listens at a portable runner's ``--job_endpoint``, asked before launch.

Beam gives the endpoint to ``grpc.insecure_channel`` and waits up to ``--job_server_timeout``
(300 s by default) for the channel to be ready: a job service that was never started cost five
minutes before the one-line refusal (``run_failures``). A TCP connection, refused or not made in
a couple of seconds, says as much at once.

The endpoint is a gRPC target, read here as gRPC reads it (its ``doc/naming.md``):
``host:port``, ``[::1]:8099``, ``host`` (gRPC's default port, 443), ``dns:[//authority/]host
[:port]``, ``ipv4:`` and ``ipv6:`` address lists, ``unix:path``, ``unix:///path`` and
``unix-abstract:name``; a name before a ``:`` that is none of these schemes is the host
(``localhost:8099``), as gRPC falls back to DNS. A form not read here (``vsock:``) is left to
Beam unchecked: the check only ever refuses an address it read and could not connect to.
"""
import socket
from typing import List, Optional, Tuple

# Long enough for a SYN lost once (Linux retries after 1 s), short beside Beam's 300 s.
CONNECT_TIMEOUT_SECS = 2.0
_GRPC_DEFAULT_PORT = "443"

__all__ = ["CONNECT_TIMEOUT_SECS", "endpoint_problem", "endpoint_addresses"]


def endpoint_problem(endpoint: str, *, timeout: float = CONNECT_TIMEOUT_SECS) -> Optional[str]:
    """Why nothing at ``endpoint`` (a ``--job_endpoint`` other than ``embed``) accepts a
    connection, or None: one of its addresses accepted one, or its form is not read here."""
    addresses = endpoint_addresses(endpoint)
    if addresses is None:
        return None
    reasons = []
    for family, address in addresses:
        try:
            if family == socket.AF_UNIX:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as unix:
                    unix.settimeout(timeout)
                    unix.connect(address)
            else:
                socket.create_connection(address, timeout=timeout).close()
            return None
        except socket.gaierror as error:
            reasons.append(f"{address[0]} not found: {error.strerror}")
        except (socket.timeout, TimeoutError):
            reasons.append(f"no answer within {timeout:g} s")
        except OSError as error:
            reasons.append(error.strerror or str(error))
    return (f"--job_endpoint {endpoint}: nothing accepts a connection there "
            f"({'; '.join(dict.fromkeys(reasons))}); start the job service first, or give "
            "--job_endpoint=embed to run one in this process (an explicit "
            "--job_server_timeout=SECONDS waits that long for one that is starting)")


def endpoint_addresses(endpoint: str) -> Optional[List[Tuple[int, object]]]:
    """``(family, address)`` pairs to try for a gRPC target, in its order (AF_UNIX with a path,
    else AF_UNSPEC with ``(host, port)`` to resolve); None where the form is not read here."""
    scheme, _, rest = endpoint.partition(":")
    if scheme == "unix":
        # unix:///tmp/s is the path /tmp/s; unix:relative and unix:/absolute are paths as written.
        return [(socket.AF_UNIX, rest[2:] if rest.startswith("//") else rest)] if rest else None
    if scheme == "unix-abstract":
        return [(socket.AF_UNIX, "\0" + rest)]
    if scheme in ("ipv4", "ipv6"):
        hosts = [_host_and_port(address) for address in rest.split(",")]
        return None if not rest or None in hosts else [
            (socket.AF_UNSPEC, host) for host in hosts]
    if scheme == "dns":
        if rest.startswith("//"):   # dns://8.8.8.8/host:port names a DNS server; dns:///host
            rest = rest[2:].partition("/")[2]
    elif scheme in ("vsock", "xds", "google-c2p"):
        return None
    else:
        rest = endpoint
    host = _host_and_port(rest)
    return None if host is None else [(socket.AF_UNSPEC, host)]


def _host_and_port(text: str) -> Optional[Tuple[str, str]]:
    """gRPC's split of ``host[:port]``: ``[v6]:port``, ``[v6]``, a bare IPv6 address (more than
    one colon) or ``host`` without a port take the default port; None for an empty host."""
    if text.startswith("["):
        host, bracket, after = text[1:].partition("]")
        if not bracket or (after and not after.startswith(":")):
            return None
        port = after[1:]
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:
        host, port = text, ""
    return (host, port or _GRPC_DEFAULT_PORT) if host else None

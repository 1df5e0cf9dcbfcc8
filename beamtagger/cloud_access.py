"""Whether this machine can reach Google Cloud Storage for the ``gs://`` paths of a run, asked
once before anything reads them: by ``beamtagger tag`` (``cloud_storage_problem``: the network
and the credentials) and by the library's checks where a pipeline is built
(``unreachable_cloud_storage``: the network only, ``worker_resources.check_where_built``).

Beam's own first ``gs://`` access without credentials retried for about 20 s, printing a
traceback a retry, then connected anonymously; without a network its listing retried for
120 s and ended in ``Match operation failed ... RetryError('Timeout of 120.0s exceeded')``
(Beam 2.78; its ``--no_auth`` does not reach the file systems' client). Here the two causes
take seconds and one line each, naming what to do.
"""
import os
import socket
import threading
import urllib.parse
from typing import Iterable, Optional

__all__ = ["BEFORE_LAUNCH", "PROBE_TIMEOUT_S", "cloud_storage_problem", "unreachable_cloud_storage"]

# A connection to Cloud Storage's front end takes well under a second where it can be made;
# a network that drops packets rather than refusing would otherwise hold the run for minutes.
PROBE_TIMEOUT_S = 10
_PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")
# What reads the paths, as the no-network message names it, where a caller names none.
BEFORE_LAUNCH = "the checks before launch read"


def cloud_storage_problem(paths: Iterable[Optional[str]], anonymous=False,
                          environ=os.environ, reader=BEFORE_LAUNCH) -> Optional[str]:
    """Why the ``gs://`` ones among ``paths`` cannot be read from here (no network to Cloud
    Storage, no credentials), or None: none is ``gs://``, the GCS emulator is in use
    (``STORAGE_EMULATOR_HOST``), or both are there. ``anonymous`` (``--no_auth``): public
    buckets, read without credentials, which Beam's client then does. ``reader``: what reads
    them, as the message names it (``"model info reads"``)."""
    named = _named_gs_paths(paths, environ)
    if named is None:
        return None
    return (_unreachable(named, environ, reader)
            or (None if anonymous else _without_credentials(named)))


def unreachable_cloud_storage(paths: Iterable[Optional[str]],
                              environ=os.environ) -> Optional[str]:
    """Why the ``gs://`` ones among ``paths`` cannot be read from here for want of a network
    to Cloud Storage, or None (as ``cloud_storage_problem``, credentials left out: a caller
    that cannot know whether its pipeline reads public buckets anonymously, ``--no_auth``)."""
    named = _named_gs_paths(paths, environ)
    return None if named is None else _unreachable(named, environ)


def _named_gs_paths(paths, environ):
    """The first ``gs://`` path of ``paths`` and how many more, as a message names them; None
    where there is none or the GCS emulator serves them (``STORAGE_EMULATOR_HOST``)."""
    remote = sorted({str(path) for path in paths
                     if path is not None and str(path).startswith("gs://")})
    if not remote or environ.get("STORAGE_EMULATOR_HOST"):
        return None
    return remote[0] + (f" (and {len(remote) - 1} more gs:// path"
                        f"{'s' if len(remote) > 2 else ''})" if len(remote) > 1 else "")


def _storage_address(environ):
    """(host, port) of the Cloud Storage front end Beam's client connects to."""
    # google-cloud-storage's client goes to API_ENDPOINT_OVERRIDE where it is set (a Private
    # Service Connect endpoint on a network with no way to storage.googleapis.com, whose
    # probe refused a run that would have worked).
    override = urllib.parse.urlsplit(environ.get("API_ENDPOINT_OVERRIDE") or "")
    if override.hostname:
        try:
            port = override.port
        except ValueError:
            port = None
        return override.hostname, port or (80 if override.scheme == "http" else 443)
    # Beam's client reads another universe (Trusted Partner Cloud) from this variable.
    return f"storage.{environ.get('GOOGLE_CLOUD_UNIVERSE_DOMAIN') or 'googleapis.com'}", 443


def _unreachable(named, environ, reader=BEFORE_LAUNCH):
    if any(environ.get(name) for name in _PROXY_VARIABLES):
        return None   # the client goes through the proxy, which this probe cannot judge
    host, port = _storage_address(environ)
    error = _connection_error(host, port)
    if error is None:
        return None
    reason = (f"no answer within {PROBE_TIMEOUT_S} s" if isinstance(error, TimeoutError)
              else str(error) or type(error).__name__)
    return (f"cannot reach Google Cloud Storage ({host}:{port}: {reason}), where {reader} "
            f"{named}: connect this machine to the network (set HTTPS_PROXY where a proxy is "
            "the way out)")


def _connection_error(host, port):
    """Why no connection to ``host``:``port`` was made within ``PROBE_TIMEOUT_S`` in all (an
    OSError; TimeoutError where none answered), or None."""
    # create_connection's timeout holds for each address it tries in turn, and the name's
    # lookup has none: on a network that drops packets, a name of several addresses or a
    # resolver that does not answer held the probe for a multiple of the timeout. The
    # thread left waiting is a daemon, which does not hold the exit.
    outcome = []

    def probe():
        try:
            socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S).close()
        except OSError as error:
            outcome.append(error)
        else:
            outcome.append(None)

    thread = threading.Thread(target=probe, name="cloud storage probe", daemon=True)
    thread.start()
    thread.join(PROBE_TIMEOUT_S)
    return outcome[0] if outcome else TimeoutError()


def _without_credentials(named):
    try:
        import google.auth
        from google.auth.exceptions import DefaultCredentialsError
    except ImportError:
        return None   # Beam's gcp extra is missing: pipeline_args says so for gs:// paths
    try:
        google.auth.default()
    except DefaultCredentialsError:
        return (f"{named} needs Google Cloud credentials and this machine has none: run "
                "`gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS "
                "to a service account's key file (a public bucket is read without them: "
                "--no_auth)")
    return None

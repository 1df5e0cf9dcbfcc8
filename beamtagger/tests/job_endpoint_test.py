"""job_endpoint: a portable runner's --job_endpoint where nothing listens, found before launch."""
import socket
import time

import pytest

from beamtagger.pipeline.job_endpoint import endpoint_addresses, endpoint_problem


@pytest.fixture
def closed_port():
    """A port nobody listens on: bound, then closed."""
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        return free.getsockname()[1]


@pytest.fixture
def listening_port():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def forms(port):
    # localhost resolves to ::1 too, where a 127.0.0.1 listener is not: gRPC's forms of one
    # IPv4 address and port.
    return [f"127.0.0.1:{port}", f"localhost:{port}", f"dns:///127.0.0.1:{port}",
            f"dns://8.8.8.8/localhost:{port}", f"ipv4:127.0.0.1:{port}",
            f"ipv4:127.0.0.1:{port},127.0.0.1:{port}"]


def test_an_endpoint_nothing_listens_at_is_refused_in_one_line_naming_it(closed_port):
    for endpoint in forms(closed_port):
        started = time.monotonic()
        problem = endpoint_problem(endpoint)
        assert time.monotonic() - started < 3
        assert problem == (f"--job_endpoint {endpoint}: nothing accepts a connection there "
                           "(Connection refused); start the job service first, or give "
                           "--job_endpoint=embed to run one in this process (an explicit "
                           "--job_server_timeout=SECONDS waits that long for one that is "
                           "starting)"), endpoint


def test_an_endpoint_something_listens_at_is_not_refused(listening_port):
    for endpoint in forms(listening_port):
        assert endpoint_problem(endpoint) is None, endpoint


def test_a_unix_socket_endpoint_is_checked_too(tmp_path):
    path = tmp_path / "job.sock"
    assert "nothing accepts a connection" in endpoint_problem(f"unix:{path}")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        server.listen()
        assert endpoint_problem(f"unix:{path}") is None
        assert endpoint_problem(f"unix://{path}") is None


@pytest.mark.parametrize("endpoint,addresses", [
    ("localhost:8099", [("localhost", "8099")]),
    ("[::1]:8099", [("::1", "8099")]),
    ("[::1]", [("::1", "443")]),                 # gRPC's default port
    ("::1", [("::1", "443")]),
    ("jobs.example.com", [("jobs.example.com", "443")]),
    ("dns:///jobs.example.com:8099", [("jobs.example.com", "8099")]),
    ("dns:jobs.example.com:8099", [("jobs.example.com", "8099")]),
    ("ipv6:[::1]:8099,[fe80::1]:8098", [("::1", "8099"), ("fe80::1", "8098")]),
])
def test_endpoints_are_read_as_grpc_reads_its_targets(endpoint, addresses):
    assert endpoint_addresses(endpoint) == [(socket.AF_UNSPEC, a) for a in addresses]


@pytest.mark.parametrize("endpoint", ["vsock:3:8099", "xds:///jobs", "[::1", "dns:///"])
def test_a_form_not_read_here_is_left_to_beam(endpoint):
    assert endpoint_addresses(endpoint) is None and endpoint_problem(endpoint) is None


def test_tag_refuses_a_dead_endpoint_before_launch_unless_a_timeout_is_given(closed_port):
    from apache_beam.options.pipeline_options import PipelineOptions

    from beamtagger.pipeline.pipeline_args import portable_options_problem

    def problem(runner, *flags):
        flags = [f"--runner={runner}", f"--job_endpoint=localhost:{closed_port}", *flags]
        return portable_options_problem(PipelineOptions(flags), runner, flags=flags)

    assert "nothing accepts a connection" in problem("PortableRunner")
    assert "nothing accepts a connection" in problem("FlinkRunner")   # a PortableRunner too
    # An explicit timeout asks Beam to wait for a service still starting.
    assert problem("PortableRunner", "--job_server_timeout=60") is None
    assert problem("PortableRunner", "--job-server-timeout", "60") is None
    assert problem("DirectRunner") is None            # never reads --job_endpoint
    flags = ["--runner=PortableRunner", "--job_endpoint=embed"]
    assert portable_options_problem(PipelineOptions(flags), "PortableRunner",
                                    flags=flags) is None

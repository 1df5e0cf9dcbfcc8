"""beamtagger logs on loggers of its own (``logging.getLogger(__name__)``), never through the
module-level ``logging.warning()`` and kin: those log on the root logger, and the first such
call with no handler there runs ``logging.basicConfig()``, so an application's own
``basicConfig(format=..., level=...)`` after it did nothing (a service using ``Tagger``, the
operator walkthrough's finding in jax_setup, worker_resources, runtime_where_applied,
tensorflow_setup and model_handler)."""
import ast
import pathlib

import beamtagger

_ROOT_LOGGING = {"debug", "info", "warning", "warn", "error", "exception", "critical", "log"}


def _root_logger_calls(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in _ROOT_LOGGING and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "logging"):
            yield f"{path.relative_to(package.parent)}:{node.lineno}"


package = pathlib.Path(beamtagger.__file__).parent


def test_no_module_of_the_package_logs_on_the_root_logger():
    calls = [call for path in sorted(package.rglob("*.py")) if "tests" not in path.parts
             for call in _root_logger_calls(path)]
    assert calls == []

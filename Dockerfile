# Worker image for `beamtagger tag` on Dataflow (see docs/dataflow.md).
#
# Beam's Python 3.11 SDK image + TensorFlow + this package + the default embedding store, so
# workers install nothing at start-up. The default build is the GPU worker image: the GPU build
# of TensorFlow with its CUDA and cuDNN libraries from pip (tensorflow[and-cuda], the `gpu`
# extra). The NVIDIA driver is not in the image: Dataflow installs it on GPU workers
# ("install-nvidia-driver" in the accelerator hint). The same image runs the CPU stages of a
# right-fitted job, since TensorFlow's GPU build also runs on machines without a GPU.
#
#   docker build -t REGION-docker.pkg.dev/PROJECT/REPOSITORY/beamtagger-worker:0.1.0 .
#   docker build --build-arg EXTRAS=cpu,gcp,glove -t .../beamtagger-worker-cpu:0.1.0 .   # CPU only
#
# The Beam version must match the one that launches the job (setup.py pins 2.77).
ARG BEAM_VERSION=2.77.0
FROM apache/beam_python3.11_sdk:${BEAM_VERSION}

ARG EXTRAS=gpu,gcp,glove

WORKDIR /opt/beamtagger
COPY setup.py MANIFEST.in README.md ./
COPY beamtagger ./beamtagger
RUN pip install --no-cache-dir ".[${EXTRAS}]" \
    && python -c "import apache_beam, tensorflow, beamtagger; print(apache_beam.__version__, tensorflow.__version__)"

# Import GloVe 6B 50d into the store format once, at build time, so that no worker builds
# its own copy on first use.
ENV BEAMTAGGER_CACHE=/opt/beamtagger/cache
RUN python -c "from beamtagger.embedding_store import ensure_default_store; print(ensure_default_store())"

# Several SDK processes share a worker's GPU: each takes GPU memory as it needs it instead of
# all of it at start-up (the tag stage sets this too, before TensorFlow starts).
ENV TF_FORCE_GPU_ALLOW_GROWTH=true \
    TF_CPP_MIN_LOG_LEVEL=2

ENTRYPOINT ["/opt/apache/beam/boot"]

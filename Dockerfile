# kdbench on a CPU: installs through the same `make setup` as a developer machine, runs the quick study by default.
# Build: docker build -t kdbench .    Run: docker run --rm -v "$PWD:/work" kdbench
# Without a Docker engine, `make image` builds this same file with buildah (scripts/image.sh): another BASE
# (a local Debian bookworm with Python 3.11) and the machine's pip settings come in as build arguments.
ARG BASE=python:3.11-slim
FROM ${BASE}

# pip's settings where the machine needs them (a CA bundle, local wheel folders); empty by default
ARG PIP_CERT=""
ARG PIP_FIND_LINKS=""
ARG PIP_EXTRA_INDEX_URL=""
ARG PIP_CONSTRAINT=""
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PY=python3.11

RUN apt-get update \
    && apt-get install -y --no-install-recommends git=1:2.* make=4.* \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /work
COPY pyproject.toml Makefile README.md ./
COPY kdbench ./kdbench
RUN make setup VENV=/opt/venv

ENV PATH=/opt/venv/bin:$PATH
COPY . .
CMD ["dvc", "repro", "studies/quick/dvc.yaml"]

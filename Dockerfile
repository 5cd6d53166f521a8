# kdbench on a CPU: installs through the same `make setup` as a developer machine, runs `dvc repro` by default.
# Build: docker build -t kdbench .    Run: docker run --rm -v "$PWD:/work" kdbench
FROM python:3.11-slim

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
CMD ["dvc", "repro"]

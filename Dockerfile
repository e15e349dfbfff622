# Civil: one image for api, worker, beat and flower (the command picks the role).
# Pinned base image: the same Python and Debian release on every build.
FROM python:3.11.7-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    CIVIL_DATA_DIR=/var/lib/civil \
    CIVIL_MODEL_DIR=/app/models

WORKDIR /app
COPY constraints.txt ./
# The CPU build of torch, from PyTorch's own index: the default resolve pulls CUDA wheels.
RUN pip install -c constraints.txt "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu
# Dependencies before the source, so a code change does not re-install them (layer cache):
# the runtime, `ops` and `train` requirements read from pyproject.toml, versions from the
# constraints file. `train`: `civil models train-*|evaluate|bias` run in the image too.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
extras = p['optional-dependencies']; \
print('\n'.join(p['dependencies'] + extras['ops'] + extras['train']))" > /tmp/requirements.txt \
    && pip install -c constraints.txt -r /tmp/requirements.txt
COPY civil ./civil
COPY service ./service
COPY workers ./workers
COPY cli ./cli
RUN pip install --no-deps -c constraints.txt ".[ops,train]"
COPY models ./models

RUN useradd --create-home --uid 10001 civil && mkdir -p /var/lib/civil && chown civil /var/lib/civil
USER civil
EXPOSE 8000
# For the default command (`civil run`); compose gives worker, beat and flower their own.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["civil", "run", "--host", "0.0.0.0", "--port", "8000"]

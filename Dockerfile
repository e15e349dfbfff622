# Civil: one image for api, worker, beat and flower (the command picks the role).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    CIVIL_DATA_DIR=/var/lib/civil \
    CIVIL_MODEL_DIR=/app/models

WORKDIR /app
# The CPU build of torch, from PyTorch's own index: the default resolve pulls CUDA wheels.
RUN pip install "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY civil ./civil
COPY service ./service
COPY workers ./workers
COPY cli ./cli
# `train`: `civil models train-*|evaluate|bias` run in the image too.
RUN pip install ".[ops,train]"
COPY models ./models

RUN useradd --create-home --uid 10001 civil && mkdir -p /var/lib/civil && chown civil /var/lib/civil
USER civil
EXPOSE 8000
CMD ["civil", "run", "--host", "0.0.0.0", "--port", "8000"]

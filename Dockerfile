# The action's container: Python, the three pinned runtime dependencies, the package. Nothing else.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /opt/rebyte-action
COPY requirements.txt ./
RUN pip install --no-compile -r requirements.txt
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-compile --no-deps . && rm -rf /opt/rebyte-action/src

ENTRYPOINT ["python", "-m", "rebyte_action"]

# The action's container: Python, the pinned runtime dependencies and the package in a venv,
# compiled to bytecode at build time. Nothing else: no compilers, no pip, no caches, no sources.
#
# BASE_IMAGE lets the container test build on a Debian base it made itself (python3 and
# python3-venv only); GitHub builds on the default. Pip settings come in as build arguments
# of the build stage only (an index, or wheels handed in), never in the image's environment:
#   docker build --build-arg PIP_NO_INDEX=1 --build-arg PIP_FIND_LINKS=http://127.0.0.1:8000/ .
ARG BASE_IMAGE=python:3.12-slim

FROM ${BASE_IMAGE} AS build
ARG PIP_INDEX_URL
ARG PIP_FIND_LINKS
ARG PIP_NO_INDEX
# The build stage's own folder; the final stage below starts afresh from the base.
WORKDIR /tmp/build
RUN python3 -m venv /opt/venv
COPY requirements.txt ./
RUN /opt/venv/bin/python -m pip install --no-cache-dir --no-compile --disable-pip-version-check \
        -r requirements.txt
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
# The package's wheel (built by hatchling in an isolated environment) without dependencies:
# requirements.txt above is the whole dependency set. Then pip itself leaves the venv, and so
# do the type stubs (for type checkers only) and cryptography (15 MB): PyGithub pulls it in
# through pyjwt[crypto] only to sign a GitHub App's JWTs, the action authenticates with a
# token, and pyjwt imports cryptography only if it is there.
RUN /opt/venv/bin/python -m pip install --no-cache-dir --no-compile --disable-pip-version-check \
        --no-deps . \
    && /opt/venv/bin/python -m pip uninstall --yes --quiet cryptography pip setuptools \
    && find /opt/venv -name '*.pyi' -delete

FROM ${BASE_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
COPY --from=build /opt/venv /opt/venv
# Bytecode, compiled at build time, for the modules the action imports, its dependencies' and
# the standard library's where the base has none (python:3.12-slim ships without; Debian's
# python3 compiles its own): what importing it compiles, including optional imports that fail,
# the HTTP transport httpx imports on first use, the Markdown parser loaded on first use,
# PyYAML, loaded when a run reads the repository's .github/rebyte.yml, and what fetching a
# request's attachments loads (the HTML parser, Content-Disposition, types).
# Compiling all of the venv instead would add 10 MB for modules it never imports. Hash-based and never checked against the source,
# so the timestamps COPY gives the files cannot make Python recompile them at each start
# (nor could it write the result: PYTHONDONTWRITEBYTECODE). Without the column ranges that
# only draw the ^^^ under a traceback's line: 7% smaller. tests/container checks that a run
# compiles nothing.
RUN ["/opt/venv/bin/python", "-X", "no_debug_ranges", "-c", "\
import compileall, importlib.util, os, sys; \
compiled = set(); \
sys.addaudithook(lambda event, args: compiled.add(args[1]) if event == 'compile' else None); \
import runpy, httpx, rebyte_action.run, rebyte_action.markdown as md, rebyte_action.attachments.download as dl; \
from rebyte_action.attachments.links import link_targets; \
httpx.Client().close(); \
md.command_after('/rebyte x', '/rebyte'); md.strip_hidden('<b title=t>[a](b (c)) ![d](e)</b> <!-- f -->'); \
import rebyte_action.config as config; config.parse_config('labels: {bug: {skills: [a]}}'); \
link_targets('<img src=https://x/y> https://x/z'); dl.filename_from_disposition('inline; filename=a'); \
dl.mimetypes.guess_extension('image/png'); \
loaded = {getattr(module, '__file__', None) for module in list(sys.modules.values())}; \
main = importlib.util.find_spec('rebyte_action.__main__').origin; \
files = sorted(f for f in compiled | loaded | {main} if isinstance(f, str) and f.endswith('.py') \
               and os.path.isfile(f) and not os.path.exists(importlib.util.cache_from_source(f))); \
mode = compileall.py_compile.PycInvalidationMode.UNCHECKED_HASH; \
sys.exit(not all([compileall.compile_file(f, quiet=1, invalidation_mode=mode) for f in files]))"]
# GitHub runs the container with --workdir /github/workspace and as root: this stage has no
# WORKDIR and no USER.
ENTRYPOINT ["/opt/venv/bin/python", "-m", "rebyte_action"]

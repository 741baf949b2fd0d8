#!/usr/bin/env sh
# Install offerbot into a virtual environment: every dependency at the version and hash of a lock
# file, then the package itself (no dependency resolved here). Used by the Dockerfile, by the
# systemd unit's instructions and by .ci/run, which runs it on every submission.
#
#   deploy/install.sh [VENV] [LOCK]     defaults: /opt/offerbot  requirements-runtime.lock
#
# requirements-runtime.lock holds what the bot runs with; requirements.lock adds the test tools.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
venv=${1:-/opt/offerbot}
lock=${2:-$here/requirements-runtime.lock}
python=${PYTHON:-python3}

"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --no-cache-dir --require-hashes -r "$lock"
"$venv/bin/pip" install --quiet --no-cache-dir --no-deps "$here"
"$venv/bin/offerbot" --version

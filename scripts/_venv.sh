# Sourced by scripts/test and scripts/bench: make .venv (python3 only needed),
# then install uv and the template's test tools into it.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# Let uv trust the platform's certificate store (as pip does), also behind a
# TLS-inspecting proxy; the tests' own uv calls inherit this.
export UV_SYSTEM_CERTS="${UV_SYSTEM_CERTS:-1}" UV_NATIVE_TLS="${UV_NATIVE_TLS:-1}"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check uv
.venv/bin/python -m uv pip install --quiet --python .venv/bin/python -r pyproject.toml --extra test

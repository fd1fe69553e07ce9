#!/usr/bin/env bash
# One-command setup of the Python reference environment (never needed by CI or users:
# fixtures are committed). Installs the REAL Hugging Face stack from the machine's local
# wheel mirror into reference/.venv (ignored by git).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"
python3 -m venv "$venv"
pip="$venv/bin/pip"
# --no-index + find-links: PyPI is unreachable here; without --no-index pip retries it per package.
links=()
for d in /opt/wheels /opt/pypi/files /opt/pypi-more/files; do [ -d "$d" ] && links+=(--find-links "$d"); done
"$pip" install --no-index "${links[@]}" -r "$here/requirements.txt"
# transformers 4.57.6 pins huggingface-hub<1.0, which the mirror lacks: install it without
# deps and relax that single check (see relax_hub_pin.py).
"$pip" install --no-index "${links[@]}" --no-deps transformers==4.57.6
"$venv/bin/python" "$here/relax_hub_pin.py"
"$venv/bin/python" -c "import torch, transformers, tokenizers, PIL, safetensors; print('torch', torch.__version__, 'transformers', transformers.__version__, 'tokenizers', tokenizers.__version__, 'Pillow', PIL.__version__, 'safetensors', safetensors.__version__)"

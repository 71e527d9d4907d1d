#!/usr/bin/env bash
# Fails when the notebooks in nbs/ and the exported package grpo_nb/ disagree, or a notebook is not clean.
# nbs/ is the source of truth: export it and compare with what is committed.
set -euo pipefail
cd "$(dirname "$0")/.."
before=$(git status --porcelain -- grpo_nb nbs)
nbdev_export
nbdev_clean >/dev/null
after=$(git status --porcelain -- grpo_nb nbs)
if [ "$before" != "$after" ]; then
  echo "notebooks and grpo_nb/ disagree (or a notebook is not clean): run nbdev_export && nbdev_clean, then commit both." >&2
  diff <(echo "$before") <(echo "$after") >&2 || true
  git --no-pager diff --stat -- grpo_nb nbs >&2
  exit 1
fi
# papermill needs the parameters tag to survive nbdev_clean
for nb in nbs/train.ipynb nbs/report.ipynb; do
  [ -f "$nb" ] || continue
  grep -q '"parameters"' "$nb" || { echo "$nb lost its papermill 'parameters' cell tag" >&2; exit 1; }
done
echo "notebooks and grpo_nb/ are in sync"

#!/bin/sh
# validate_estimators.sh -- the full issue #8 validation of docs/estimators.md ("Validation"):
# sweep of training candidates -> fit -> validate on 1,000 candidates never used in training,
# on trn1 and edge-npu. Usage: docs/examples/validate_estimators.sh [ACCELSIM] [WORKDIR]
# Output: the validate tables (reproduced in docs/estimators.md). Deterministic: same numbers
# on every run (seeds fixed).
set -eu
A=${1:-./accelsim}
W=${2:-$(mktemp -d)}
mkdir -p "$W"
SPACE=$(dirname "$0")/../../models/nas/mobilenetv2_space.yaml
NTRAIN=${NTRAIN:-1000}
NVAL=${NVAL:-1000}
rm -rf "$W/train" "$W/val"
"$A" nas sample "$SPACE" -n "$NTRAIN" -o "$W/train" --seed 1 >/dev/null
"$A" nas sample "$SPACE" -n "$NVAL" -o "$W/val" --seed 2 >/dev/null
for chip in trn1 edge-npu; do
	"$A" estimator dataset --population "$W/train" --chip "$chip" -o "$W/train_$chip.csv.gz"
	"$A" estimator fit "$W/train_$chip.csv.gz" -o "$W/model_$chip.txt" --seed 1
	"$A" estimator validate --model "$W/model_$chip.txt" --population "$W/val" -o "$W/results_$chip.csv"
done

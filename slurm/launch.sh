#!/bin/bash
# Shared body of slurm/train-*.sh: launch `accelerate` once per node through srun for the recipe in $RECIPE.
# Sourced (not run) by the per-recipe scripts, from the project root, with the recipe overrides as arguments.

if [ -n "${VENV:-}" ]; then source "$VENV/bin/activate"; fi

export RUN_DIR=${RUN_DIR:-runs/$RECIPE}
export ACCELERATE_CONFIG=${ACCELERATE_CONFIG:-recipes/accelerate/zero2.yaml}
export MAIN_PORT=${MAIN_PORT:-29500}
export HEAD_NODE=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n1)
export GPUS_PER_NODE=${SLURM_GPUS_ON_NODE:-$(nvidia-smi -L | wc -l)}
export NUM_PROCESSES=$(( GPUS_PER_NODE * SLURM_NNODES ))
export TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
mkdir -p "$RUN_DIR/logs"

echo "job ${SLURM_JOB_ID}: ${SLURM_NNODES} node(s) x ${GPUS_PER_NODE} GPU(s) = ${NUM_PROCESSES} processes;" \
     "head node ${HEAD_NODE}:${MAIN_PORT}; ${ACCELERATE_CONFIG}; recipe ${RECIPE} -> ${RUN_DIR}/train"

# One launcher per node; each starts GPUS_PER_NODE processes. The machine rank is the node's index, read on
# each node (hence the single quotes).
srun --ntasks-per-node=1 --kill-on-bad-exit=1 bash -c '
  accelerate launch --config_file "$ACCELERATE_CONFIG" \
    --num_machines "$SLURM_NNODES" --machine_rank "$SLURM_NODEID" \
    --main_process_ip "$HEAD_NODE" --main_process_port "$MAIN_PORT" \
    --num_processes "$NUM_PROCESSES" \
    -m grpo_nb train --recipe "$RECIPE" --output_dir "$RUN_DIR/train" --resume_from_checkpoint latest "$@"
' launch "$@" 2>&1 | tee -a "$RUN_DIR/logs/train-${SLURM_JOB_ID}.log"

#!/bin/bash
# GRPO on the minimum-wage slates (recipes/wage.yaml) on one or several GPU nodes, launched by accelerate.
#
#   sbatch slurm/train-wage.sh                                    # one node, all its GPUs, DeepSpeed ZeRO-2
#   sbatch --nodes=2 slurm/train-wage.sh                          # two nodes: 2 x 8 processes
#   ACCELERATE_CONFIG=recipes/accelerate/ddp.yaml sbatch slurm/train-wage.sh --max_steps 500
#
# Submit from the project root (the job runs in $SLURM_SUBMIT_DIR) with the project's environment active (or
# set VENV=/path/to/venv). Extra arguments are recipe overrides (--key value). The run goes to runs/wage/
# (RUN_DIR=...): model, checkpoints and log_history.jsonl in runs/wage/train, the launcher's output in
# runs/wage/logs/. Every job resumes from the newest checkpoint there, so a requeued (preempted) or resubmitted
# job continues where the last stopped; a finished run is never overwritten unless you pass --overwrite true.
# Accelerate configs: recipes/accelerate/{single_gpu,ddp,zero2,zero3,fsdp}.yaml.
#SBATCH --job-name=grpo-wage
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=1
#SBATCH --gres=gpu:8
#SBATCH --cpus-per-task=32
#SBATCH --mem=0
#SBATCH --time=24:00:00
#SBATCH --requeue
#SBATCH --output=slurm-%x-%j.out

set -euo pipefail
cd "${SLURM_SUBMIT_DIR:-$(dirname "$0")/..}"
if [ -n "${VENV:-}" ]; then source "$VENV/bin/activate"; fi

export RECIPE=wage
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

#!/bin/bash
# GRPO on the gun-control slates (recipes/gun.yaml) on one or several GPU nodes, launched by accelerate.
#
#   sbatch slurm/train-gun.sh                                    # one node, all its GPUs, DeepSpeed ZeRO-2
#   sbatch --nodes=2 slurm/train-gun.sh                          # two nodes: 2 x 8 processes
#   ACCELERATE_CONFIG=recipes/accelerate/ddp.yaml sbatch slurm/train-gun.sh --max_steps 500
#
# Submit from the project root (the job runs in $SLURM_SUBMIT_DIR) with the project's environment active (or
# set VENV=/path/to/venv). Extra arguments are recipe overrides (--key value). The run goes to runs/gun/
# (RUN_DIR=...): model, checkpoints and log_history.jsonl in runs/gun/train, the launcher's output in
# runs/gun/logs/. Every job resumes from the newest checkpoint there, so a requeued (preempted) or resubmitted
# job continues where the last stopped; a finished run is never overwritten unless you pass --overwrite true.
# Accelerate configs: recipes/accelerate/{single_gpu,ddp,zero2,zero3,fsdp}.yaml.
#SBATCH --job-name=grpo-gun
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
export RECIPE=gun
source slurm/launch.sh "$@"

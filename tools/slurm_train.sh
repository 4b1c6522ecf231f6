#!/usr/bin/env bash
# Training on a Slurm cluster.
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] [REQUEUE=1] \
#   bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [WORK_DIR] [options]
#
# Pre-emption: with `#SBATCH --signal=USR1@180` Slurm sends SIGUSR1 to every
# task 3 minutes before the job ends (SIGTERM on scancel/pre-emption works
# too); the tasks finish the iteration, save a checkpoint and exit with
# status 75. Inside a batch job (SLURM_JOB_ID set) this script then runs
# `scontrol requeue $SLURM_JOB_ID` (REQUEUE=0: do not), and the requeued job
# resumes from the checkpoint when it runs with --resume (see
# docs/pretrain.md). Outside a batch job it exits with status 75.
set -x
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=${4:-work_dirs/$(basename "$CONFIG" .py)}
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
REQUEUE=${REQUEUE:-1}
PY_ARGS=${@:5}
DIR=$(cd "$(dirname "$0")" && pwd)
PYTHON=${PYTHON:-python}
PREEMPTED=75

PYTHONPATH="$DIR/..${PYTHONPATH:+:$PYTHONPATH}" \
srun -p "${PARTITION}" \
    --job-name="${JOB_NAME}" \
    --gres=gpu:"${GPUS_PER_NODE}" \
    --ntasks="${GPUS}" \
    --ntasks-per-node="${GPUS_PER_NODE}" \
    --cpus-per-task="${CPUS_PER_TASK}" \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS} \
    "$PYTHON" -u "$DIR/train.py" "${CONFIG}" --work-dir="${WORK_DIR}" \
    --launcher="slurm" ${PY_ARGS}
RC=$?
set +x
if [ "$RC" -eq "$PREEMPTED" ]; then
    if [ -n "${SLURM_JOB_ID:-}" ] && [ "$REQUEUE" = 1 ]; then
        echo "slurm_train.sh: pre-empted after a checkpoint; requeueing" \
            "job $SLURM_JOB_ID" >&2
        scontrol requeue "$SLURM_JOB_ID"
    else
        echo "slurm_train.sh: pre-empted after a checkpoint; run again" \
            "with --resume to continue" >&2
    fi
fi
exit $RC

#!/usr/bin/env bash
# Distributed training on one or more nodes with torchrun.
#   bash tools/dist_train.sh CONFIG NUM_PROCS [train.py options]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT. On a machine without a
# GPU the processes use the gloo backend on the CPU.
#
# Pre-emption: SIGTERM, SIGUSR1 (and SIGINT) sent to this script are passed
# to torchrun once, which passes them to every process; they finish the
# current iteration, save a checkpoint and stop. The script then exits with
# status 75 (see tools/train.py), which tools/slurm_train.sh turns into a
# requeue. torchrun gives the processes SHUTDOWN_TIMEOUT seconds (default
# 300) to save before it kills them.
set -u
CONFIG=$1
NPROCS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
DIR=$(cd "$(dirname "$0")" && pwd)
PYTHON=${PYTHON:-$( [ -x "$DIR/../.venv/bin/python" ] && echo "$DIR/../.venv/bin/python" || echo python)}
PREEMPTED=75

STATUS_DIR=$(mktemp -d)
trap 'rm -rf "$STATUS_DIR"' EXIT

PYTHONPATH="$DIR/..${PYTHONPATH:+:$PYTHONPATH}" \
SELECTIVE_MAE_STATUS_DIR="$STATUS_DIR" \
TORCHELASTIC_SIGNALS_TO_HANDLE="${TORCHELASTIC_SIGNALS_TO_HANDLE:-SIGTERM,SIGINT,SIGHUP,SIGQUIT,SIGUSR1}" \
TORCH_ELASTIC_SHUTDOWN_TIMEOUT="${SHUTDOWN_TIMEOUT:-300}" \
"$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$NPROCS" \
    --master_port="$PORT" \
    "$DIR/train.py" \
    "$CONFIG" \
    --launcher pytorch "${@:3}" &
CHILD=$!
for sig in TERM USR1 INT; do
    trap "kill -s $sig $CHILD 2>/dev/null" "$sig"
done
# `wait` returns early when a trapped signal arrives: wait again until
# torchrun is gone, then take its status
while true; do
    wait "$CHILD"
    RC=$?
    kill -0 "$CHILD" 2>/dev/null || break
done
# torchrun reports a failure (1) whatever status its processes had: look at
# what they wrote
if grep -qs "^$PREEMPTED " "$STATUS_DIR"/rank*.status; then
    echo "dist_train.sh: pre-empted, a checkpoint was saved; exit status" \
        "$PREEMPTED (resume with --resume)" >&2
    exit $PREEMPTED
fi
exit $RC

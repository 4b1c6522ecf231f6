"""Exit status 75 (pre-empted) through tools/dist_train.sh and
tools/slurm_train.sh, with stand-ins for torchrun, srun and scontrol."""
import os
import signal
import subprocess
import time

import pytest

FAKE_TORCHRUN = """#!/usr/bin/env bash
# stands in for `python -m torch.distributed.run ...`: one rank that, when
# signalled, "saves" and reports status 75 like tools/train.py; torchrun
# itself always exits 1 when a process failed
echo "$@" > "$LOG.args"
on_signal() {
    echo "got $1" >> "$LOG"
    echo "75 /w/iter_7.pth" > "$SELECTIVE_MAE_STATUS_DIR/rank0.status"
    exit 1
}
trap 'on_signal TERM' TERM
trap 'on_signal USR1' USR1
echo started >> "$LOG"
if [ "${MODE:-}" = finish ]; then exit 0; fi
if [ "${MODE:-}" = crash ]; then exit 1; fi
for i in $(seq 200); do sleep 0.05; done
"""


def _fake(path, text):
    path.write_text(text)
    path.chmod(0o755)
    return str(path)


def _dist(repo_root, tmp_path, mode=None):
    env = dict(os.environ, PYTHON=_fake(tmp_path / 'python', FAKE_TORCHRUN),
               LOG=str(tmp_path / 'log'))
    if mode:
        env['MODE'] = mode
    return subprocess.Popen(
        ['bash', 'tools/dist_train.sh', 'cfg.py', '2', '--resume'],
        cwd=repo_root, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)


def _wait_started(tmp_path):
    for _ in range(200):
        if (tmp_path / 'log').exists():
            return
        time.sleep(0.05)
    raise AssertionError('the stand-in did not start')


@pytest.mark.parametrize('sig', [signal.SIGTERM, signal.SIGUSR1])
def test_dist_train_forwards_the_signal_and_exits_75(repo_root, tmp_path,
                                                     sig):
    proc = _dist(repo_root, tmp_path)
    _wait_started(tmp_path)
    proc.send_signal(sig)
    out = proc.communicate(timeout=60)[0]
    assert proc.returncode == 75, out
    assert 'pre-empted' in out
    # passed on exactly once
    got = (tmp_path / 'log').read_text().split('\n')
    assert got.count(f'got {sig.name[3:]}') == 1
    args = (tmp_path / 'log.args').read_text()
    assert '--nproc_per_node=2' in args and '--resume' in args


@pytest.mark.parametrize('mode,code', [('finish', 0), ('crash', 1)])
def test_dist_train_keeps_other_exit_statuses(repo_root, tmp_path, mode,
                                              code):
    proc = _dist(repo_root, tmp_path, mode)
    proc.communicate(timeout=60)
    assert proc.returncode == code


def _slurm(repo_root, tmp_path, srun_rc, **env):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir(exist_ok=True)
    _fake(bin_dir / 'srun', f'#!/usr/bin/env bash\nexit {srun_rc}\n')
    _fake(bin_dir / 'scontrol',
          f'#!/usr/bin/env bash\necho "$@" >> {tmp_path}/scontrol\n')
    full = dict(os.environ, PATH=f'{bin_dir}:{os.environ["PATH"]}')
    full.pop('SLURM_JOB_ID', None)
    full.update(env)
    return subprocess.run(
        ['bash', 'tools/slurm_train.sh', 'part', 'job', 'cfg.py'],
        cwd=repo_root, env=full, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, timeout=60)


def test_slurm_train_requeues_a_preempted_batch_job(repo_root, tmp_path):
    proc = _slurm(repo_root, tmp_path, 75, SLURM_JOB_ID='4242')
    assert proc.returncode == 75
    assert (tmp_path / 'scontrol').read_text() == 'requeue 4242\n'


@pytest.mark.parametrize('srun_rc,env', [
    (75, dict()),  # not inside a batch job
    (75, dict(SLURM_JOB_ID='1', REQUEUE='0')),
    (1, dict(SLURM_JOB_ID='1')),  # a failure is not requeued
    (0, dict(SLURM_JOB_ID='1')),
])
def test_slurm_train_requeues_nothing_else(repo_root, tmp_path, srun_rc,
                                           env):
    proc = _slurm(repo_root, tmp_path, srun_rc, **env)
    assert proc.returncode == srun_rc
    assert not (tmp_path / 'scontrol').exists()

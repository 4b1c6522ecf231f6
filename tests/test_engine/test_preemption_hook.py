"""PreemptionHook: stop at an iteration boundary after a signal, the same
iteration on every rank, and at once on a second signal."""
import logging
import multiprocessing
import os
import signal
from types import SimpleNamespace

import pytest
import torch.multiprocessing as mp

import selective_mae  # noqa: F401
from selective_mae.engine.hooks import (PREEMPTED_EXIT_CODE, PreemptionHook,
                                        TrainingPreempted)


class _Saver:
    """Stands in for AtomicCheckpointHook."""

    def __init__(self):
        self.saved = []

    def save_now(self, runner):
        self.saved.append(runner.iter)
        return f'iter_{runner.iter + 1}.pth'


def _runner():
    return SimpleNamespace(hooks=[_Saver()], iter=0,
                           logger=logging.getLogger('preempt-test'))


def _train(hook, runner, iters, signal_at=None, rank_signals=True):
    """Iterations 0..iters-1; returns the iteration that stopped, or None."""
    hook.before_train(runner)
    for i in range(iters):
        runner.iter = i
        if i == signal_at and rank_signals:
            os.kill(os.getpid(), signal.SIGTERM)
        try:
            hook.after_train_iter(runner, i)
        except TrainingPreempted as e:
            assert e.exit_code == PREEMPTED_EXIT_CODE == 75
            return i
    hook.after_train(runner)
    return None


def test_single_process_stops_after_the_signalled_iteration():
    before = signal.getsignal(signal.SIGTERM)
    hook, runner = PreemptionHook(), _runner()
    assert _train(hook, runner, 10, signal_at=3) == 3
    assert runner.hooks[0].saved == [3]  # saved once, at that boundary
    assert signal.getsignal(signal.SIGTERM) is before  # handlers restored
    # no signal: trains to the end, saves nothing
    hook, runner = PreemptionHook(), _runner()
    assert _train(hook, runner, 5) is None and runner.hooks[0].saved == []


def _rank(rank, init_file, out):
    import torch.distributed as dist
    dist.init_process_group('gloo', init_method=f'file://{init_file}',
                            rank=rank, world_size=2)
    hook, runner = PreemptionHook(), _runner()
    stopped = _train(hook, runner, 12, signal_at=4, rank_signals=rank == 1)
    out.put((rank, stopped, runner.hooks[0].saved))
    dist.destroy_process_group()


def test_two_ranks_stop_at_the_same_iteration(tmp_path):
    """Only rank 1 is signalled (during iteration 4): both ranks stop at the
    next boundary, iteration 5, and both take part in the save."""
    ctx = mp.get_context('spawn')
    out = ctx.Queue()
    procs = [ctx.Process(target=_rank, args=(r, tmp_path / 'init', out))
             for r in range(2)]
    for p in procs:
        p.start()
    results = sorted(out.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    assert results == [(0, 5, [5]), (1, 5, [5])]


def _signal_twice(gap_window):
    hook, runner = PreemptionHook(repeat_window=gap_window), _runner()
    hook.before_train(runner)
    os.kill(os.getpid(), signal.SIGTERM)
    os.kill(os.getpid(), signal.SIGTERM)
    try:
        hook.after_train_iter(runner, 0)
    except TrainingPreempted:
        os._exit(PREEMPTED_EXIT_CODE)
    os._exit(0)


@pytest.mark.parametrize('window,exitcode', [
    (0.0, -signal.SIGTERM),  # a second signal: killed by it at once
    (60.0, PREEMPTED_EXIT_CODE),  # a copy within the window: one signal
])
def test_second_signal(window, exitcode):
    proc = multiprocessing.get_context('fork').Process(
        target=_signal_twice, args=(window, ))
    proc.start()
    proc.join(60)
    assert proc.exitcode == exitcode


def test_unknown_signal_name_is_refused():
    with pytest.raises(ValueError, match='SIGNOPE'):
        PreemptionHook(signals=('SIGNOPE', ))


def test_needs_a_hook_that_can_save():
    runner = _runner()
    runner.hooks = []
    with pytest.raises(RuntimeError, match='AtomicCheckpointHook'):
        PreemptionHook().before_train(runner)

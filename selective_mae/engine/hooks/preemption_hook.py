"""Save and stop at the next iteration boundary when the job is told to
end (Slurm pre-emption, time limit, ``scancel``, ``kill``)."""
import os
import signal
import threading
import time

import torch
import torch.distributed as torch_dist
from mmengine.dist import get_dist_info
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmpretrain.registry import HOOKS

#: Exit status of a run stopped by :class:`PreemptionHook` after saving
#: (``EX_TEMPFAIL`` of sysexits.h: "try again later").
#: ``tools/slurm_train.sh`` requeues the job on it.
PREEMPTED_EXIT_CODE = 75


class TrainingPreempted(Exception):
    """Training stopped at an iteration boundary after a checkpoint was
    saved, because the process was signalled.

    Attributes:
        checkpoint (str): The checkpoint that holds the stopped run.
        iteration (int): Iterations done.
        signal_name (str): The signal that asked for the stop.
    """

    exit_code = PREEMPTED_EXIT_CODE

    def __init__(self, checkpoint, iteration, signal_name):
        super().__init__(
            f'{signal_name}: stopped after iteration {iteration}, saved '
            f'{checkpoint}')
        self.checkpoint = checkpoint
        self.iteration = iteration
        self.signal_name = signal_name


@HOOKS.register_module()
class PreemptionHook(Hook):
    """On SIGTERM or SIGUSR1, finish the current iteration, save a
    checkpoint and stop.

    The first signal only raises a flag. At the end of the iteration the
    flag is seen (after every other hook, so a regular checkpoint of that
    iteration is not written twice), the run's
    :class:`~selective_mae.engine.hooks.AtomicCheckpointHook` saves
    ``iter_<n>.pth`` (with the loop position, so the resumed run continues
    with the next batch) and :class:`TrainingPreempted` is raised;
    ``tools/train.py`` turns it into exit status
    :data:`PREEMPTED_EXIT_CODE` (75). A second signal, at least
    ``repeat_window`` seconds after the first, ends the process at once
    (killed by that signal, no save). A copy of the same signal within the
    window is ignored: on a cluster the launcher (torchrun) forwards the
    signal the scheduler also sent to every process.

    Several processes must stop at the same iteration. Each rank starts,
    at every iteration boundary, an asynchronous all-reduce (max) of its
    flag over a separate gloo group of the CPU, and reads the result of the
    previous boundary's all-reduce: it has long completed, so reading it
    neither waits for the other ranks nor synchronises with the GPU. All
    ranks see the same results in the same order and stop at the same
    boundary: the one after the iteration in which the first rank was
    signalled (one iteration later than a single process, which stops at
    the first boundary).

    Data-loader workers inherit the handler and ignore the signal; the
    main process shuts them down when it exits.

    Args:
        signals (Sequence[str]): Signals that ask for a stop. Defaults to
            ``('SIGTERM', 'SIGUSR1')``.
        repeat_window (float): Seconds during which repeats of the signal
            count as the first one. Defaults to 2.
    """

    priority = 'LOWEST'

    def __init__(self, signals=('SIGTERM', 'SIGUSR1'), repeat_window=2.0):
        self.signals = tuple(signals)
        for name in self.signals:
            if not isinstance(getattr(signal, str(name), None),
                              signal.Signals):
                raise ValueError(f'PreemptionHook: {name!r} is not a signal')
        self.repeat_window = float(repeat_window)
        self._received = None  # (name, time) of the first signal
        self._previous = {}
        self._pid = None
        self._group = None
        self._pending = None  # (work, tensor) of the last boundary

    # -- signals ----------------------------------------------------------
    def _handle(self, signum, frame):
        if os.getpid() != self._pid:
            return  # a forked data-loader worker
        name = signal.Signals(signum).name
        now = time.monotonic()
        if self._received is None:
            self._received = (name, now)
            print_log(
                f'{name} received: finishing the current iteration, then '
                'saving a checkpoint and stopping (send it again to stop '
                'at once, without saving)', logger='current', level=30)
        elif now - self._received[1] >= self.repeat_window:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    @staticmethod
    def _saver(runner):
        saver = next((h for h in runner.hooks
                      if callable(getattr(h, 'save_now', None))), None)
        if saver is None:
            raise RuntimeError(
                'PreemptionHook needs default_hooks.checkpoint='
                "dict(type='AtomicCheckpointHook', ...) to save before "
                'stopping')
        return saver

    def before_train(self, runner):
        self._saver(runner)
        self._received = None
        self._pid = os.getpid()
        if threading.current_thread() is threading.main_thread():
            for name in self.signals:
                sig = getattr(signal, name)
                self._previous[sig] = signal.signal(sig, self._handle)
        else:
            print_log('PreemptionHook: not in the main thread, signals are '
                      'not handled', logger='current', level=30)
        _, world = get_dist_info()
        if world > 1 and torch_dist.is_initialized():
            self._group = torch_dist.new_group(backend='gloo')

    def _restore_handlers(self):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}

    # -- agreement --------------------------------------------------------
    def _stop_now(self):
        """Whether every rank stops at this boundary (same on all ranks)."""
        local = self._received is not None
        if self._group is None:
            return local
        stop = False
        if self._pending is not None:
            work, flag = self._pending
            work.wait()
            stop = bool(flag.item())
        flag = torch.tensor([int(local)], dtype=torch.int32)
        work = torch_dist.all_reduce(
            flag, op=torch_dist.ReduceOp.MAX, group=self._group,
            async_op=True)
        self._pending = (work, flag)
        return stop

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if not self._stop_now():
            return
        ckpt_hook = self._saver(runner)
        name = self._received[0] if self._received else 'a signal on ' \
            'another rank'
        path = ckpt_hook.save_now(runner)
        if self._group is not None:
            self._pending[0].wait()
            self._pending = None
            torch_dist.barrier(group=self._group)  # the file is in place
        self._restore_handlers()
        n = runner.iter + 1
        runner.logger.warning(
            f'Pre-empted ({name}): stopped after iteration {n}, checkpoint '
            f'{path}; resume with --resume')
        raise TrainingPreempted(path, n, name)

    def after_train(self, runner):
        if self._pending is not None:
            self._pending[0].wait()
            self._pending = None
        self._restore_handlers()

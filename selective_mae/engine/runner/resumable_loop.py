"""Epoch-based training loop that resumes exactly in the middle of an
epoch."""
import random

import numpy as np
import torch
import torch.distributed as torch_dist
from mmengine.dist import all_gather_object, get_dist_info
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import EpochBasedTrainLoop
from mmpretrain.registry import LOOPS
from torch.utils.data import BatchSampler

from selective_mae.datasets.samplers import ResumablePosition


def rng_state():
    """The host and device random generators of this process.

    Returns:
        dict: Python, numpy, torch CPU (and CUDA) states, in types a
        weights-only ``torch.load`` accepts.
    """
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    state = dict(
        python=random.getstate(),
        numpy=(name, torch.from_numpy(keys.astype(np.int64)), int(pos),
               int(has_gauss), float(gauss)),
        torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state):
    """Restore what :func:`rng_state` returned."""
    version, internal, gauss = state['python']
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state['numpy']
    np.random.set_state(
        (name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


class _LoopStateHook(Hook):
    """Carries the loop's position in and out of checkpoints."""

    priority = 'VERY_HIGH'

    def __init__(self, loop):
        self.loop = loop

    def before_save_checkpoint(self, runner, checkpoint):
        checkpoint['train_loop'] = self.loop.state_dict()

    def after_load_checkpoint(self, runner, checkpoint):
        self.loop.load_state_dict(checkpoint.get('train_loop'))


@LOOPS.register_module()
class ResumableEpochBasedTrainLoop(EpochBasedTrainLoop):
    """``EpochBasedTrainLoop`` (same arguments) that continues a resumed
    epoch with its next batch.

    mmengine's loop restarts a resumed epoch from its first batch, so a run
    resumed from an iteration checkpoint trains on part of the epoch twice
    and its curriculum, InfoBatch scores and schedule drift from the run
    that was never stopped. This loop writes its position into every
    checkpoint (key ``'train_loop'``: epoch, batches done, samples consumed
    over all ranks, the sampler's seed, every rank's random generators) and
    on resume

    - tells the sampler to start the epoch at the first sample not trained
      on (a sampler with ``set_resume_position``, e.g.
      :class:`~selective_mae.datasets.samplers.ResumableSampler` or
      :class:`~selective_mae.datasets.samplers.InfoBatchSampler`): nothing
      is loaded and thrown away;
    - numbers the batches from where the epoch stopped, so hooks that use
      ``batch_idx / len(dataloader)`` (``PSTSProgressHook``) see the same
      progress;
    - sets the sampler's seed back (mmengine draws a new one per launch
      when ``randomness.diff_rank_seed`` is set) and, with
      ``restore_rng=True``, the random generators of every rank as they
      were at the checkpoint, so the data pipeline and model draws of the
      main process go on identically. Data-loader worker processes restart
      with fresh generators: with ``num_workers > 0``, random augmentations
      after a resume differ from the uninterrupted run (sample order,
      curriculum, schedules and InfoBatch state do not).

    The position is applied only when the runner *resumes* the checkpoint
    (``load_from`` alone loads weights and starts at batch 0). Per-rank
    state is gathered over ranks by
    :class:`~selective_mae.engine.hooks.AtomicCheckpointHook`; with
    mmengine's own ``CheckpointHook`` only rank 0's generators are saved.

    Args:
        restore_rng (bool): Restore the random generators on resume.
            Defaults to True.
        Others: as ``EpochBasedTrainLoop``.
    """

    def __init__(self,
                 runner,
                 dataloader,
                 max_epochs,
                 val_begin=1,
                 val_interval=1,
                 dynamic_intervals=None,
                 restore_rng=True):
        super().__init__(runner, dataloader, max_epochs, val_begin,
                         val_interval, dynamic_intervals)
        self.restore_rng = restore_rng
        self._batches_done = 0
        self._in_iter = False
        self._loaded = None
        self._gathered = None
        runner.register_hook(_LoopStateHook(self))

    # -- position ---------------------------------------------------------
    def _sampler(self):
        loader = self.dataloader
        batch_sampler = getattr(loader, 'batch_sampler', None)
        return getattr(batch_sampler, 'sampler', loader.sampler)

    def _batch_size(self):
        loader = self.dataloader
        if loader.batch_size is not None:
            return loader.batch_size
        return getattr(loader.batch_sampler, 'batch_size', 1)

    def _current_iter(self):
        """Iterations done, counting one that is being finished."""
        return self._iter + 1 if self._in_iter else self._iter

    def gather_checkpoint_state(self, runner):
        """Collect every rank's generators (all ranks call this)."""
        states = [rng_state()]
        if torch_dist.is_available() and torch_dist.is_initialized() \
                and get_dist_info()[1] > 1:
            states = all_gather_object(states[0])
        self._gathered = (self._current_iter(), states)

    def state_dict(self):
        """The loop's position, for a checkpoint (on rank 0).

        Returns:
            dict: ``epoch``, ``iter``, ``batches_done``, ``consumed``,
            ``world_size``, ``batch_size``, ``sampler_seed`` and ``rng`` (a
            list over ranks).
        """
        rank, world = get_dist_info()
        it = self._current_iter()
        if self._gathered is not None and self._gathered[0] == it:
            rngs = self._gathered[1]
        else:
            rngs = [rng_state()] if world == 1 else None
        bs = self._batch_size()
        return dict(
            epoch=self._epoch,
            iter=it,
            batches_done=self._batches_done,
            consumed=self._batches_done * bs * world,
            world_size=world,
            batch_size=bs,
            sampler_seed=getattr(self._sampler(), 'seed', None),
            rng=rngs)

    def load_state_dict(self, state):
        """Keep a checkpoint's position until the loop runs."""
        self._loaded = state
        seed = (state or {}).get('sampler_seed')
        sampler = self._sampler()
        if seed is not None and getattr(sampler, 'seed', seed) != seed:
            sampler.seed = seed

    def _resume_plan(self):
        """(first batch index, generators to restore, restore before the
        data iterator?) for the epoch about to run."""
        state, self._loaded = self._loaded, None
        if state is None or state.get('iter') != self._iter:
            return 0, None, True  # not resumed from this checkpoint
        rank, world = get_dist_info()
        rngs = state.get('rng') if self.restore_rng else None
        rng = None
        if rngs is not None:
            if len(rngs) == world:
                rng = rngs[rank]
            else:
                print_log(
                    f'The checkpoint holds random generator states of '
                    f'{len(rngs)} process(es), this run has {world}: they '
                    'are not restored', logger='current', level=30)
        if state['epoch'] != self._epoch:  # saved at the end of an epoch
            return 0, rng, True
        consumed = int(state['consumed'])
        if consumed == 0:
            return 0, rng, True
        sampler = self._sampler()
        if not isinstance(sampler, ResumablePosition):
            print_log(
                f'{type(sampler).__name__} cannot start an epoch part-way: '
                f'epoch {self._epoch + 1} restarts from its first batch '
                f'({state["batches_done"]} batches are trained on twice); '
                "use sampler=dict(type='ResumableSampler') for an exact "
                'resume', logger='current', level=30)
            return 0, rng, True
        if not isinstance(self.dataloader.batch_sampler, BatchSampler):
            print_log(
                f'{type(self.dataloader.batch_sampler).__name__} groups '
                'samples into batches itself: the resumed epoch continues '
                'at the right sample, its batches may differ',
                logger='current', level=30)
        per_step = self._batch_size() * world
        start = consumed // per_step
        if consumed % per_step:
            print_log(
                f'The checkpoint was written with {state["world_size"]} x '
                f'{state["batch_size"]} samples per step, this run takes '
                f'{world} x {self._batch_size()}: the epoch goes on at '
                f'sample {consumed}, counted as batch {start}',
                logger='current', level=30)
        sampler.set_resume_position(self._epoch, consumed)
        if start < len(self.dataloader):
            where = f'at batch {start + 1}'
        else:
            where = f'after its last batch ({start})'
        print_log(
            f'Resuming epoch {self._epoch + 1} {where} (sample {consumed} '
            'of its order)', logger='current')
        return start, rng, False

    # -- loop -------------------------------------------------------------
    def run_epoch(self):
        """Iterate over one epoch, or over the rest of a resumed one."""
        start, rng, rng_first = self._resume_plan()
        if rng is not None and rng_first:
            set_rng_state(rng)
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        self._batches_done = start
        batches = iter(self.dataloader)
        if rng is not None and not rng_first:
            # after the iterator took its seed, as in the uninterrupted run
            set_rng_state(rng)
        for idx, data_batch in enumerate(batches, start):
            self.run_iter(idx, data_batch)
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1
        self._batches_done = 0

    def run_iter(self, idx, data_batch):
        """One training step; ``idx`` counts from the epoch's start."""
        self.runner.call_hook(
            'before_train_iter', batch_idx=idx, data_batch=data_batch)
        outputs = self.runner.model.train_step(
            data_batch, optim_wrapper=self.runner.optim_wrapper)
        self._batches_done = idx + 1
        self._in_iter = True
        try:
            self.runner.call_hook(
                'after_train_iter',
                batch_idx=idx,
                data_batch=data_batch,
                outputs=outputs)
        finally:
            self._in_iter = False
        self._iter += 1

"""mmengine's CheckpointHook with crash-safe saving."""
import os.path as osp

import torch.distributed as torch_dist
from mmengine.dist import (broadcast_object_list, get_world_size,
                           is_main_process)
from mmengine.fileio import get_file_backend
from mmengine.fileio.io import _parse_uri_prefix
from mmengine.hooks import CheckpointHook
from mmpretrain.registry import HOOKS

from ..atomic_backend import (CheckpointWriteError, atomic_write,
                              remove_stale_temporaries)


def _gather_checkpoint_state(runner):
    """Let every hook that keeps per-rank state put it together before a
    checkpoint is written (on every rank; the write itself happens on rank
    0 only). Hooks opt in with a ``gather_checkpoint_state(runner)``
    method."""
    for hook in runner.hooks:
        gather = getattr(hook, 'gather_checkpoint_state', None)
        if callable(gather):
            gather(runner)
    loop = runner.train_loop
    gather = getattr(loop, 'gather_checkpoint_state', None)
    if callable(gather):
        gather(runner)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` (same arguments) whose saves never leave a broken
    or missing checkpoint behind.

    - Every checkpoint is written through the ``'atomic_local'`` file
      backend (temporary file, fsync, rename) unless ``backend_args`` names
      another backend; ``last_checkpoint`` is written the same way and only
      after its checkpoint is complete.
    - With ``max_keep_ckpts``, the oldest checkpoint is deleted after the
      new one is in place (mmengine deletes it first, so with
      ``max_keep_ckpts=1`` a failed save left no checkpoint at all).
    - A save that fails (disk full, quota, I/O error) stops the run on
      every rank with one message naming the file, the folder's free space
      and the size needed.
    - Hooks and loops with per-rank state (InfoBatch's partial losses, the
      random generators of every rank) gather it first, so a checkpoint
      saved in the middle of an epoch resumes exactly
      (``gather_checkpoint_state``).
    - Temporary files left by a killed save are removed at the start.

    :meth:`save_now` writes an extra iteration checkpoint at any iteration
    boundary (used by :class:`PreemptionHook`).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._saved_iter = None  # iterations held by the last save

    def before_train(self, runner):
        super().before_train(runner)
        local = _parse_uri_prefix(self.out_dir) == ''
        if (self.file_client_args is None and local
                and (self.backend_args or {}).get('backend', 'local')
                == 'local'):
            self.backend_args = dict(self.backend_args or {},
                                     backend='atomic_local')
            self.file_backend = get_file_backend(
                self.out_dir, backend_args=self.backend_args)
        if local and is_main_process():
            for folder in {self.out_dir, runner.work_dir}:
                removed = remove_stale_temporaries(folder)
                if removed:
                    runner.logger.info(
                        f'Removed {len(removed)} temporary file(s) of an '
                        f'interrupted checkpoint save in {folder}')

    def _write(self, runner, filename, meta, by_epoch):
        """``runner.save_checkpoint`` on rank 0, failures on every rank."""
        _gather_checkpoint_state(runner)
        error = None
        try:
            runner.save_checkpoint(
                self.out_dir,
                filename,
                self.file_client_args,
                save_optimizer=self.save_optimizer,
                save_param_scheduler=self.save_param_scheduler,
                meta=meta,
                by_epoch=by_epoch,
                backend_args=self.backend_args,
                **self.args)
            if is_main_process():
                path = self.file_backend.join_path(self.out_dir, filename)
                atomic_write(osp.join(runner.work_dir, 'last_checkpoint'),
                             path)
        except CheckpointWriteError as e:
            error = str(e)
        if get_world_size() > 1 and torch_dist.is_initialized():
            box = [error]
            broadcast_object_list(box, src=0)
            error = box[0]
        if error is not None:
            raise CheckpointWriteError(error)
        self._saved_iter = (meta or {}).get('iter')

    def _save_checkpoint_with_step(self, runner, step, meta):
        evicted = None
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and
                                            self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                evicted = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            # saved in the checkpoint's message hub, as mmengine does
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        self._write(runner, filename, meta, self.by_epoch)
        if not is_main_process():
            return
        # only now that the new one is complete: the oldest, and an earlier
        # pre-emption checkpoint that this one supersedes
        stale = []
        if evicted is not None:
            stale.append(self.filename_tmpl.format(evicted))
        preempt = runner.message_hub.get_info('preempt_ckpt')
        if preempt and preempt != filename:
            stale.append(preempt)
            runner.message_hub.update_info('preempt_ckpt', None)
        for name in stale:
            path = self.file_backend.join_path(self.out_dir, name)
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):
                self.file_backend.rmtree(path)

    def save_now(self, runner):
        """Save an iteration checkpoint at an iteration boundary.

        Called after ``after_train_iter`` of iteration ``runner.iter`` (not
        yet counted). Names it ``iter_<n>.pth`` with ``n = runner.iter +
        1``; it stays outside ``max_keep_ckpts`` and is deleted after the
        next regular checkpoint. Does not save twice when a regular
        checkpoint was just written at this iteration.

        Returns:
            str: Path of the checkpoint that holds this iteration.
        """
        if self._saved_iter == runner.iter + 1 and self.last_ckpt:
            return self.last_ckpt
        n = runner.iter + 1
        filename = f'iter_{n}.pth'
        path = self.file_backend.join_path(self.out_dir, filename)
        previous = runner.message_hub.get_info('preempt_ckpt')
        runner.message_hub.update_info('preempt_ckpt', filename)
        self._write(
            runner, filename, dict(epoch=runner.epoch, iter=n),
            by_epoch=False)
        if previous and previous != filename and is_main_process():
            old = self.file_backend.join_path(self.out_dir, previous)
            if self.file_backend.isfile(old):
                self.file_backend.remove(old)
        return path

"""A hook that records what every training iteration did, for comparing
runs (uninterrupted vs resumed, 1 vs 2 processes), and that can kill or
signal its own process at a chosen iteration."""
import json
import os
import os.path as osp
import signal

import torch
from mmengine.dist import get_dist_info
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS


@HOOKS.register_module()
class TrainTraceHook(Hook):
    """Append one JSON line per iteration and per epoch to
    ``<out_dir>/trace_rank<r>.jsonl``.

    Iteration lines: ``iter`` (0-based, global), ``epoch``, ``batch_idx``,
    ``lr`` (of the first parameter group, as used by the step), ``t`` (PSTS
    progress seen by the step), ``idx`` (the batch's ``sample_idx``) and
    ``loss``. Epoch lines: ``epoch`` and ``kept`` (the InfoBatch sampler's
    kept set, sorted) when the sampler has a plan. Lines are flushed at
    once, so a killed run leaves its trace. With ``grad_iters``, the
    flattened gradients of those iterations (as the optimizer sees them,
    after DDP's all-reduce) go to ``grads_rank<r>.pt``; after training the
    model's weights go to ``final_rank<r>.pt``.

    Args:
        out_dir (str): Folder for the records.
        grad_iters (Sequence[int]): Iterations whose gradients to keep.
        kill_at_iter (int, optional): SIGKILL this process after that
            iteration (after its checkpoint was written).
        signal_at_iter (int, optional): Send ``signal_name`` to this
            process during that iteration (before its step).
        signal_name (str): Defaults to ``'SIGTERM'``.
    """

    priority = 'LOWEST'

    def __init__(self,
                 out_dir,
                 grad_iters=(),
                 kill_at_iter=None,
                 signal_at_iter=None,
                 signal_name='SIGTERM'):
        self.out_dir = out_dir
        self.grad_iters = set(grad_iters)
        self.kill_at_iter = kill_at_iter
        self.signal_at_iter = signal_at_iter
        self.signal_name = signal_name
        self._grads = {}
        self._line = None

    def _model(self, runner):
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def _write(self, record):
        rank = get_dist_info()[0]
        os.makedirs(self.out_dir, exist_ok=True)
        with open(osp.join(self.out_dir, f'trace_rank{rank}.jsonl'),
                  'a') as f:
            f.write(json.dumps(record) + '\n')

    def before_train(self, runner):
        optimizer = runner.optim_wrapper.optimizer

        def keep_grads(opt, args, kwargs):
            if runner.iter in self.grad_iters:
                self._grads[runner.iter] = torch.cat([
                    p.grad.detach().flatten().cpu() for g in opt.param_groups
                    for p in g['params'] if p.grad is not None
                ])

        optimizer.register_step_pre_hook(keep_grads)

    def before_train_epoch(self, runner):
        sampler = runner.train_dataloader.sampler
        record = dict(epoch=runner.epoch)
        if callable(getattr(sampler, 'plan', None)):
            record['kept'] = sorted(set(sampler.plan()[0].tolist()))
        self._write(record)

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        selectors = [
            m for m in self._model(runner).modules()
            if hasattr(m, 'set_progress')
        ]
        self._line = dict(
            iter=runner.iter,
            epoch=runner.epoch,
            batch_idx=batch_idx,
            lr=runner.optim_wrapper.get_lr()['lr'][0],
            t=selectors[0].progress if selectors else None,
            idx=[int(d.sample_idx) for d in data_batch['data_samples']])
        if runner.iter == self.signal_at_iter:
            os.kill(os.getpid(), getattr(signal, self.signal_name))

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self._line['loss'] = float(outputs['loss'])
        self._write(self._line)
        if self._grads:
            rank = get_dist_info()[0]
            torch.save(self._grads,
                       osp.join(self.out_dir, f'grads_rank{rank}.pt'))
        if runner.iter == self.kill_at_iter:
            os.kill(os.getpid(), signal.SIGKILL)

    def after_train(self, runner):
        rank = get_dist_info()[0]
        state = {
            k: v.detach().cpu()
            for k, v in self._model(runner).state_dict().items()
        }
        torch.save(state, osp.join(self.out_dir, f'final_rank{rank}.pt'))

"""Hook that reports the images a data set could not decode."""
import torch
from mmengine.dist import all_reduce
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmpretrain.registry import HOOKS


@HOOKS.register_module()
class BadImageHook(Hook):
    """Name each undecodable file once in the log and sum them up per epoch.

    Reads the ``bad_images`` that :func:`~selective_mae.datasets.rs_collate`
    attaches to a batch (files skipped, never replaced by other samples),
    before the iteration. A device-decode batch is decoded here first, by
    the model's data preprocessor (``decode_batch``), so JPEGs that fail on
    the device are named and leave the batch before the hooks that follow
    (this hook runs above normal priority) read its samples; any the data
    preprocessor adds later are reported after the iteration. At the end of
    every epoch
    it logs how many were skipped in that epoch, over all ranks (one
    reduction per epoch), and flushes the data preprocessor's pending
    non-finite-input reports, if it has any.

    Args:
        max_named (int): Stop naming new files after this many (the count
            goes on). Defaults to 1000.
    """
    priority = 'ABOVE_NORMAL'

    def __init__(self, max_named=1000):
        self.max_named = max_named
        self.named = set()
        self.epoch_count = 0
        self.total_count = 0
        self._seen_in_batch = 0

    @staticmethod
    def _preprocessor(runner):
        model = getattr(runner, 'model', None)
        model = getattr(model, 'module', model)
        return getattr(model, 'data_preprocessor', None)

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        decode = getattr(self._preprocessor(runner), 'decode_batch', None)
        if decode is not None and data_batch is not None:
            decode(data_batch)
        bad = getattr(data_batch, 'bad_images', ())
        self._seen_in_batch = len(bad)
        self._report(bad)

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        bad = getattr(data_batch, 'bad_images', ())
        self._report(bad[self._seen_in_batch:])
        self._seen_in_batch = 0

    def _report(self, bad):
        if not bad:
            return
        self.epoch_count += len(bad)
        for b in bad:
            if b.img_path not in self.named and \
                    len(self.named) < self.max_named:
                self.named.add(b.img_path)
                print_log(
                    f'skipped unreadable image {b.img_path} '
                    f'(sample {b.sample_idx}): {b.reason}',
                    logger='current',
                    level=30)

    def after_train_epoch(self, runner):
        flush = getattr(self._preprocessor(runner), 'flush_reports', None)
        if flush is not None:
            flush()
        count = torch.tensor([self.epoch_count], dtype=torch.float64)
        all_reduce(count)
        n = int(count.item())
        self.total_count += n
        print_log(
            f'epoch {runner.epoch + 1}: {n} unreadable images skipped '
            f'({self.total_count} in all epochs so far)',
            logger='current',
            level=30 if n else 20)
        self.epoch_count = 0

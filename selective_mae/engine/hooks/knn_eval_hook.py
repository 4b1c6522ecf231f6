"""Online k-NN evaluation of the encoder during pretraining."""
import time
from typing import Optional

from mmengine.hooks import Hook, IterTimerHook, LoggerHook
from mmengine.runner import EpochBasedTrainLoop

from mmpretrain.registry import HOOKS
from ...evaluation.knn_probe import (KNNProbe, backbone_image_size,
                                     load_transform_of, unwrap_model)


@HOOKS.register_module()
class KNNEvalHook(Hook):
    """Track the k-NN accuracy of the frozen encoder while pretraining.

    Every ``interval`` epochs (or iterations, ``by_epoch=False``), and at the
    start and the end of training, the backbone's features of a small
    labelled set (see :class:`~selective_mae.evaluation.KNNProbe`) are
    classified by weighted k-NN (DINO's protocol: cosine similarity, k = 20,
    votes ``exp(sim / 0.07)``). ``knn/cls_top1``, ``knn/cls_top5``,
    ``knn/avg_top1``, ``knn/avg_top5`` and ``knn/time`` (seconds) go to the
    message hub, the log and the visualizer's scalars (``vis_data/*.json``,
    TensorBoard when a ``TensorboardVisBackend`` is configured), at step =
    epochs done (``by_epoch`` and ``LoggerHook.log_metric_by_epoch``, as
    mmengine logs validation metrics) or iterations done.

    Training is not disturbed: every module gets its training flag back, no
    global random state changes (torch CPU/CUDA, NumPy, Python), and the
    probe's time is kept out of the next iteration's ``time`` /
    ``data_time``. Under distributed training every rank extracts its share
    of the images and the features are gathered once; the result equals
    that of one process.

    Args:
        probe (dict): :class:`KNNProbe` arguments (``dataset`` or ``bank`` +
            ``query``, ``query_ratio``, ``k``, ``batch_size``, ...).
        interval (int): Evaluate every this many epochs / iterations.
            Defaults to 1.
        by_epoch (bool): Count ``interval`` in epochs. Defaults to True.
        at_start (bool): Evaluate before the first iteration of a run that
            starts from iteration 0 (the encoder at initialisation).
            Defaults to True.
        at_end (bool): Evaluate after the last iteration. Defaults to True.
        prefix (str): Scalar name prefix. Defaults to ``'knn'``.
    """

    priority = 'LOW'  # after the logger, before the checkpoint is saved

    def __init__(self,
                 probe: dict,
                 interval: int = 1,
                 by_epoch: bool = True,
                 at_start: bool = True,
                 at_end: bool = True,
                 prefix: str = 'knn'):
        if interval < 1:
            raise ValueError(f'KNNEvalHook: interval must be >= 1, got '
                             f'{interval}')
        self.probe = KNNProbe(**probe)
        self.interval = interval
        self.by_epoch = by_epoch
        self.at_start = at_start
        self.at_end = at_end
        self.prefix = prefix
        self.last_metrics: Optional[dict] = None
        self._last_iter = None

    def before_train(self, runner) -> None:
        if self.by_epoch and not isinstance(runner.train_loop,
                                            EpochBasedTrainLoop):
            raise ValueError(
                'KNNEvalHook(by_epoch=True) needs an epoch-based train loop; '
                f'{type(runner.train_loop).__name__} has no epochs: set '
                'by_epoch=False and an interval in iterations')
        backbone = getattr(unwrap_model(runner.model), 'backbone', None)
        if backbone is None:
            raise ValueError('KNNEvalHook: the model has no backbone')
        self.probe.build(backbone_image_size(backbone),
                         load_transform_of(runner.cfg))
        runner.logger.info(f'KNNEvalHook: {self.probe}, every '
                           f'{self.interval} '
                           f'{"epochs" if self.by_epoch else "iterations"}')
        if self.at_start and runner.iter == 0:
            self.evaluate(runner, runner.epoch, runner.iter)

    def after_train_epoch(self, runner) -> None:
        if not self.by_epoch:
            return
        if self.every_n_epochs(runner, self.interval) or (
                self.at_end and self.is_last_train_epoch(runner)):
            # inside after_train_epoch the loop has not counted it yet
            self.evaluate(runner, runner.epoch + 1, runner.iter)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if self.by_epoch:
            return
        if self.every_n_train_iters(runner, self.interval) or (
                self.at_end and self.is_last_train_iter(runner)):
            # inside after_train_iter the loop has not counted it yet
            self.evaluate(runner, runner.epoch, runner.iter + 1,
                          shift_timer=True)

    def after_train(self, runner) -> None:
        # a run stopped early (e.g. by a budget) still gets a last reading
        if self.at_end and self._last_iter != runner.iter:
            self.evaluate(runner, runner.epoch, runner.iter)

    def evaluate(self, runner, epochs_done: int, iters_done: int,
                 shift_timer: bool = False) -> dict:
        """Run the probe now and log its result.

        Args:
            runner (Runner): The runner.
            epochs_done (int): Training epochs done (the log step when
                metrics are logged by epoch).
            iters_done (int): Training iterations done.
            shift_timer (bool): Called between two iterations: move the
                iteration timer on by the probe's time.

        Returns:
            dict: The metrics, with the prefix.
        """
        start = time.perf_counter()
        result = self.probe.evaluate(runner.model)
        metrics = {
            f'{self.prefix}/{k}': v
            for k, v in result.items() if k != 'extract_time'
        }
        for key, value in metrics.items():
            runner.message_hub.update_scalar(key, value)
        logger_hook = next(
            (h for h in runner.hooks if isinstance(h, LoggerHook)), None)
        json_path = getattr(logger_hook, 'json_log_path',
                            None) or f'{runner.timestamp}.json'
        by_epoch = self.by_epoch and getattr(logger_hook,
                                             'log_metric_by_epoch', True)
        step = epochs_done if by_epoch else iters_done
        runner.visualizer.add_scalars(metrics, step=step, file_path=json_path)
        shown = '  '.join(f'{k}: {v:.4f}' for k, v in metrics.items()
                          if not k.endswith('/time'))
        runner.logger.info(
            f'Epoch(knn) [{epochs_done}] iter {iters_done}  {shown}  '
            f'time: {result["time"]:.2f} s (features '
            f'{result["extract_time"]:.2f} s)')
        self.last_metrics = metrics
        self._last_iter = iters_done
        if shift_timer:
            # keep the probe out of the next iteration's time / data_time
            spent = time.perf_counter() - start
            for hook in runner.hooks:
                if isinstance(hook, IterTimerHook) and hasattr(hook, 't'):
                    hook.t += spent
        return metrics

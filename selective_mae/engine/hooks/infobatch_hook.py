"""Hook that connects :class:`~selective_mae.datasets.samplers.
InfoBatchSampler` to the model's per-sample loss."""
import math

import torch
from mmengine.dist import all_reduce, get_dist_info
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS

from selective_mae.datasets.samplers import InfoBatchSampler
from selective_mae.models.selfsup.selective_mae import LOSS_WEIGHT


def _to_device(tensor, device):
    """Host-to-device copy that does not wait for the device's queue."""
    if device.type == 'cuda':
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor.to(device)


@HOOKS.register_module()
class InfoBatchHook(Hook):
    """Feed the per-sample loss to the InfoBatch sampler and its loss
    weights to the model.

    The weights travel with the batch: before each iteration the hook sets
    every data sample's ``loss_weight`` field, which the model (as
    SelectiveMAE does) multiplies into that image's loss. The model
    (unwrapped from DDP) must also keep ``per_sample_loss`` (detached float
    [B] from the last ``loss()``, before weighting). Sample identity is each
    data sample's ``sample_idx``.

    Per step the hook waits for nothing: the batch's indices are copied to
    the device without waiting for it, the weights are host numbers in the
    data samples (copied likewise by the model), and the losses are
    added into device buffers. Once per epoch the buffers are summed over
    ranks, moved to the host and given to the sampler, which plans the next
    epoch. The scores are saved in checkpoints (key ``'infobatch'``) and
    restored on resume. Priority ``'NORMAL'`` runs it before
    ``CheckpointHook`` at the end of an epoch, so a checkpoint holds that
    epoch's scores. A checkpoint written in the middle of an epoch also
    holds the losses gathered so far in that epoch (summed over ranks by
    :class:`~selective_mae.engine.hooks.AtomicCheckpointHook`, which calls
    :meth:`gather_checkpoint_state` on every rank before rank 0 writes)
    and the extra scheduler steps taken, so an epoch resumed part-way ends
    with the same scores as one never stopped.

    Pruning shortens epochs by a varying amount, while iteration-based
    parameter schedulers (``by_epoch=False``, ``convert_to_iter_based=True``)
    were planned with the full epoch length. With ``align_schedulers=True``
    (default) the hook steps them as many extra times as needed for a pruned
    epoch to advance them by a full epoch's worth, spread evenly over its
    iterations: learning rate and the like stay functions of the fractional
    epoch, as in the released recipe (which sets its learning rate from
    ``epoch + i / len(loader)``). ``runner.iter`` still counts real steps.

    Args:
        align_schedulers (bool): Keep iteration-based parameter schedulers
            aligned with epochs. Defaults to True.
    """
    priority = 'NORMAL'

    def __init__(self, align_schedulers=True):
        self.align_schedulers = align_schedulers
        self._resume_state = None
        self._resume_partial = None
        self._gathered = False
        self._warned_partial = False
        self._idx = None
        self._schedulers = []
        self._extra_steps = 0

    @staticmethod
    def _sampler(runner):
        loader = runner.train_dataloader
        sampler = getattr(loader, 'sampler', None)
        if not isinstance(sampler, InfoBatchSampler):
            raise TypeError(
                'InfoBatchHook needs train_dataloader.sampler='
                f"dict(type='InfoBatchSampler', ...), got {type(sampler)}")
        return sampler

    @staticmethod
    def _model(runner):
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def after_load_checkpoint(self, runner, checkpoint):
        self._resume_state = checkpoint.get('infobatch')

    @staticmethod
    def _check_loop(runner):
        from mmengine.runner import EpochBasedTrainLoop
        loop = runner.train_loop
        if not isinstance(loop, EpochBasedTrainLoop):
            raise TypeError(
                'InfoBatchHook needs an epoch-based train loop '
                "(train_cfg=dict(by_epoch=True, max_epochs=...) or type="
                "'EpochBasedTrainLoop'), got "
                f'{type(loop).__name__}: InfoBatch scores every sample '
                'during an epoch and prunes at the start of the next one, '
                'so under an iteration-based loop (one endless epoch) it '
                'would never prune.')

    def before_train(self, runner):
        self._check_loop(runner)
        sampler = self._sampler(runner)
        model = self._model(runner)
        if not hasattr(model, 'per_sample_loss'):
            raise TypeError(
                f'InfoBatchHook needs a model that reads each data sample\'s '
                f'{LOSS_WEIGHT!r} and keeps per_sample_loss, as SelectiveMAE '
                f'does; {type(model).__name__} does not')
        if sampler.num_epochs is None:
            sampler.num_epochs = runner.max_epochs
        if self._resume_state is not None:
            sampler.load_state_dict(self._resume_state)
            self._resume_partial = self._resume_state.get('partial')
            print_log(
                f'InfoBatch: restored {int(sampler.seen.sum())} sample '
                'scores from the checkpoint',
                logger='current')
            self._resume_state = None
        self._device = next(model.parameters()).device
        n = len(sampler.scores)
        self._loss_sum = torch.zeros(n, device=self._device)
        self._count = torch.zeros(n, device=self._device)
        schedulers = runner.param_schedulers or []
        if isinstance(schedulers, dict):
            schedulers = [s for v in schedulers.values() for s in v]
        per_iter = [s for s in schedulers if not s.by_epoch]
        if self.align_schedulers:
            self._schedulers = per_iter
        elif per_iter:
            print_log(
                'InfoBatch shortens epochs, so iteration-based parameter '
                'schedulers (by_epoch=False or convert_to_iter_based=True) '
                'end later than planned; step them by epoch or set '
                'align_schedulers=True',
                logger='current',
                level=30)
        loader = runner.train_dataloader
        per_rank = len(range(sampler.rank, n, sampler.world_size))
        if sampler.round_up:
            per_rank = math.ceil(n / sampler.world_size)
        bs = loader.batch_size
        self._full_iters = (
            per_rank // bs if loader.drop_last else math.ceil(per_rank / bs))

    def before_train_epoch(self, runner):
        sampler = self._sampler(runner)
        sampler.set_epoch(runner.epoch)
        counts = sampler.plan()[2]
        self._epoch_iters = len(runner.train_dataloader)
        self._extra_steps = 0
        partial, self._resume_partial = self._resume_partial, None
        if partial is not None and partial['epoch'] == runner.epoch:
            # resumed part-way: the losses of the batches already trained
            # (kept by rank 0; the end-of-epoch all-reduce sums the ranks)
            if get_dist_info()[0] == 0:
                self._loss_sum += partial['loss_sum'].to(self._loss_sum)
                self._count += partial['count'].to(self._count)
            self._extra_steps = int(partial['extra_steps'])
        print_log(
            f'InfoBatch epoch {runner.epoch + 1}: {counts["kept"]} of '
            f'{len(sampler.scores)} samples kept ({counts["pruned"]} of '
            f'{counts["well_learned"]} well-learned pruned)',
            logger='current')

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        idx = torch.tensor(
            [ds.sample_idx for ds in data_batch['data_samples']],
            dtype=torch.long)
        weights = self._sampler(runner).weights[idx]  # host tensor
        self._idx = _to_device(idx, self._device)
        # the weights travel with the batch: the model multiplies each
        # image's loss by its data sample's loss_weight
        for ds, w in zip(data_batch['data_samples'], weights.tolist()):
            ds.set_metainfo({LOSS_WEIGHT: w})

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        loss = self._model(runner).per_sample_loss
        if loss is None or loss.shape != self._idx.shape:
            raise RuntimeError(
                'InfoBatchHook: model.per_sample_loss must be a [B] tensor '
                f'for the {len(self._idx)} samples of the batch, got '
                f'{None if loss is None else tuple(loss.shape)}')
        self._loss_sum.index_add_(0, self._idx, loss.detach().float())
        self._count.index_add_(
            0, self._idx,
            torch.ones_like(self._count[:1]).expand(len(self._idx)))
        if self._schedulers and self._epoch_iters < self._full_iters:
            # After b of P iterations a full epoch of F would be at b*F/P.
            done = batch_idx + 1
            target = done * self._full_iters // self._epoch_iters
            for _ in range(target - done - self._extra_steps):
                for scheduler in self._schedulers:
                    scheduler.step()
            self._extra_steps = target - done

    def after_train_epoch(self, runner):
        all_reduce(self._loss_sum)
        all_reduce(self._count)
        count = self._count.cpu()
        seen = count > 0
        scores = self._loss_sum.cpu() / count.clamp(min=1)
        self._sampler(runner).update_scores(scores, seen)
        self._loss_sum.zero_()
        self._count.zero_()

    def gather_checkpoint_state(self, runner):
        """Sum the epoch's partial losses over ranks into rank 0 (all ranks
        call this before a checkpoint is written)."""
        rank, world = get_dist_info()
        if world > 1:
            all_reduce(self._loss_sum)
            all_reduce(self._count)
            if rank != 0:
                self._loss_sum.zero_()
                self._count.zero_()
        self._gathered = True

    def before_save_checkpoint(self, runner, checkpoint):
        state = self._sampler(runner).state_dict()
        gathered, self._gathered = self._gathered, False
        if gathered or get_dist_info()[1] == 1:
            state['partial'] = dict(
                epoch=runner.epoch,
                loss_sum=self._loss_sum.cpu(),
                count=self._count.cpu(),
                extra_steps=self._extra_steps)
        elif not self._warned_partial:
            self._warned_partial = True
            print_log(
                'InfoBatch: the checkpoint hook does not gather the losses '
                'of the ranks, so checkpoints hold only the scores of '
                'finished epochs (use AtomicCheckpointHook)',
                logger='current', level=30)
        checkpoint['infobatch'] = state

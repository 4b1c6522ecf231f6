"""InfoBatch dynamic data pruning (Qin et al., ICLR 2024, arXiv 2303.04947).

Each sample keeps its last training loss as a score. At the start of every
epoch, of the scored samples whose score is below the mean of the scored
samples ("well learned"), a random ``prune_ratio`` share is left out of the
epoch, and the losses of the well-learned samples that stay are multiplied by
``1 / (1 - prune_ratio)``, so the expected gradient is unchanged. From epoch
``delta * num_epochs`` on, every sample is used with weight 1 (annealing).
Samples never scored yet are always kept.

The sampler only decides; :class:`~selective_mae.engine.hooks.InfoBatchHook`
feeds it the scores (gathered on the device, summed over ranks once per
epoch) and hands the weights to the model. Every rank computes the same kept
set: it depends only on ``seed``, the epoch and the synchronised scores.
"""
import math

import torch
from mmengine.dist import get_dist_info, sync_random_seed
from mmpretrain.registry import DATA_SAMPLERS
from torch.utils.data import Sampler

from .resumable import ResumablePosition


@DATA_SAMPLERS.register_module()
class InfoBatchSampler(ResumablePosition, Sampler):
    """Epoch sampler that prunes well-learned samples (InfoBatch).

    Works like mmengine's ``DefaultSampler`` (shuffle from ``seed + epoch``,
    ``round_up`` padding, rank ``r`` takes every ``world_size``-th index), on
    the kept subset of the epoch. Can start an epoch part-way
    (:meth:`set_resume_position`, for exact mid-epoch resume).

    Args:
        dataset (Sized): The data set.
        prune_ratio (float): Share of the well-learned samples left out of
            an epoch, in [0, 1). Defaults to 0.5.
        delta (float): Share of the epochs during which pruning is on, in
            [0, 1]. Defaults to 0.875.
        rescale (bool): Multiply the loss of kept well-learned samples by
            ``1 / (1 - prune_ratio)``. Defaults to True.
        num_epochs (int, optional): Length of training in epochs; the hook
            sets it from the runner when left None.
        shuffle (bool): Shuffle the kept samples. Defaults to True.
        seed (int, optional): Shared random seed; synchronised across ranks
            when None.
        round_up (bool): Pad the epoch so every rank gets as many samples.
    """

    def __init__(self,
                 dataset,
                 prune_ratio=0.5,
                 delta=0.875,
                 rescale=True,
                 num_epochs=None,
                 shuffle=True,
                 seed=None,
                 round_up=True):
        if not 0 <= prune_ratio < 1:
            raise ValueError(f'InfoBatchSampler prune_ratio must be in '
                             f'[0, 1), got {prune_ratio}')
        if not 0 <= delta <= 1:
            raise ValueError(f'InfoBatchSampler delta must be in [0, 1], '
                             f'got {delta}')
        self.rank, self.world_size = get_dist_info()
        self.dataset = dataset
        self.prune_ratio = prune_ratio
        self.delta = delta
        self.rescale = rescale
        self.num_epochs = num_epochs
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else seed
        self.round_up = round_up
        self.epoch = 0
        n = len(dataset)
        self.scores = torch.zeros(n, dtype=torch.float32)
        self.seen = torch.zeros(n, dtype=torch.bool)
        self._version = 0
        self._plan_key = None
        self._plan = None

    def set_epoch(self, epoch):
        """Set the epoch the next iteration plans for.

        Args:
            epoch (int): Epoch number, from 0.
        """
        self.epoch = epoch

    def update_scores(self, scores, seen):
        """Record the last loss of the samples trained in an epoch.

        Args:
            scores (torch.Tensor): float [N], the loss of each sample (only
                the ``seen`` entries are used).
            seen (torch.Tensor): bool [N], samples that got a loss.
        """
        seen = seen.cpu().bool()
        self.scores[seen] = scores.cpu().float()[seen]
        self.seen |= seen
        self._version += 1

    def pruning_active(self, epoch=None):
        """Whether ``epoch`` (default: the current one) prunes.

        Returns:
            bool: True before ``delta * num_epochs`` epochs.
        """
        epoch = self.epoch if epoch is None else epoch
        if self.num_epochs is None or self.prune_ratio == 0:
            return False
        return epoch < self.delta * self.num_epochs

    def plan(self):
        """The epoch's kept indices (all ranks, before the rank split) and
        the per-sample loss weights, computed once per epoch and scores.

        Returns:
            tuple[torch.Tensor, torch.Tensor, dict]: int64 indices
            [total_size], float weights [N] (1 for samples not pruned), and
            counts ``dict(kept, pruned, well_learned)``.
        """
        key = (self.seed, self.epoch, self._version)
        if self._plan_key == key:
            return self._plan
        n = len(self.scores)
        g = torch.Generator()
        g.manual_seed(self.seed + self.epoch)
        weights = torch.ones(n, dtype=torch.float32)
        keep = torch.ones(n, dtype=torch.bool)
        n_well = n_pruned = 0
        if self.pruning_active() and bool(self.seen.any()):
            mean = self.scores[self.seen].double().mean()
            well = torch.nonzero(self.seen
                                 & (self.scores.double() < mean)).flatten()
            n_well = len(well)
            n_keep = int((1 - self.prune_ratio) * n_well)
            order = torch.randperm(n_well, generator=g)
            keep[well[order[n_keep:]]] = False
            if self.rescale:
                weights[well[order[:n_keep]]] = 1 / (1 - self.prune_ratio)
            n_pruned = n_well - n_keep
        indices = torch.nonzero(keep).flatten()
        if self.shuffle:
            indices = indices[torch.randperm(len(indices), generator=g)]
        if self.round_up:
            total = math.ceil(len(indices) / self.world_size) * self.world_size
            indices = indices.repeat(math.ceil(total / len(indices)))[:total]
        counts = dict(
            kept=int(keep.sum()), pruned=n_pruned, well_learned=n_well)
        self._plan_key, self._plan = key, (indices, weights, counts)
        return self._plan

    @property
    def weights(self):
        """torch.Tensor: float [N] loss weights of the current epoch."""
        return self.plan()[1]

    def __iter__(self):
        indices = self.plan()[0]
        start = self._take_offset()
        return iter(indices[start + self.rank::self.world_size].tolist())

    def __len__(self):
        total = len(self.plan()[0])
        return len(range(self.rank, total, self.world_size))

    def state_dict(self):
        """Scores to keep in a checkpoint.

        Returns:
            dict: ``scores`` (float [N]) and ``seen`` (bool [N]).
        """
        return dict(scores=self.scores.clone(), seen=self.seen.clone())

    def load_state_dict(self, state):
        """Restore the scores saved by :meth:`state_dict`.

        Args:
            state (dict): As returned by :meth:`state_dict`.
        """
        if len(state['scores']) != len(self.scores):
            raise ValueError(
                f'InfoBatch scores in the checkpoint cover '
                f'{len(state["scores"])} samples, the data set has '
                f'{len(self.scores)}')
        self.scores = state['scores'].float().clone()
        self.seen = state['seen'].bool().clone()
        self._version += 1

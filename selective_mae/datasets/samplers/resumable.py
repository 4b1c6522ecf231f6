"""Samplers that can start an epoch part-way, for exact mid-epoch resume.

An epoch-based sampler lays the epoch's indices out in one global order;
rank ``r`` of ``W`` takes positions ``r, r + W, ...``. After ``b`` batches of
``B`` per rank, exactly the first ``b * B * W`` positions were trained on.
:meth:`ResumablePosition.set_resume_position` makes the next pass over that
epoch start at such a global offset, so a resumed run goes on with the next
batch of the same order without loading and discarding the consumed ones
(and keeps working if the number of processes changed).

``len()`` stays the length of the whole epoch: hooks such as
``PSTSProgressHook`` compute the progress within an epoch from
``batch_idx / len(dataloader)``, and the resumed loop numbers its batches
from where it stopped. A resumed epoch only yields its remaining part.
"""
import math

import torch
from mmengine.dataset import DefaultSampler
from mmpretrain.registry import DATA_SAMPLERS


class ResumablePosition:
    """Mixin: a one-shot start offset into one epoch's global order.

    The sampler sets ``self.epoch`` (``set_epoch``) and calls
    :meth:`_take_offset` once per pass.
    """

    _resume_epoch = None
    _resume_offset = 0

    def set_resume_position(self, epoch, consumed):
        """Start the next pass over ``epoch`` at global position
        ``consumed``.

        Args:
            epoch (int): The epoch (from 0) the offset is meant for; a pass
                over another epoch starts at 0 and forgets the offset.
            consumed (int): Samples of the epoch's global order (all ranks)
                already trained on.
        """
        if consumed < 0:
            raise ValueError(f'{type(self).__name__}: resume position must '
                             f'be >= 0, got {consumed}')
        self._resume_epoch = int(epoch)
        self._resume_offset = int(consumed)

    def _take_offset(self):
        """The start offset of this pass (0 unless resuming this epoch)."""
        epoch, offset = self._resume_epoch, self._resume_offset
        self._resume_epoch, self._resume_offset = None, 0
        return offset if epoch == self.epoch else 0


@DATA_SAMPLERS.register_module()
class ResumableSampler(ResumablePosition, DefaultSampler):
    """mmengine's ``DefaultSampler`` (same order, same arguments) that can
    resume part-way through an epoch (see the module notes).

    Args:
        dataset (Sized): The data set.
        shuffle (bool): Shuffle with ``seed + epoch``. Defaults to True.
        seed (int, optional): Shared seed; synchronised across ranks when
            None.
        round_up (bool): Pad the epoch so every rank gets as many samples.
            Defaults to True.
    """

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            g = torch.Generator()
            g.manual_seed(self.seed + self.epoch)
            indices = torch.randperm(n, generator=g)
        else:
            indices = torch.arange(n)
        if self.round_up:
            indices = indices.repeat(math.ceil(self.total_size / max(n, 1)))
        indices = indices[:self.total_size]
        start = self._take_offset()
        return iter(indices[start + self.rank::self.world_size].tolist())

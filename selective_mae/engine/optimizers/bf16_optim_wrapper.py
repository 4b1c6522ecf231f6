"""bf16 mixed precision without a loss scaler."""
from contextlib import contextmanager

import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper

from mmpretrain.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class BF16OptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose forward runs under bf16 autocast.

    bf16 has float32's exponent range, so gradients need no loss scaling.
    mmengine's ``AmpOptimWrapper(dtype='bfloat16')`` still keeps a
    ``GradScaler``, whose step reads ``found_inf`` back to the host every
    iteration (unless the optimizer is fused) and which refuses to run
    without a GPU. This wrapper scales nothing: backward and step are those
    of ``OptimWrapper`` (no host synchronisation), on any device type that
    has bf16 autocast (CUDA, CPU). Its state dict is the optimizer's, so a
    checkpoint of ``AmpOptimWrapper`` loads (its ``loss_scaler`` entry is
    dropped) and the other way round.

    Args:
        dtype (str | torch.dtype): Autocast dtype; only ``'bfloat16'``.
        **kwargs: As ``OptimWrapper`` (``optimizer``, ``clip_grad``,
            ``accumulative_counts``).
    """

    def __init__(self, dtype='bfloat16', **kwargs) -> None:
        if dtype not in ('bfloat16', torch.bfloat16):
            raise ValueError(
                f'BF16OptimWrapper: dtype={dtype!r}; it runs bfloat16 only '
                "(float16 needs a loss scaler: use AmpOptimWrapper)")
        super().__init__(**kwargs)
        self.cast_dtype = torch.bfloat16

    def load_state_dict(self, state_dict: dict) -> None:
        state_dict = dict(state_dict)
        state_dict.pop('loss_scaler', None)  # from an AmpOptimWrapper
        super().load_state_dict(state_dict)

    @contextmanager
    def optim_context(self, model: nn.Module):
        """Gradient accumulation context of ``OptimWrapper`` plus bf16
        autocast on the device type of the model's parameters."""
        param = next(model.parameters(), None)
        device_type = 'cpu' if param is None else param.device.type
        with super().optim_context(model), torch.autocast(
                device_type=device_type, dtype=self.cast_dtype):
            yield

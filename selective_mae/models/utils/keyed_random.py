"""Counter-based random numbers keyed by sample identity.

``torch.rand`` draws from a generator whose state depends on everything
drawn before: which process a sample lands on, its position in the batch,
how many batches came first. A sample then gets different noise on 1 or 2
processes, and after a resume. The draws here are instead a pure function
of a key: ``(seed, step, stream, sample_id, element index)``. Each value is
a 32-bit integer hash of the key (the "lowbias32" mixer of C. Wellons,
applied in a chain), turned into a float; everything is vectorised integer
tensor code on the samples' device, with no host loop and no host sync.

The integers are held in int64 tensors and kept below 2**32; a 32-bit
multiplication is split in two 16-bit halves so that no intermediate
product overflows int64 (torch leaves signed overflow undefined).
"""
from typing import Sequence, Union

import torch

_M32 = 0xFFFFFFFF
_GOLDEN = 0x9E3779B9

Key = Union[int, torch.Tensor]


def _mul32(x: torch.Tensor, c: int) -> torch.Tensor:
    """``(x * c) mod 2**32`` for x in [0, 2**32) without int64 overflow."""
    lo, hi = c & 0xFFFF, c >> 16
    return (x * lo + (((x * hi) & 0xFFFF) << 16)) & _M32


def hash32(x: torch.Tensor) -> torch.Tensor:
    """A bijective 32-bit integer mixer, element-wise.

    Args:
        x (torch.Tensor): Integer tensor; its value modulo 2**32 is hashed.

    Returns:
        torch.Tensor: int64, values in [0, 2**32).
    """
    x = x.long() & _M32
    x = x ^ (x >> 16)
    x = _mul32(x, 0x7FEB352D)
    x = x ^ (x >> 15)
    x = _mul32(x, 0x846CA68B)
    return x ^ (x >> 16)


def _fold(x: Key, device) -> torch.Tensor:
    """An int or integer tensor as int64 in [0, 2**32), high bits folded
    in."""
    x = torch.as_tensor(x, dtype=torch.int64, device=device)
    return (x & _M32) ^ ((x >> 32) & _M32)


def _bits(shape: Sequence[int], seed: Key, step: Key,
          sample_ids: torch.Tensor, stream: Key) -> torch.Tensor:
    """Hashed 32-bit keys of shape ``shape`` = (B, ...)."""
    shape = tuple(int(s) for s in shape)
    ids = torch.as_tensor(sample_ids)
    if ids.dim() != 1 or not shape or ids.shape[0] != shape[0]:
        raise ValueError(
            f'keyed noise of shape {shape} needs sample_ids of shape '
            f'[{shape[0] if shape else "B"}], got {tuple(ids.shape)}')
    device = ids.device
    base = hash32(_fold(seed, device) + _GOLDEN)
    base = hash32(base ^ _fold(step, device))
    base = hash32(base ^ hash32(_fold(stream, device) + _GOLDEN))
    per_sample = hash32(base ^ hash32(_fold(ids, device)))  # [B]
    numel = 1
    for s in shape[1:]:
        numel *= s
    elem = hash32(torch.arange(numel, device=device) + _GOLDEN)  # [E]
    h = hash32(per_sample[:, None] ^ elem[None, :])
    h = hash32(h + elem[None, :])
    return h.view(shape)


def keyed_uniform(shape: Sequence[int],
                  seed: Key,
                  step: Key,
                  sample_ids: torch.Tensor,
                  stream: Key = 0,
                  dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Uniform noise in the open interval (0, 1), keyed by sample.

    Row ``i`` depends only on ``(seed, step, stream, sample_ids[i])`` and
    the element index within the row: the same sample gets the same noise
    in any batch, on any rank, at any batch position.

    Args:
        shape (Sequence[int]): ``(B, ...)``.
        seed (int | torch.Tensor): Run seed.
        step (int | torch.Tensor): E.g. the training iteration.
        sample_ids (torch.Tensor): Integer [B], the samples' identities
            (e.g. data set indices); sets the device of the result.
        stream (int | torch.Tensor): Separates independent draws of one
            step (e.g. 0 for seeds, 1 for targets).
        dtype (torch.dtype): Floating result type. Defaults to float32.

    Returns:
        torch.Tensor: Shape ``shape``, values ``(k + 0.5) / 2**23`` for a
        23-bit k: never 0 or 1 in float32 or float64.
    """
    k = _bits(shape, seed, step, sample_ids, stream) >> 9
    u = (k * 2 + 1).to(torch.float32) * 2.0**-24
    return u.to(dtype)


def keyed_gumbel(shape: Sequence[int],
                 seed: Key,
                 step: Key,
                 sample_ids: torch.Tensor,
                 stream: Key = 0,
                 dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Standard Gumbel noise ``-log(-log(u))`` from :func:`keyed_uniform`:
    ``topk(logits + noise)`` samples without replacement from
    ``softmax(logits)``. Computed in float32, returned as ``dtype``; all
    values are finite (|g| < 17)."""
    u = keyed_uniform(shape, seed, step, sample_ids, stream)
    return (-(-u.log()).log()).to(dtype)

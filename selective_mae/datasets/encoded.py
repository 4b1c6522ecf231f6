"""Samples and batches of the device-side decode path.

On that path (:class:`~selective_mae.datasets.transforms.
LoadEncodedRandomResizedCrop`) a worker reads a JPEG's bytes and draws its
crop box and flip, but does not decode it; the data preprocessor
(:class:`~selective_mae.models.utils.RSSelfSupDataPreprocessor`) decodes the
batch on the model's device, crops, resizes and flips it. Files the device
does not decode (not a baseline or progressive 8-bit JPEG, or a JPEG that
may hold a constant image) are decoded, cropped and resized in the worker as
on the worker path, and only flipped on the device.
"""
from typing import List, NamedTuple, Optional, Tuple

import numpy as np
import torch


class EncodedImage(NamedTuple):
    """One sample's input on the device decode path (``inputs`` of a packed
    sample).

    Attributes:
        data (np.ndarray | None): The JPEG bytes (uint8, 1-D), for the
            device to decode; None when the worker decoded the file.
        img (np.ndarray | None): The worker-decoded crop, uint8
            (out_h, out_w, 3) RGB, not flipped; None for ``data``.
        box (tuple[int, int, int, int]): ``(top, left, crop_h, crop_w)`` in
            stored pixels.
        stored_shape (tuple[int, int]): ``(height, width)`` from the header.
        flip_direction (str | None): 'horizontal', 'vertical', 'diagonal' or
            None (no flip), drawn as mmcv's ``RandomFlip`` draws it.
        out_size (tuple[int, int]): ``(out_h, out_w)``.
        interpolation (str): 'bicubic', 'bilinear' or 'nearest'.
        img_path (str): The file.
        sample_idx (int): Its index in the data set.
    """
    data: Optional[np.ndarray]
    img: Optional[np.ndarray]
    box: Tuple[int, int, int, int]
    stored_shape: Tuple[int, int]
    flip_direction: Optional[str]
    out_size: Tuple[int, int]
    interpolation: str
    img_path: str
    sample_idx: int


class EncodedBatch:
    """A collated batch of :class:`EncodedImage` (``inputs`` of the batch).

    The JPEG bytes of the batch are one contiguous uint8 tensor (one pinned
    copy with ``pin_memory=True``), split into per-image views by
    ``lengths``; worker-decoded crops are one uint8 tensor [M, 3, H, W].

    Args:
        data (torch.Tensor): uint8 [sum(lengths)], the JPEGs back to back.
        lengths (list[int]): Bytes of each JPEG.
        encoded_pos (list[int]): Batch position of each JPEG.
        boxes (list[tuple]): Crop box of each JPEG.
        stored_shapes (list[tuple]): ``(height, width)`` of each JPEG.
        decoded (torch.Tensor | None): uint8 [M, 3, out_h, out_w].
        decoded_pos (list[int]): Batch position of each decoded crop.
        flips (list[str | None]): Flip direction of every sample.
        out_size (tuple[int, int]): Output size.
        interpolation (str): Resampling filter.
        img_paths (list[str]): File of every sample.
        sample_idx (list[int]): Data set index of every sample.
    """

    def __init__(self, data, lengths, encoded_pos, boxes, stored_shapes,
                 decoded, decoded_pos, flips, out_size, interpolation,
                 img_paths, sample_idx):
        self.data = data
        self.lengths = lengths
        self.encoded_pos = encoded_pos
        self.boxes = boxes
        self.stored_shapes = stored_shapes
        self.decoded = decoded
        self.decoded_pos = decoded_pos
        self.flips = flips
        self.out_size = out_size
        self.interpolation = interpolation
        self.img_paths = img_paths
        self.sample_idx = sample_idx

    def __len__(self):
        return len(self.flips)

    def pin_memory(self):
        """Page-locked copy (DataLoader ``pin_memory=True``)."""
        out = EncodedBatch(**vars(self))
        out.data = self.data.pin_memory()
        if self.decoded is not None:
            out.decoded = self.decoded.pin_memory()
        return out

    def __repr__(self):
        return (f'EncodedBatch({len(self)} images: {len(self.lengths)} '
                f'JPEG ({int(sum(self.lengths))} bytes) for the device, '
                f'{len(self.decoded_pos)} decoded by the workers; '
                f'out_size={self.out_size})')


def collate_encoded(samples: List[dict]) -> dict:
    """Collate packed samples whose ``inputs`` are :class:`EncodedImage`.

    Args:
        samples (list[dict]): ``dict(inputs=EncodedImage,
            data_samples=DataSample)`` per sample.

    Returns:
        dict: ``inputs`` (:class:`EncodedBatch`) and ``data_samples``
        (list).

    Raises:
        ValueError: Samples with different output sizes or filters, or a
            mix with ordinary samples.
    """
    items = [s['inputs'] for s in samples]
    if not all(isinstance(x, EncodedImage) for x in items):
        raise ValueError('a batch mixes device-decode samples '
                         '(EncodedImage) with ordinary ones; use one '
                         'loading pipeline per data loader')
    sizes = {(tuple(x.out_size), x.interpolation) for x in items}
    if len(sizes) != 1:
        raise ValueError(f'device-decode samples of one batch need one output '
                         f'size and filter, got {sorted(sizes)}')
    enc = [(i, x) for i, x in enumerate(items) if x.data is not None]
    dec = [(i, x) for i, x in enumerate(items) if x.data is None]
    lengths = [int(x.data.size) for _, x in enc]
    if enc:
        data = torch.from_numpy(np.concatenate([x.data for _, x in enc]))
    else:
        data = torch.empty(0, dtype=torch.uint8)
    decoded = None
    if dec:
        crops = np.stack([x.img for _, x in dec])  # [M, H, W, 3]
        decoded = torch.from_numpy(crops).permute(0, 3, 1, 2).contiguous()
    out_size, interpolation = sizes.pop()
    batch = EncodedBatch(
        data=data,
        lengths=lengths,
        encoded_pos=[i for i, _ in enc],
        boxes=[tuple(int(v) for v in x.box) for _, x in enc],
        stored_shapes=[tuple(x.stored_shape) for _, x in enc],
        decoded=decoded,
        decoded_pos=[i for i, _ in dec],
        flips=[x.flip_direction for x in items],
        out_size=out_size,
        interpolation=interpolation,
        img_paths=[x.img_path for x in items],
        sample_idx=[int(x.sample_idx) for x in items])
    return dict(
        inputs=batch, data_samples=[s['data_samples'] for s in samples])

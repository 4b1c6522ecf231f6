"""Worker side of the device decode path.

``[LoadEncodedRandomResizedCrop, PackEncodedInputs]`` replaces
``[LoadRandomResizedCrop, RandomFlip, PackInputs]``: for a JPEG the worker
reads the bytes and draws the crop box and the flip exactly as the worker
path draws them (same random numbers in the same order), and leaves the
decoding, cropping, resizing and flipping to
:class:`~selective_mae.models.utils.RSSelfSupDataPreprocessor` on the model's
device. Other files go the worker path's way (see :meth:`LoadEncodedRandom
ResizedCrop.device_decodable`), so every file is handled by one of the two,
with the same bad-file and bad-pixel policy.
"""
import numpy as np
from mmcv.transforms import RandomFlip
from mmpretrain.datasets.transforms import PackInputs
from mmpretrain.registry import TRANSFORMS

from ..encoded import EncodedImage
from ..image_io import (check_min_side, image_size, jpeg_layout,
                        may_be_constant_jpeg, read_bytes)
from .loading import LoadRandomResizedCrop

# Filters the preprocessor has on the device (torch's antialiased
# resampling matches PIL's for these).
DEVICE_INTERPOLATIONS = ('bicubic', 'bilinear', 'nearest')
# Baseline and progressive Huffman-coded JPEG: what nvjpeg decodes.
DEVICE_JPEG_SOF = (0xC0, 0xC2)


@TRANSFORMS.register_module()
class LoadEncodedRandomResizedCrop(LoadRandomResizedCrop):
    """Read an image's bytes and draw its random resized crop and flip,
    leaving JPEG decoding to the data preprocessor on the device.

    The crop box is drawn as :class:`LoadRandomResizedCrop` draws it and the
    flip as mmcv's ``RandomFlip(prob=flip_prob, direction=flip_direction)``
    draws it, in that order, so the same random state gives the same crop
    and flip as the worker path ``[LoadRandomResizedCrop, RandomFlip]``.

    A file is decoded on the device if :meth:`device_decodable`; otherwise
    it is decoded, cropped and resized here (with ``reduced_decode`` as on
    the worker path) and only flipped on the device.

    **Required Keys:** ``img_path``.
    **Added Keys:** ``img_bytes`` (device JPEGs) or ``img`` (others),
    ``crop_box``, ``ori_shape``, ``img_shape`` (output size), ``flip``,
    ``flip_direction``, ``interpolation``.

    Args:
        scale, crop_ratio_range, aspect_ratio_range, max_attempts,
        reduced_decode, band_order, stretch, min_side, skip_constant,
        backend_args: As :class:`LoadRandomResizedCrop`.
        interpolation (str): 'bicubic' (default), 'bilinear' or 'nearest'
            (filters the device has).
        flip_prob (float | None): Probability of a flip. Defaults to 0.5.
            None: no flip and no random draw for it (the worker path
            without ``RandomFlip``).
        flip_direction (str): 'horizontal' (default), 'vertical' or
            'diagonal'.
    """

    def __init__(self,
                 scale,
                 *args,
                 interpolation='bicubic',
                 flip_prob=0.5,
                 flip_direction='horizontal',
                 **kwargs):
        if interpolation not in DEVICE_INTERPOLATIONS:
            raise ValueError(f'device decoding supports interpolation in '
                             f'{DEVICE_INTERPOLATIONS}, got {interpolation!r}')
        super().__init__(scale, *args, interpolation=interpolation, **kwargs)
        self.flip_prob = None if flip_prob is None else float(flip_prob)
        self.flip_direction = flip_direction
        self._flip = None if flip_prob is None else RandomFlip(
            prob=self.flip_prob, direction=flip_direction)

    def device_decodable(self, layout):
        """Whether the device decodes a JPEG with this layout: baseline or
        progressive Huffman coding, 8 bits, gray or YCbCr, the end marker
        present (a truncated file goes the worker path, which rejects it),
        and, with ``skip_constant``, too many bytes to hold a constant image
        (the worker decodes the others and applies the constant-image rule).

        Args:
            layout (JPEGLayout | None): From
                :func:`~selective_mae.datasets.image_io.jpeg_layout`.
        """
        return (layout is not None and layout.sof in DEVICE_JPEG_SOF
                and layout.precision == 8 and layout.components in (1, 3)
                and layout.ends_with_eoi
                and not (self.skip_constant and may_be_constant_jpeg(layout)))

    def transform(self, results):
        path = results['img_path']
        data = read_bytes(path, self.backend_args)
        layout = jpeg_layout(data)
        on_device = self.device_decodable(layout)
        if on_device:
            width, height = layout.width, layout.height
        else:
            width, height = image_size(data, path)
        check_min_side(width, height, path, self.min_side)
        box = self.draw_crop(width, height)
        # mmcv's own draw, so the random numbers are RandomFlip's.
        direction = (None if self._flip is None else
                     self._flip._choose_direction())
        if on_device:
            results['img_bytes'] = np.frombuffer(data, np.uint8)
        else:
            results['img'], results['decode_scale'] = self.decode_crop(
                data, path, width, height, box)
        results['crop_box'] = tuple(int(v) for v in box)
        results['ori_shape'] = (height, width)
        results['img_shape'] = tuple(self.scale)
        results['flip'] = direction is not None
        results['flip_direction'] = direction
        results['interpolation'] = self.interpolation
        return results

    def __repr__(self):
        return (super().__repr__()[:-1] + f', flip_prob={self.flip_prob}, '
                f'flip_direction={self.flip_direction!r})')


@TRANSFORMS.register_module()
class PackEncodedInputs(PackInputs):
    """Pack the output of :class:`LoadEncodedRandomResizedCrop`: ``inputs``
    is an :class:`~selective_mae.datasets.encoded.EncodedImage` (collated by
    ``rs_collate``), ``data_samples`` a ``DataSample`` with the meta keys as
    mmpretrain's ``PackInputs``.

    Args:
        meta_keys (Sequence[str]): As ``PackInputs``.
    """

    def __init__(self, meta_keys=PackInputs.DEFAULT_META_KEYS):
        super().__init__(input_key='img_bytes', meta_keys=meta_keys)

    def transform(self, results):
        if 'crop_box' not in results:
            raise KeyError('PackEncodedInputs packs the output of '
                           'LoadEncodedRandomResizedCrop; crop_box missing '
                           f'for {results.get("img_path")}')
        data = results.get('img_bytes')
        packed = dict(
            data_samples=super().transform(
                {k: v
                 for k, v in results.items() if k != 'img_bytes'})
            ['data_samples'])
        packed['inputs'] = EncodedImage(
            data=data,
            img=None if data is not None else results['img'],
            box=results['crop_box'],
            stored_shape=tuple(results['ori_shape']),
            flip_direction=results['flip_direction'],
            out_size=tuple(results['img_shape']),
            interpolation=results['interpolation'],
            img_path=results['img_path'],
            sample_idx=int(results.get('sample_idx', -1)))
        return packed

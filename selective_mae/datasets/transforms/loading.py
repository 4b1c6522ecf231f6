"""Loading transforms for remote-sensing images.

Both transforms read files through ``mmengine.fileio`` (``backend_args``)
and decode through :func:`selective_mae.datasets.image_io.decode_rs_image`,
so they share its bad-file and pixel-type policy, and both put an 8-bit RGB
image in ``results['img']`` (pair them with
``data_preprocessor=dict(..., to_rgb=False)``). Both apply the same bad-pixel
rules: an image whose shorter side is below ``min_side`` or (with
``skip_constant``) whose pixels are all equal is reported as bad
(:class:`~selective_mae.datasets.image_io.BadPixelsError`: counted, named,
skipped by :class:`~selective_mae.datasets.RS4M`).
"""
import math

import numpy as np
from mmpretrain.datasets.transforms import RandomResizedCrop
from mmpretrain.registry import TRANSFORMS
from mmcv.transforms import BaseTransform
from PIL import Image

from ..image_io import (check_min_side, check_not_constant, decode_rs_image,
                        image_size, read_bytes)

PIL_INTERPOLATION = dict(
    nearest=Image.NEAREST,
    bilinear=Image.BILINEAR,
    bicubic=Image.BICUBIC,
    area=Image.BOX,
    lanczos=Image.LANCZOS)


@TRANSFORMS.register_module()
class LoadRSImage(BaseTransform):
    """Load an image file as 8-bit RGB by the remote-sensing pixel policy.

    **Required Keys:** ``img_path``.
    **Added Keys:** ``img`` (uint8, (H, W, 3), RGB), ``img_shape``,
    ``ori_shape``.

    Args:
        band_order (tuple[int, int, int]): Bands of multi-band files taken as
            R, G, B. Defaults to the first three.
        stretch (tuple[float, float]): Percentiles mapped to 0 and 255 for
            more-than-8-bit data. Defaults to (2, 98).
        min_side (int): Images with a shorter side below this are bad.
            Defaults to 16 (one ViT patch); 0 accepts all.
        skip_constant (bool): Images whose pixels are all equal are bad.
            Defaults to True.
        backend_args (dict, optional): mmengine storage backend arguments
            (``mmengine.fileio``). Defaults to None: the backend of the
            path's prefix, local disk for plain paths.

    Raises:
        CorruptImageError: The file cannot be decoded or its pixels are
            rejected (the data set counts and skips it).
    """

    def __init__(self,
                 band_order=(0, 1, 2),
                 stretch=(2.0, 98.0),
                 min_side=16,
                 skip_constant=True,
                 backend_args=None):
        self.band_order = tuple(band_order)
        self.stretch = tuple(stretch)
        self.min_side = int(min_side)
        self.skip_constant = bool(skip_constant)
        self.backend_args = None if backend_args is None else dict(
            backend_args)

    def transform(self, results):
        path = results['img_path']
        img, _ = decode_rs_image(
            read_bytes(path, self.backend_args), path, None, self.band_order,
            self.stretch, self.skip_constant)
        check_min_side(img.shape[1], img.shape[0], path, self.min_side)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self):
        return (f'{self.__class__.__name__}(band_order={self.band_order}, '
                f'stretch={self.stretch}, min_side={self.min_side}, '
                f'skip_constant={self.skip_constant}, '
                f'backend_args={self.backend_args})')


@TRANSFORMS.register_module()
class LoadRandomResizedCrop(RandomResizedCrop):
    """Load an image and take a random resized crop, decoding only what the
    crop needs.

    Same crop distribution as mmpretrain's ``RandomResizedCrop`` (its
    ``rand_crop_params`` is reused on the stored size, read from the file
    header), resized with PIL. With ``reduced_decode=True`` a JPEG is
    decoded at the smallest DCT scale (1/2, 1/4, 1/8) at which the crop
    region is still at least as large as the output in both directions, so
    the result is only ever downsampled, as with a full decode, while a
    large scene costs a fraction of the decoding time. Other formats, and
    crops that need full resolution, are decoded in full. A crop smaller
    than the output (an image smaller than the crop) is upsampled.

    **Required Keys:** ``img_path``.
    **Added Keys:** ``img`` (uint8, ``scale`` sized, RGB), ``img_shape``,
    ``ori_shape`` (stored size), ``decode_scale``.

    Args:
        scale (int | tuple[int, int]): Output size, (h, w) if a tuple.
        crop_ratio_range (tuple[float, float]): Crop area relative to the
            image. Defaults to (0.08, 1.0) like mmpretrain; the released
            SelectiveMAE recipe uses (0.2, 1.0).
        aspect_ratio_range (tuple[float, float]): As mmpretrain.
        max_attempts (int): As mmpretrain.
        interpolation (str): 'nearest', 'bilinear', 'bicubic', 'area' or
            'lanczos'. Defaults to 'bicubic'.
        reduced_decode (bool): Decode JPEGs at reduced size when the crop
            allows it. Defaults to True.
        band_order (tuple[int, int, int]): See :class:`LoadRSImage`.
        stretch (tuple[float, float]): See :class:`LoadRSImage`.
        min_side (int): See :class:`LoadRSImage`; checked on the stored
            size before decoding.
        skip_constant (bool): See :class:`LoadRSImage`.
        backend_args (dict, optional): See :class:`LoadRSImage`.
    """

    def __init__(self,
                 scale,
                 crop_ratio_range=(0.08, 1.0),
                 aspect_ratio_range=(3. / 4., 4. / 3.),
                 max_attempts=10,
                 interpolation='bicubic',
                 reduced_decode=True,
                 band_order=(0, 1, 2),
                 stretch=(2.0, 98.0),
                 min_side=16,
                 skip_constant=True,
                 backend_args=None):
        super().__init__(
            scale,
            crop_ratio_range=crop_ratio_range,
            aspect_ratio_range=aspect_ratio_range,
            max_attempts=max_attempts,
            interpolation=interpolation,
            backend='pillow')
        self.reduced_decode = reduced_decode
        self.band_order = tuple(band_order)
        self.stretch = tuple(stretch)
        self.min_side = int(min_side)
        self.skip_constant = bool(skip_constant)
        self.backend_args = None if backend_args is None else dict(
            backend_args)

    def draw_crop(self, width, height):
        """Random crop ``(top, left, crop_h, crop_w)`` of a stored
        ``width`` x ``height`` image (mmpretrain's distribution)."""
        # rand_crop_params only reads the shape: a zero-byte stand-in.
        return self.rand_crop_params(np.empty((height, width, 0), np.uint8))

    def decode_crop(self, data, path, width, height, box):
        """Decode ``data`` and resize the crop ``box`` to the output size.

        Args:
            data (bytes): The file's content.
            path (str): The file (messages).
            width (int): Stored width.
            height (int): Stored height.
            box (tuple[int, int, int, int]): ``(top, left, crop_h, crop_w)``
                in stored pixels.

        Returns:
            tuple[np.ndarray, float]: uint8 (out_h, out_w, 3) crop and the
            decode scale.
        """
        top, left, crop_h, crop_w = box
        out_h, out_w = self.scale
        min_size = None
        if self.reduced_decode:
            min_size = (math.ceil(width * out_w / crop_w),
                        math.ceil(height * out_h / crop_h))
            if min_size[0] >= width or min_size[1] >= height:
                min_size = None
        img, s = decode_rs_image(data, path, min_size, self.band_order,
                                 self.stretch)
        if self.skip_constant:
            check_not_constant(img, path)
        pil_box = (left * s, top * s, (left + crop_w) * s, (top + crop_h) * s)
        img = np.array(
            Image.fromarray(img).resize((out_w, out_h),
                                        PIL_INTERPOLATION[self.interpolation],
                                        box=pil_box))
        return img, s

    def transform(self, results):
        path = results['img_path']
        data = read_bytes(path, self.backend_args)
        width, height = image_size(data, path)
        check_min_side(width, height, path, self.min_side)
        box = self.draw_crop(width, height)
        img, s = self.decode_crop(data, path, width, height, box)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = (height, width)
        results['decode_scale'] = s
        return results

    def __repr__(self):
        return (super().__repr__()[:-1] +
                f', reduced_decode={self.reduced_decode}, '
                f'min_side={self.min_side}, '
                f'skip_constant={self.skip_constant}, '
                f'backend_args={self.backend_args})')

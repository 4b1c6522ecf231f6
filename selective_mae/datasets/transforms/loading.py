"""Loading transforms for remote-sensing images.

Both transforms decode through :func:`selective_mae.datasets.image_io.
read_rs_image`, so they share its bad-file and pixel-type policy, and both
put an 8-bit RGB image in ``results['img']`` (pair them with
``data_preprocessor=dict(..., to_rgb=False)``).
"""
import math

import numpy as np
from mmpretrain.datasets.transforms import RandomResizedCrop
from mmpretrain.registry import TRANSFORMS
from mmcv.transforms import BaseTransform
from PIL import Image

from ..image_io import read_image_size, read_rs_image

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

    Raises:
        CorruptImageError: The file cannot be decoded (the data set counts
            and skips it).
    """

    def __init__(self, band_order=(0, 1, 2), stretch=(2.0, 98.0)):
        self.band_order = tuple(band_order)
        self.stretch = tuple(stretch)

    def transform(self, results):
        img, _ = read_rs_image(results['img_path'], None, self.band_order,
                               self.stretch)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self):
        return (f'{self.__class__.__name__}(band_order={self.band_order}, '
                f'stretch={self.stretch})')


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
    crops that need full resolution, are decoded in full.

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
    """

    def __init__(self,
                 scale,
                 crop_ratio_range=(0.08, 1.0),
                 aspect_ratio_range=(3. / 4., 4. / 3.),
                 max_attempts=10,
                 interpolation='bicubic',
                 reduced_decode=True,
                 band_order=(0, 1, 2),
                 stretch=(2.0, 98.0)):
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

    def transform(self, results):
        path = results['img_path']
        width, height = read_image_size(path)
        # rand_crop_params only reads the shape: a zero-byte stand-in.
        top, left, crop_h, crop_w = self.rand_crop_params(
            np.empty((height, width, 0), np.uint8))
        out_h, out_w = self.scale
        min_size = None
        if self.reduced_decode:
            min_size = (math.ceil(width * out_w / crop_w),
                        math.ceil(height * out_h / crop_h))
            if min_size[0] >= width or min_size[1] >= height:
                min_size = None
        img, s = read_rs_image(path, min_size, self.band_order, self.stretch)
        box = (left * s, top * s, (left + crop_w) * s, (top + crop_h) * s)
        img = np.array(
            Image.fromarray(img).resize((out_w, out_h),
                                        PIL_INTERPOLATION[self.interpolation],
                                        box=box))
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = (height, width)
        results['decode_scale'] = s
        return results

    def __repr__(self):
        return (super().__repr__()[:-1] +
                f', reduced_decode={self.reduced_decode})')

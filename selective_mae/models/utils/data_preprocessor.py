"""Data preprocessor of the pretraining configs: mmpretrain's
``SelfSupDataPreprocessor`` plus device-side JPEG decoding and a guard
against non-finite inputs."""
from collections import deque

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from mmpretrain.models.utils import SelfSupDataPreprocessor
from mmpretrain.registry import MODELS

from selective_mae.datasets.encoded import EncodedBatch
from selective_mae.datasets.image_io import CorruptImageError, decode_rs_image
from selective_mae.datasets.rs4m import BadImage

# interpolation name -> (F.interpolate mode, antialias). torch's
# antialiased bilinear / bicubic (a = -0.5) are PIL's filters; PIL's
# nearest samples pixel centres, which is torch's 'nearest-exact'.
DEVICE_FILTERS = dict(
    bicubic=('bicubic', True),
    bilinear=('bilinear', True),
    nearest=('nearest-exact', False))


@MODELS.register_module()
class RSSelfSupDataPreprocessor(SelfSupDataPreprocessor):
    """``SelfSupDataPreprocessor`` with device decoding and a finite-input
    guard.

    **Ordinary batches** (``inputs`` a uint8 tensor from the worker path):
    exactly ``SelfSupDataPreprocessor`` (cast, optional channel flip,
    normalisation).

    **Device-decode batches** (``inputs`` an
    :class:`~selective_mae.datasets.encoded.EncodedBatch`, from
    ``[LoadEncodedRandomResizedCrop, PackEncodedInputs]`` and
    ``rs_collate``): the JPEGs are decoded on this module's device with
    ``torchvision.io.decode_jpeg`` on the list (nvjpeg on a GPU), each crop
    box is resized to the output size with torch's antialiased filter (the
    PIL filter of the worker path), the result rounded and clipped to
    0..255 as PIL's uint8 output is, and flipped; the crops the workers
    decoded (non-JPEG files) are only flipped. Then as above. The per-image
    work is a loop that only enqueues kernels (decode returns one tensor per
    image, of its own size); nothing waits for the device.

    A JPEG the device cannot decode is decoded again by the worker path's
    decoder (PIL, in this process): if that fails too it is a bad file: it
    leaves the batch (``inputs`` and ``data_samples``) and is appended to
    the batch's ``bad_images``, which ``BadImageHook`` names and counts
    after the iteration, as it does for files the workers could not decode.

    **Non-finite inputs.** The loaders only produce uint8, which cannot be
    non-finite (see :mod:`selective_mae.datasets.image_io`), so uint8
    batches are not checked. A floating-point batch (another pipeline) is:
    every non-finite value is replaced by 0 after normalisation (the
    channel mean) on the device, so it never reaches the model (the
    richness score in particular); the per-image flags are copied to the
    host without waiting (pinned memory, non-blocking, an event) and at a
    later step, once the copy is done, the images are named in a warning
    and counted in :attr:`nonfinite_images`. :meth:`flush_reports` waits for
    what is pending (``BadImageHook`` calls it once per epoch).

    Args:
        mean, std, pad_size_divisor, pad_value, to_rgb, bgr_to_rgb,
        rgb_to_bgr, non_blocking: As ``SelfSupDataPreprocessor``.
        max_named (int): Name at most this many files with non-finite
            values (the count goes on). Defaults to 1000.
    """

    def __init__(self, *args, max_named=1000, **kwargs):
        super().__init__(*args, **kwargs)
        if self._enable_normalize:
            std = self.std
            if not (torch.isfinite(std).all() and (std > 0).all()
                    and torch.isfinite(self.mean).all()):
                raise ValueError('data preprocessor mean/std must be finite '
                                 f'and std > 0, got mean={self.mean.flatten()}'
                                 f' std={std.flatten()}')
        self.max_named = int(max_named)
        self.nonfinite_images = 0
        self._named = set()
        self._pending = deque()

    # ----------------------------------------------------------- forward
    def forward(self, data: dict, training: bool = False) -> dict:
        self._drain(block=False)
        self.decode_batch(data)
        inputs = data['inputs']
        floating = (inputs.is_floating_point() if isinstance(
            inputs, torch.Tensor) else any(
                t.is_floating_point() for t in inputs))
        out = super().forward(data, training)
        if floating:
            paths = [(s.metainfo.get('img_path'), s.metainfo.get('sample_idx'))
                     for s in (out['data_samples'] or [])]
            if isinstance(out['inputs'], torch.Tensor):
                out['inputs'] = self._guard(out['inputs'], paths)
            else:
                out['inputs'] = [
                    self._guard(x, paths) for x in out['inputs']
                ]
        return out

    # ---------------------------------------------------- device decoding
    def decode_batch(self, data):
        """Decode a device-decode batch in place; other batches are left
        as they are.

        ``data['inputs']`` becomes the uint8 [N, 3, H, W] batch on this
        module's device (what the worker path delivers, already moved) and
        ``data['data_samples']`` loses the files that failed, which go to
        ``data.bad_images``. ``BadImageHook`` calls this before the other
        hooks of the iteration read the batch (``InfoBatchHook`` sets
        per-sample weights from ``data_samples``); :meth:`forward` calls it
        too (a no-op then).

        Args:
            data (dict): A batch from ``rs_collate``.

        Returns:
            dict: ``data``.
        """
        inputs = data['inputs']
        if isinstance(inputs, EncodedBatch):
            x, samples = self._decode_batch(data, inputs,
                                            data['data_samples'])
            data['inputs'] = x.to(torch.uint8)  # exact: rounded, clipped
            data['data_samples'] = samples
        return data

    def _decode_jpegs(self, chunks, batch):
        """Decode the JPEG byte views; a failed file gives its reason."""
        from torchvision.io import ImageReadMode, decode_jpeg
        try:
            return decode_jpeg(chunks, mode=ImageReadMode.RGB,
                               device=self.device)
        except RuntimeError:
            pass  # one or more failed: find which, one by one
        out = []
        for k, chunk in enumerate(chunks):
            try:
                out.append(
                    decode_jpeg(chunk, mode=ImageReadMode.RGB,
                                device=self.device))
                continue
            except RuntimeError as e:
                device_error = f'{type(e).__name__}: {e}'.splitlines()[0]
            path = batch.img_paths[batch.encoded_pos[k]]
            try:  # the worker path's decoder and policy
                arr, _ = decode_rs_image(chunk.numpy().tobytes(), path)
            except CorruptImageError as e:
                out.append(f'{e.reason} (device decoder: {device_error})')
                continue
            out.append(
                torch.from_numpy(arr).permute(2, 0, 1).to(self.device))
        return out

    def _decode_batch(self, data, batch, data_samples):
        n = len(batch)
        crops = [None] * n
        failed = []
        mode, antialias = DEVICE_FILTERS[batch.interpolation]
        align = None if mode == 'nearest-exact' else False
        if batch.lengths:
            chunks = list(torch.split(batch.data, batch.lengths))
            imgs = self._decode_jpegs(chunks, batch)
            for k, pos in enumerate(batch.encoded_pos):
                img = imgs[k]
                if isinstance(img, str):
                    failed.append((pos, img))
                    continue
                if tuple(img.shape[1:]) != tuple(batch.stored_shapes[k]):
                    failed.append(
                        (pos, f'decoded size {tuple(img.shape[1:])} differs '
                         f'from the header size {batch.stored_shapes[k]}'))
                    continue
                top, left, h, w = batch.boxes[k]
                crop = img[None, :, top:top + h, left:left + w].float()
                crops[pos] = F.interpolate(
                    crop,
                    size=batch.out_size,
                    mode=mode,
                    antialias=antialias,
                    align_corners=align)[0]
        if batch.decoded is not None:
            dec = batch.decoded.to(
                self.device, non_blocking=self._non_blocking).float()
            for k, pos in enumerate(batch.decoded_pos):
                crops[pos] = dec[k]
        if failed:
            self._report_bad(data, batch, failed)
        keep = [i for i in range(n) if crops[i] is not None]
        if not keep:
            raise RuntimeError(
                'every image of a batch failed to decode on the device: ' +
                '; '.join(f'{batch.img_paths[p]} ({r})' for p, r in failed))
        for i in keep:
            direction = batch.flips[i]
            if direction == 'horizontal':
                crops[i] = crops[i].flip(-1)
            elif direction == 'vertical':
                crops[i] = crops[i].flip(-2)
            elif direction == 'diagonal':
                crops[i] = crops[i].flip(-2, -1)
        x = torch.stack([crops[i] for i in keep])
        x = x.round_().clamp_(0, 255)  # what PIL's uint8 result holds
        samples = [data_samples[i] for i in keep]
        samples = self.cast_data(samples)
        return x, samples

    def _report_bad(self, data, batch, failed):
        """Hand files the device could not decode to the bad-file policy:
        appended to the batch's ``bad_images`` for ``BadImageHook``."""
        markers = [
            BadImage(batch.img_paths[p], batch.sample_idx[p], reason)
            for p, reason in failed
        ]
        try:
            data.bad_images = list(getattr(data, 'bad_images', ())) + markers
        except AttributeError:  # a plain dict: no hook will see it
            for b in markers:
                print_log(
                    f'skipped unreadable image {b.img_path} (sample '
                    f'{b.sample_idx}): {b.reason}',
                    logger='current',
                    level=30)

    # --------------------------------------------------- finite guard
    def _guard(self, x, paths):
        finite = torch.isfinite(x)
        flags = ~finite.flatten(1).all(1)
        x = torch.where(finite, x, 0.0)
        if flags.is_cuda:
            host = torch.empty(
                flags.shape, dtype=torch.bool, pin_memory=True)
            host.copy_(flags, non_blocking=True)
            event = torch.cuda.Event()
            event.record()
        else:
            host, event = flags, None
        self._pending.append((host, event, paths))
        self._drain(block=False)
        return x

    def _drain(self, block):
        while self._pending:
            host, event, paths = self._pending[0]
            if event is not None and not event.query():
                if not block:
                    return
                event.synchronize()
            self._pending.popleft()
            idx = host.nonzero().flatten().tolist()
            if not idx:
                continue
            self.nonfinite_images += len(idx)
            names = [paths[i] if i < len(paths) else (None, None)
                     for i in idx]
            new = [(p, s) for p, s in names if (p, s) not in self._named]
            shown = new[:max(0, self.max_named - len(self._named))]
            self._named.update(shown)
            listed = ', '.join(f'{p} (sample {s})' for p, s in shown)
            print_log(
                f'non-finite input values replaced by 0 (the normalised '
                f'mean) in {len(idx)} image(s) of a batch'
                f'{": " + listed if listed else ""}; '
                f'{self.nonfinite_images} such images so far',
                logger='current',
                level=30)

    def flush_reports(self):
        """Wait for and log the pending non-finite reports (one host sync;
        called once per epoch by ``BadImageHook``)."""
        self._drain(block=True)

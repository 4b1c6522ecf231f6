"""Unlabelled remote-sensing image collections: OpticalRS-4M, OpticalRS-13M,
MillionAID.

Bad-file design
---------------
mmengine's ``BaseDataset.__getitem__`` replaces a sample whose pipeline
returns ``None`` by a random other one, the released SelectiveMAE loader
does the same on any exception: both put a duplicate in the epoch and hide
the problem. Here instead:

1. :func:`~selective_mae.datasets.image_io.read_rs_image` raises
   :class:`~selective_mae.datasets.image_io.CorruptImageError` for a file that
   exists but cannot be decoded (truncated, corrupt, not an image). Any other
   error (missing file, a bug in a transform) propagates and stops training.
2. :meth:`RS4M.__getitem__` catches only that error and returns a
   :class:`BadImage` marker for the same index; it never fetches another
   index. A pipeline returning ``None`` raises.
3. The collate function :func:`rs_collate` (``collate_fn=dict(type=
   'rs_collate')``) drops the markers, collates the rest with mmengine's
   ``default_collate`` and attaches the dropped files to the batch as
   ``batch.bad_images``. The batch is one sample shorter per bad file; no
   sample appears twice in an epoch.
4. :class:`~selective_mae.engine.hooks.BadImageHook` (main process) names
   each bad file once in the log and prints a per-epoch summary (summed over
   ranks).

Index
-----
Without a list file, the image tree under ``data_prefix`` is scanned once (any
depth, following symlinked folders once) with a progress bar, and the sorted
relative paths are written to an index file, reused afterwards:
``<img root>/.rs4m_index.txt`` when that folder is writable, else
``<index_dir>/rs4m_index_<hash of the root>.txt``, where ``index_dir``
defaults to the current run's work dir (found through mmengine's current
logger) or ``~/.cache/selective_mae``. ``rebuild_index=True`` rescans. Under
distributed training rank 0 builds the index while the others wait. The
scan and the index are :mod:`selective_mae.datasets.file_index`.

Storage backends
----------------
``backend_args`` (as in every OpenMMLab data set) selects the
``mmengine.fileio`` backend for the list file, the scan and the index; give
the loading transform the same ``backend_args`` for the images. On a backend
other than the local disk the scan uses the backend's ``list_dir_or_file``
(petrel has it; HTTP and LMDB do not: give an ``ann_file`` there), and the
index is only ever written locally, to ``index_dir``, never beside the data.
Bad files are handled the same way on every backend.
"""
import os.path as osp
import posixpath
from typing import NamedTuple

from mmengine import fileio
from mmengine.dataset import BaseDataset, default_collate
from mmengine.registry import FUNCTIONS
from mmengine.utils import is_abs
from mmpretrain.registry import DATASETS, TRANSFORMS

from .encoded import EncodedImage, collate_encoded
from .file_index import (IMG_EXTENSIONS, ImageIndex, is_local,
                         lower_extensions)
from .image_io import CorruptImageError


class BadImage(NamedTuple):
    """Marker a data set returns in place of an undecodable sample.

    Attributes:
        img_path (str): The file.
        sample_idx (int): Its index in the data set.
        reason (str): The decoder's message.
    """
    img_path: str
    sample_idx: int
    reason: str


class RSBatch(dict):
    """A collated batch (``inputs``, ``data_samples``) plus the files that
    were dropped from it, as ``bad_images`` (list of :class:`BadImage`).

    The extra information is an attribute, not a key, so data
    preprocessors that unpack the batch's values see only the usual two.
    """
    bad_images = ()


@FUNCTIONS.register_module()
def rs_collate(data_batch):
    """Collate a batch, dropping :class:`BadImage` markers.

    Samples of the device decode path (``inputs`` an
    :class:`~selective_mae.datasets.encoded.EncodedImage`) are collated into
    an :class:`~selective_mae.datasets.encoded.EncodedBatch` instead; the
    data preprocessor decodes it and adds the files the device cannot decode
    to ``bad_images``.

    Args:
        data_batch (list[dict | BadImage]): Samples from the data set.

    Returns:
        RSBatch: ``default_collate`` of the good samples, with the dropped
        markers in ``bad_images`` (a list).

    Raises:
        RuntimeError: No sample of the batch could be decoded.
    """
    good = [d for d in data_batch if not isinstance(d, BadImage)]
    bad = [d for d in data_batch if isinstance(d, BadImage)]
    if not good:
        raise RuntimeError('every image of a batch failed to decode: ' +
                           '; '.join(f'{b.img_path} ({b.reason})'
                                     for b in bad))
    if isinstance(good[0].get('inputs'), EncodedImage):
        batch = RSBatch(collate_encoded(good))
    else:
        batch = RSBatch(default_collate(good))
    batch.bad_images = bad
    return batch


@DATASETS.register_module()
class RS4M(BaseDataset):
    """Unlabelled remote-sensing images for self-supervised pretraining.

    Covers OpticalRS-4M (the default), OpticalRS-13M and MillionAID: they
    differ only in where the files are, which ``variant`` records in the
    meta information. Images come from a list file (``ann_file``, one path
    per line relative to the image root, ``#`` comments allowed) or from a
    scan of the image root, cached in an index file (see the module
    docstring). Keeps mmengine's ``BaseDataset`` behaviour (``lazy_init``,
    ``serialize_data``, ``indices``, ``sample_idx`` in every sample) except
    that an undecodable image gives a :class:`BadImage` marker instead of a
    random other sample.

    Args:
        data_root (str): Root folder of the data set.
        ann_file (str): Optional list file, relative to ``data_root``.
        data_prefix (str | dict): Image root relative to ``data_root``
            (``dict(img_path=...)`` as mmengine, or a string).
        variant (str): 'OpticalRS-4M', 'OpticalRS-13M' or 'MillionAID'.
        extensions (tuple[str]): Image extensions to index.
        index_dir (str, optional): Where the index goes when the image root
            is not writable (or not on the local disk). Defaults to the run's
            work dir.
        rebuild_index (bool): Rescan even if an index exists.
        backend_args (dict, optional): mmengine storage backend arguments
            for the list file, the scan and the index (see the module
            docstring). Defaults to None: the backend of the path's prefix,
            local disk for plain paths.
        **kwargs: Other ``BaseDataset`` arguments (``pipeline``,
            ``lazy_init``, ``indices``, ``serialize_data``, ...).
    """
    VARIANTS = ('OpticalRS-4M', 'OpticalRS-13M', 'MillionAID')

    def __init__(self,
                 data_root='',
                 ann_file='',
                 data_prefix='',
                 variant='OpticalRS-4M',
                 extensions=IMG_EXTENSIONS,
                 index_dir=None,
                 rebuild_index=False,
                 backend_args=None,
                 **kwargs):
        if variant not in self.VARIANTS:
            raise ValueError(f'RS4M variant must be one of {self.VARIANTS}, '
                             f'got {variant!r}')
        if isinstance(data_prefix, str):
            data_prefix = dict(img_path=data_prefix)
        self.extensions = lower_extensions(extensions)
        self.index_dir = index_dir
        self.rebuild_index = rebuild_index
        self.backend_args = None if backend_args is None else dict(
            backend_args)
        self.index_file = None
        self.variant = variant
        # Transforms are looked up in mmpretrain's registry (and its
        # parents), whatever the current default scope, as mmpretrain's own
        # data sets do.
        kwargs['pipeline'] = [
            TRANSFORMS.build(t) if isinstance(t, dict) else t
            for t in kwargs.get('pipeline', [])
        ]
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            data_prefix=data_prefix,
            **kwargs)
        self._metainfo['variant'] = variant

    def _join(self, root, rel):
        """``mmengine.fileio.join_path``, or a '/' join for a backend that
        has none (the minimal backend implements only ``get`` and
        ``get_text``)."""
        try:
            return fileio.join_path(root, rel, backend_args=self.backend_args)
        except (AttributeError, NotImplementedError):
            return posixpath.join(root, rel)

    def _join_prefix(self):
        """As mmengine's, through the data set's ``backend_args``."""
        if self.ann_file and not is_abs(self.ann_file) and self.data_root:
            self.ann_file = self._join(self.data_root, self.ann_file)
        for key, prefix in self.data_prefix.items():
            if not isinstance(prefix, str):
                raise TypeError(f'prefix should be a string, but got '
                                f'{type(prefix)}')
            if not is_abs(prefix) and self.data_root:
                self.data_prefix[key] = self._join(self.data_root, prefix)

    @property
    def img_root(self):
        """str: Folder the relative image paths start from."""
        return self.data_prefix.get('img_path', '') or self.data_root

    def load_data_list(self):
        """Image paths from the list file or the (cached) folder scan.

        Returns:
            list[dict]: ``dict(img_path=...)`` per image.
        """
        root = self.img_root
        if self.ann_file:
            rel_paths = self._read_list_file(self.ann_file)
        else:
            if is_local(root, self.backend_args) and not osp.isdir(root):
                raise FileNotFoundError(
                    f'RS4M image root {root!r} (data_root={self.data_root!r}'
                    f', data_prefix={self.data_prefix!r}) is not a folder')
            rel_paths = self._load_or_build_index(root)
        if not rel_paths:
            src = self.ann_file or root
            raise ValueError(f'RS4M found no images in {src!r} '
                             f'(extensions {self.extensions})')
        return [dict(img_path=osp.join(root, p)) for p in rel_paths]

    def _read_list_file(self, path):
        text = fileio.get_text(path, backend_args=self.backend_args)
        lines = [ln.strip() for ln in text.splitlines()]
        return [ln for ln in lines if ln and not ln.startswith('#')]

    def _load_or_build_index(self, root):
        index = ImageIndex(
            root,
            self.extensions,
            backend_args=self.backend_args,
            index_dir=self.index_dir)
        rel_paths = index.load(rebuild=self.rebuild_index)
        self.index_file = index.index_file
        return rel_paths

    def __getitem__(self, idx):
        """The ``idx``-th sample after the pipeline, or a marker.

        Args:
            idx (int): Sample index.

        Returns:
            dict | BadImage: The pipeline output, or a :class:`BadImage`
            for this same index when its file cannot be decoded.
        """
        if not self._fully_initialized:
            self.full_init()
        try:
            data = self.prepare_data(idx)
        except CorruptImageError as e:
            info = self.get_data_info(idx)
            return BadImage(e.path, info['sample_idx'], e.reason)
        if data is None:
            raise RuntimeError(
                f'the pipeline returned None for {self.get_data_info(idx)}; '
                'RS4M never substitutes another sample, so transforms must '
                'not drop samples')
        return data

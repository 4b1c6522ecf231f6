"""The k-NN probe: frozen ViT features of a labelled set, split into a
memory bank and queries, classified by :mod:`selective_mae.evaluation.knn`.

Used by :class:`~selective_mae.engine.hooks.KNNEvalHook` during pretraining
and by ``tools/analysis_tools/knn_eval.py`` on any checkpoint. Features are
those of the backbone on whole images (no masking, no token selection):
the final-layer [cls] token (``cls``) and the mean of the patch tokens
(``avg``), both reported.
"""
import math
import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from ..utils.rng import preserved_rng_state
from .knn import knn_accuracy

FEATURE_NAMES = ('cls', 'avg')


def unwrap_model(model):
    """The model inside a DDP / mmengine wrapper."""
    from mmengine.model import is_model_wrapper
    return model.module if is_model_wrapper(model) else model


def backbone_image_size(backbone) -> Tuple[int, int]:
    """(H, W) of the images the ViT backbone was built for."""
    grid = tuple(getattr(backbone, 'patch_resolution', None)
                 or backbone.patch_embed.init_out_size)
    kernel = tuple(backbone.patch_embed.projection.kernel_size)
    return grid[0] * kernel[0], grid[1] * kernel[1]


@torch.no_grad()
def vit_features(backbone, inputs: torch.Tensor) -> Dict[str, torch.Tensor]:
    """Final-layer features of mmpretrain ``VisionTransformer`` (or a
    subclass: ``MAEViT``, ``SelectiveMAEViT``) on whole images.

    The plain ``VisionTransformer`` forward is run (so a subclass's masking
    is bypassed) with every token of the last layer returned, whatever the
    backbone's own ``out_type`` / ``out_indices``.

    Args:
        backbone (nn.Module): The ViT.
        inputs (torch.Tensor): Normalised images [B, 3, H, W].

    Returns:
        dict[str, torch.Tensor]: ``avg`` (mean of the patch tokens) [B, D]
        and, if the ViT has a [cls] token, ``cls`` [B, D].
    """
    from mmpretrain.models import VisionTransformer
    if not isinstance(backbone, VisionTransformer):
        raise TypeError(
            'the k-NN probe reads features of an mmpretrain '
            f'VisionTransformer (or subclass), got {type(backbone).__name__}')
    saved = backbone.out_type, backbone.out_indices
    backbone.out_type = 'raw'
    backbone.out_indices = [backbone.num_layers - 1]
    try:
        tokens = VisionTransformer.forward(backbone, inputs)[-1]
    finally:
        backbone.out_type, backbone.out_indices = saved
    feats = dict(avg=tokens[:, backbone.num_extra_tokens:].mean(1))
    if getattr(backbone, 'cls_token', None) is not None:
        feats['cls'] = tokens[:, 0]
    return feats


class _Items(torch.utils.data.Dataset):
    """(data set, index) pairs as one sequence."""

    def __init__(self, datasets, items):
        self.datasets = datasets
        self.items = items

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        which, idx = self.items[i]
        return self.datasets[which][idx]


def _labels(dataset) -> np.ndarray:
    if hasattr(dataset, 'get_gt_labels'):
        return np.asarray(dataset.get_gt_labels(), dtype=np.int64)
    return np.asarray(
        [int(dataset.get_data_info(i)['gt_label'])
         for i in range(len(dataset))], dtype=np.int64)


def _classes(dataset, labels) -> Optional[tuple]:
    classes = getattr(dataset, 'metainfo', {}).get('classes')
    return tuple(classes) if classes else None


class KNNProbe:
    """A labelled set, its bank/query split and the k-NN evaluation.

    Give either ``dataset`` (split into bank and queries here, per class) or
    both ``bank`` and ``query`` (e.g. the train and test split of a scene
    classification config). Data sets are any mmpretrain classification
    data set configs (``CustomDataset`` on a folder of class folders or a
    list file, ``AID``, ``NWPURESISC45``, ...); without a ``pipeline`` they
    get the probe's own: load, resize the shorter side to the model's image
    size, centre crop, pack.

    Args:
        dataset (dict, optional): One labelled data set to split.
        bank (dict, optional): The memory-bank data set.
        query (dict, optional): The query data set.
        query_ratio (float): Share of each class of ``dataset`` used as
            queries. Defaults to 0.5.
        split_seed (int): Seed of that split (and of ``max_per_class``
            subsampling); a local generator, no global state. Defaults to 0.
        max_per_class (int, optional): At most this many images per class in
            the bank and in the queries (a time budget on big sets).
        pipeline (list[dict], optional): Pipeline for data sets that have
            none.
        batch_size (int): Images per forward. Defaults to 64.
        num_workers (int): Loader workers. Defaults to 2.
        k (int): Neighbours. Defaults to 20.
        temperature (float): Vote temperature. Defaults to 0.07.
        topk (Sequence[int]): Accuracies reported. Defaults to (1, 5).
    """

    def __init__(self,
                 dataset: Optional[dict] = None,
                 bank: Optional[dict] = None,
                 query: Optional[dict] = None,
                 query_ratio: float = 0.5,
                 split_seed: int = 0,
                 max_per_class: Optional[int] = None,
                 pipeline: Optional[List[dict]] = None,
                 batch_size: int = 64,
                 num_workers: int = 2,
                 k: int = 20,
                 temperature: float = 0.07,
                 topk: Sequence[int] = (1, 5)):
        if (dataset is None) == (bank is None and query is None) or \
                (dataset is None and (bank is None or query is None)):
            raise ValueError(
                'KNNProbe: give either `dataset` (split into bank and '
                'queries) or both `bank` and `query`')
        if not 0 < query_ratio < 1:
            raise ValueError(
                f'KNNProbe: query_ratio must be in (0, 1), got {query_ratio}')
        if max_per_class is not None and max_per_class < 1:
            raise ValueError('KNNProbe: max_per_class must be >= 1, got '
                             f'{max_per_class}')
        self.dataset_cfgs = ([dataset] if dataset is not None else
                             [bank, query])
        self.query_ratio = query_ratio
        self.split_seed = split_seed
        self.max_per_class = max_per_class
        self.pipeline = pipeline
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.k = k
        self.temperature = temperature
        self.topk = tuple(topk)
        self.datasets = None

    # ---------------------------------------------------------------- data
    @staticmethod
    def default_pipeline(img_size, load: str = 'LoadRSImage') -> List[dict]:
        """Load, resize the shorter side to ``img_size``, centre crop, pack.

        Args:
            img_size (int | tuple[int, int]): (H, W) of the model.
            load (str): The loading transform: ``'LoadRSImage'`` (RGB, what
                our pretraining pipelines give) or ``'LoadImageFromFile'``
                (BGR, mmpretrain's); use the one of the training pipeline so
                the model's data preprocessor sees the same channel order.
        """
        h, w = (img_size, img_size) if isinstance(img_size, int) else img_size
        return [
            dict(type=load),
            dict(type='ResizeEdge', scale=min(h, w), edge='short',
                 backend='pillow', interpolation='bicubic'),
            dict(type='CenterCrop', crop_size=(w, h)),
            dict(type='PackInputs'),
        ]

    def _per_class(self, labels, rng, cap):
        """Indices grouped by class, each group shuffled and capped."""
        groups = {}
        for c in np.unique(labels):
            idx = np.flatnonzero(labels == c)
            groups[int(c)] = rng.permutation(idx)[:cap]
        return groups

    def build(self, img_size=None, load: str = 'LoadRSImage') -> 'KNNProbe':
        """Build the data sets and the bank/query split (once).

        Args:
            img_size (int | tuple, optional): For the default pipeline.
            load (str): Loading transform of the default pipeline.

        Returns:
            KNNProbe: self.
        """
        if self.datasets is not None:
            return self
        from mmengine.registry import init_default_scope
        from mmpretrain.registry import DATASETS
        init_default_scope('mmpretrain')
        datasets = []
        for cfg in self.dataset_cfgs:
            cfg = dict(cfg)
            if cfg.get('pipeline') is None:
                if self.pipeline is not None:
                    cfg['pipeline'] = self.pipeline
                elif img_size is None:
                    raise ValueError('KNNProbe.build: the data set config has '
                                     'no pipeline; give img_size for the '
                                     'default one')
                else:
                    cfg['pipeline'] = self.default_pipeline(img_size, load)
            try:
                datasets.append(DATASETS.build(cfg))
            except (FileNotFoundError, AssertionError, ValueError) as e:
                root = cfg.get('data_root') or cfg.get('data_prefix')
                raise FileNotFoundError(
                    f'k-NN probe: cannot build its data set {cfg["type"]} '
                    f'(data_root={root!r}): {e}\nCreate it (the demo: python '
                    'tools/dataset/make_demo_data.py data/demo_rs --labelled '
                    'data/demo_rs_labelled), point the probe at it '
                    '(--cfg-options custom_hooks.<i>.probe.dataset.'
                    'data_root=DIR) or remove the KNNEvalHook from '
                    'custom_hooks') from e
        labels = [_labels(d) for d in datasets]
        classes = [_classes(d, lb) for d, lb in zip(datasets, labels)]
        if len(datasets) == 2 and None not in classes and \
                classes[0] != classes[1]:
            raise ValueError(
                f'KNNProbe: bank classes {classes[0]} differ from query '
                f'classes {classes[1]}')
        self.classes = classes[0]
        self.num_classes = (len(self.classes) if self.classes else
                            int(max(lb.max() for lb in labels if lb.size)) +
                            1)
        rng = np.random.default_rng(self.split_seed)
        if len(datasets) == 1:
            bank, query = [], []
            for c, idx in self._per_class(labels[0], rng, None).items():
                if len(idx) < 2:
                    raise ValueError(
                        f'KNNProbe: class {c} has {len(idx)} image(s); a '
                        'split into bank and queries needs at least 2')
                n_query = min(max(1, round(len(idx) * self.query_ratio)),
                              len(idx) - 1)
                query.append(idx[:n_query][:self.max_per_class])
                bank.append(idx[n_query:][:self.max_per_class])
            bank_items = [(0, int(i)) for i in np.sort(np.concatenate(bank))]
            query_items = [(0, int(i))
                           for i in np.sort(np.concatenate(query))]
        else:
            bank_items, query_items = [
                [(which, int(i)) for i in np.sort(
                    np.concatenate(list(
                        self._per_class(labels[which], rng,
                                        self.max_per_class).values())))]
                for which in (0, 1)
            ]
        if not self.k <= len(bank_items):
            raise ValueError(
                f'KNNProbe: k={self.k} neighbours but the memory bank has '
                f'{len(bank_items)} images; lower k or use more data')
        self.datasets = datasets
        self.items = bank_items + query_items
        self.num_bank = len(bank_items)
        self.labels = torch.from_numpy(
            np.array([labels[w][i] for w, i in self.items], dtype=np.int64))
        return self

    # ------------------------------------------------------------ features
    def _shard(self) -> Tuple[int, int, int]:
        """(start, end, rows per rank) of this rank's contiguous share."""
        from mmengine.dist import get_dist_info
        rank, world = get_dist_info()
        per = math.ceil(len(self.items) / world)
        start = min(rank * per, len(self.items))
        return start, min(start + per, len(self.items)), per

    @torch.no_grad()
    def extract(self, model) -> Dict[str, torch.Tensor]:
        """Features of every bank and query image (all ranks, gathered).

        Each rank extracts a contiguous share of the images; the shares are
        gathered in one collective call. Every rank returns the same
        tensors.

        Args:
            model (nn.Module): A model with ``backbone`` (a ViT) and
                ``data_preprocessor``, possibly wrapped; or a bare ViT (then
                the images are only scaled by the pipeline).

        Returns:
            dict[str, torch.Tensor]: Per feature name, [N, D] in item order
            (bank first, then queries).
        """
        from mmengine.dataset import default_collate
        from mmengine.dist import all_gather, get_world_size
        model = unwrap_model(model)
        backbone = getattr(model, 'backbone', model)
        preprocess = getattr(model, 'data_preprocessor', None)
        device = next(backbone.parameters()).device
        start, end, per = self._shard()
        loader = torch.utils.data.DataLoader(
            _Items(self.datasets, self.items[start:end]),
            batch_size=self.batch_size,
            shuffle=False,
            num_workers=self.num_workers,
            collate_fn=default_collate)
        chunks = []
        for batch in loader:
            if preprocess is not None:
                inputs = preprocess(batch, False)['inputs']
            else:
                inputs = torch.stack(list(batch['inputs'])).float()
            if isinstance(inputs, (list, tuple)):  # multi-view preprocessors
                inputs = inputs[0]
            feats = vit_features(backbone, inputs.to(device))
            chunks.append(torch.cat([feats[n] for n in self.feature_names],
                                    1).float())
        width = len(self.feature_names) * backbone.embed_dims
        local = (torch.cat(chunks) if chunks else torch.zeros(
            0, width, device=device))
        if get_world_size() > 1:
            padded = local.new_zeros(per, width)
            padded[:local.shape[0]] = local
            local = torch.cat(all_gather(padded))[:len(self.items)]
        return dict(zip(self.feature_names, local.split(
            backbone.embed_dims, dim=1)))

    # ------------------------------------------------------------ evaluate
    def evaluate(self, model) -> Dict[str, float]:
        """k-NN accuracies of the model's frozen features.

        The model is put in eval mode for the extraction and every module
        gets its own training flag back afterwards; no global random state
        changes (:func:`~selective_mae.utils.rng.preserved_rng_state`).

        Args:
            model (nn.Module): See :meth:`extract`.

        Returns:
            dict[str, float]: ``cls_top1``, ``cls_top5``, ``avg_top1``,
            ``avg_top5`` (percent; top-5 only with more than 5 classes,
            ``cls_*`` only for a ViT with a [cls] token), ``time`` (seconds,
            all of it), ``extract_time``.
        """
        if self.datasets is None:
            raise RuntimeError('KNNProbe.evaluate before build()')
        t0 = time.perf_counter()
        inner = unwrap_model(model)
        backbone = getattr(inner, 'backbone', inner)
        self.feature_names = tuple(
            n for n in FEATURE_NAMES
            if n != 'cls' or getattr(backbone, 'cls_token', None) is not None)
        flags = [(m, m.training) for m in model.modules()]
        model.eval()
        try:
            with preserved_rng_state():
                feats = self.extract(model)
        finally:
            for m, flag in flags:
                m.training = flag
        t1 = time.perf_counter()
        labels = self.labels.to(next(iter(feats.values())).device)
        nb = self.num_bank
        metrics = {}
        for name, f in feats.items():
            acc = knn_accuracy(f[:nb], labels[:nb], f[nb:], labels[nb:],
                               self.num_classes, self.k, self.temperature,
                               self.topk)
            metrics.update({f'{name}_{k}': v for k, v in acc.items()})
        metrics['extract_time'] = t1 - t0
        metrics['time'] = time.perf_counter() - t0
        return metrics

    def __repr__(self):
        built = (f'{self.num_bank} bank / {len(self.items) - self.num_bank} '
                 f'queries, {self.num_classes} classes'
                 if self.datasets is not None else 'not built')
        return (f'KNNProbe({built}, k={self.k}, T={self.temperature}, '
                f'batch_size={self.batch_size})')


# ------------------------------------------------------------------ configs
def probe_of_config(cfg) -> Optional[dict]:
    """The ``probe`` of the config's ``KNNEvalHook``, or None."""
    for hook in cfg.get('custom_hooks') or []:
        if hook.get('type') == 'KNNEvalHook':
            return dict(hook['probe'])
    return None


def load_transform_of(cfg) -> str:
    """The loading transform of the config's training pipeline's kind:
    ``'LoadImageFromFile'`` (BGR) if it uses that, else ``'LoadRSImage'``
    (RGB, our pretraining loaders)."""
    try:
        first = cfg.train_dataloader.dataset.pipeline[0]['type']
    except (AttributeError, KeyError, IndexError, TypeError):
        return 'LoadRSImage'
    return 'LoadImageFromFile' if first == 'LoadImageFromFile' \
        else 'LoadRSImage'


def build_probe_model(cfg, checkpoint=None, device='cpu', seed=0):
    """The config's model, initialised (seeded), with a checkpoint's encoder.

    Args:
        cfg (Config): A config with ``model`` (and maybe a top-level
            ``data_preprocessor``).
        checkpoint (str | dict, optional): Any ViT checkpoint layout (ours,
            stock mmpretrain, released, timm; see
            :func:`~selective_mae.checkpoint.
            load_vit_backbone_weights`), loaded strictly into the backbone;
            None or ``'none'`` keeps the initialisation.
        device (str): Device.
        seed (int): Seed of the initialisation.

    Returns:
        nn.Module: The model in eval mode.
    """
    import copy

    from mmengine.registry import init_default_scope
    from mmengine.runner import set_random_seed
    from mmpretrain.registry import MODELS

    from ..checkpoint import load_vit_backbone_weights
    init_default_scope('mmpretrain')
    model_cfg = copy.deepcopy(cfg.model)
    if model_cfg.get('data_preprocessor') is None and \
            cfg.get('data_preprocessor') is not None:
        model_cfg['data_preprocessor'] = cfg.data_preprocessor
    set_random_seed(seed)
    model = MODELS.build(model_cfg)
    model.init_weights()
    if checkpoint is not None and not (isinstance(checkpoint, str)
                                       and checkpoint.lower() == 'none'):
        if not hasattr(model, 'backbone'):
            raise ValueError(f'{type(model).__name__} has no backbone to '
                             'load a checkpoint into')
        load_vit_backbone_weights(model.backbone, checkpoint, strict=True)
    return model.to(torch.device(device)).eval()

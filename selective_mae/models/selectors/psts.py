"""Progressive Semantic Token Selection (PSTS).

Which patches the encoder sees and which ones the decoder reconstructs:
richness-weighted seeds, expanded in rounds by embedding similarity along a
curriculum (near -> far -> random) over training progress ``t`` in [0, 1].
"""
import math
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmpretrain.registry import MODELS
from ..utils.keyed_random import keyed_uniform
from ..utils.patchify import gather_tokens
from .hog_richness import HOGRichness  # noqa: F401


@MODELS.register_module()
class PSTS(BaseModule):
    """Choose visible tokens and reconstruction targets for SelectiveMAE.

    With L patches, ``n_vis = int(L * (1 - mask_ratio))`` visible tokens and
    ``n_rec = int(L * recon_ratio)`` targets (the formulas of MAE and of the
    released code; at 224 px, patch 16, the defaults give 29 and 49):

    1. ``n_seed = n_vis // 2`` seeds (at least 1) are drawn without
       replacement from ``p = softmax(scorer(imgs))``.
    2. The other ``n_vis - n_seed`` tokens are added in ``num_rounds``
       rounds of near-equal size (earlier rounds take the remainder). In a
       round, every unselected token's similarity is its maximum cosine
       similarity (patch embeddings, no gradient) to the tokens selected
       before the round; ``near`` takes the most similar, ``far`` the least
       similar, ``random`` uniformly random unselected tokens.
    3. ``n_rec`` targets are chosen among the non-visible tokens: drawn
       from ``p`` restricted to them (``target_mode='sample'``) or the
       highest-scoring ones (``'topk'``).

    Curriculum. ``curriculum_modes`` ``(m0, m1, ..., mn)`` and
    ``curriculum_bounds`` ``(b0, b1, ..., b_{2n-1})``: mode ``m0`` is used
    while ``t < b0``; for ``b0 <= t < b1`` a round takes
    ``round(w * k)`` of its ``k`` tokens by ``m1`` and the rest by ``m0``,
    with ``w = (t - b0) / (b1 - b0)``; ``m1`` alone until ``b2``; and so
    on; the last mode after the last bound. The defaults (near until 0.35,
    blend to far until 0.375, far until 0.725, blend to random until 0.75,
    random after) are the released 800-epoch schedule as fractions of
    training. ``t`` is set by :class:`PSTSProgressHook` every iteration.

    All selection is batched tensor code (top-k over Gumbel-perturbed
    logits); sizes depend only on L and ``t``, so there is no host sync.
    Only the similarity columns a round needs are computed (the tokens
    added since the previous round, [B, L, n] each), none at all once every
    round is ``random``; ties among equal ``topk`` target scores are broken
    at random. The forward runs eagerly under ``torch.compile`` (its sizes
    follow the curriculum): only the encoder and decoder are compiled.

    Args:
        mask_ratio (float): Share of patches not encoded. Defaults to 0.85.
        recon_ratio (float): Share of all patches reconstructed.
            Defaults to 0.25.
        num_rounds (int): Expansion rounds K. Defaults to 2.
        curriculum_modes (Sequence[str]): Modes in training order, each of
            ``'near'``, ``'far'``, ``'random'``.
            Defaults to ``('near', 'far', 'random')``.
        curriculum_bounds (Sequence[float]): ``2 * (len(modes) - 1)``
            non-decreasing fractions of training in [0, 1].
            Defaults to ``(0.35, 0.375, 0.725, 0.75)``.
        target_mode (str): ``'sample'`` or ``'topk'``. Defaults to
            ``'sample'``.
        scorer (dict): Config of the richness scorer, e.g.
            ``dict(type='HOGRichness', score='hog', temperature=1.0)``.
        init_cfg (dict, optional): Unused; no parameters.
    """

    MODES = ('near', 'far', 'random')
    TARGET_MODES = ('sample', 'topk')

    def __init__(self,
                 mask_ratio: float = 0.85,
                 recon_ratio: float = 0.25,
                 num_rounds: int = 2,
                 curriculum_modes: Sequence[str] = ('near', 'far', 'random'),
                 curriculum_bounds: Sequence[float] = (0.35, 0.375, 0.725,
                                                       0.75),
                 target_mode: str = 'sample',
                 scorer: dict = dict(type='HOGRichness'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not 0 < mask_ratio < 1:
            raise ValueError(f'PSTS mask_ratio must be in (0, 1), got '
                             f'{mask_ratio}')
        if not 0 < recon_ratio <= mask_ratio:
            raise ValueError(f'PSTS recon_ratio must be in (0, mask_ratio='
                             f'{mask_ratio}], got {recon_ratio}')
        if int(num_rounds) < 1:
            raise ValueError(f'PSTS num_rounds must be >= 1, got {num_rounds}')
        modes, bounds = tuple(curriculum_modes), tuple(
            float(b) for b in curriculum_bounds)
        bad = [m for m in modes if m not in self.MODES]
        if not modes or bad:
            raise ValueError(f'PSTS curriculum_modes={modes!r}: each must be '
                             f'one of {self.MODES}')
        if len(bounds) != 2 * (len(modes) - 1) or any(
                not 0 <= a <= b <= 1
                for a, b in zip(bounds, bounds[1:] + (1., ))):
            raise ValueError(
                f'PSTS curriculum_bounds={bounds!r} must hold '
                f'{2 * (len(modes) - 1)} non-decreasing values in [0, 1] '
                f'for curriculum_modes={modes!r}')
        if target_mode not in self.TARGET_MODES:
            raise ValueError(f'PSTS target_mode={target_mode!r} is not one '
                             f'of {self.TARGET_MODES}')
        self.mask_ratio = float(mask_ratio)
        self.recon_ratio = float(recon_ratio)
        self.num_rounds = int(num_rounds)
        self.curriculum_modes = modes
        self.curriculum_bounds = bounds
        self.target_mode = target_mode
        self.scorer = MODELS.build(scorer)
        self._progress = 0.
        self.progress_set = False  # whether anything ever set the progress
        self._noise_key = None  # (seed, step): keyed draws, see _uniform
        self._sample_ids = None
        self._draws = 0

    @property
    def progress(self) -> float:
        """Training progress t in [0, 1] that drives the curriculum."""
        return self._progress

    def set_progress(self, t: float) -> None:
        """Set the training progress (called by :class:`PSTSProgressHook`).

        Args:
            t (float): Fraction of training done, in [0, 1].
        """
        t = float(t)
        if not 0. <= t <= 1.:
            raise ValueError(f'PSTS progress must be in [0, 1], got {t}')
        self._progress = t
        self.progress_set = True

    def set_noise_key(self, seed: int, step: int) -> None:
        """Key the random draws of the next forwards by ``(seed, step)``
        and each image's ``sample_ids`` (set by :class:`PSTSProgressHook`
        every iteration): an image gets the same draws whatever its batch,
        rank or position, so 1 and 2 processes select alike, and a resumed
        run selects as the uninterrupted one."""
        self._noise_key = (int(seed), int(step))

    def _uniform(self, like: torch.Tensor) -> torch.Tensor:
        """Uniform noise of the shape of ``like`` ([B, L]), float32; every
        random draw of PSTS is made here. Keyed by (seed, step, stream,
        sample id) when a key and the batch's sample ids are known, else
        from torch's generator."""
        if self._noise_key is None or self._sample_ids is None:
            return torch.rand(like.shape, device=like.device)
        self._draws += 1
        return keyed_uniform(like.shape, *self._noise_key,
                             self._sample_ids.to(like.device), self._draws)

    def _gumbel(self, like: torch.Tensor) -> torch.Tensor:
        """Standard Gumbel noise (finite: u >= the smallest normal)."""
        u = self._uniform(like).clamp_min_(torch.finfo(torch.float32).tiny)
        return -(-u.log()).log()

    def num_tokens(self, num_patches: int) -> Tuple[int, int, int]:
        """Token counts for an image of ``num_patches`` patches.

        Args:
            num_patches (int): L.

        Returns:
            tuple[int, int, int]: ``(n_vis, n_seed, n_rec)``.
        """
        L = int(num_patches)
        n_vis = int(L * (1 - self.mask_ratio))
        n_rec = int(L * self.recon_ratio)
        if n_vis < 1 or n_rec < 1 or n_vis + n_rec > L:
            raise ValueError(
                f'PSTS: {L} patches with mask_ratio={self.mask_ratio}, '
                f'recon_ratio={self.recon_ratio} give {n_vis} visible and '
                f'{n_rec} target tokens; need >= 1 of each and at most {L} '
                'in all (use a larger image or other ratios)')
        return n_vis, max(n_vis // 2, 1), n_rec

    def round_sizes(self, num_patches: int) -> Tuple[int, ...]:
        """Number of tokens added in each expansion round (zeros dropped)."""
        n_vis, n_seed, _ = self.num_tokens(num_patches)
        q, r = divmod(n_vis - n_seed, self.num_rounds)
        sizes = [q + (i < r) for i in range(self.num_rounds)]
        return tuple(k for k in sizes if k > 0)

    def curriculum(self, t: Optional[float] = None) -> Tuple[str, str, float]:
        """Selection modes at progress ``t``.

        Args:
            t (float, optional): Progress; defaults to :attr:`progress`.

        Returns:
            tuple[str, str, float]: ``(mode_a, mode_b, w)``: a round takes
            ``round(w * k)`` of its k tokens by ``mode_b``, the rest by
            ``mode_a``.
        """
        t = self._progress if t is None else float(t)
        modes, bounds = self.curriculum_modes, self.curriculum_bounds
        for i in range(len(modes) - 1):
            hold_end, blend_end = bounds[2 * i], bounds[2 * i + 1]
            if t < hold_end:
                return modes[i], modes[i], 0.
            if t < blend_end:
                w = (t - hold_end) / (blend_end - hold_end)
                return modes[i], modes[i + 1], w
        return modes[-1], modes[-1], 0.

    def round_shares(self, k: int,
                     t: Optional[float] = None) -> Tuple[Tuple[str, int], ...]:
        """How the k tokens of one round split between the two modes.

        Args:
            k (int): Tokens added in the round.
            t (float, optional): Progress; defaults to :attr:`progress`.

        Returns:
            tuple: ``((mode_a, k_a), (mode_b, k_b))`` with
            ``k_b = round(w * k)`` (halves round up) and ``k_a = k - k_b``.
        """
        mode_a, mode_b, w = self.curriculum(t)
        k_b = int(math.floor(w * k + 0.5))
        return (mode_a, k - k_b), (mode_b, k_b)

    @torch.compiler.disable
    @torch.no_grad()
    def forward(self,
                imgs: torch.Tensor,
                tokens: torch.Tensor,
                patch_size: int,
                sample_ids: Optional[torch.Tensor] = None
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Select visible tokens and reconstruction targets.

        Args:
            imgs (torch.Tensor): Images of shape [B, C, H, W] (for the
                richness score).
            tokens (torch.Tensor): Patch embeddings of shape [B, L, D],
                row-major over the (H / p) x (W / p) grid.
            patch_size (int): Patch side p in pixels.
            sample_ids (torch.Tensor, optional): Long [B], the images'
                data set indices, for keyed draws (:meth:`set_noise_key`).

        Returns:
            tuple[torch.Tensor, torch.Tensor]:

            - ``ids_vis``: long [B, n_vis], seeds first, then the rounds in
              order; no index twice.
            - ``ids_rec``: long [B, n_rec], disjoint from ``ids_vis``.
        """
        logits = self.scorer(imgs, patch_size)  # [B, L]
        B, L = logits.shape
        if tokens.shape[:2] != (B, L):
            raise ValueError(f'PSTS: tokens of shape {tuple(tokens.shape)} '
                             f'do not match {L} patches of {B} images')
        _, n_seed, n_rec = self.num_tokens(L)
        neg_inf = torch.finfo(logits.dtype).min
        self._sample_ids, self._draws = sample_ids, 0

        ids_seed = (logits + self._gumbel(logits)).topk(n_seed, dim=1).indices
        selected = torch.zeros_like(logits, dtype=torch.bool)
        selected.scatter_(1, ids_seed, 1)
        chosen = [ids_seed]

        feats = sim = None
        pending = [ids_seed]  # selected, not yet in `sim`
        for shares in self.round_plan(L):
            if any(mode != 'random' for mode, _ in shares):
                # max cosine similarity to the tokens selected so far: the
                # columns of the ones added since the last update only; in
                # the all-random stage nothing is computed
                if feats is None:
                    feats = self._unit_embeddings(tokens)
                new = self._max_similarity(feats, torch.cat(pending, dim=1))
                sim = new if sim is None else torch.maximum(sim, new)
                pending = []
            for mode, n in shares:
                if mode == 'near':
                    key = sim
                elif mode == 'far':
                    key = -sim
                else:
                    key = self._uniform(logits)
                ids = key.masked_fill(selected, neg_inf).topk(n, dim=1).indices
                selected.scatter_(1, ids, 1)
                chosen.append(ids)
                pending.append(ids)
        ids_vis = torch.cat(chosen, dim=1)  # [B, n_vis]

        if self.target_mode == 'sample':
            key = logits + self._gumbel(logits)
            ids_rec = key.masked_fill(selected, neg_inf).topk(
                n_rec, dim=1).indices
        else:
            ids_rec = self._top_with_random_ties(logits, selected, n_rec)
        return ids_vis, ids_rec

    def round_plan(self, num_patches: int) -> Tuple[Tuple[Tuple[str, int],
                                                          ...], ...]:
        """The expansion rounds at the current progress: for each round,
        the ``(mode, n)`` pairs with ``n > 0`` in the order they are
        taken (python ints, fixed between curriculum changes)."""
        return tuple(
            tuple((m, n) for m, n in self.round_shares(k) if n > 0)
            for k in self.round_sizes(num_patches))

    @staticmethod
    def _unit_embeddings(tokens: torch.Tensor) -> torch.Tensor:
        """L2-normalised patch embeddings in float32 (even under autocast:
        bf16/fp16 similarities would tie and cannot hold float32 min)."""
        with torch.autocast(device_type=tokens.device.type, enabled=False):
            return F.normalize(tokens.detach().float(), dim=-1)

    @staticmethod
    def _max_similarity(feats: torch.Tensor,
                        ids: torch.Tensor) -> torch.Tensor:
        """Max cosine similarity of every token to the tokens ``ids``.

        Args:
            feats (torch.Tensor): Unit embeddings [B, L, D], float32.
            ids (torch.Tensor): Long [B, n].

        Returns:
            torch.Tensor: [B, L], float32 (only the n columns of the
            [B, L, L] similarity matrix that are needed are computed).
        """
        with torch.autocast(device_type=feats.device.type, enabled=False):
            picked = gather_tokens(feats, ids)  # [B, n, D]
            return torch.bmm(feats, picked.transpose(1, 2)).amax(-1)

    def _top_with_random_ties(self, logits: torch.Tensor,
                              selected: torch.Tensor, n: int) -> torch.Tensor:
        """Indices of the ``n`` highest logits among the unselected tokens,
        equal logits ordered at random (keyed draws, see :meth:`_uniform`):
        a flat image does not always get the first rows as targets."""
        order = self._uniform(logits).argsort(dim=1)  # a random permutation
        key = logits.masked_fill(selected, torch.finfo(logits.dtype).min)
        key = key.gather(1, order)
        top = key.sort(dim=1, descending=True, stable=True).indices[:, :n]
        return order.gather(1, top)

"""Weighted k-nearest-neighbour classification of frozen features.

The protocol of DINO's k-NN evaluation (Caron et al., 2021): features are
L2-normalised, a query's neighbours are the k memory-bank features of
highest cosine similarity, and each neighbour votes for its class with the
weight ``exp(similarity / T)``; classes are ranked by their summed votes.

Votes are returned divided by the nearest neighbour's weight (that is,
``exp((sim - sim_1) / T)``): the same ranking, without overflow at small T.
Ties are broken deterministically: among equally similar bank features the
one with the lower index is the nearer, among classes with equal votes the
lower class index ranks first.
"""
from typing import Dict, Sequence

import torch
import torch.nn.functional as F


def knn_scores(bank: torch.Tensor,
               bank_labels: torch.Tensor,
               queries: torch.Tensor,
               num_classes: int,
               k: int = 20,
               temperature: float = 0.07,
               chunk_size: int = 1024) -> torch.Tensor:
    """Class votes of every query from its k nearest bank features.

    Args:
        bank (torch.Tensor): Memory-bank features [N, D] (normalised here).
        bank_labels (torch.Tensor): Long labels [N] in ``[0, num_classes)``.
        queries (torch.Tensor): Query features [Q, D] (normalised here).
        num_classes (int): Number of classes C.
        k (int): Neighbours per query; more than N is an error.
        temperature (float): T of the vote weight ``exp(sim / T)``.
        chunk_size (int): Queries per similarity block (bounds memory at
            ``chunk_size * N`` floats).

    Returns:
        torch.Tensor: Votes [Q, C] (float32), zero for classes that no
        neighbour has, in units of the nearest neighbour's weight
        ``exp(sim_1 / T)``.
    """
    if bank.dim() != 2 or queries.dim() != 2 or \
            bank.shape[1] != queries.shape[1]:
        raise ValueError(
            f'bank [N, D] and queries [Q, D] must be 2-D with the same D, '
            f'got {tuple(bank.shape)} and {tuple(queries.shape)}')
    if bank_labels.shape != (bank.shape[0], ):
        raise ValueError(f'bank_labels must have shape [{bank.shape[0]}], '
                         f'got {tuple(bank_labels.shape)}')
    if not 1 <= k <= bank.shape[0]:
        raise ValueError(
            f'k={k} neighbours from a memory bank of {bank.shape[0]}')
    if temperature <= 0:
        raise ValueError(f'temperature must be > 0, got {temperature}')
    bank_labels = bank_labels.to(bank.device).long()
    if bank_labels.numel() and (bank_labels.min() < 0
                                or bank_labels.max() >= num_classes):
        raise ValueError(f'bank labels must be in [0, {num_classes}), got '
                         f'[{int(bank_labels.min())}, '
                         f'{int(bank_labels.max())}]')
    bank = F.normalize(bank.float(), dim=1)
    queries = F.normalize(queries.float().to(bank.device), dim=1)
    out = []
    for start in range(0, queries.shape[0], chunk_size):
        sim = queries[start:start + chunk_size] @ bank.T  # [q, N]
        # a stable descending sort: equal similarities keep bank order
        sim, idx = torch.sort(sim, dim=1, descending=True, stable=True)
        sim, idx = sim[:, :k], idx[:, :k]
        votes = sim.new_zeros(sim.shape[0], num_classes)
        weights = ((sim - sim[:, :1]) / temperature).exp()
        votes.scatter_add_(1, bank_labels[idx], weights)
        out.append(votes)
    if not out:
        return bank.new_zeros(0, num_classes)
    return torch.cat(out)


def topk_accuracy(scores: torch.Tensor, labels: torch.Tensor,
                  topk: Sequence[int] = (1, 5)) -> Dict[str, float]:
    """Top-k accuracy in percent, the way mmpretrain's ``Accuracy`` reports.

    Args:
        scores (torch.Tensor): Class scores [Q, C], higher is better.
        labels (torch.Tensor): True labels [Q].
        topk (Sequence[int]): Which k; a k of at least C is left out (it
            would be 100% by construction).

    Returns:
        dict[str, float]: ``{'top1': ..., 'top5': ...}``.
    """
    if scores.shape[0] != labels.shape[0]:
        raise ValueError(f'{scores.shape[0]} score rows for '
                         f'{labels.shape[0]} labels')
    if scores.shape[0] == 0:
        raise ValueError('no query to compute an accuracy on')
    num_classes = scores.shape[1]
    # stable: equal scores rank the lower class index first
    order = torch.sort(scores, dim=1, descending=True, stable=True)[1]
    hit = order == labels.to(order.device).long()[:, None]  # [Q, C]
    return {
        f'top{k}': float(hit[:, :k].any(1).float().mean()) * 100
        for k in topk if k < num_classes or k == 1
    }


def knn_accuracy(bank: torch.Tensor,
                 bank_labels: torch.Tensor,
                 queries: torch.Tensor,
                 query_labels: torch.Tensor,
                 num_classes: int,
                 k: int = 20,
                 temperature: float = 0.07,
                 topk: Sequence[int] = (1, 5)) -> Dict[str, float]:
    """Top-k accuracy of the weighted k-NN classifier (:func:`knn_scores`).

    Returns:
        dict[str, float]: ``{'top1': ..., 'top5': ...}`` in percent.
    """
    scores = knn_scores(bank, bank_labels, queries, num_classes, k,
                        temperature)
    return topk_accuracy(scores, query_labels, topk)

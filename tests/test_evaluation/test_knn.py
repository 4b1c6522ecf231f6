"""The weighted k-NN classifier (DINO's protocol) on hand-made features."""
import math

import pytest
import torch

from selective_mae.evaluation.knn import (knn_accuracy, knn_scores,
                                          topk_accuracy)


def _unit(deg):
    r = math.radians(deg)
    return [math.cos(r), math.sin(r)]


# Bank: unit vectors at these angles, with these labels. Their lengths
# differ (x 1, 3, 0.5, ...) so the classifier must normalise them itself.
BANK_DEG = [0., 10., 20., 90., 180.]
BANK_LABELS = torch.tensor([0, 1, 1, 2, 0])
BANK = torch.tensor([_unit(d) for d in BANK_DEG]) * torch.tensor(
    [[1.], [3.], [0.5], [2.], [1.]])


def _votes(query_deg, k, temperature):
    """The votes worked out by hand: neighbours by angle, exp(cos / T), in
    units of the nearest neighbour's weight."""
    sims = [math.cos(math.radians(query_deg - d)) for d in BANK_DEG]
    order = sorted(range(len(sims)), key=lambda i: -sims[i])[:k]
    votes = [0.] * 3
    for i in order:
        votes[int(BANK_LABELS[i])] += math.exp(sims[i] / temperature)
    return [v / math.exp(sims[order[0]] / temperature) for v in votes]


def test_neighbours_and_weighted_votes_by_hand():
    # query at 4 degrees: cosine 0.99756 to b0 (class 0), 0.99452 to b1 and
    # 0.96126 to b2 (class 1), 0.0698 to b3, -0.99756 to b4.
    query = torch.tensor([_unit(4.)]) * 7.
    # k = 1: only b0, class 0
    s1 = knn_scores(BANK, BANK_LABELS, query, 3, k=1, temperature=0.07)
    assert s1[0, 1] == 0 and s1[0, 2] == 0
    assert s1[0, 0].item() == 1.
    # k = 3, T = 0.07: class 1 has two neighbours,
    # exp(-0.0435) + exp(-0.5186) = 1.553 times class 0's vote: class 1 wins
    s3 = knn_scores(BANK, BANK_LABELS, query, 3, k=3, temperature=0.07)
    torch.testing.assert_close(
        s3[0], torch.tensor(_votes(4., 3, 0.07)), rtol=1e-5, atol=0)
    assert s3[0, 1] / s3[0, 0] == pytest.approx(1.5529, rel=1e-3)
    assert s3[0].argmax() == 1
    # k = 3, T = 0.01: the nearest one's weight dominates, class 0 wins
    # (ratio exp(-0.3042) + exp(-3.630) = 0.764): the votes are weighted
    s3c = knn_scores(BANK, BANK_LABELS, query, 3, k=3, temperature=0.01)
    torch.testing.assert_close(
        s3c[0], torch.tensor(_votes(4., 3, 0.01)), rtol=1e-5, atol=0)
    assert s3c[0, 1] / s3c[0, 0] == pytest.approx(0.7640, rel=1e-3)
    assert s3c[0].argmax() == 0
    # k = 5 reaches b4 (cosine -0.998, class 0) and b3 (class 2)
    s5 = knn_scores(BANK, BANK_LABELS, query, 3, k=5, temperature=0.07)
    torch.testing.assert_close(
        s5[0], torch.tensor(_votes(4., 5, 0.07)), rtol=1e-5, atol=0)
    assert s5[0, 2] > 0


def test_accuracies_of_several_queries():
    # queries at 4 deg (class 1 wins at k=3), 85 deg (nearest b3, class 2),
    # 175 deg (b4, class 0); true labels 1, 2, 1
    queries = torch.tensor([_unit(4.), _unit(85.), _unit(175.)])
    labels = torch.tensor([1, 2, 1])
    acc = knn_accuracy(BANK, BANK_LABELS, queries, labels, 3, k=3,
                       topk=(1, 2, 5))
    # top-1: 2 of 3 right; top-2: the third query's votes are b4 (class
    # 0), b3 (class 2), b2 (class 1): class 1 is third, so still 2 of 3;
    # top-5 is left out with 3 classes
    assert acc == pytest.approx({'top1': 200 / 3, 'top2': 200 / 3})
    for q in range(3):
        want = _votes([4., 85., 175.][q], 3, 0.07)
        got = knn_scores(BANK, BANK_LABELS, queries[q:q + 1], 3, k=3)[0]
        torch.testing.assert_close(got, torch.tensor(want), rtol=1e-5,
                                   atol=0)


def test_against_brute_force_reference():
    g = torch.Generator().manual_seed(0)
    bank = torch.randn(50, 8, generator=g)
    labels = torch.randint(0, 6, (50, ), generator=g)
    queries = torch.randn(17, 8, generator=g)
    got = knn_scores(bank, labels, queries, 6, k=7, temperature=0.1,
                     chunk_size=4)
    bn = bank / bank.norm(dim=1, keepdim=True)
    ref = torch.zeros(17, 6, dtype=torch.float64)
    for q in range(17):
        qn = queries[q] / queries[q].norm()
        sims = [(float(qn @ bn[i]), i) for i in range(50)]
        near = sorted(sims, key=lambda t: (-t[0], t[1]))[:7]
        for s, i in near:
            ref[q, labels[i]] += math.exp((s - near[0][0]) / 0.1)
    torch.testing.assert_close(got.double(), ref, rtol=1e-4, atol=0)
    # chunking changes nothing
    torch.testing.assert_close(
        got, knn_scores(bank, labels, queries, 6, 7, 0.1, chunk_size=1000))


def test_ties_are_broken_by_index():
    bank = torch.tensor([[1., 0.], [1., 0.], [0., 1.]])
    # equal similarity to bank 0 (class 1) and bank 1 (class 0): k=1 takes
    # the lower bank index
    s = knn_scores(bank, torch.tensor([1, 0, 2]), torch.tensor([[1., 0.]]),
                   3, k=1)
    assert s[0, 1] > 0 and s[0, 0] == 0
    # equal votes: the lower class index ranks first
    assert topk_accuracy(torch.tensor([[1., 1., 0.]]), torch.tensor([0]),
                         (1, ))['top1'] == 100.
    assert topk_accuracy(torch.tensor([[1., 1., 0.]]), torch.tensor([1]),
                         (1, ))['top1'] == 0.


def test_bad_input_is_named():
    q = torch.tensor([[1., 0.]])
    with pytest.raises(ValueError, match='k=6 neighbours from a memory bank '
                       'of 5'):
        knn_scores(BANK, BANK_LABELS, q, 3, k=6)
    with pytest.raises(ValueError, match='same D'):
        knn_scores(BANK, BANK_LABELS, torch.ones(1, 3), 3, k=1)
    with pytest.raises(ValueError, match=r'labels must be in \[0, 2\)'):
        knn_scores(BANK, BANK_LABELS, q, 2, k=1)
    with pytest.raises(ValueError, match='temperature'):
        knn_scores(BANK, BANK_LABELS, q, 3, k=1, temperature=0)

"""InfoBatchHook + InfoBatchSampler in training: epoch lengths, loss
weights, checkpoint/resume, two ranks (gloo), and the real SelectiveMAE."""
import os.path as osp
import re
from types import SimpleNamespace

import pytest
import torch
import torch.multiprocessing as mp
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.runner import EpochBasedTrainLoop, Runner
from mmpretrain.structures import DataSample
from torch.utils.data import Dataset

import selective_mae  # noqa: F401
from selective_mae.datasets.samplers import InfoBatchSampler
from selective_mae.engine.hooks import InfoBatchHook

N = 40


def loss_table(n=N):
    """A fixed per-sample loss, a permutation of 0..n-1 over n."""
    return torch.tensor([(i * 17) % n
                         for i in range(n)], dtype=torch.float32) / n


class IndexDataset(Dataset):
    """Sample i is a zero input with ``sample_idx`` i."""

    def __init__(self, n=N):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return dict(
            inputs=torch.zeros(1),
            data_samples=DataSample(metainfo=dict(sample_idx=i)))


class StandIn(BaseModel):
    """Implements the per-sample-loss contract of SelectiveMAE with a
    fixed loss per sample; records what it is given."""

    def __init__(self, n=N):
        super().__init__()
        self.w = nn.Parameter(torch.ones(1))
        self.register_buffer('table', loss_table(n))
        self.per_sample_loss = None
        self.record = []  # (epoch-agnostic) list of (indices, weights)

    def forward(self, inputs, data_samples=None, mode='loss'):
        idx = torch.tensor([d.sample_idx for d in data_samples])
        per_sample = self.table[idx] + 0 * self.w  # fixed, trainable
        self.per_sample_loss = per_sample.detach()
        # the weights arrive with the batch, in the data samples
        weights = torch.tensor([d.loss_weight for d in data_samples])
        self.record.append((idx.tolist(), weights.tolist()))
        return dict(loss=(per_sample * weights).mean())


class FakeLoader:
    """What the hook reads from a DataLoader."""
    batch_size = 4
    drop_last = False

    def __init__(self, sampler):
        self.sampler = sampler

    def __len__(self):
        return -(-len(self.sampler) // self.batch_size)


def make_runner(work_dir, max_epochs, resume=False, delta=0.75, **hook):
    return Runner(
        model=StandIn(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=IndexDataset(),
            sampler=dict(
                type='InfoBatchSampler',
                prune_ratio=0.5,
                delta=delta,
                shuffle=True),
            batch_size=4,
            num_workers=0,
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=1.0)),
        # Planned for 4 full epochs of 10 iterations: 0.1 -> 1.0.
        param_scheduler=dict(
            type='LinearLR',
            start_factor=0.1,
            by_epoch=True,
            begin=0,
            end=4,
            convert_to_iter_based=True),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        custom_hooks=[dict(type='InfoBatchHook', **hook)],
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=1),
            logger=dict(type='LoggerHook', interval=1)),
        randomness=dict(seed=5),
        resume=resume,
        default_scope='mmpretrain')


def epochs_of(record, lengths):
    out, start = [], 0
    for n in lengths:
        out.append(record[start:start + n])
        start += n
    return out


def test_runner_prunes_rescales_and_resumes(tmp_path):
    runner = make_runner(tmp_path / 'full', max_epochs=4)
    runner.train()
    model = runner.model
    table = loss_table()
    low = set(torch.nonzero(table < table.mean()).flatten().tolist())
    assert len(low) == 20
    # epoch 0: no scores yet (10 batches); epochs 1-2 prune 10 of the 20
    # below-mean samples (30 left: 8 batches); epoch 3 >= 0.75 * 4: none.
    lengths = [10, 8, 8, 10]
    assert len(model.record) == sum(lengths) == runner.iter
    full_epochs = epochs_of(model.record, lengths)
    for epoch, batches in enumerate(full_epochs):
        idx = [i for b in batches for i in b[0]]
        w = dict(zip(idx, [x for b in batches for x in b[1]]))
        if epoch in (1, 2):
            assert set(range(N)) - low <= set(idx)
            assert len(set(idx) & low) == 10 and len(set(idx)) == 30
            assert all(w[i] == 2.0 for i in set(idx) & low)
            assert all(w[i] == 1.0 for i in set(idx) - low)
        else:
            assert sorted(idx) == list(range(N))
            assert set(w.values()) == {1.0}
    # The schedule advanced by 4 full epochs (40 steps) in 36 iterations.
    assert runner.optim_wrapper.get_lr()['lr'][0] == pytest.approx(
        reference_lr(40)) == pytest.approx(1.0)
    ckpt = torch.load(
        osp.join(tmp_path / 'full', 'epoch_2.pth'), weights_only=True)
    assert torch.equal(ckpt['infobatch']['scores'], table)
    assert bool(ckpt['infobatch']['seen'].all())

    # Interrupted after 2 epochs, then resumed: same samples and weights in
    # epochs 3 and 4 as the uninterrupted run, scores restored.
    make_runner(tmp_path / 'part', max_epochs=2).train()
    resumed = make_runner(tmp_path / 'part', max_epochs=4, resume=True)
    resumed.train()
    sampler = resumed.train_dataloader.sampler
    assert torch.equal(sampler.scores, table)
    assert resumed.model.record == [b for e in full_epochs[2:] for b in e]
    assert resumed.optim_wrapper.get_lr()['lr'][0] == pytest.approx(1.0)


def reference_lr(steps):
    """The test schedule after ``steps`` iterations, run on its own."""
    from mmengine.optim.scheduler import LinearLR
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = LinearLR(opt, start_factor=0.1, by_epoch=False, begin=0, end=40)
    for _ in range(steps):
        sched.step()
    return opt.param_groups[0]['lr']


def test_unaligned_schedulers_lag(tmp_path):
    runner = make_runner(tmp_path, max_epochs=4, align_schedulers=False)
    runner.train()
    lr = runner.optim_wrapper.get_lr()['lr'][0]
    assert lr == pytest.approx(reference_lr(36)) and lr < 0.95


def _simulate(rank, world, epochs, init_file=None):
    """Run the hook with a fake runner over ``epochs`` epochs.

    Returns:
        dict: ``kept`` (per epoch, the sorted samples kept on all ranks)
        and ``scores`` (the sampler's scores at the end).
    """
    import datetime

    import torch.distributed as dist
    if world > 1:
        dist.init_process_group(
            'gloo',
            init_method=f'file://{init_file}',
            rank=rank,
            world_size=world,
            timeout=datetime.timedelta(seconds=120))
    try:
        n = 50
        sampler = InfoBatchSampler(list(range(n)), seed=11, num_epochs=epochs)
        model = StandIn(n)
        runner = SimpleNamespace(
            model=model,
            # an epoch-based loop (the hook refuses others); not run here
            train_loop=EpochBasedTrainLoop.__new__(EpochBasedTrainLoop),
            train_dataloader=FakeLoader(sampler),
            max_epochs=epochs,
            epoch=0,
            param_schedulers=None)
        hook = InfoBatchHook()
        hook.before_train(runner)
        kept = []
        for epoch in range(epochs):
            runner.epoch = epoch
            hook.before_train_epoch(runner)
            order = list(sampler)
            kept.append(set(order))
            for b in range(0, len(order), 4):
                batch = dict(data_samples=[
                    DataSample(metainfo=dict(sample_idx=i))
                    for i in order[b:b + 4]
                ])
                hook.before_train_iter(runner, b // 4, batch)
                model(None, batch['data_samples'])
                hook.after_train_iter(runner, b // 4, batch)
            hook.after_train_epoch(runner)
        if world > 1:
            gathered = [None] * world
            dist.all_gather_object(gathered, kept)
            kept = [
                set().union(*[g[e] for g in gathered]) for e in range(epochs)
            ]
        return dict(
            kept=[sorted(k) for k in kept], scores=sampler.scores.clone())
    finally:
        if world > 1:
            dist.destroy_process_group()


def _rank1(epochs, init_file, queue):
    out = _simulate(1, 2, epochs, init_file)
    queue.put((out['kept'], out['scores'].tolist()))


def test_two_gloo_ranks_keep_same_samples_as_one(tmp_path):
    """Rank 0 runs in this process, rank 1 in a spawned one."""
    epochs = 4
    single = _simulate(0, 1, epochs)
    assert len(single['kept'][1]) < 50  # it does prune
    ctx = mp.get_context('spawn')
    queue = ctx.Queue()
    init_file = str(tmp_path / 'init')
    proc = ctx.Process(target=_rank1, args=(epochs, init_file, queue))
    proc.start()
    try:
        rank0 = _simulate(0, 2, epochs, init_file)
        rank1_kept, rank1_scores = queue.get(timeout=120)
    finally:
        proc.join(timeout=120)
    assert proc.exitcode == 0
    assert rank0['kept'] == rank1_kept == single['kept']
    assert torch.equal(rank0['scores'], single['scores'])
    assert torch.equal(torch.tensor(rank1_scores), single['scores'])


def test_real_selective_mae_end_to_end(tool, demo_data, repo_root, tmp_path):
    """Three epochs of the demo SelectiveMAE with InfoBatch on."""
    work = tmp_path / 'work'
    cfg = tmp_path / 'selectivemae_infobatch_demo.py'
    cfg.write_text(
        f"_base_ = '{repo_root}/configs/selectivemae/"
        "selectivemae_vit-tiny-p8_1xb16-20e_demo.py'\n"
        "train_dataloader = dict(\n"
        f"    dataset=dict(data_root='{demo_data}'),\n"
        "    batch_size=8, num_workers=0, persistent_workers=False,\n"
        "    sampler=dict(_delete_=True, type='InfoBatchSampler',\n"
        "                 prune_ratio=0.5, delta=0.75))\n"
        "custom_hooks = [dict(type='PSTSProgressHook'),\n"
        "                dict(type='BadImageHook'),\n"
        "                dict(type='InfoBatchHook')]\n"
        "train_cfg = dict(max_epochs=4)\n"
        "default_hooks = dict(checkpoint=dict(interval=1),\n"
        "                     logger=dict(interval=1))\n")
    out = tool(['tools/train.py', cfg, '--work-dir', work], timeout=600).stdout
    kept = [
        int(k) for k in re.findall(
            r'InfoBatch epoch \d: (\d+) of 32 samples kept', out)
    ]
    assert kept[0] == 32 and kept[3] == 32
    assert 16 < kept[1] < 32 and 16 < kept[2] < 32
    # 8 per batch: epoch 2 has ceil(kept / 8) iterations
    assert re.search(
        rf'Epoch\(train\) +\[2\]\[{-(-kept[1] // 8)}/'
        rf'{-(-kept[1] // 8)}\]', out)
    ckpt = torch.load(work / 'epoch_4.pth', weights_only=True)
    scores = ckpt['infobatch']['scores']
    assert bool(ckpt['infobatch']['seen'].all())
    assert scores.shape == (32, ) and bool((scores > 0).all())

"""tools/train.py on the demo-size SelectiveMAE + InfoBatch config with
iteration checkpoints: a run pre-empted (SIGTERM) and killed (SIGKILL) in
the middle of epochs and resumed twice trains exactly like the run that was
never stopped; ``--resume`` over a truncated newest checkpoint falls back
to the previous one, or stops with one line."""
import json
import shutil

import pytest
import torch

CFG = ('tests/test_engine/configs/'
       'selectivemae_vit-tiny-p8_infobatch_iter-ckpt.py')
PREEMPTED = 75  # selective_mae.engine.hooks.PREEMPTED_EXIT_CODE


def _train(tool, work, demo_data, *opts, resume=False, check=True):
    args = ['tools/train.py', CFG, '--work-dir', work]
    if resume:
        args.append('--resume')
    args += ['--cfg-options',
             f'train_dataloader.dataset.data_root={demo_data}',
             f'custom_hooks.2.out_dir={work}/trace', *opts]
    return tool(args, timeout=300, check=check)


def _trace(work):
    lines = [json.loads(x) for x in open(work / 'trace' / 'trace_rank0.jsonl')]
    iters = [r for r in lines if 'iter' in r]
    kept = {}
    for r in lines:
        if 'kept' in r:
            kept.setdefault(r['epoch'], []).append(r['kept'])
    return iters, kept


def _final(work):
    return torch.load(work / 'trace' / 'final_rank0.pt', weights_only=True)


def _meta(path):
    return torch.load(path, map_location='cpu', weights_only=True)['meta']


@pytest.fixture(scope='module')
def baseline(tmp_path_factory, demo_data, tool):
    """The uninterrupted run: 3 epochs (4 iterations, then 3 or 4 as
    InfoBatch prunes), a checkpoint after every iteration (the last two
    kept)."""
    work = tmp_path_factory.mktemp('baseline')
    _train(tool, work, demo_data)
    return work


def _assert_same_training(work, baseline):
    iters, kept = _trace(work)
    ref_iters, ref_kept = _trace(baseline)
    assert [r['iter'] for r in iters] == list(range(len(ref_iters)))
    for got, ref in zip(iters, ref_iters):
        for key in ('epoch', 'batch_idx', 'lr', 't', 'idx'):
            assert got[key] == ref[key], (key, got, ref)
        assert got['loss'] == pytest.approx(ref['loss'], rel=1e-6)
    # the InfoBatch kept set of every epoch, also as seen again on resume
    assert ref_kept.keys() == kept.keys()
    for epoch, sets in kept.items():
        assert all(s == ref_kept[epoch][0] for s in sets), epoch
    assert len(ref_kept[1][0]) < 32  # pruning was on
    final, ref = _final(work), _final(baseline)
    assert final.keys() == ref.keys()
    for k in ref:
        assert torch.allclose(final[k], ref[k], rtol=1e-5, atol=1e-6), k


def test_preempted_and_killed_runs_resume_exactly(tool, demo_data, tmp_path,
                                                  baseline):
    work = tmp_path / 'work'
    every2 = 'default_hooks.checkpoint.interval=2'
    # SIGTERM during iteration 3 (index 2) of epoch 1: no regular checkpoint
    # there, so the run saves iter_3.pth at the end of that iteration
    out = _train(tool, work, demo_data, every2, 'custom_hooks.2.'
                 'signal_at_iter=2', check=False)
    assert out.returncode == PREEMPTED, out.stdout[-3000:]
    assert 'Pre-empted (SIGTERM): stopped after iteration 3' in out.stdout
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_3.pth')
    meta = _meta(work / 'iter_3.pth')
    assert (meta['epoch'], meta['iter']) == (0, 3)
    assert [r['iter'] for r in _trace(work)[0]] == [0, 1, 2]

    # resumed; SIGKILL right after iteration 6 (epoch 2, batch 2 of 3) and
    # its regular checkpoint
    out = _train(tool, work, demo_data, every2, 'custom_hooks.2.'
                 'kill_at_iter=5', resume=True, check=False)
    assert out.returncode == -9, out.stdout[-3000:]
    assert 'Resuming epoch 1 at batch 4 (sample 24 of its order)' in out.stdout
    # the pre-emption checkpoint went once a regular one superseded it
    assert not (work / 'iter_3.pth').exists()
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_6.pth')

    out = _train(tool, work, demo_data, every2, resume=True)
    assert 'Resuming epoch 2 at batch 3 (sample 16 of its order)' in \
        out.stdout
    _assert_same_training(work, baseline)


def test_resume_over_a_truncated_newest_checkpoint(tool, demo_data, tmp_path,
                                                   baseline):
    work = tmp_path / 'work'
    shutil.copytree(baseline, work)
    (work / 'trace' / 'trace_rank0.jsonl').unlink()
    n = len(_trace(baseline)[0])  # iterations: the newest is iter_<n>
    newest, previous = work / f'iter_{n}.pth', work / f'iter_{n - 1}.pth'
    (work / 'last_checkpoint').write_text(str(newest))
    data = newest.read_bytes()
    newest.write_bytes(data[:len(data) // 2])  # what a kill mid-save leaves

    out = _train(tool, work, demo_data, 'resume_fallback=False', resume=True,
                 check=False)
    assert out.returncode == 1
    errors = [x for x in out.stdout.splitlines() if 'error' in x.lower()]
    assert len(errors) == 1, out.stdout[-3000:]
    assert str(newest) in errors[0] and str(previous) in errors[0]
    assert 'truncated' in errors[0] and 'Traceback' not in out.stdout

    out = _train(tool, work, demo_data, resume=True)
    line = [x for x in out.stdout.splitlines() if 'Cannot resume' in x]
    assert len(line) == 1 and str(newest) in line[0] and \
        str(previous) in line[0]
    assert f'resumed epoch: 2, iter: {n - 1}' in out.stdout
    # it trained the last iteration again, exactly as the baseline
    final, ref = _final(work), _final(baseline)
    assert all(torch.allclose(final[k], ref[k], atol=1e-6) for k in ref)
    assert _meta(newest)['iter'] == n  # and rewrote the broken file

"""tools/train.py on a tiny stock-MAE config: train, checkpoint, resume."""
import os.path as osp

import torch

CFG = 'configs/mae/mae_vit-tiny-p8_1xb16-2e_demo.py'


def _opts(demo_data, *extra):
    # 32 scenes / batch 16 = 2 iterations per epoch
    return ['--cfg-options', f'train_dataloader.dataset.data_root={demo_data}',
            'train_dataloader.num_workers=0', *extra]


def _adam_steps(ckpt):
    state = ckpt['optimizer']['state']
    steps = {float(s['step']) for s in state.values()}
    assert len(steps) == 1, steps
    return steps.pop()


def test_train_then_resume(tool, demo_data, tmp_path):
    work = tmp_path / 'work'
    out = tool(['tools/train.py', CFG, '--work-dir', work,
                *_opts(demo_data)]).stdout
    assert 'Epoch(train) [2]' in out
    e2 = torch.load(work / 'epoch_2.pth', map_location='cpu',
                    weights_only=True)
    assert e2['meta']['epoch'] == 2 and e2['meta']['iter'] == 4
    assert _adam_steps(e2) == 4

    out = tool(['tools/train.py', CFG, '--work-dir', work, '--resume',
                *_opts(demo_data, 'train_cfg.max_epochs=3')]).stdout
    assert 'resumed epoch: 2, iter: 4' in out, out[-3000:]
    assert 'Epoch(train) [3]' in out and 'Epoch(train) [1]' not in out
    e3 = torch.load(work / 'epoch_3.pth', map_location='cpu',
                    weights_only=True)
    assert e3['meta']['epoch'] == 3 and e3['meta']['iter'] == 6
    # Adam's step count went on from 4: the optimizer state was restored
    assert _adam_steps(e3) == 6
    # the resumed run started from the saved weights, not a fresh init
    assert osp.isfile(work / 'last_checkpoint')


def test_amp_and_auto_scale_flags_reach_the_config(tmp_path):
    from mmengine.config import Config

    from tools.train import merge_args, parse_args
    args = parse_args([CFG, '--amp', '--auto-scale-lr', '--work-dir',
                       str(tmp_path), '--resume', 'x.pth', '--cfg-options',
                       'train_cfg.max_epochs=5'])
    cfg = merge_args(Config.fromfile(CFG), args)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.auto_scale_lr.enable is True
    assert cfg.resume is True and cfg.load_from == 'x.pth'
    assert cfg.train_cfg.max_epochs == 5 and cfg.work_dir == str(tmp_path)

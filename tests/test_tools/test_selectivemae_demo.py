"""The SelectiveMAE demo config through tools/train.py and
tools/dist_train.sh (2 processes, gloo, find_unused_parameters=False)."""
import random

import torch

CFG = 'configs/selectivemae/selectivemae_vit-tiny-p8_1xb16-20e_demo.py'


def _opts(demo_data, labelled, *extra):
    return ['--cfg-options', f'train_dataloader.dataset.data_root={demo_data}',
            'train_dataloader.num_workers=0',
            'train_dataloader.persistent_workers=False',
            f'custom_hooks.2.probe.dataset.data_root={labelled}', *extra]


def test_demo_trains_and_resumes_with_curriculum(tool, demo_data,
                                                 demo_labelled, tmp_path):
    work = tmp_path / 'work'
    # 32 scenes at batch 16: 2 iterations per epoch, 4 in all
    out = tool(['tools/train.py', CFG, '--work-dir', work,
                *_opts(demo_data, demo_labelled, 'train_cfg.max_epochs=2',
                       'default_hooks.checkpoint.interval=1')]).stdout
    assert 'Epoch(train) [2][2/2]' in out, out[-3000:]
    e1 = torch.load(work / 'epoch_1.pth', map_location='cpu',
                    weights_only=True)
    assert e1['meta']['psts_progress'] == 0.25  # iteration 2 of 4 (t=1/4)
    assert not any(k.startswith('selector') for k in e1['state_dict'])
    assert any(k.startswith('backbone.layers.3.') for k in e1['state_dict'])
    out = tool(['tools/train.py', CFG, '--work-dir', work, '--resume',
                str(work / 'epoch_1.pth'),
                *_opts(demo_data, demo_labelled,
                       'train_cfg.max_epochs=2')]).stdout
    assert 'resumed epoch: 1, iter: 2' in out, out[-3000:]
    # the k-NN probe: no reading at the start of a resumed run, one at the
    # end
    assert 'Epoch(knn) [1]' not in out
    assert 'Epoch(knn) [2] iter 4 ' in out, out[-3000:]
    e2 = torch.load(work / 'epoch_2.pth', map_location='cpu',
                    weights_only=True)
    assert e2['meta']['psts_progress'] == 0.75


def test_demo_two_process_ddp(tool, demo_data, demo_labelled, tmp_path):
    work = tmp_path / 'dist'
    # 32 images / 2 ranks / batch 4: 4 iterations; a parameter without a
    # gradient would make DDP (find_unused_parameters=False) fail at the
    # second one.
    out = tool(['tools/dist_train.sh', CFG, 2, '--work-dir', work,
                *_opts(demo_data, demo_labelled, 'train_cfg.max_epochs=1',
                       'train_dataloader.batch_size=4',
                       'find_unused_parameters=False')],
               env=dict(PORT=str(random.randint(20000, 40000))),
               timeout=300).stdout
    assert 'Distributed training: True' in out and 'GPU number: 2' in out
    assert 'find_unused_parameters=False' in out  # the dumped config
    assert 'Epoch(train) [1][4/4]' in out, out[-3000:]
    assert (work / 'epoch_1.pth').is_file()
    # the k-NN probe ran on both ranks (its features gathered) at the start
    # and the end
    assert 'Epoch(knn) [0] iter 0 ' in out and 'Epoch(knn) [1] iter 4 ' in out

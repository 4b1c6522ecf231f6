"""tools/dist_train.sh: two processes on the CPU (gloo)."""
import random


def test_dist_train_two_processes(tool, demo_data, tmp_path):
    work = tmp_path / 'dist'
    out = tool(['tools/dist_train.sh',
                'configs/mae/mae_vit-tiny-p8_1xb16-2e_demo.py', 2,
                '--work-dir', work, '--cfg-options',
                f'train_dataloader.dataset.data_root={demo_data}',
                'train_dataloader.num_workers=0', 'train_cfg.max_epochs=1'],
               env=dict(PORT=str(random.randint(20000, 40000))),
               timeout=300).stdout
    assert 'Distributed launcher: pytorch' in out
    assert 'GPU number: 2' in out  # mmengine's name for the world size
    assert "dist_cfg: {'backend': 'gloo'}" in out
    # 32 images over 2 ranks at batch 16: one iteration per epoch
    assert 'Epoch(train) [1][1/1]' in out
    assert (work / 'epoch_1.pth').is_file()

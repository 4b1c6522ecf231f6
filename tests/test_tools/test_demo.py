"""tools/demo.py end to end at a tiny size: data, pretraining with the k-NN
probe, the accuracy table, the PNG beside the checkpoint."""
import re

from PIL import Image


def test_demo_prints_knn_and_writes_png(tool, tmp_path):
    work = tmp_path / 'work'
    out = tool([
        'tools/demo.py', '--work-dir', work, '--data-root',
        tmp_path / 'demo_rs', '--labelled-root', tmp_path / 'labelled',
        '--num-images', '32', '--per-class', '8', '--', '--cfg-options',
        'train_cfg.max_epochs=2', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False'
    ]).stdout
    assert 'demo data: 32 scenes' in out and '40 held-out labelled' in out
    # the probe ran at the start and after the last epoch (interval 5)
    assert re.search(r'Epoch\(knn\) \[0\] iter 0 ', out), out[-3000:]
    assert re.search(r'Epoch\(knn\) \[2\] iter 4 ', out), out[-3000:]
    rows = {
        m.group(1): (float(m.group(2)), float(m.group(3)))
        for m in re.finditer(
            r'(encoder at initialisation|trained encoder) +([\d.]+) +'
            r'([\d.]+)', out)
    }
    assert set(rows) == {'encoder at initialisation', 'trained encoder'}
    init = re.search(r'Epoch\(knn\) \[0\] iter 0 +knn/cls_top1: ([\d.]+)',
                     out)
    assert rows['encoder at initialisation'][0] == round(
        float(init.group(1)), 1)
    assert 'chance: 20.0 (5 scene types' in out
    ckpt = re.search(r'^checkpoint: (\S+)', out, re.M).group(1)
    assert ckpt.endswith('epoch_2.pth')
    png = re.search(r'^picture: +(\S+)', out, re.M).group(1)
    assert png == str(work / 'demo_psts.png')
    # 5 scene rows (one per type) x (input, richness, 2 x tokens + recon)
    w, h = Image.open(png).size
    assert w > 1000 and h > 900
    assert re.search(r'log: +\S+\.log', out)

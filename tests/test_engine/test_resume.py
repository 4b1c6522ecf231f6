"""Choosing the checkpoint to resume from: unreadable files are named with
the reason, and the newest intact one is used or named."""
import os
import time

import pytest
import torch

import selective_mae  # noqa: F401
from selective_mae.engine.runner import (ResumeError, inspect_checkpoint,
                                         resolve_resume)


def _ckpt(path, it, epoch=0):
    torch.save(dict(meta=dict(epoch=epoch, iter=it),
                    state_dict=dict(w=torch.full((256, ), float(it)))), path)
    return str(path)


@pytest.fixture
def work(tmp_path):
    """iter_2, iter_4 (newest) and last_checkpoint -> iter_4."""
    _ckpt(tmp_path / 'iter_2.pth', 2)
    time.sleep(0.01)
    newest = _ckpt(tmp_path / 'iter_4.pth', 4)
    (tmp_path / 'last_checkpoint').write_text(newest)
    return tmp_path


def _truncate(path, keep=0.5):
    data = open(path, 'rb').read()
    open(path, 'wb').write(data[:int(len(data) * keep)])


@pytest.mark.parametrize('damage,reason', [
    ('truncate', 'truncated'),
    ('empty', 'empty (0 bytes)'),
    ('garbage', 'torch.load fails'),
    ('missing', 'does not exist'),
    ('tensor', 'not a training checkpoint'),
])
def test_inspect_names_the_reason(tmp_path, damage, reason):
    path = _ckpt(tmp_path / 'c.pth', 1)
    assert inspect_checkpoint(path) == (None, dict(epoch=0, iter=1))
    if damage == 'truncate':
        _truncate(path)
    elif damage == 'empty':
        open(path, 'wb').close()
    elif damage == 'garbage':
        open(path, 'wb').write(b'not a checkpoint at all' * 10)
    elif damage == 'missing':
        os.remove(path)
    else:
        torch.save(torch.zeros(3), path)
    problem, meta = inspect_checkpoint(path)
    assert reason in problem and meta is None


def test_intact_latest_is_used_silently(work):
    assert resolve_resume(str(work)) == (str(work / 'iter_4.pth'), [])
    explicit = str(work / 'iter_2.pth')
    assert resolve_resume(str(work), explicit) == (explicit, [])


def test_truncated_latest_falls_back_naming_both(work):
    _truncate(work / 'iter_4.pth')
    path, notes = resolve_resume(str(work))
    assert path == str(work / 'iter_2.pth')
    assert len(notes) == 1
    assert str(work / 'iter_4.pth') in notes[0] and path in notes[0]
    assert 'truncated' in notes[0]


def test_switch_off_raises_one_line_naming_both(work):
    _truncate(work / 'iter_4.pth')
    with pytest.raises(ResumeError) as e:
        resolve_resume(str(work), fallback=False)
    msg = str(e.value)
    assert '\n' not in msg
    assert str(work / 'iter_4.pth') in msg and str(work / 'iter_2.pth') in msg
    # an explicit path does not fall back unless asked to
    with pytest.raises(ResumeError, match='iter_2.pth'):
        resolve_resume(str(work), str(work / 'iter_4.pth'))
    assert resolve_resume(str(work), str(work / 'iter_4.pth'),
                          fallback=True)[0] == str(work / 'iter_2.pth')


def test_newest_is_by_iteration_not_by_file_time(work):
    _truncate(work / 'iter_4.pth')
    _ckpt(work / 'iter_1.pth', 1)  # written last, but older training
    assert resolve_resume(str(work))[0] == str(work / 'iter_2.pth')


def test_last_checkpoint_naming_a_missing_file(work):
    (work / 'last_checkpoint').write_text(str(work / 'iter_6.pth'))
    path, notes = resolve_resume(str(work))
    assert path == str(work / 'iter_4.pth')
    assert 'iter_6.pth' in notes[0] and 'does not exist' in notes[0]


def test_nothing_intact_is_never_a_silent_fresh_start(work):
    _truncate(work / 'iter_4.pth')
    _truncate(work / 'iter_2.pth')
    with pytest.raises(ResumeError, match='newest intact checkpoint in .* '
                       'is none'):
        resolve_resume(str(work))


def test_empty_work_dir_starts_from_scratch_and_says_so(tmp_path):
    path, notes = resolve_resume(str(tmp_path))
    assert path is None and 'from scratch' in notes[0]


def test_checkpoints_without_last_checkpoint(work):
    os.remove(work / 'last_checkpoint')
    path, notes = resolve_resume(str(work))
    assert path == str(work / 'iter_4.pth') and 'last_checkpoint' in notes[0]

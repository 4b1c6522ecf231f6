"""Choose the checkpoint a run resumes from, and say why.

mmengine resumes from whatever ``last_checkpoint`` names and dies with
torch's raw traceback when that file is truncated (``PytorchStreamReader
failed reading zip archive: failed finding central directory``) or gone.
:func:`resolve_resume` checks the file first. When it cannot be read it
finds the newest intact checkpoint of the work directory and either resumes
from it (``fallback=True``, logging the file it skipped) or raises
:class:`ResumeError` with one message naming both.
"""
import glob
import os.path as osp
import zipfile

from ...checkpoint import load_checkpoint_file
from ..atomic_backend import human_size


class ResumeError(RuntimeError):
    """The checkpoint to resume from cannot be used."""


def _first_line(e):
    text = str(e).strip().splitlines()
    return f'{type(e).__name__}: {text[0] if text else ""}'.rstrip(': ')


def inspect_checkpoint(path):
    """Whether ``path`` is a readable training checkpoint.

    Reads the zip directory and unpickles the structure with the package's
    checkpoint reader (:func:`~selective_mae.checkpoint.
    load_checkpoint_file`, weights only), tensors memory-mapped (cheap even
    for large files; the tensor bytes themselves are not read).

    Args:
        path (str): Local file.

    Returns:
        tuple[str | None, dict | None]: ``(problem, meta)``: ``problem`` is
        None for an intact checkpoint, else why it is unreadable (e.g.
        ``'it is truncated: ...'``); ``meta`` is its ``meta`` dict.
    """
    if not osp.exists(path):
        return 'it does not exist', None
    if not osp.isfile(path):
        return 'it is not a file', None
    size = osp.getsize(path)
    if size == 0:
        return 'it is empty (0 bytes)', None
    try:
        with open(path, 'rb') as f:
            magic = f.read(4)
    except OSError as e:
        return f'it cannot be opened ({e.strerror})', None
    is_zip = magic == b'PK\x03\x04'
    if is_zip:
        try:
            with zipfile.ZipFile(path) as zf:
                infos = zf.infolist()
        except zipfile.BadZipFile:
            return (f'it is truncated or damaged: no zip directory at its '
                    f'end ({human_size(size)}; an interrupted save leaves '
                    'such a file)'), None
        end = max((i.header_offset + i.compress_size for i in infos),
                  default=0)
        if end > size:
            return (f'it is truncated: its records need {human_size(end)}, '
                    f'the file has {human_size(size)}'), None
        if not any(i.filename.endswith('data.pkl') for i in infos):
            return 'it is not a torch checkpoint (no data.pkl)', None
    try:
        ckpt = load_checkpoint_file(path, map_location='cpu', mmap=is_zip)
    except Exception as e:  # noqa: BLE001  (any reason is reported)
        return f'torch.load fails ({_first_line(e)})', None
    if not isinstance(ckpt, dict) or 'state_dict' not in ckpt or not \
            isinstance(ckpt.get('meta'), dict):
        return 'it is not a training checkpoint (no meta / state_dict)', \
            None
    meta = dict(ckpt['meta'])
    del ckpt
    return None, meta


def intact_checkpoints(folders, skip=()):
    """The readable training checkpoints (``*.pth``) in ``folders``, newest
    (most iterations, then most recently written) first.

    Args:
        folders (Iterable[str]): Folders to look in.
        skip (Iterable[str]): Paths to leave out.

    Returns:
        list[tuple[str, dict]]: ``(path, meta)`` pairs.
    """
    skip = {osp.abspath(p) for p in skip}
    found = {}
    for folder in folders:
        for path in glob.glob(osp.join(glob.escape(folder), '*.pth')):
            path = osp.abspath(path)
            if path in skip or path in found:
                continue
            problem, meta = inspect_checkpoint(path)
            if problem is None:
                found[path] = meta
    return sorted(
        found.items(),
        key=lambda pm: (int(pm[1].get('iter', -1)), osp.getmtime(pm[0])),
        reverse=True)


def _describe(path, meta):
    return f'{path} (epoch {meta.get("epoch")}, iter {meta.get("iter")})'


def resolve_resume(work_dir, load_from=None, fallback=None):
    """The checkpoint to resume from.

    Args:
        work_dir (str): The run's work directory.
        load_from (str, optional): The requested checkpoint; None for the
            latest one (what ``last_checkpoint`` names).
        fallback (bool, optional): Resume from the newest intact checkpoint
            when the requested one is unreadable. None: True when
            ``load_from`` is None, else False.

    Returns:
        tuple[str | None, list[str]]: The path (None: nothing to resume,
        start from scratch) and messages to log (each one line).

    Raises:
        ResumeError: The checkpoint is unreadable and ``fallback`` is off
            or no intact checkpoint exists; one line naming the file, why,
            and the newest intact checkpoint.
    """
    work_dir = osp.abspath(work_dir)
    if fallback is None:
        fallback = load_from is None
    if load_from is not None and '://' in str(load_from):
        return load_from, []  # remote: the loader will tell
    folders = [work_dir]
    if load_from is None:
        marker = osp.join(work_dir, 'last_checkpoint')
        if not osp.isfile(marker):
            intact = intact_checkpoints(folders)
            if not intact:
                return None, [f'No checkpoint in {work_dir}: training '
                              'starts from scratch']
            requested, problem = marker, 'it does not exist'
        else:
            with open(marker) as f:
                requested = f.read().strip()
            if not requested:
                requested, problem = marker, 'it is empty'
            else:
                requested = osp.abspath(osp.expanduser(requested))
                problem, _ = inspect_checkpoint(requested)
    else:
        requested = osp.abspath(osp.expanduser(str(load_from)))
        problem, _ = inspect_checkpoint(requested)
    if problem is None:
        return requested, []
    if requested != osp.join(work_dir, 'last_checkpoint'):
        folders.append(osp.dirname(requested))
    intact = intact_checkpoints(dict.fromkeys(folders), skip=[requested])
    if fallback and intact:
        path, meta = intact[0]
        return path, [
            f'Cannot resume from {requested}: {problem}. Resuming from the '
            f'newest intact checkpoint {_describe(path, meta)} instead; '
            f'skipped {requested}'
        ]
    if intact:
        newest = _describe(*intact[0])
        hint = (f'resume from it with --resume {intact[0][0]}, or set '
                'resume_fallback=True')
    else:
        newest = 'none'
        hint = 'start from scratch without --resume, or in another work dir'
    raise ResumeError(
        f'cannot resume from {requested}: {problem}; the newest intact '
        f'checkpoint in {work_dir} is {newest} ({hint})')

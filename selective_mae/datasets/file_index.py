"""Find the image files under a folder, and cache the list in an index file.

Shared by :class:`~selective_mae.datasets.RS4M` (scan once, then read the
index) and :mod:`~selective_mae.datasets.curation` (scan the sources).

Scanning
--------
:func:`scan_images` lists the files under a root at any depth whose
extension (compared case-insensitively) is one of :data:`IMG_EXTENSIONS`, as
sorted paths relative to the root. On the local disk it follows symlinked
folders, each real folder once (a symlink cycle ends). On another
``mmengine.fileio`` storage backend (``backend_args``) it uses the
backend's ``list_dir_or_file`` (petrel has it; HTTP and LMDB do not).

Index
-----
:class:`ImageIndex` keeps the scan of one root in a text file: a header
(format version, the root, the extensions) and one relative path a line.
The file goes beside the data (``<root>/.rs4m_index.txt``) when that folder
is local and writable, else to ``<index_dir>/rs4m_index_<hash of the
root>.txt``, where ``index_dir`` defaults to the current run's work dir
(found through mmengine's current logger) or ``~/.cache/selective_mae``. On
a non-local backend the index is only ever written locally, to
``index_dir``. An index whose header does not match (another root, other
extensions, an older format) is rebuilt. Under distributed training rank 0
scans while the others wait, then read its index.
"""
import hashlib
import json
import logging
import os
import os.path as osp
from typing import List, Optional, Sequence

from mmengine import fileio
from mmengine.dist import barrier, get_dist_info, is_distributed
from mmengine.fileio.backends import LocalBackend
from mmengine.logging import MMLogger, print_log
from mmengine.utils import ProgressBar

#: Extensions of the image files the data sets and tools look for.
IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.tif', '.tiff', '.bmp', '.webp')
INDEX_NAME = '.rs4m_index.txt'
INDEX_VERSION = 'selective_mae RS4M index v1'


def lower_extensions(extensions: Sequence[str]) -> tuple:
    """The extensions lower-cased, as a tuple (how the scanners compare)."""
    return tuple(e.lower() for e in extensions)


def is_local(path: str, backend_args: Optional[dict] = None) -> bool:
    """Whether ``path`` is on the local disk for these ``backend_args``."""
    backend = fileio.get_file_backend(
        path, backend_args=backend_args, enable_singleton=True)
    return isinstance(backend, LocalBackend)


def _progress_bar(progress):
    return ProgressBar() if progress and get_dist_info()[0] == 0 else None


def scan_local(root: str, extensions: Sequence[str],
               progress: bool = True) -> List[str]:
    """Relative paths of the image files under a local folder, sorted.

    Args:
        root (str): Folder to scan, at any depth.
        extensions (Sequence[str]): Lower-case extensions with the dot.
        progress (bool): Show a progress bar (rank 0 only).

    Returns:
        list[str]: Paths relative to ``root``.
    """
    found = []
    seen_dirs = set()
    stack = ['']
    bar = _progress_bar(progress)
    while stack:
        rel_dir = stack.pop()
        full_dir = osp.join(root, rel_dir)
        st = os.stat(full_dir)
        if (st.st_dev, st.st_ino) in seen_dirs:
            continue
        seen_dirs.add((st.st_dev, st.st_ino))
        n_before = len(found)
        with os.scandir(full_dir) as it:
            for entry in it:
                rel = osp.join(rel_dir, entry.name) if rel_dir else entry.name
                if entry.is_dir():
                    stack.append(rel)
                elif (osp.splitext(entry.name)[1].lower() in extensions
                      and entry.is_file()):
                    found.append(rel)
        if bar is not None and len(found) > n_before:
            bar.update(len(found) - n_before)
    if bar is not None:
        bar.file.write('\n')
    found.sort()
    return found


def scan_backend(root: str, extensions: Sequence[str], backend_args: dict,
                 progress: bool = True) -> List[str]:
    """Relative paths of the image files under ``root`` on a non-local
    storage backend, sorted.

    Args:
        root (str): Folder (or prefix) to list, at any depth.
        extensions (Sequence[str]): Lower-case extensions with the dot.
        backend_args (dict): mmengine backend arguments.
        progress (bool): Show a progress bar (rank 0 only).

    Returns:
        list[str]: Paths relative to ``root``.

    Raises:
        NotImplementedError: The backend cannot list folders (the message
            says to give a list file instead).
    """
    bar = _progress_bar(progress)
    found = []
    try:
        for rel in fileio.list_dir_or_file(
                root,
                list_dir=False,
                list_file=True,
                recursive=True,
                backend_args=backend_args):
            if osp.splitext(rel)[1].lower() in extensions:
                found.append(rel)
                if bar is not None:
                    bar.update()
    except (NotImplementedError, AttributeError) as e:
        backend = fileio.get_file_backend(root, backend_args=backend_args)
        raise NotImplementedError(
            f'cannot list {root!r}: the storage backend {backend.name} has '
            f'no list_dir_or_file ({e}); give the image list as ann_file'
        ) from e
    if bar is not None:
        bar.file.write('\n')
    found.sort()
    return found


def scan_images(root: str,
                extensions: Sequence[str] = IMG_EXTENSIONS,
                backend_args: Optional[dict] = None,
                progress: bool = True) -> List[str]:
    """Relative paths of the image files under ``root``, sorted, on the
    storage backend ``backend_args`` selects (see the module notes).

    Args:
        root (str): Folder to scan, at any depth.
        extensions (Sequence[str]): Extensions with the dot (any case).
            Defaults to :data:`IMG_EXTENSIONS`.
        backend_args (dict, optional): mmengine storage backend arguments.
            Defaults to None: the backend of the path's prefix.
        progress (bool): Show a progress bar (rank 0 only).

    Returns:
        list[str]: Paths relative to ``root``.
    """
    extensions = lower_extensions(extensions)
    if is_local(root, backend_args):
        return scan_local(root, extensions, progress)
    return scan_backend(root, extensions, backend_args, progress)


class ImageIndex:
    """The image list of one root, scanned once and cached in a file.

    Args:
        root (str): Image root.
        extensions (Sequence[str]): Extensions to index (any case).
        backend_args (dict, optional): mmengine storage backend arguments
            of the root.
        index_dir (str, optional): Where the index goes when the root is not
            writable or not on the local disk. Defaults to the run's work
            dir, or ``~/.cache/selective_mae`` outside a run.
        owner (str): Name in log lines and errors. Defaults to 'RS4M'.

    Attributes:
        index_file (str | None): The index file read or written last.
    """

    def __init__(self,
                 root: str,
                 extensions: Sequence[str] = IMG_EXTENSIONS,
                 backend_args: Optional[dict] = None,
                 index_dir: Optional[str] = None,
                 owner: str = 'RS4M'):
        self.root = root
        self.extensions = lower_extensions(extensions)
        self.backend_args = backend_args
        self.index_dir = index_dir
        self.owner = owner
        self.index_file = None

    @property
    def root_is_local(self) -> bool:
        """bool: Whether the root is on the local disk."""
        return is_local(self.root, self.backend_args)

    def root_id(self) -> str:
        """What identifies the root in the index: its absolute path, or on
        another backend the URI and the backend arguments."""
        if self.root_is_local:
            return osp.abspath(self.root)
        return f'{self.root} backend_args=' + json.dumps(
            self.backend_args, sort_keys=True)

    def header(self) -> str:
        """str: First line of the index file."""
        return (f'# {INDEX_VERSION} root={self.root_id()} '
                f'extensions={",".join(self.extensions)}')

    def candidates(self) -> List[str]:
        """Index file paths to try, beside the data first (local disk
        only)."""
        beside = ([osp.join(self.root, INDEX_NAME)]
                  if self.root_is_local else [])
        index_dir = self.index_dir
        if index_dir is None:
            log_files = [
                h.baseFilename
                for h in MMLogger.get_current_instance().handlers
                if isinstance(h, logging.FileHandler)
            ]
            if log_files:  # <work_dir>/<timestamp>/<timestamp>.log
                index_dir = osp.dirname(osp.dirname(log_files[0]))
            else:
                index_dir = osp.join(
                    osp.expanduser('~'), '.cache', 'selective_mae')
        digest = hashlib.sha1(self.root_id().encode()).hexdigest()[:12]
        elsewhere = osp.join(index_dir, f'rs4m_index_{digest}.txt')
        return beside + [elsewhere]

    def scan(self) -> List[str]:
        """Scan the root (no cache)."""
        if self.root_is_local:
            return scan_local(self.root, self.extensions)
        return scan_backend(self.root, self.extensions, self.backend_args)

    @staticmethod
    def read(path: str, header: str) -> Optional[List[str]]:
        """The paths of an index file, or None if its header differs."""
        with open(path) as f:
            first = f.readline().rstrip('\n')
            if first != header:
                return None
            return [ln.rstrip('\n') for ln in f if ln.strip()]

    def write(self, candidates: List[str], header: str,
              rel_paths: List[str]) -> str:
        """Write the index to the first writable candidate, atomically.

        Returns:
            str: The path written.

        Raises:
            OSError: No candidate is writable (the message lists them).
        """
        for path in candidates:
            tmp = f'{path}.tmp{os.getpid()}'
            try:
                os.makedirs(osp.dirname(path), exist_ok=True)
                with open(tmp, 'w') as f:
                    f.write(header + '\n')
                    f.write('\n'.join(rel_paths) + '\n')
                os.replace(tmp, path)
                return path
            except OSError as e:
                print_log(
                    f'{self.owner}: cannot write index {path!r} ({e})',
                    logger='current')
                if osp.exists(tmp):
                    os.remove(tmp)
        raise OSError(f'{self.owner} could not write its index to any of '
                      f'{candidates}; set index_dir to a writable folder')

    def _read_first(self, candidates, header):
        for path in candidates:
            if osp.isfile(path):
                rel_paths = self.read(path, header)
                if rel_paths is not None:
                    self.index_file = path
                    return rel_paths
        return None

    def load(self, rebuild: bool = False) -> List[str]:
        """The relative image paths: from the index, or scanned (and the
        index written) when there is none, it does not match, or
        ``rebuild``.

        Args:
            rebuild (bool): Rescan even if an index exists.

        Returns:
            list[str]: Sorted paths relative to the root.
        """
        header = self.header()
        candidates = self.candidates()
        if not rebuild:
            rel_paths = self._read_first(candidates, header)
            if rel_paths is not None:
                print_log(
                    f'{self.owner}: {len(rel_paths)} images from index '
                    f'{self.index_file}',
                    logger='current')
                return rel_paths
        rank, _ = get_dist_info()
        if rank == 0:
            print_log(
                f'{self.owner}: scanning {self.root} for {self.extensions}',
                logger='current')
            rel_paths = self.scan()
            self.index_file = self.write(candidates, header, rel_paths)
            print_log(
                f'{self.owner}: indexed {len(rel_paths)} images in '
                f'{self.index_file}',
                logger='current')
        if is_distributed():
            barrier()
        if rank != 0:
            rel_paths = self._read_first(candidates, header)
            if rel_paths is None:  # index not on a shared file system
                rel_paths = self.scan()
        return rel_paths

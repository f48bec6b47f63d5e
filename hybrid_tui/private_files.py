"""Files that hold the user's prompts, replies or code are readable by their owner only.

Directories we create are ``0700`` and files ``0600``, whatever the umask: the mode is given
to ``mkdir``/``open`` themselves, so no other local user can read them even for a moment. A
file or directory made looser by an older version is tightened when it is next opened.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def make_dirs(path: Path) -> None:
    """Create ``path`` and any missing parent as ``0700`` (existing ones are left as they are:
    they may be the user's own, e.g. the directory of ``--dataset-out``)."""
    missing = []
    for directory in (path, *path.parents):
        if directory.is_dir():
            break
        missing.append(directory)
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):
            directory.mkdir(mode=PRIVATE_DIR)


def private_dir(path: Path) -> Path:
    """``path`` as a directory only its owner can list or enter (created, or tightened).
    A shared directory such as ``/tmp`` (sticky bit) is never tightened: others need it."""
    make_dirs(path)
    if not os.stat(path).st_mode & stat.S_ISVTX:
        tighten(path, PRIVATE_DIR)
    return path


def tighten(path: Path, mode: int = PRIVATE_FILE) -> None:
    """Take away every permission of group and others from ``path`` if it exists (a file of
    an older version); anything else about it stays."""
    try:
        found = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return
    current = stat.S_IMODE(found.st_mode)
    if current & 0o077 and not stat.S_ISLNK(found.st_mode):  # never chmod a link's target
        os.chmod(path, current & mode)


def create_private(path: Path) -> None:
    """Make sure ``path`` exists as a ``0600`` file (created empty if missing, else tightened);
    its directory must exist."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, PRIVATE_FILE)
    try:
        _tighten_fd(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def open_private(path: Path, *, exclusive: bool = False) -> Iterator[TextIO]:
    """Open ``path`` for writing text (UTF-8) as a ``0600`` file, replacing it, or with
    ``exclusive`` raising FileExistsError if it exists; missing directories on the way are
    created ``0700``."""
    make_dirs(path.parent)
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    flags |= os.O_EXCL if exclusive else os.O_TRUNC
    fd = os.open(path, flags, PRIVATE_FILE)
    try:
        _tighten_fd(fd)
    except BaseException:
        os.close(fd)
        raise
    with open(fd, "w", encoding="utf-8") as out:
        yield out


def write_private(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` as a ``0600`` file; returns ``path``."""
    with open_private(path) as out:
        out.write(text)
    return path


def _tighten_fd(fd: int) -> None:
    # an existing file keeps its mode through O_CREAT: take group and others away
    mode = stat.S_IMODE(os.fstat(fd).st_mode)
    if mode & 0o077:
        os.fchmod(fd, mode & PRIVATE_FILE)

"""The folders a local file pattern reaches that this user may not search or list, found before
a command reads it: the file systems' matching (Beam's, Python's glob, ``os.path.isfile``)
passes over such a folder without a word, so a file in another user's 700 folder was said to
be missing, and ``parts/a*/x.txt`` read the files of the folders it could search, those of
the others lost. ``tag --input``, ``train``, ``evaluate`` and ``embeddings coverage`` refuse
with ``refusal``'s line.
"""
import fnmatch
import glob
import os
import re


def refusal(pattern):
    """Why a local ``pattern`` cannot be read whole, naming the folder (for the command to
    prefix with its option), else None."""
    found = unsearchable_folder(pattern)
    if found is None:
        return None
    folder, may_search, through_wildcard = found
    # A wildcard reached it (lost+found of a data disk, another user's .git/objects under
    # a **): matching around it is the user's other way out.
    around = ", or a pattern that does not reach it" if through_wildcard else ""
    if may_search:
        return (f"this user may not list the folder {folder}, so the files the pattern "
                f"matches in it cannot be found; ask its owner for read access, or name the "
                f"files one by one{around}")
    return (f"this user may not search the folder {folder}, so the files in it cannot be "
            f"read; ask its owner for access, or use a copy of your own{around}")


def unsearchable_folder(pattern):
    """(folder, whether it may be searched, whether a wildcard reached it) for the first folder,
    level by level, that ``pattern`` reaches and this user may not search, or not list where a
    wildcard is matched in it (every folder under a ``**``); else None. Matched as Beam's
    local matching matches: hidden names included, and symbolic links to folders below the
    first wildcard not followed (it walks the folder before the first wildcard with
    ``os.walk``), so a link there to a folder this user may not search reaches no file."""
    names = [name for name in pattern.split(os.sep) if name]
    folders = [os.sep if os.path.isabs(pattern) else ""]
    walked = False   # below the first wildcard: Beam's walk does not follow links
    for depth, name in enumerate(names):
        if "**" in name:   # any folder below may hold a match
            return _unreadable_below(folders, name[:name.index("**")], walked)
        wildcard = glob.has_magic(name)
        for folder in (folder or os.curdir for folder in folders):
            if not os.access(folder, os.X_OK | (os.R_OK if wildcard else 0)):
                return folder, os.access(folder, os.X_OK), walked
        if depth == len(names) - 1:
            return None
        walked = walked or wildcard
        if wildcard:
            below = (path for folder in folders
                     for path in glob.glob(os.path.join(glob.escape(folder), name),
                                           include_hidden=True))
        else:
            below = (os.path.join(folder, name) for folder in folders)
        folders = sorted(path for path in below
                         if os.path.isdir(path) and not (walked and os.path.islink(path)))
    return None


def _unreadable_below(folders, first, walked):
    """(folder, whether it may be searched, whether a wildcard reached it) for the first of
    ``folders`` or the folders under them (symbolic links not followed, as by Beam) this user
    may not list; else None. Of each one's own folders, only those whose names start as
    ``first`` (the name's part before its ``**``) says: ``data/[!.]**.txt`` leaves out
    ``data/.git``, as Beam's matching of it does."""
    could_hold = re.compile(fnmatch.translate(first + "*")).match
    for top in (folder or os.curdir for folder in folders):
        refused = []
        for parent, children, _ in os.walk(top, onerror=refused.append):
            if refused:
                break
            if parent == top:
                children[:] = [name for name in children if could_hold(name)]
        if refused:
            folder = refused[0].filename
            return folder, os.access(folder, os.X_OK), walked or folder != top
    return None

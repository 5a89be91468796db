"""Listing an image folder: its layout, splits, classes and files, before any file is opened.

A folder holds one sub-folder per class, or `train/`, `val/` (or
`validation/`) and optionally `test/` folders, each holding class sub-folders
(and no images of its own: a `train/` of images is a class like any other).
Files are found recursively inside a class folder; links to folders inside it
are not followed (they are listed as ignored), nor are hidden files and folders.
Only regular files (and links to them) are listed: a FIFO, socket or device
named like an image is listed as bad, anything else of the kind as ignored,
and none of them is ever opened.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from recipes.data.files import check_name, is_image_name, special_file
from zoo.errors import UsageError

SPLIT_FOLDERS = {"train": "train", "val": "val", "validation": "val", "test": "test"}
"""Folder names that mark a split, and the split each names."""
_SKIPPED_FOLDERS = ("__MACOSX",)


@dataclass
class Listing:
    """The files of an image folder, before any of them is opened."""

    root: str
    layout: str  # "classes" (one folder of class folders) or "splits"
    # split ("all" for the classes layout) -> class -> files, sorted
    splits: dict[str, dict[str, list[str]]]
    split_dirs: dict[str, str]
    ignored: list[dict[str, str]]
    unused: list[str] = field(default_factory=list)  # folders next to train/, not splits
    bad: list[dict[str, str]] = field(default_factory=list)  # image names that are no files

    def class_folder(self, split: str, name: str) -> str:
        """A class's folder, relative to the root."""
        return name if self.layout == "classes" else f"{self.split_dirs[split]}/{name}"

    def where(self, split: str) -> str:
        """The folder holding a split's class folders."""
        if self.layout == "classes":
            return self.root
        return os.path.join(self.root, self.split_dirs[split])

    def image_count(self) -> int:
        """Files with an image extension (an upper bound of the usable images)."""
        return sum(
            is_image_name(path)
            for classes in self.splits.values()
            for paths in classes.values()
            for path in paths
        )


def list_folder(data_dir: str) -> Listing:
    """Lists an image folder.

    Args:
        data_dir: The folder.

    Returns:
        Its layout, splits, classes and files.

    Raises:
        UsageError: The folder is missing, is a file, cannot be read, or has
            split folders but no `train/`.
    """
    root = os.fspath(data_dir)
    if not os.path.exists(root):
        raise UsageError(
            f"Data folder not found: {root}; pass a folder with one sub-folder of images "
            "per class (or train/ and val/ folders of them)."
        )
    if not os.path.isdir(root):
        hint = (
            " (extract the archive first)"
            if root.lower().endswith((".zip", ".tar", ".gz", ".tgz"))
            else ""
        )
        raise UsageError(
            f"--data must be a folder, but {root} is a file{hint}; pass the folder that "
            "holds one sub-folder per class."
        )
    ignored: list[dict[str, str]] = []
    bad: list[dict[str, str]] = []
    folders, files = _children(root, ignored)
    split_dirs: dict[str, str] = {}
    for name in folders:
        split = SPLIT_FOLDERS.get(name.lower())
        if split is None or not _is_split_folder(os.path.join(root, name)):
            continue
        if split in split_dirs:
            raise UsageError(
                f"{root} has both {split_dirs[split]}/ and {name}/; keep one validation folder."
            )
        split_dirs[split] = name
    unused: list[str] = []
    if "train" in split_dirs:
        layout = "splits"
        for name in folders:
            if name not in split_dirs.values():
                unused.append(name)
                ignored.append(
                    {
                        "path": os.path.join(root, name),
                        "reason": "not a split folder (expected train/, val/ or validation/, "
                        "test/, each holding class sub-folders)",
                    }
                )
        for name in files:
            ignored.append({"path": os.path.join(root, name), "reason": "not in a class folder"})
        splits = {
            split: _list_classes(os.path.join(root, folder), ignored, bad)
            for split, folder in split_dirs.items()
        }
    elif split_dirs:
        present = ", ".join(f"{folder}/" for folder in split_dirs.values())
        raise UsageError(
            f"{root} has {present} but no train/ folder; add train/ with class sub-folders, "
            "or pass a folder of class sub-folders."
        )
    else:
        layout = "classes"
        splits = {"all": _list_classes(root, ignored, bad)}
    return Listing(root, layout, splits, split_dirs, ignored, unused, bad)


def _is_split_folder(folder: str) -> bool:
    """Whether a folder named like a split holds class sub-folders and no images of its own.

    Otherwise it is a class folder that happens to be called `train`, `test`, ...
    """
    folders, files = _children(folder, [])
    for name in files:
        check = check_name(os.path.join(folder, name))
        if check is None or check.status == "bad":  # an image file, of any type
            return False
    return bool(folders)


def _children(folder: str, ignored: list[dict[str, str]]) -> tuple[list[str], list[str]]:
    folders, files = [], []
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError as error:
        raise UsageError(f"Cannot read {folder}: {error.strerror or error}.") from None
    for entry in entries:
        if entry.name.startswith(".") or entry.name in _SKIPPED_FOLDERS:
            ignored.append({"path": entry.path, "reason": "hidden"})
        elif entry.is_dir():
            folders.append(entry.name)
        else:
            files.append(entry.name)
    return folders, files


def _list_classes(
    folder: str, ignored: list[dict[str, str]], bad: list[dict[str, str]]
) -> dict[str, list[str]]:
    names, files = _children(folder, ignored)
    for name in files:
        ignored.append({"path": os.path.join(folder, name), "reason": "not in a class folder"})
    classes: dict[str, list[str]] = {}
    for name in names:
        found: list[str] = []
        for parent, subfolders, filenames in os.walk(os.path.join(folder, name)):
            kept = []
            for sub in sorted(subfolders):
                if sub.startswith(".") or sub in _SKIPPED_FOLDERS:
                    ignored.append({"path": os.path.join(parent, sub), "reason": "hidden"})
                elif os.path.islink(os.path.join(parent, sub)):
                    ignored.append(
                        {
                            "path": os.path.join(parent, sub),
                            "reason": "link to a folder, not followed; copy or move its "
                            "images into the class folder",
                        }
                    )
                else:
                    kept.append(sub)
            subfolders[:] = kept
            for filename in filenames:
                path = os.path.join(parent, filename)
                special = special_file(path)
                if special is None:
                    found.append(path)
                elif (by_name := check_name(path)) is None or by_name.status == "bad":
                    # named like an image: reported like a broken one, never opened
                    bad.append({"path": path, "reason": special})
                else:
                    ignored.append({"path": path, "reason": special})
        classes[name] = sorted(found)
    return classes

"""Shell completion: what `zoo`'s arguments and options complete to.

click completes sub-command names, options and `click.Choice` values by
itself, and a `click.Path` with the shell's own file names. The callbacks here
add what click cannot know: architecture names, presets and run directories.
They answer without importing TensorFlow, since the shell waits for them.

A completion that suggests names and also takes a path puts click's `file` (or
`dir`) item first: bash's script then shows the names, and the shell's own
file names only when no name matches; zsh and fish show both.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable

import click
from click.shell_completion import CompletionItem

Completer = Callable[[click.Context, click.Parameter, str], list[CompletionItem]]

MAX_ENTRIES = 1000
"""Most entries of one folder looked at: completing in a huge folder stays instant."""


def complete_architecture(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Architecture names; the last of a comma-separated list (`zoo search --arch a,b`)."""
    from zoo.names import ARCHITECTURES

    head, comma, last = incomplete.rpartition(",")
    # As lookup does, without case or separators: `ResNet-5` completes to resnet50.
    key = _squash(last)
    return [
        CompletionItem(f"{head}{comma}{name}")
        for name in ARCHITECTURES
        if _squash(name).startswith(key)
    ]


def _squash(name: str) -> str:
    return name.strip().lower().replace("-", "").replace("_", "")


def complete_base(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """A fine-tuning base: architecture names, run directories and `.keras` files, or any path."""
    names = [] if os.sep in incomplete else complete_architecture(ctx, param, incomplete)
    return [_files(incomplete), *names, *_runs(incomplete)]


def complete_preset(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """The shipped presets' names (the files' names: no preset is read)."""
    from recipes.config.files import PRESET_DIR

    names = sorted(path.stem for path in PRESET_DIR.glob("*.yaml"))
    return [CompletionItem(name) for name in names if name.startswith(incomplete)]


def complete_run(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Run directories (and `.keras` files) at the typed path; any path when none matches."""
    return [_files(incomplete), *_runs(incomplete)]


def complete_directory(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """The shell's directory names, for options that take a folder (`--data DIR`)."""
    return [CompletionItem(incomplete, type="dir")]


def complete_file(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """The shell's file (and directory) names."""
    return [_files(incomplete)]


def words_or_files(*words: str) -> Completer:
    """A completer for a setting that takes one of `words` or a path (`--weights imagenet`)."""

    def complete(
        ctx: click.Context, param: click.Parameter, incomplete: str
    ) -> list[CompletionItem]:
        return [_files(incomplete), *(CompletionItem(w) for w in words if w.startswith(incomplete))]

    return complete


def setting_completions() -> dict[str, Completer]:
    """The completer of each schema setting that click's types do not complete, by name."""
    from recipes.config.schema import CACHE_MODES

    return {
        "arch": complete_architecture,
        "base": complete_base,
        "preset": complete_preset,
        "weights": words_or_files("imagenet", "none"),
        "data_dir": complete_directory,
        "tfds_dir": complete_directory,
        "output": complete_directory,
        "cache": words_or_files(*CACHE_MODES),
    }


def run_paths(incomplete: str, limit: int = 200) -> list[str]:
    """The run directories and `.keras` files a typed path can complete to.

    A folder that is not a run itself but holds runs (`runs/`, a search's
    study) offers the runs inside it, so `zoo evaluate <TAB>` lists `runs/...`.

    Args:
        incomplete: What is typed so far, e.g. `runs/res`.
        limit: Most paths returned.

    Returns:
        The paths, spelt as typed (relative stays relative), sorted.
    """
    from recipes.run.layout import RunLayout

    head, prefix = os.path.split(incomplete)
    found: list[str] = []
    for entry in _entries(os.path.expanduser(head) or os.curdir, prefix):
        path = os.path.join(head, entry.name)
        if entry.is_file() and entry.name.endswith(".keras"):
            found.append(path)
        elif not entry.is_dir():
            continue
        elif RunLayout(entry.path).is_run:
            found.append(path)
        else:
            inside = _entries(entry.path, "")
            found.extend(
                os.path.join(path, child.name)
                for child in inside
                if child.is_dir() and RunLayout(child.path).is_run
            )
        if len(found) >= limit:
            break
    return sorted(found[:limit])


def _entries(folder: str, prefix: str) -> list[os.DirEntry[str]]:
    """The entries of `folder` whose names start with `prefix`; hidden ones only when typed."""
    try:
        with os.scandir(folder) as scan:
            entries = list(itertools.islice(scan, MAX_ENTRIES))
    except OSError:
        return []
    shown = [
        entry
        for entry in entries
        if entry.name.startswith(prefix) and (prefix[:1] == "." or entry.name[:1] != ".")
    ]
    return sorted(shown, key=lambda entry: entry.name)


def _runs(incomplete: str) -> list[CompletionItem]:
    return [CompletionItem(path) for path in run_paths(incomplete)]


def _files(incomplete: str) -> CompletionItem:
    return CompletionItem(incomplete, type="file")

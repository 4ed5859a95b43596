"""The files of a browser session outside the browser: the driver's compile cache (kept between runs),
and the temporary directories of one launch (removed when the session closes)."""

from __future__ import annotations

import os
import tempfile
from typing import Any


def node_compile_cache() -> str | None:
    """Let Playwright's driver keep its compiled JavaScript between runs; the directory, or None.

    The driver is Node loading ~7 MB of bundled JavaScript at every start, a third of a second of a
    one-ticket run spent before Chromium is even asked to start. Node (22.1 and later; older ones ignore
    it) keeps the code it compiled in the directory NODE_COMPILE_CACHE names, and the next driver starts
    ~0.1 s sooner. Set in this process's environment, which Playwright hands to the driver, unless the
    user set it or disabled the cache (NODE_DISABLE_COMPILE_CACHE); the directory is ours, under the
    user's cache directory (XDG_CACHE_HOME, else ~/.cache, when that or the home exists); when it cannot
    be made, nothing is set (the driver compiles, as without)."""
    if os.environ.get("NODE_COMPILE_CACHE") or os.environ.get("NODE_DISABLE_COMPILE_CACHE"):
        return os.environ.get("NODE_COMPILE_CACHE")
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = base
    if not os.path.isabs(base):  # (a relative one is to be ignored)
        root = os.path.expanduser("~")
        base = os.path.join(root, ".cache")
    if not os.path.isdir(root):  # a cache directory or home that does not exist is not made up here
        return None
    path = os.path.join(base, "diagnose", "node-compile-cache")
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
    except OSError:
        return None
    if not os.access(path, os.W_OK | os.X_OK):
        return None
    os.environ["NODE_COMPILE_CACHE"] = path
    return path


def temporary_profiles(procs: list[Any]) -> list[str]:
    """The temporary profile directories (Playwright's, in the temp directory) of these processes."""
    import psutil

    found = []
    prefix = os.path.join(tempfile.gettempdir(), "playwright_chromiumdev_profile-")
    for proc in procs:
        try:
            args = proc.cmdline()
        except psutil.Error:
            continue
        for arg in args:
            if arg.startswith("--user-data-dir="):
                path = arg.split("=", 1)[1]
                if path.startswith(prefix) and "/" not in path[len(prefix):] and path not in found:
                    found.append(path)
    return found


def own_downloads() -> str:
    """A temporary directory for the browser's downloads, made by us: Playwright otherwise makes one
    per launch and removes it only at an orderly close (the session removes this one at any close)."""
    return tempfile.mkdtemp(prefix="diagnose-browser-")

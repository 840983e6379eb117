"""The real window on a real X11 display, as a new user on a fresh Debian meets it after `scripts/demo`'s
own set-up: Qt's xcb platform (not the offscreen one the other GUI tests use) on a virtual display (Xvfb),
the libraries it needs among those `scripts/bootstrap` installs, and Ctrl+C in the terminal closing it."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _need(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{tool} is missing: scripts/bootstrap installs it")
        pytest.skip(f"{tool} is not installed")
    return found


#: Debian's packages of priority "required": on every Debian system, never installed by hand.
BASE = {"libc6", "libgcc-s1", "libstdc++6", "libzstd1", "zlib1g"}


def bootstrap_qt_libraries() -> set[str]:
    text = (ROOT / "scripts" / "bootstrap").read_text(encoding="utf-8")
    found = re.search(r'^qt_libs="([^"]*)"', text, re.M)
    assert found is not None, "scripts/bootstrap names Qt's system libraries in qt_libs"
    return set(found.group(1).split())


def test_bootstrap_installs_every_library_qts_x11_platform_links_to() -> None:
    """Every system library the xcb platform plugin and the Qt libraries under it name (ELF NEEDED) comes
    from a Debian package that `scripts/bootstrap` installs, or from one every Debian system has."""
    _need("dpkg")
    _need("readelf")
    import PySide6

    qt = Path(PySide6.__file__).parent / "Qt"
    files = [qt / "plugins" / "platforms" / "libqxcb.so", *sorted((qt / "plugins" / "xcbglintegrations").glob("*.so")),
             *(qt / "lib" / name for name in ("libQt6XcbQpa.so.6", "libQt6Gui.so.6", "libQt6Core.so.6",
                                              "libQt6DBus.so.6", "libQt6Widgets.so.6"))]
    bundled = {p.name for p in (qt / "lib").iterdir()}
    needed: set[str] = set()
    for file in files:
        assert file.exists(), file
        dynamic = subprocess.run(["readelf", "-d", str(file)], capture_output=True, text=True, check=True).stdout
        needed |= set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic))
    system = sorted(needed - bundled)
    assert "libxcb-icccm.so.4" in system and "libxcb-keysyms.so.1" in system
    resolved = {}
    for file in files:
        for line in subprocess.run(["ldd", str(file)], capture_output=True, text=True, check=True).stdout.splitlines():
            name, arrow, path = line.strip().partition(" => ")
            if not arrow:  # the loader: "/lib64/ld-linux-x86-64.so.2 (0x...)"
                path = name
                name = Path(name.split(" (")[0]).name
            if name in system:
                assert "not found" not in path, f"{file.name}: {line.strip()}"
                resolved[name] = path.split(" (")[0]
    wanted = bootstrap_qt_libraries() | BASE
    for name in system:
        if name.startswith("ld-linux"):
            continue  # the dynamic loader, libc6's
        real = Path(os.path.realpath(resolved[name]))
        owner = subprocess.run(["dpkg", "-S", f"*/{real.parent.name}/{real.name}"], capture_output=True, text=True)
        assert owner.returncode == 0, f"{name} ({resolved[name]}) belongs to no Debian package"
        packages = {line.split(":", 1)[0] for line in owner.stdout.splitlines()}
        assert packages & wanted, f"{name} comes from {packages}, which scripts/bootstrap does not install"


@pytest.fixture
def x_display() -> Iterator[str]:
    """A virtual X11 display (Xvfb), as `xvfb-run -a` gives one; its number once it takes clients."""
    xvfb = _need("Xvfb")
    read, write = os.pipe()
    server = subprocess.Popen([xvfb, "-displayfd", str(write), "-screen", "0", "1920x1080x24", "-nolisten", "tcp"],
                              pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    os.close(write)
    try:
        with os.fdopen(read) as numbers:
            number = numbers.readline().strip()  # written when the server is ready
        assert number.isdigit(), "Xvfb did not start"
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(30)


def test_the_real_window_opens_on_x11_and_ctrl_c_closes_it(tmp_path: Path, x_display: str) -> None:
    """`ccenter demo` on an X11 display, on Qt's xcb platform (a missing library aborts it): the workstation
    opens, and Ctrl+C in its terminal (SIGINT to its process group) closes the windows and ends it with
    status 130, with no error box and no traceback."""
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CCENTER_", "QT_"))}
    env.pop("WAYLAND_DISPLAY", None)
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / ".local" / "share"),
               XDG_CONFIG_HOME=str(home / ".config"), QT_QPA_PLATFORM="xcb", DISPLAY=x_display)
    ccenter = [sys.executable, "-m", "ccenter"]
    subprocess.run([*ccenter, "db", "seed", "--customers", "20"], env=env, check=True, capture_output=True, timeout=120)
    proc = subprocess.Popen([*ccenter, "demo"], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    assert proc.stderr is not None
    seen: list[str] = []
    rest = ""
    try:
        for line in proc.stderr:
            seen.append(line)
            if "ccenter demo: the workstation of" in line:
                break
        assert seen and "is open on xcb" in seen[-1], "".join(seen)
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl+C: the terminal signals its foreground process group
        rest = proc.stderr.read()
        assert proc.wait(60) == 130, "".join(seen) + rest
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        proc.stderr.close()
    assert "ccenter: SIGINT: closing the windows" in rest
    everything = "".join(seen) + rest
    assert "Traceback" not in everything and "Unexpected error" not in everything and "WARNING" not in everything

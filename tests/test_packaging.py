"""What ``pip install ddp-client`` gets: the sdist and the wheel, built for real and opened.

The wheel is built from the sdist (as ``python -m build`` does), so a file missing from the
sdist shows up as a broken wheel here rather than on a user's machine.
"""

from __future__ import annotations

import configparser
import email.parser
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from ddp._version import __version__

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # No build isolation: the dev extra installs the backend, and the build needs no network.
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return out


def _one(dist: Path, pattern: str) -> Path:
    found = sorted(dist.glob(pattern))
    assert len(found) == 1, found
    return found[0]


def _wheel_names(dist: Path) -> list[str]:
    with zipfile.ZipFile(_one(dist, "*.whl")) as wheel:
        return wheel.namelist()


def _wheel_text(dist: Path, suffix: str) -> str:
    with zipfile.ZipFile(_one(dist, "*.whl")) as wheel:
        (name,) = [n for n in wheel.namelist() if n.endswith(suffix)]
        return wheel.read(name).decode()


def test_artifacts_carry_the_single_version(dist: Path) -> None:
    assert _one(dist, "*.whl").name == f"ddp_client-{__version__}-py3-none-any.whl"
    assert _one(dist, "*.tar.gz").name == f"ddp_client-{__version__}.tar.gz"
    import ddp

    assert ddp.__version__ == __version__


def test_wheel_holds_the_package_typed_and_licensed(dist: Path) -> None:
    names = _wheel_names(dist)
    assert "ddp/__init__.py" in names
    assert "ddp/py.typed" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


def test_wheel_holds_nothing_but_the_package(dist: Path) -> None:
    top_levels = {name.split("/", 1)[0] for name in _wheel_names(dist)}
    assert top_levels == {"ddp", f"ddp_client-{__version__}.dist-info"}
    assert not [n for n in _wheel_names(dist) if "__pycache__" in n or n.endswith(".pyc")]


def test_wheel_installs_the_ddp_command(dist: Path) -> None:
    entry_points = configparser.ConfigParser()
    entry_points.read_string(_wheel_text(dist, ".dist-info/entry_points.txt"))
    assert entry_points["console_scripts"]["ddp"] == "ddp.cli:main"


def test_metadata_names_license_python_and_urls(dist: Path) -> None:
    meta = email.parser.Parser().parsestr(_wheel_text(dist, ".dist-info/METADATA"))
    assert meta["Name"] == "ddp-client"
    assert meta["Version"] == __version__
    assert meta["Requires-Python"] == ">=3.11"
    assert meta["License-Expression"] == "MIT"
    urls = {value.split(",", 1)[0] for value in meta.get_all("Project-URL") or []}
    assert {"Documentation", "Source", "Changelog", "Issues"} <= urls


def test_sdist_holds_license_changelog_and_no_local_state(dist: Path) -> None:
    with tarfile.open(_one(dist, "*.tar.gz")) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert {"LICENSE", "CHANGELOG.md", "README.md", "pyproject.toml", "src/ddp/py.typed"} <= names
    local = (".venv", ".git/", "__pycache__", ".mypy_cache", "site/", "dist/")
    assert not [n for n in names if n.startswith(local) or "/__pycache__/" in n]

"""What `pip install .` gets: a wheel with the compiled catalogues and the site it serves."""

import os
import shutil
import subprocess
import sys
import zipfile
from gettext import GNUTranslations
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# What a build reads; a checkout's compiled .mo files are left behind so that the build has to
# compile the catalogues itself.
SOURCES = ("pyproject.toml", "setup.py", "README.md", "inclusive_day", "templates", "static")
SOURCES += ("migrations",)

# An installed copy, on an empty SQLite file: migrate, then ask for the home page in Chinese.
SERVE = """
from inclusive_day import create_app
from inclusive_day.config import TestConfig
from inclusive_day.extensions import db
from flask_migrate import upgrade

app = create_app(TestConfig("sqlite:///" + {database!r}))
with app.app_context():
    upgrade()
    db.engine.dispose()
page = app.test_client().get("/auth/login", headers={{"Accept-Language": "zh"}})
print(page.status_code)
print(page.get_data(as_text=True))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The project built as a wheel from a copy of the sources, without a network."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(
                path,
                source / name,
                ignore=shutil.ignore_patterns("*.mo", "__pycache__", "*.pyc", "*.egg-info"),
            )
        else:
            shutil.copy2(path, source / name)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            "--wheel-dir",
            str(work / "dist"),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    (built,) = (work / "dist").glob("inclusive_day-*.whl")
    return built


def test_the_wheel_carries_compiled_catalogues_in_both_languages(wheel, tmp_path):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for language in ("zh", "en"):
            assert f"inclusive_day/translations/{language}/LC_MESSAGES/messages.mo" in names
        mo = archive.read("inclusive_day/translations/zh/LC_MESSAGES/messages.mo")
    (tmp_path / "messages.mo").write_bytes(mo)
    with (tmp_path / "messages.mo").open("rb") as catalogue:
        assert GNUTranslations(catalogue).gettext("Stations") == "工会驿站"


def test_the_wheel_carries_templates_static_files_and_migrations(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert "inclusive_day/templates/base.html" in names
    assert "inclusive_day/migrations/env.py" in names
    assert any(name.startswith("inclusive_day/migrations/versions/") for name in names)
    assert any(name.startswith("inclusive_day/static/") for name in names)
    assert not any(name.endswith(".po") for name in names)


def test_an_installed_wheel_serves_chinese(wheel, tmp_path):
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    environment = {
        **os.environ,
        "PYTHONPATH": str(site),  # ahead of the checkout's editable install
        "INCLUSIVE_DAY_INSTANCE": str(tmp_path / "instance"),
    }
    script = SERVE.format(database=str(tmp_path / "installed.sqlite"))
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=environment,
        check=True,
        capture_output=True,
        text=True,
    )
    status, _, page = result.stdout.partition("\n")
    assert status == "200"
    assert 'lang="zh-CN"' in page and "登录" in page

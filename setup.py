"""Build step: a wheel carries the compiled catalogues and the site it serves.

In a checkout the catalogues are compiled by `make translations`, and templates/, static/
and migrations/ sit beside the package (config.SITE_DIR finds them there). A wheel has no
checkout around it, so building one compiles every messages.po into messages.mo and copies
those three folders into the package; `pip install .` then serves both languages.
"""

import shutil
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
PACKAGE = "inclusive_day"
SITE_FOLDERS = ("templates", "static", "migrations")


def compile_catalogues(target: Path) -> None:
    """Write each language's messages.mo under `target`, skipping fuzzy entries as pybabel does."""
    for po in sorted((ROOT / PACKAGE / "translations").glob("*/LC_MESSAGES/messages.po")):
        with po.open("rb") as source:
            catalogue = read_po(source, locale=po.parent.parent.name)
        mo = target / po.relative_to(ROOT / PACKAGE).with_suffix(".mo")
        mo.parent.mkdir(parents=True, exist_ok=True)
        with mo.open("wb") as out:
            write_mo(out, catalogue)


class BuildWithSite(build_py):
    """build_py that also compiles the catalogues and copies the site into the package."""

    def run(self):
        super().run()
        if self.editable_mode:
            return  # an editable install serves the checkout itself
        target = Path(self.build_lib) / PACKAGE
        compile_catalogues(target)
        for folder in SITE_FOLDERS:
            shutil.copytree(
                ROOT / folder,
                target / folder,
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            )


setup(cmdclass={"build_py": BuildWithSite})

"""One version for every package: theory.__version__, read by setup.cfg, imported by the
others, and the one the installed distribution reports."""
import configparser
import importlib
from importlib import metadata
from pathlib import Path

import pytest

import theory

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("theory", "analytic", "verify", "figures", "benchmarks")


def test_every_package_has_the_same_version():
    versions = {name: importlib.import_module(name).__version__ for name in PACKAGES}
    assert set(versions.values()) == {theory.__version__}, versions
    assert all(part.isdigit() for part in theory.__version__.split("."))


def test_setup_cfg_reads_the_version_from_theory():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    assert config["metadata"]["version"] == "attr: theory.__version__"


def test_the_installed_distribution_has_the_same_version():
    try:
        installed = metadata.version("overparam-theory")
    except metadata.PackageNotFoundError:
        pytest.skip("overparam-theory is not installed")
    assert installed == theory.__version__

"""environment.yml (conda, SageMaker Studio) and requirements.txt (pip) must ask for the same things.

conda itself is not available in CI, so the check parses both files and compares the requirement
specifiers package by package.
"""

from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def _requirements(lines: list[str]) -> dict[str, Requirement]:
    reqs = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            reqs[req.name.lower()] = req
    return reqs


def _pip_txt() -> dict[str, Requirement]:
    return _requirements((ROOT / "requirements.txt").read_text().splitlines())


def _environment_yml() -> tuple[dict, dict[str, Requirement]]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1, "environment.yml needs exactly one pip: section"
    return env, _requirements(pip_sections[0])


def test_same_packages_and_specifiers():
    pip_reqs = _pip_txt()
    _, conda_reqs = _environment_yml()
    assert sorted(pip_reqs) == sorted(conda_reqs), "package lists differ"
    for name, req in pip_reqs.items():
        other = conda_reqs[name]
        assert req.specifier == other.specifier, f"{name}: {req.specifier} vs {other.specifier}"
        assert req.extras == other.extras, f"{name}: extras {req.extras} vs {other.extras}"


def test_conda_python_matches_the_supported_python():
    env, _ = _environment_yml()
    pythons = [d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python")]
    assert pythons == ["python=3.12"]


def test_serving_container_libraries_are_pinned_exactly():
    """The pickled model only loads in the AWS container when these match it exactly."""
    pip_reqs = _pip_txt()
    assert str(pip_reqs["scikit-learn"].specifier) == "==1.4.2"
    assert str(pip_reqs["numpy"].specifier) == "==2.1.0"

"""The preflight check: each finding on an artifact built to have it, with AWS's text and a fix;
a good artifact passes. Archives that must never be unpacked are refused before anything is
written. Runs without the local SageMaker server (the trial starts its own worker)."""

from __future__ import annotations

import io
import json
import tarfile
import textwrap
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from wheel_builder import make_wheel

from utils.artifact import write_archive
from utils.local_sagemaker.core.archive import (
    ArchiveTooLargeError,
    UnsafeArchiveError,
    safe_extract,
)
from utils.local_sagemaker.core.messages import extract_failure_reason, ping_failure_reason
from utils.local_sagemaker.services.preflight.findings import Severity
from utils.local_sagemaker.services.preflight.handler_checks import check_script
from utils.local_sagemaker.services.preflight.run import (
    SDK_ENVIRONMENT,
    PreflightRequest,
    preflight,
)
from utils.local_sagemaker.services.preflight.trial import Sample
from utils.local_sagemaker.services.preflight.versions import tree_layout_breaks
from utils.local_sagemaker.wire.cli import main

PING_FAILS = ping_failure_reason("AllTraffic")
IMAGE_1_2 = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"

MODEL_FN = """
import os, joblib
def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))
"""

CSV = Sample(b"0.5,0.5\n2.5,2.5\n", "text/csv", name="two-rows.csv")


def _model_bytes(model=None) -> bytes:
    model = LogisticRegression() if model is None else model
    model.fit(np.array([[0.0, 0.0], [1, 1], [2, 2], [3, 3]]), [0, 0, 1, 1])
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    return buffer.getvalue()


MODEL = _model_bytes()


def artifact(tmp_path: Path, code: str = MODEL_FN, extra: dict[str, bytes] | None = None) -> Path:
    files = {"code/inference.py": textwrap.dedent(code).encode(), "model.joblib": MODEL}
    return write_archive(tmp_path / "model.tar.gz", {**files, **(extra or {})})


def raw_tar(tmp_path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]], mode="w:gz") -> Path:
    path = tmp_path / "model.tar.gz"
    with tarfile.open(path, mode) as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


def run(path: Path, samples=(), **settings) -> tuple:
    report = preflight(PreflightRequest(path, samples=list(samples), startup_timeout=60, **settings))
    by_check = {}
    for finding in report.findings:
        by_check.setdefault(finding.check, []).append(finding)
    return report, by_check


def only_error(report, check: str):
    errors = [f for f in report.errors if f.check == check]
    assert errors, report.format()
    return errors[0]


# -- a good artifact ----------------------------------------------------------------------------


def test_a_good_artifact_passes_and_answers(tmp_path, capsys):
    path = artifact(tmp_path)
    sample = tmp_path / "two-rows.csv"
    sample.write_bytes(CSV.body)
    status = main(["preflight", str(path), "--sample", str(sample), "--content-type", "text/csv"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "PASS  ping" in out and "-> 200 application/json: [0, 1]" in out
    assert "Result: PASS, it would deploy and answer" in out


# -- the archive --------------------------------------------------------------------------------


def test_not_a_tar_gets_the_extract_failure(tmp_path):
    path = tmp_path / "model.tar.gz"
    path.write_bytes(b"this is not an archive")
    report, _ = run(path)
    finding = only_error(report, "archive")
    assert finding.aws_shows == extract_failure_reason("s3://your-bucket/model.tar.gz")
    assert "tar -czf" in finding.fix


def test_an_uncompressed_tar_is_refused(tmp_path):
    path = raw_tar(tmp_path, [(_member("code/inference.py"), MODEL_FN.encode())], mode="w")
    report, _ = run(path)
    assert "not gzip-compressed" in only_error(report, "archive").summary


@pytest.mark.parametrize(
    ("member", "reason"),
    [
        (_member("../evil.py"), "'..' path component"),
        (_member("/etc/evil.py"), "absolute path"),
        (_member("code/link", tarfile.SYMTYPE, "../../outside"), "symbolic link pointing outside"),
        (_member("code/hard", tarfile.LNKTYPE, "/etc/passwd"), "hard link to an absolute path"),
        (_member("code/fifo", tarfile.FIFOTYPE), "FIFO"),
    ],
    ids=["traversal", "absolute", "symlink", "hardlink", "fifo"],
)
def test_unsafe_members_are_refused_and_nothing_is_written(tmp_path, member, reason):
    data = b"x" if member.type == tarfile.REGTYPE else None
    path = raw_tar(tmp_path, [(_member("code/inference.py"), MODEL_FN.encode()), (member, data)])
    report, _ = run(path)
    finding = only_error(report, "archive")
    assert reason in finding.summary
    assert finding.aws_shows == extract_failure_reason("s3://your-bucket/model.tar.gz")
    assert not (tmp_path / "evil.py").exists()
    with pytest.raises(UnsafeArchiveError, match=reason.split()[0]):
        safe_extract(path, tmp_path / "out")
    assert not (tmp_path / "out" / "code" / "inference.py").exists()


def test_an_archive_that_unpacks_to_more_than_allowed_is_refused_before_writing(tmp_path):
    # 8 MB of zeros compress to a few KB: the declared sizes, not the download, decide.
    path = raw_tar(tmp_path, [(_member("model.bin"), bytes(8 * 1024 * 1024))])
    assert path.stat().st_size < 64 * 1024
    with pytest.raises(ArchiveTooLargeError, match="8,388,608 bytes"):
        safe_extract(path, tmp_path / "out", max_bytes=1024 * 1024)
    assert not (tmp_path / "out" / "model.bin").exists()


def test_everything_inside_a_folder_is_found_and_the_tar_command_given(tmp_path):
    path = write_archive(
        tmp_path / "model.tar.gz",
        {"model/code/inference.py": MODEL_FN.encode(), "model/model.joblib": MODEL},
    )
    report, _ = run(path)
    finding = only_error(report, "layout")
    assert "inside a folder 'model/'" in finding.summary
    assert finding.aws_shows == PING_FAILS
    assert "tar -czf model.tar.gz -C model ." in finding.fix


def test_a_missing_script_is_named(tmp_path):
    path = write_archive(tmp_path / "model.tar.gz", {"inference.py": b"", "model.joblib": MODEL})
    report, _ = run(path)
    finding = only_error(report, "layout")
    assert finding.summary == "no code/inference.py in the archive; found inference.py"


def test_no_sagemaker_program_is_a_setting_error(tmp_path):
    report, _ = run(artifact(tmp_path), environment={})
    assert "no SAGEMAKER_PROGRAM" in only_error(report, "settings").summary


# -- the handler script -------------------------------------------------------------------------


def test_a_syntax_error_fails_the_ping(tmp_path):
    report, _ = run(artifact(tmp_path, "def model_fn(model_dir)\n    return 1\n"))
    finding = only_error(report, "handlers")
    assert finding.aws_shows.startswith(PING_FAILS) and "SyntaxError" in finding.aws_shows


def test_an_import_the_image_lacks_fails_unless_requirements_name_it(tmp_path):
    code = "import xgboost\n" + MODEL_FN
    report, _ = run(artifact(tmp_path, code))
    finding = only_error(report, "imports")
    assert "ModuleNotFoundError: No module named 'xgboost'" in finding.aws_shows
    assert "requirements.txt" in finding.fix
    code_dir = tmp_path / "code"
    code_dir.mkdir()
    (code_dir / "inference.py").write_text(code)
    (code_dir / "requirements.txt").write_text("# the model's own needs\nxgboost==2.1.0\n")
    (imports, *_) = check_script(code_dir, "inference.py", image_known=True)
    assert imports.severity is Severity.OK, imports


def test_importing_this_project_is_called_out(tmp_path):
    report, _ = run(artifact(tmp_path, "from utils.data import FEATURE_COLUMNS\n" + MODEL_FN))
    assert "does not travel with the model" in only_error(report, "imports").fix


def test_no_model_fn(tmp_path):
    report, _ = run(artifact(tmp_path, "def predict_fn(data, model):\n    return data\n"))
    finding = only_error(report, "handlers")
    assert "Please provide a model_fn implementation" in finding.aws_shows


def test_transform_fn_with_the_other_handlers(tmp_path):
    code = MODEL_FN + "def transform_fn(m, b, c, a):\n    return b\ndef input_fn(b, c):\n    return c\n"
    report, _ = run(artifact(tmp_path, code))
    assert "UserError: Cannot use transform_fn" in only_error(report, "handlers").aws_shows


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("def model_fn():\n    return 1\n", "model_fn() takes 0 positional arguments but 1 was given"),
        ("def model_fn(d, extra):\n    return 1\n",
         "model_fn() missing 1 required positional argument: 'extra'"),
        (MODEL_FN + "def input_fn(body):\n    return body\n",
         "input_fn() takes 1 positional argument but 2 were given"),
    ],
)
def test_signatures_the_container_cannot_call(tmp_path, code, expected):
    report, _ = run(artifact(tmp_path, code))
    finding = only_error(report, "handlers")
    assert f"TypeError: {expected}" in finding.aws_shows
    fails_at_ping = expected.startswith("model_fn")
    assert finding.aws_shows.startswith(PING_FAILS) is fails_at_ping
    assert finding.aws_shows.startswith("Received server error (500)") is not fails_at_ping


# -- versions -----------------------------------------------------------------------------------


def test_versions_json_against_the_image(tmp_path):
    versions = json.dumps({"scikit-learn": "1.2.1", "numpy": "1.24.1"}).encode()
    report, _ = run(artifact(tmp_path, extra={"versions.json": versions}))
    finding = only_error(report, "versions")
    assert finding.summary == "trained with scikit-learn 1.2.1, the image runs 1.4.2"
    assert "sagemaker-scikit-learn:1.2-1-cpu-py3" in finding.fix
    numpy = [f for f in report.findings if f.check == "versions" and "numpy" in f.summary]
    assert numpy and numpy[0].severity is Severity.WARNING


def test_an_image_without_a_table_row_is_said_so(tmp_path):
    _, checks = run(artifact(tmp_path), image="my-registry/my-image:1", samples=[CSV])
    assert checks["versions"][0].severity is Severity.WARNING
    assert "not an image this check knows" in checks["versions"][0].summary


# -- the trial instance -------------------------------------------------------------------------


def test_a_pickle_from_another_scikit_learn_is_caught_in_the_log(tmp_path):
    import sklearn

    report, _ = run(artifact(tmp_path), image=IMAGE_1_2, samples=[CSV])
    finding = only_error(report, "versions")
    assert f"saved by scikit-learn {sklearn.__version__}, the image runs 1.2.1" in finding.summary
    assert finding.aws_shows.startswith(
        "The container log shows: InconsistentVersionWarning: Trying to unpickle estimator "
        "LogisticRegression"
    )
    assert "node array" not in finding.aws_shows
    assert not report.passed


def test_a_forest_from_a_newer_scikit_learn_fails_the_ping_on_the_older_image(tmp_path):
    # Trees pickled by scikit-learn >= 1.3 carry a node field 1.2 does not know: AWS's 1.2-1
    # image cannot load them at all, while the local worker (this project's scikit-learn) can.
    import sklearn

    forest = _model_bytes(RandomForestClassifier(n_estimators=2, random_state=0))
    report, _ = run(artifact(tmp_path, extra={"model.joblib": forest}), image=IMAGE_1_2,
                    samples=[CSV])
    finding = only_error(report, "versions")
    assert f"saved by scikit-learn {sklearn.__version__}, the image runs 1.2.1" in finding.summary
    assert finding.aws_shows.startswith(PING_FAILS)
    assert "InconsistentVersionWarning" in finding.aws_shows
    assert finding.aws_shows.endswith(
        "ValueError: node array from the pickle has an incompatible dtype"
    )
    assert "DecisionTreeClassifier" in finding.aws_shows
    assert "sagemaker-scikit-learn:" in finding.fix or "retrain" in finding.fix


@pytest.mark.parametrize(
    ("trained", "serving", "estimators", "breaks"),
    [
        ("1.4.2", "1.2.1", ["RandomForestClassifier", "DecisionTreeClassifier"], True),
        ("1.3.0", "1.2.1", ["ExtraTreeRegressor", "IsolationForest"], True),
        ("1.4.2", "1.2.1", ["LogisticRegression", "Pipeline"], False),
        ("1.4.2", "1.3.2", ["DecisionTreeClassifier"], False),  # both have the new layout
        ("1.2.1", "1.0.2", ["DecisionTreeClassifier"], False),  # both the old one
        ("pre-0.18", "1.2.1", ["DecisionTreeClassifier"], False),  # unknown: only the warning
    ],
)
def test_which_pickles_hit_the_tree_layout_change(trained, serving, estimators, breaks):
    assert tree_layout_breaks(trained, serving, estimators) is breaks


def test_a_file_missing_at_load_fails_the_ping_and_lists_the_archive(tmp_path):
    report, _ = run(artifact(tmp_path, MODEL_FN.replace("model.joblib", "model.pkl")))
    finding = only_error(report, "ping")
    assert finding.aws_shows.startswith(PING_FAILS)
    assert "No such file or directory: '/opt/ml/model/model.pkl'" in finding.aws_shows
    assert "code/inference.py, model.joblib" in finding.fix


def test_a_handler_that_ignores_the_content_type_fails_the_sample(tmp_path):
    code = MODEL_FN + "import json\ndef input_fn(body, content_type):\n    return json.loads(body)\n"
    report, checks = run(artifact(tmp_path, code), samples=[CSV])
    assert checks["content"][0].severity is Severity.WARNING
    finding = only_error(report, "invoke")
    assert finding.aws_shows.startswith('Received server error (500) from primary with message "')
    assert "The log shows: sagemaker_containers._errors.ClientError: Extra data" in finding.aws_shows
    assert not report.passed


# -- packaging styles ---------------------------------------------------------------------------


def test_requirements_are_installed_for_the_trial(tmp_path):
    wheels = make_wheel(tmp_path / "wheels").parent
    code = MODEL_FN + "import tinypkg\ndef predict_fn(data, model):\n    return [tinypkg.VALUE]\n"
    path = artifact(tmp_path, code, {"code/requirements.txt": b"tinypkg==1.0\n"})
    environment = {**SDK_ENVIRONMENT, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels),
                   "LOCAL_SAGEMAKER_MODEL_ENVIRONMENTS": str(tmp_path / "environments")}
    report, checks = run(path, [CSV], environment=environment)
    assert report.passed, report.format()
    assert checks["invoke"][0].summary.endswith(": [42]")


def test_a_requirement_pip_cannot_install_fails_the_ping_with_pips_error(tmp_path):
    path = artifact(tmp_path, extra={"code/requirements.txt": b"no-such-package-here==1.0\n"})
    environment = {**SDK_ENVIRONMENT, "PIP_NO_INDEX": "1",
                   "LOCAL_SAGEMAKER_MODEL_ENVIRONMENTS": str(tmp_path / "environments")}
    report, _ = run(path, [CSV], environment=environment)
    finding = only_error(report, "ping")
    assert finding.aws_shows.startswith(PING_FAILS)
    assert "ERROR: No matching distribution found for no-such-package-here==1.0" in finding.aws_shows
    assert "InstallModuleError" in finding.aws_shows
    assert "pip could not install code/requirements.txt" in finding.fix


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"src/inference.py": MODEL_FN.encode()}, "no inference.py at the top of s3://b/sourcedir.tar.gz; found src/inference.py"),
        ({"inference.py": b"def model_fn(:\n"}, "inference.py line 1"),
    ],
)
def test_an_s3_sourcedir_is_checked_before_the_instance_loads_it(tmp_path, files, expected):
    model = write_archive(tmp_path / "model.tar.gz", {"model.joblib": MODEL})
    source = write_archive(tmp_path / "sourcedir.tar.gz", files)
    environment = {"SAGEMAKER_PROGRAM": "inference.py",
                   "SAGEMAKER_SUBMIT_DIRECTORY": "s3://b/sourcedir.tar.gz"}
    report, _ = run(model, environment=environment, source_archive=source)
    assert expected in report.errors[0].summary, report.format()
    assert report.errors[0].aws_shows.startswith(PING_FAILS)

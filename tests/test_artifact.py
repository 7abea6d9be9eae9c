"""The model archive: layout, versions file, round trip, reproducibility and safe unpacking."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import joblib
import numpy as np
import pytest

from utils import artifact, data
from utils.artifact import ArchiveError, UnsafeArchiveError, safe_extract


def test_layout(artifact_path):
    assert artifact_path.name == "model.tar.gz"
    entries = artifact.list_artifact(artifact_path)
    assert [(e.name, e.kind) for e in entries] == [
        ("model.joblib", "file"),
        ("versions.json", "file"),
        ("code", "folder"),
        ("code/inference.py", "file"),
    ]
    assert all(e.size > 0 for e in entries if e.kind == "file")
    with tarfile.open(artifact_path, "r:gz") as tar:
        handler = tar.extractfile("code/inference.py").read()
    assert handler == artifact.HANDLER_SOURCE.read_bytes()


def test_serving_environment_names_the_handler_file_in_the_archive(artifact_path):
    env = artifact.SERVING_ENVIRONMENT
    program = env["SAGEMAKER_PROGRAM"]
    folder = env["SAGEMAKER_SUBMIT_DIRECTORY"].removeprefix("/opt/ml/model/")
    names = [e.name for e in artifact.list_artifact(artifact_path)]
    assert f"{folder}/{program}" in names  # the archive is unpacked into /opt/ml/model


def test_listing_is_printable(artifact_path):
    lines = [str(e) for e in artifact.list_artifact(artifact_path)]
    assert lines[0].startswith("model.joblib") and lines[0].endswith(" KB")
    assert lines[2].startswith("code/") and lines[2].endswith("folder")


def test_versions_file(artifact_path, trained):
    versions = artifact.read_versions(artifact_path)
    for library in ("python", "scikit-learn", "numpy", "pandas", "joblib"):
        assert versions[library] == trained.versions[library]
    assert versions["feature_columns"] == data.FEATURE_COLUMNS
    assert versions["numeric_columns"] == data.NUMERIC_COLUMNS
    assert versions["label"] == "creditability" and versions["positive_class"] == "bad"
    assert versions["entry_point"] == "code/inference.py"
    container = versions["target_container"]
    assert container["image"] == "sagemaker-scikit-learn:1.4-2-py312-cpu-py3"
    assert container["framework_version"] == "1.4-2-py312"
    assert container["scikit-learn"] == versions["scikit-learn"]


def test_versions_can_be_overridden(tmp_path, trained):
    fake = {**trained.versions, "scikit-learn": "1.2.1"}
    path = artifact.package_model(trained.pipeline, tmp_path, versions=fake)
    assert artifact.read_versions(path)["scikit-learn"] == "1.2.1"


def test_round_trip_predicts_the_same(model_dir, trained):
    assert sorted(p.relative_to(model_dir).as_posix() for p in model_dir.rglob("*")) == [
        "code",
        "code/inference.py",
        "model.joblib",
        "versions.json",
    ]
    loaded = joblib.load(model_dir / "model.joblib")
    frame = data.generate_applications(50, seed=5)
    np.testing.assert_array_equal(
        loaded.predict_proba(frame[data.FEATURE_COLUMNS]),
        trained.pipeline.predict_proba(frame[data.FEATURE_COLUMNS]),
    )


def test_archives_are_reproducible(tmp_path, trained):
    first = artifact.package_model(trained.pipeline, tmp_path / "a").read_bytes()
    second = artifact.package_model(trained.pipeline, tmp_path / "b").read_bytes()
    assert first == second


def test_packaging_overwrites_and_leaves_no_partial_files(tmp_path, trained):
    artifact.package_model(trained.pipeline, tmp_path)
    artifact.package_model(trained.pipeline, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.tar.gz"]


def test_read_versions_needs_the_file(tmp_path):
    path = _tar(tmp_path, [_file("model.joblib")])
    with pytest.raises(ArchiveError, match=r"has no versions\.json"):
        artifact.read_versions(path)


def test_import_handlers_gives_independent_modules(model_dir):
    first, second = artifact.import_handlers(model_dir), artifact.import_handlers(model_dir)
    assert first is not second and first.__name__ == "inference"
    assert callable(first.model_fn) and callable(first.output_fn)
    with pytest.raises(ArchiveError, match=r"no code/inference\.py"):
        artifact.import_handlers(model_dir / "code")


def test_invoke_handlers(handlers, served_model):
    body = data.to_csv_rows(data.generate_applications(2, seed=0))
    response, content_type = artifact.invoke_handlers(
        handlers, served_model, body, "text/csv", "text/csv"
    )
    assert content_type == "text/csv" and response.count("\n") == 2


# --- safe_extract ----------------------------------------------------------------------------


def _file(name: str, content: bytes = b"x") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(content)
    return info, content


def _special(name: str, kind: bytes, linkname: str = "") -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    return info, None


def _tar(folder: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    path = folder / "model.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for info, content in members:
            tar.addfile(info, io.BytesIO(content) if content is not None else None)
    return path


def test_safe_extract_unpacks_a_normal_archive(tmp_path, artifact_path):
    dest = safe_extract(artifact_path, tmp_path / "new" / "model")
    assert (dest / "code" / "inference.py").is_file()


def test_safe_extract_allows_links_that_stay_inside(tmp_path):
    path = _tar(
        tmp_path,
        [
            _file("model.joblib", b"model"),
            _special("alias.joblib", tarfile.SYMTYPE, "model.joblib"),
            _special("code/copy.joblib", tarfile.LNKTYPE, "model.joblib"),
        ],
    )
    dest = safe_extract(path, tmp_path / "out")
    assert (dest / "alias.joblib").read_bytes() == b"model"
    assert (dest / "code" / "copy.joblib").read_bytes() == b"model"


BAD_MEMBERS = {
    "absolute path": ([_file("/tmp/evil")], "has an absolute path"),
    "windows drive": ([_file("C:/evil")], "has an absolute path"),
    "dot-dot": ([_file("../evil")], "has a '..' path component"),
    "nested dot-dot": ([_file("code/../../evil")], "has a '..' path component"),
    "symlink absolute": (
        [_special("link", tarfile.SYMTYPE, "/etc/passwd")],
        "symbolic link to an absolute path",
    ),
    "symlink outside": (
        [_special("code/link", tarfile.SYMTYPE, "../../outside")],
        "symbolic link pointing outside",
    ),
    "symlinked folder outside": (
        [_special("code", tarfile.SYMTYPE, ".."), _file("code/evil")],
        "symbolic link pointing outside",
    ),
    "hardlink absolute": (
        [_special("link", tarfile.LNKTYPE, "/etc/passwd")],
        "hard link to an absolute path",
    ),
    "hardlink outside": (
        [_special("link", tarfile.LNKTYPE, "../outside")],
        "hard link pointing outside",
    ),
    "character device": ([_special("tty", tarfile.CHRTYPE)], "is a device file"),
    "block device": ([_special("disk", tarfile.BLKTYPE)], "is a device file"),
    "fifo": ([_special("pipe", tarfile.FIFOTYPE)], "is a FIFO"),
}


@pytest.mark.parametrize("case", list(BAD_MEMBERS))
def test_safe_extract_refuses(tmp_path, case):
    members, reason = BAD_MEMBERS[case]
    path = _tar(tmp_path, [_file("model.joblib"), *members])
    dest = tmp_path / "out"
    with pytest.raises(UnsafeArchiveError) as raised:
        safe_extract(path, dest)
    message = str(raised.value)
    assert message.startswith("refusing to unpack model.tar.gz: member ")
    assert reason in message
    # nothing was written, not even the harmless first member
    assert list(dest.iterdir()) == []
    assert not (tmp_path / "evil").exists() and not (tmp_path / "outside").exists()


def test_safe_extract_rejects_non_archives(tmp_path):
    bogus = tmp_path / "model.tar.gz"
    bogus.write_text("not a tar")
    with pytest.raises(ArchiveError, match="is not a readable tar archive"):
        safe_extract(bogus, tmp_path / "out")

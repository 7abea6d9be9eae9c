"""How a transform job assembles its output, for every MultiRecord combination a learner can pick.

The model is the scikit-learn container's default handler chain (only ``model_fn`` is the
user's): without an Accept it answers a mini-batch with one JSON array, with ``text/csv`` one line
per record. AWS writes each mini-batch's response as the model returned it (AssembleWith=Line
adds a newline after it) and splits a response into records only for a join or an OutputFilter
(see the ``batch-data.multirecord-output`` marker). Combinations AWS refuses are refused at
CreateTransformJob.
"""

from __future__ import annotations

import io
import tarfile
import textwrap
from typing import Any

import pytest
from botocore.exceptions import ClientError
from job_helpers import BUCKET, create_model, unique, wait_job

#: A model whose prediction is the sum of each row, served by the container's default handlers.
ROW_SUM = """
class RowSum:
    def predict(self, rows):
        return rows.sum(axis=1)

def model_fn(model_dir):
    return RowSum()
"""

ROWS = b"a,1,2\nb,3,4\nc,5,6\n"
FEATURES = b"1,2\n3,4\n5,6\n"
JOIN = {"InputFilter": "$[1:]", "JoinSource": "Input"}

REFUSED = "refused"
CASES = [
    # (DataProcessing, Accept, AssembleWith) -> the .out, or REFUSED at CreateTransformJob
    (None, None, "Line", b"[3.0, 7.0, 11.0]\n"),
    (None, None, "None", b"[3.0, 7.0, 11.0]"),
    (None, "text/csv", "Line", b"3.0\n7.0\n11.0\n"),
    (None, "text/csv", "None", b"3.0\n7.0\n11.0\n"),
    (None, "application/json", "Line", b"[3.0, 7.0, 11.0]\n"),
    (None, "application/json", "None", b"[3.0, 7.0, 11.0]"),
    (JOIN, None, "Line", REFUSED),
    (JOIN, None, "None", REFUSED),
    (JOIN, "text/csv", "Line", b"a,1,2,3.0\nb,3,4,7.0\nc,5,6,11.0\n"),
    (JOIN, "text/csv", "None", REFUSED),
    # a CSV row is a JSON array: the prediction is appended, the record written as JSON
    (JOIN, "application/json", "Line", b'["a","1","2",3.0]\n["b","3","4",7.0]\n["c","5","6",11.0]\n'),
    (JOIN, "application/json", "None", REFUSED),
]


@pytest.fixture(scope="module")
def row_sum_model(sm: Any, s3: Any) -> str:
    code = textwrap.dedent(ROW_SUM).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("code/inference.py")
        info.size = len(code)
        tar.addfile(info, io.BytesIO(code))
    s3.put_object(Bucket=BUCKET, Key="models/row-sum/model.tar.gz", Body=buffer.getvalue())
    s3.put_object(Bucket=BUCKET, Key="matrix/rows/data.csv", Body=ROWS)
    s3.put_object(Bucket=BUCKET, Key="matrix/features/data.csv", Body=FEATURES)
    return create_model(sm, f"s3://{BUCKET}/models/row-sum/model.tar.gz")


@pytest.mark.slow
@pytest.mark.parametrize(("processing", "accept", "assemble_with", "expected"), CASES)
def test_multirecord_output(sm, s3, row_sum_model, processing, accept, assemble_with, expected):
    name = unique("matrix")
    output: dict[str, str] = {"S3OutputPath": f"s3://{BUCKET}/matrix/out/{name}/"}
    if accept:
        output["Accept"] = accept
    output["AssembleWith"] = assemble_with
    folder = "rows" if processing else "features"
    request: dict[str, Any] = {
        "TransformJobName": name,
        "ModelName": row_sum_model,
        "BatchStrategy": "MultiRecord",
        "TransformInput": {
            "DataSource": {
                "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/matrix/{folder}/"}
            },
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        "TransformOutput": output,
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    }
    if processing:
        request["DataProcessing"] = processing
    if expected == REFUSED:
        with pytest.raises(ClientError) as refused:
            sm.create_transform_job(**request)
        assert refused.value.response["Error"]["Code"] == "ValidationException"
        return
    sm.create_transform_job(**request)
    described = wait_job(sm, name)
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    body = s3.get_object(Bucket=BUCKET, Key=f"matrix/out/{name}/data.csv.out")["Body"].read()
    assert body == expected

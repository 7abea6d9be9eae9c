"""What an asynchronous request hands to the container: the members it passes on, and its ID."""

from __future__ import annotations

from utils.local_sagemaker.services.async_inference.job import Job


def job(**members: str | None) -> Job:
    values: dict[str, str | None] = {"content_type": None, "accept": None, "custom_attributes": None}
    values.update(members)
    return Job(
        inference_id="id-1",
        endpoint="ep",
        input_location="s3://b/in.csv",
        body=None,
        output_location="s3://b/out/id-1.out",
        failure_location="s3://b/failures/id-1-error.out",
        received=0.0,
        deadline=0.0,
        timeout=60.0,
        **values,
    )


def test_container_headers_pass_on_the_set_members() -> None:
    headers = job(content_type="text/csv", accept="application/json", custom_attributes="k=v")
    assert headers.container_headers() == {
        "Content-Type": "text/csv",
        "Accept": "application/json",
        "X-Amzn-SageMaker-Custom-Attributes": "k=v",
        "X-Amzn-SageMaker-Inference-Id": "id-1",
    }


def test_container_headers_leave_out_unset_members() -> None:
    assert job(content_type="text/csv").container_headers() == {
        "Content-Type": "text/csv",
        "X-Amzn-SageMaker-Inference-Id": "id-1",
    }

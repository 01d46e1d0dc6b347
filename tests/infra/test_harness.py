"""The strict mock harness itself: it records parents, refuses vacuous runs and unmodelled outputs."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pytest

from tenantry.mocks import (Harness, OutsideTestError, UnknownCallError, UnmockedOutputError, mock_outputs)

pytestmark = pytest.mark.infra


class Box(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tenantry:test:Box", name, None, opts)
        self.queue = aws.sqs.Queue(f"{name}-queue", name=f"tenantry-t-{name}", opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({})


def test_records_every_registration_with_its_parent_and_camel_case_outputs():
    # GIVEN a component with one child WHEN run under the harness
    harness = Harness(stack="t", region="eu-west-1").run(lambda: Box("box"))
    regs = {r.name: r for r in harness.registrations}
    # THEN the child names the component as its parent and gets realistic outputs
    assert regs["box-queue"].parent == regs["box"].urn
    assert regs["box-queue"].outputs["arn"] == "arn:aws:sqs:eu-west-1:123456789012:tenantry-t-box"
    assert regs["box-queue"].outputs["url"].endswith("/123456789012/tenantry-t-box")


def test_reading_the_record_without_a_run_is_refused():
    # GIVEN a harness whose program never ran under pulumi.runtime.test
    harness = Harness(stack="t", region="eu-west-1")
    # WHEN a test reads what was declared THEN it fails instead of passing vacuously
    with pytest.raises(OutsideTestError):
        harness.registrations


def test_an_unmodelled_output_fed_into_an_input_fails_the_run():
    # GIVEN a program wiring an output the mocks do not model (a queue's deduplication scope)
    def program():
        queue = aws.sqs.Queue("q", name="tenantry-t-q")
        aws.sqs.Queue("r", name="tenantry-t-r", deduplication_scope=queue.deduplication_scope)

    # WHEN it runs THEN the harness names the consumer and the output
    with pytest.raises(UnmockedOutputError) as caught:
        Harness(stack="t", region="eu-west-1").run(program)
    assert caught.value.path == "deduplicationScope"


def test_an_unknown_invoke_fails_the_run():
    with pytest.raises(Exception) as caught:
        Harness(stack="t", region="eu-west-1").run(lambda: aws.get_availability_zones_output().names)
    chain = [caught.value, caught.value.__cause__, caught.value.__context__]
    assert any(isinstance(e, UnknownCallError) for e in chain) or "getAvailabilityZones" in repr(caught.value)


def test_mock_arns_are_tenant_and_region_scoped():
    out = mock_outputs("aws:dynamodb/table:Table", "x", {"name": "tenantry-acme-events", "streamEnabled": True},
                       "us-east-1", "123456789012")
    assert out["arn"] == "arn:aws:dynamodb:us-east-1:123456789012:table/tenantry-acme-events"
    assert out["streamArn"].startswith(out["arn"] + "/stream/")

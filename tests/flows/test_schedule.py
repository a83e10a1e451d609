"""The deployment `pdeforge serve` registers: its schedule, one run at a time, the spec."""

from flows import GenerateSpec
from flows.schedule import next_size, scheduled_deployment, scheduled_generate


def test_scheduled_deployment_carries_the_schedule_and_the_validated_spec(tmp_path):
    spec = GenerateSpec(family="darcy", grid=[16, 16], n=8, solver="petsc:cg+icc",
                        out=str(tmp_path / "s.zarr")).validate()
    deployment = scheduled_deployment(spec, cron="0 2 * * *")
    assert deployment.name == "generate-darcy"
    assert [s.schedule.cron for s in deployment.schedules] == ["0 2 * * *"]
    assert deployment.concurrency_limit == 1  # an overlapping run is cancelled, not queued
    assert deployment.concurrency_options.collision_strategy == "CANCEL_NEW"
    params = deployment.parameters
    assert params["spec"]["n"] == 8 and params["spec"]["chunk"] == spec.chunk
    # Prefect validates the stored parameters back into exactly this spec for each run
    assert scheduled_generate.validate_parameters(params)["spec"] == spec

    grow = scheduled_deployment(spec, interval=30, grow=4)
    assert grow.name == "grow-darcy" and grow.parameters["grow"] == 4
    assert [s.schedule.interval.total_seconds() for s in grow.schedules] == [30]
    assert next_size(spec, 4) == 8  # no store yet: the first run makes --n samples

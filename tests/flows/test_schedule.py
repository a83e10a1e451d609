"""The deployment `pdeforge serve` registers: its schedule and the run it will start."""

from flows import GenerateSpec
from flows.generate import generate, scheduled_deployment


def test_scheduled_deployment_carries_cron_and_the_validated_spec(tmp_path):
    spec = GenerateSpec(family="darcy", grid=[16, 16], n=8, solver="petsc:cg+icc",
                        out=str(tmp_path / "s.zarr")).validate()
    deployment = scheduled_deployment(spec, "0 2 * * *")
    assert deployment.name == "generate-darcy"
    assert [s.schedule.cron for s in deployment.schedules] == ["0 2 * * *"]
    params = deployment.parameters["spec"]
    assert params["family"] == "darcy" and params["n"] == 8 and params["chunk"] == spec.chunk
    # Prefect validates the stored parameters back into exactly this spec for each run
    assert generate.validate_parameters(deployment.parameters)["spec"] == spec

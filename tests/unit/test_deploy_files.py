"""docker compose cannot run here, so its file is checked by reading it."""

from pathlib import Path

import yaml
from click.testing import CliRunner

from cli import civil

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_every_role_and_redis_keeps_an_append_only_file():
    services = compose()["services"]
    assert {"api", "worker", "beat", "redis", "postgres", "flower", "migrate"} <= set(services)
    assert "--appendonly" in services["redis"]["command"]
    assert (
        services["redis"]["command"][services["redis"]["command"].index("--appendonly") + 1]
        == "yes"
    )


def test_compose_services_use_real_postgres_and_redis_and_wait_for_migrations():
    services = compose()["services"]
    for name in ("api", "worker", "beat", "flower"):
        env = services[name]["environment"]
        assert env["CIVIL_DATABASE_URL"].startswith("postgresql://")
        assert env["CIVIL_BROKER_URL"].startswith("redis://redis:")
        assert (
            services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        )


def test_compose_commands_are_real_civil_commands():
    services = compose()["services"]
    runner = CliRunner()
    for name in ("api", "worker", "beat", "migrate"):
        command = services[name]["command"]
        assert command[0] == "civil"
        # --help on the exact subcommand proves it exists and parses its options' names.
        path = [a for a in command[1:] if not a.startswith("-")][:2]
        sub = path[:1] if path[0] != "db" else path
        result = runner.invoke(civil, [*sub, "--help"])
        assert result.exit_code == 0, (name, result.output)
        for option in (a for a in command if a.startswith("--")):
            assert option in result.output, (name, option)


def test_dockerfile_installs_the_cpu_torch_pin_and_ships_models():
    text = (ROOT / "Dockerfile").read_text()
    assert "torch==2.13.0" in text and "download.pytorch.org/whl/cpu" in text
    assert "COPY models ./models" in text and "HF_HUB_OFFLINE=1" in text


def test_civil_processes_share_one_data_volume():
    # Session key, per-site spam models and the ONNX cache must be the same in every process.
    data = compose()
    services = data["services"]
    for name in ("api", "worker", "beat"):
        target = services[name]["environment"]["CIVIL_DATA_DIR"]
        assert f"civildata:{target}" in services[name]["volumes"], name
    assert "civildata" in data["volumes"]

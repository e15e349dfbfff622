"""docker compose cannot run here, so its file is checked by reading it."""

import re
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
    for name in ("api", "worker", "beat", "migrate", "flower"):
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


def dockerfile_lines() -> list[str]:
    return [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]


def test_dockerfile_pins_its_base_image_and_has_a_healthcheck():
    lines = dockerfile_lines()
    base = next(line for line in lines if line.startswith("FROM "))
    # Patch release and Debian release both named: no silent moves under a rebuild.
    assert re.fullmatch(r"FROM python:3\.\d+\.\d+-slim-\w+", base), base
    assert any(line.startswith("HEALTHCHECK ") for line in lines)
    assert "/healthz" in (ROOT / "Dockerfile").read_text()


def test_dockerfile_installs_dependencies_from_constraints_before_the_source():
    lines = dockerfile_lines()
    installs = [i for i, line in enumerate(lines) if "pip install" in line]
    first_source = min(i for i, line in enumerate(lines) if line.startswith("COPY civil"))
    assert installs and installs[0] < first_source
    assert any(i < first_source and "-r /tmp/requirements.txt" in lines[i] for i in installs)
    assert all("-c constraints.txt" in lines[i] for i in installs)
    # After the source only the project itself, its dependencies already in place.
    assert all("--no-deps" in lines[i] for i in installs if i > first_source)
    assert lines.index("COPY constraints.txt ./") < installs[0]


def test_constraints_pin_every_dependency_and_leave_the_project_out():
    import tomllib

    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            assert "==" in line and not line.startswith("-e"), line
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    assert "civil" not in pins
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + [
        dep for extra in ("ops", "train", "dev") for dep in project["optional-dependencies"][extra]
    ]
    for dep in wanted:
        name = re.split(r"[<>=!~\[; ]", dep, maxsplit=1)[0].lower().replace("_", "-")
        assert name in pins, dep


def test_dockerignore_keeps_environments_data_and_secrets_out_of_the_image():
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", "var", "*.sqlite", "*.sqlite3", "**/secret_key", ".env"} <= ignored
    assert {"**/__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"} <= ignored
    # What the image copies must not be ignored.
    copied = {line.split()[1] for line in dockerfile_lines() if line.startswith("COPY ")}
    assert not copied & ignored


def test_compose_worker_beat_and_flower_have_healthchecks_and_flower_needs_a_password():
    services = compose()["services"]
    worker = " ".join(services["worker"]["healthcheck"]["test"])
    assert "inspect ping" in worker and "civil@$$HOSTNAME" in worker
    assert services["beat"]["healthcheck"]["test"] == ["CMD", "civil", "status", "--beat"]
    flower = services["flower"]
    assert flower["command"][:2] == ["civil", "flower"]
    assert "FLOWER_BASIC_AUTH" in flower["environment"]
    # Published on the host's loopback only.
    assert all(port.startswith("127.0.0.1:") for port in flower["ports"])


def test_civil_processes_share_one_data_volume():
    # Session key, per-site spam models and the ONNX cache must be the same in every process.
    data = compose()
    services = data["services"]
    for name in ("api", "worker", "beat"):
        target = services[name]["environment"]["CIVIL_DATA_DIR"]
        assert f"civildata:{target}" in services[name]["volumes"], name
    assert "civildata" in data["volumes"]

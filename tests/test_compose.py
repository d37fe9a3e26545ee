"""docker-compose.yaml is validated, not run (no Docker engine here): its structure as YAML, and
`docker compose config` / `docker-compose config` when a client is installed."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
COMPOSE = REPO / "docker-compose.yaml"


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def test_stack_has_warehouse_airflow_and_pinned_images() -> None:
    services = _compose()["services"]
    assert {"warehouse", "airflow"} <= set(services)
    assert services["warehouse"]["image"] == "postgres:15"
    assert services["airflow"]["image"].startswith("apache/airflow:3.3.2")
    mounts = " ".join(services["airflow"]["volumes"])
    for folder in ("./dags:", "./include:", "./plugins:"):
        assert folder in mounts


def test_no_credentials_in_the_file() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    # every password is a required variable from the environment, never a literal
    for line in text.splitlines():
        if re.search(r"PASSWORD\s*:", line) and not line.lstrip().startswith("#"):
            assert "${" in line and ":?" in line, line
    assert not re.search(r"postgresql://[^$@\s]+:[^$@\s]+@", text), "literal password in a URL"


def test_the_dag_publishes_as_the_publisher_role_not_the_superuser() -> None:
    services = _compose()["services"]
    airflow, init = services["airflow"], services["warehouse-init"]
    connection = airflow["environment"]["AIRFLOW_CONN_CARBON_WAREHOUSE"]
    assert connection.startswith("postgresql://carbon_publisher:${CARBON_PUBLISHER_PASSWORD:?")
    # the superuser's password is not in the Airflow container at all
    assert "POSTGRES_PASSWORD" not in json.dumps(airflow)
    # the roles are made once, by `warehouse init` as the superuser (password via PGPASSWORD)
    assert init["command"][2:5] == ["carbon_assess.cli", "warehouse", "init"]
    assert init["command"][-1].startswith("postgresql://${POSTGRES_USER:-carbon}@warehouse:")
    assert init["environment"]["PGPASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert "CARBON_PUBLISHER_PASSWORD" in init["environment"]
    assert airflow["depends_on"]["warehouse-init"] == {
        "condition": "service_completed_successfully"}


def test_compose_client_accepts_the_file_when_installed() -> None:
    env = {**os.environ, "POSTGRES_PASSWORD": "x", "AIRFLOW_DB_PASSWORD": "y",
           "CARBON_PUBLISHER_PASSWORD": "z"}
    commands = []
    if shutil.which("docker-compose"):
        commands.append(["docker-compose", "-f", str(COMPOSE), "config", "-q"])
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, env=env)
        if probe.returncode == 0:
            commands.append(["docker", "compose", "-f", str(COMPOSE), "config", "-q"])
    if os.environ.get("CI"):
        assert commands, "CI validates docker-compose.yaml: .ci/run installs docker-compose"
    for command in commands:
        result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO)
        assert result.returncode == 0, result.stderr
    missing = subprocess.run(
        commands[0], capture_output=True, text=True, cwd=REPO,
        env={k: v for k, v in env.items() if k != "POSTGRES_PASSWORD"},
    ) if commands else None
    if missing is not None:
        assert missing.returncode != 0 and "POSTGRES_PASSWORD" in missing.stderr
        no_publisher = subprocess.run(
            commands[0], capture_output=True, text=True, cwd=REPO,
            env={k: v for k, v in env.items() if k != "CARBON_PUBLISHER_PASSWORD"},
        )
        assert no_publisher.returncode != 0
        assert "CARBON_PUBLISHER_PASSWORD" in no_publisher.stderr

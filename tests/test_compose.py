"""The deployment is validated, never run (no Docker engine here): docker-compose.yaml's structure
as YAML, the Dockerfile, .dockerignore and .env.example as text, and a real compose client's
normalised `config` output. Without a compose client the client test fails under CI (`.ci/run`
installs Debian's docker-compose) and is skipped elsewhere, saying so."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
COMPOSE = REPO / "docker-compose.yaml"
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
ENV_EXAMPLE = REPO / ".env.example"

BASE_IMAGE = "apache/airflow:3.3.2-python3.11"
AIRFLOW_SERVICES = {"airflow-init", "airflow-apiserver", "airflow-scheduler",
                    "airflow-dag-processor", "airflow-triggerer", "airflow-worker"}
SERVICES = AIRFLOW_SERVICES | {"postgres", "redis", "warehouse"}
# named volume -> mount point on every Airflow service
SHARED_VOLUMES = {"carbon-landing": "/opt/airflow/landing", "carbon-work": "/opt/airflow/carbon",
                  "airflow-logs": "/opt/airflow/logs"}
DB_VOLUMES = {"postgres": "airflow-db-data", "warehouse": "warehouse-data"}
HEALTHCHECKS = {  # service -> what its healthcheck must run
    "postgres": "pg_isready", "warehouse": "pg_isready", "redis": "redis-cli ping",
    "airflow-apiserver": "/api/v2/version", "airflow-scheduler": ":8974/health",
    "airflow-worker": "inspect ping", "airflow-triggerer": "--job-type TriggererJob",
    "airflow-dag-processor": "--job-type DagProcessorJob",
}
SUPERUSER_PASSWORD = "WAREHOUSE_SUPERUSER_PASSWORD"
SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET")
REQUIRED_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*):\?[^}]+\}")
ANY_VAR = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)")
DEV_TOOLS = ("pytest", "ruff", "hypothesis", "aiosmtpd")
NO_CLIENT = ("no compose client (docker-compose or `docker compose`): install docker-compose "
             "(.ci/run installs Debian's docker-compose: apt-get install -y docker-compose)")


def _compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def _compose_code() -> str:
    """docker-compose.yaml without its comment lines (compose interpolates no comment)."""
    lines = COMPOSE.read_text(encoding="utf-8").splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith("#"))


def _services() -> dict[str, Any]:
    return _compose()["services"]


def _text(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True)


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """target -> source of a service's volumes, short ("src:dst[:mode]") or long syntax."""
    mounts = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            mounts[volume["target"]] = volume["source"]
        else:
            source, target = volume.split(":")[:2]
            mounts[target] = source
    return mounts


def _ports(service: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(host ip, host port, container port) of each published port, either syntax."""
    ports = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            ports.append((port.get("host_ip", ""), str(port.get("published", "")),
                          str(port["target"])))
        else:
            # "127.0.0.1:${WAREHOUSE_PORT:-55432}:5432" (the variable may hold a colon-free port)
            parts = re.findall(r"\$\{[^}]*\}|[^:]+", port.split("/")[0])
            ip, host, container = ([""] * (3 - len(parts)) + parts)[-3:]
            ports.append((ip, host, container))
    return ports


def _default(value: str) -> str:
    """`${X:-d}` -> d; a plain value as it is."""
    match = re.fullmatch(r"\$\{[A-Za-z_][A-Za-z0-9_]*:-([^}]*)\}", value)
    return match.group(1) if match else value


def _env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f".env.example: not KEY=VALUE: {line!r}"
            values[key.strip()] = value.strip()
    return values


# --------------------------------------------------------------------------- docker-compose.yaml


def test_every_service_is_there_with_its_image() -> None:
    services = _services()
    assert set(services) == SERVICES
    assert services["warehouse"]["image"] == "postgres:15"
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    for name in AIRFLOW_SERVICES:  # all from the x-airflow-common anchor: this repo's image
        assert services[name]["build"] == ".", name
        assert services[name]["image"] == "${AIRFLOW_IMAGE_NAME:-carbon-assess-airflow:latest}"
    commands = {name: services[name].get("command") for name in AIRFLOW_SERVICES - {"airflow-init"}}
    assert commands == {"airflow-apiserver": "api-server", "airflow-scheduler": "scheduler",
                        "airflow-dag-processor": "dag-processor",
                        "airflow-triggerer": "triggerer", "airflow-worker": "celery worker"}


def test_every_service_has_a_healthcheck_but_the_one_shot_init() -> None:
    services = _services()
    for name, service in services.items():
        if name == "airflow-init":
            assert "healthcheck" not in service
            continue
        check = service.get("healthcheck")
        assert check and check.get("test"), f"{name} has no healthcheck"
        test = check["test"]
        assert HEALTHCHECKS[name] in (test if isinstance(test, str) else " ".join(test)), name
    env = services["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "true"  # serves :8974/health


def test_start_order_init_first_then_the_components() -> None:
    services = _services()
    init = services["airflow-init"]
    assert init["depends_on"] == {name: {"condition": "service_healthy"}
                                  for name in ("postgres", "redis", "warehouse")}
    for name in AIRFLOW_SERVICES - {"airflow-init"}:
        depends = services[name]["depends_on"]
        assert depends["airflow-init"] == {"condition": "service_completed_successfully"}, name
        assert depends["postgres"] == depends["redis"] == {"condition": "service_healthy"}, name
    # the worker's tasks talk to the Execution API: the API server must be up first
    assert services["airflow-worker"]["depends_on"]["airflow-apiserver"] == {
        "condition": "service_healthy"}
    assert init.get("restart", "no") == "no"


def test_workers_scale() -> None:
    services = _services()
    for name, service in services.items():
        assert "container_name" not in service, name
    worker = services["airflow-worker"]
    assert "ports" not in worker and "hostname" not in worker
    assert "$${HOSTNAME}" in " ".join(worker["healthcheck"]["test"])  # each replica pings itself
    assert worker["environment"]["DUMB_INIT_SETSID"] == "0"  # warm shutdown
    # only the UI and the warehouse are published, on the loopback interface
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"airflow-apiserver", "warehouse"}


def test_ports_loopback_and_the_warehouse_off_5432() -> None:
    services = _services()
    [(ip, host, container)] = _ports(services["warehouse"])
    assert (ip, container) == ("127.0.0.1", "5432")
    assert host.startswith("${WAREHOUSE_PORT:-")
    assert _default(host) != "5432", "default warehouse port clashes with a local PostgreSQL"
    assert _default(host).isdigit()
    assert _ports(services["airflow-apiserver"]) == [
        ("127.0.0.1", "${AIRFLOW_PORT:-8080}", "8080")]


def test_named_volumes_for_landing_work_and_logs_on_every_airflow_service() -> None:
    compose = _compose()
    services = compose["services"]
    declared = set(compose["volumes"])
    assert set(SHARED_VOLUMES) | set(DB_VOLUMES.values()) <= declared
    for name in AIRFLOW_SERVICES:
        mounts = _mounts(services[name])
        for volume, target in SHARED_VOLUMES.items():
            assert mounts.get(target) == volume, f"{name}: {target} is not volume {volume}"
        for source in mounts.values():  # DAGs, plugins and the library are in the image
            assert source in declared, f"{name}: {source} is not a named volume"
    # one work area for every run, whichever worker runs a task
    for name in ("airflow-worker", "airflow-scheduler", "airflow-apiserver"):
        assert _mounts(services[name])["/opt/airflow/carbon"] == "carbon-work"
    for name, volume in DB_VOLUMES.items():
        assert _mounts(services[name])["/var/lib/postgresql/data"] == volume
    env = services["airflow-worker"]["environment"]
    assert env["CARBON_ASSESS_HOME"] == SHARED_VOLUMES["carbon-work"]
    assert env["CARBON_LANDING_DIR"] == SHARED_VOLUMES["carbon-landing"]


def test_airflow_settings_on_every_airflow_service() -> None:
    services = _services()
    expected = {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": "redis://:@redis:6379/0",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "true",
        "GX_ANALYTICS_ENABLED": "False",
        "CARBON_ASSESS_HOME": "/opt/airflow/carbon",
        "CARBON_LANDING_DIR": "/opt/airflow/landing",
        "CARBON_WAREHOUSE_CONN_ID": "carbon_warehouse",
        "CARBON_ALERT_CONN_ID": "${CARBON_ALERT_CONN_ID:-}",
        "CARBON_ALERT_TO": "${CARBON_ALERT_TO:-}",
        "AIRFLOW_CONN_SMTP_ALERTS": "${AIRFLOW_CONN_SMTP_ALERTS:-}",
        "CARBON_LANDING_POLL_SECONDS": "${CARBON_LANDING_POLL_SECONDS:-60}",
    }
    for name in AIRFLOW_SERVICES:
        service = services[name]
        env = service["environment"]
        assert {key: env.get(key) for key in expected} == expected, name
        for key in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CELERY__RESULT_BACKEND"):
            assert "@postgres/airflow" in env[key], (name, key)
        assert env["AIRFLOW__API_AUTH__JWT_SECRET"].startswith("${AIRFLOW_JWT_SECRET:?")
        assert env["AIRFLOW__CORE__FERNET_KEY"].startswith("${AIRFLOW_FERNET_KEY:?")
        # the tasks reach the Execution API on the API server service, on its container port
        url = env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]
        match = re.fullmatch(r"http://([a-z0-9-]+):(\d+)/execution/", url)
        assert match, url
        assert match.group(1) == "airflow-apiserver" and match.group(1) in services
        assert _ports(services["airflow-apiserver"])[0][2] == match.group(2)
        assert "_PIP_ADDITIONAL_REQUIREMENTS" not in env
        user = service["user"]
        assert user == ("0:0" if name == "airflow-init" else "${AIRFLOW_UID:-50000}:0"), name


def test_no_credentials_in_the_file() -> None:
    text = _compose_code()
    compose = _compose()

    def environments() -> list[tuple[str, dict[str, Any]]]:
        found = [(name, s.get("environment") or {}) for name, s in compose["services"].items()]
        return [*found, ("x-airflow-common", compose["x-airflow-common"]["environment"])]

    for name, env in environments():
        assert isinstance(env, dict), f"{name}: environment as a mapping, please"
        for key, value in env.items():
            if not SECRET_NAME.search(key):
                continue
            if key.endswith("_FILE"):  # where a secret is kept, not the secret
                assert str(value).startswith("/"), (name, key)
                continue
            assert re.fullmatch(REQUIRED_VAR, str(value)), f"{name}: {key}={value!r}"
    # a secret variable never has a default, wherever it is used
    for var in ANY_VAR.findall(text):
        if SECRET_NAME.search(var):
            assert re.search(r"\$\{" + var + r":\?", text), var
            assert not re.search(r"\$\{" + var + r":?-", text), f"{var} has a default"
    # URLs: no literal password (an empty one, as redis://:@redis, is fine)
    tokens = re.sub(r"\$\$\{[^}]*\}", "<RUNTIME>", text)
    tokens = re.sub(REQUIRED_VAR, "<REQUIRED>", tokens)
    tokens = re.sub(r"\$\{[^}]*\}", "<VAR>", tokens)
    urls = re.findall(r"://([^\s/@\"']*)@", tokens)
    assert len(urls) >= 4, urls  # metadata DB, result backend, broker, warehouse connection
    for auth in urls:
        user, _, password = auth.partition(":")
        assert password in ("", "<REQUIRED>"), f"literal password in a URL: {auth}"
    full_text = COMPOSE.read_text(encoding="utf-8")
    for word in ("_PIP_ADDITIONAL_REQUIREMENTS", "requirements-dev"):
        assert word not in full_text


def test_the_dags_publish_as_carbon_publisher_and_the_superuser_stays_in_init() -> None:
    services = _services()
    for name in AIRFLOW_SERVICES:
        env = services[name]["environment"]
        conn_id = env["CARBON_WAREHOUSE_CONN_ID"]
        connection = env[f"AIRFLOW_CONN_{conn_id.upper()}"]
        assert connection.startswith("postgresql://carbon_publisher:${CARBON_PUBLISHER_PASSWORD:?")
        assert connection.endswith("@warehouse:5432/${WAREHOUSE_DB:-carbon}")
    # the superuser's password: the warehouse itself and airflow-init's warehouse step, no other
    holders = {name for name, s in services.items() if SUPERUSER_PASSWORD in _text(s)}
    assert holders == {"warehouse", "airflow-init"}
    assert SUPERUSER_PASSWORD not in _text(_compose()["x-airflow-common"])
    init = services["airflow-init"]
    assert init["environment"][SUPERUSER_PASSWORD].startswith("${WAREHOUSE_SUPERUSER_PASSWORD:?")
    assert init["environment"]["CARBON_PUBLISHER_PASSWORD"].startswith(
        "${CARBON_PUBLISHER_PASSWORD:?")  # warehouse init gives carbon_publisher its login
    script = " ".join(init["command"])
    assert "/entrypoint airflow db migrate" in script
    step = re.search(r'PGPASSWORD="\$\$\{(\w+)\}" carbon-assess warehouse init \\\s*'
                     r'--warehouse "postgresql://([^"]+)"', script)
    assert step, "airflow-init runs `carbon-assess warehouse init` with PGPASSWORD"
    assert step.group(1) == SUPERUSER_PASSWORD
    # the superuser by name only: its password never in the URL (nor on the command line)
    assert re.fullmatch(r"\$\{WAREHOUSE_SUPERUSER:-\w+\}@warehouse:5432/\$\{WAREHOUSE_DB:-carbon\}",
                        step.group(2)), step.group(2)
    assert services["warehouse"]["environment"]["POSTGRES_DB"] == "${WAREHOUSE_DB:-carbon}"


def test_ui_login_from_the_environment() -> None:
    services = _services()
    init = services["airflow-init"]
    assert init["environment"]["AIRFLOW_ADMIN_PASSWORD"].startswith("${AIRFLOW_ADMIN_PASSWORD:?")
    holders = {name for name, s in services.items() if "AIRFLOW_ADMIN_PASSWORD" in _text(s)}
    assert holders == {"airflow-init"}
    path = init["environment"]["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]
    # init writes the file on a volume that the API server (which checks logins) mounts
    directory = str(Path(path).parent)
    volume = _mounts(init)[directory]
    assert _mounts(services["airflow-apiserver"])[directory] == volume
    assert "SIMPLE_AUTH_MANAGER_PASSWORDS_FILE" in " ".join(init["command"])


def test_header_says_how_to_bring_it_up() -> None:
    header = COMPOSE.read_text(encoding="utf-8").split("\n---", 1)[0]
    for step in ("cp .env.example .env", "docker compose build", "docker compose up -d",
                 "--scale airflow-worker=3",
                 "docker compose cp FILE airflow-apiserver:/opt/airflow/landing/"):
        assert step in header, step


# --------------------------------------------------------------------------- .env.example


def test_env_example_names_every_variable_with_a_comment_and_no_real_secret() -> None:
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    values = _env_example()
    compose_text = _compose_code()
    required = set(REQUIRED_VAR.findall(compose_text))
    assert required >= {"AIRFLOW_DB_PASSWORD", "AIRFLOW_FERNET_KEY", "AIRFLOW_JWT_SECRET",
                        "CARBON_PUBLISHER_PASSWORD", SUPERUSER_PASSWORD}
    assert required <= set(values), f"missing from .env.example: {required - set(values)}"
    used = set(ANY_VAR.findall(compose_text))
    assert used <= set(values), f"not in .env.example: {used - set(values)}"
    for key in required:
        assert values[key], f"{key}: give a placeholder"
    for key, value in values.items():
        if SECRET_NAME.search(key) and key != "AIRFLOW_CONN_SMTP_ALERTS":
            assert value.startswith("change-me"), f"{key}: a placeholder, not a secret"
    assert values["AIRFLOW_CONN_SMTP_ALERTS"] == ""
    # every variable is explained by a comment just above it (or above its group); a section
    # heading (`# --- ...`) does not count
    commented = False
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            commented = False
        elif stripped.startswith("#"):
            commented = not stripped.startswith("# ---")
        else:
            assert commented, f".env.example: no comment for {stripped.split('=')[0]}"
    assert "Fernet.generate_key()" in text and "secrets.token_urlsafe" in text
    gitignore = (REPO / ".gitignore").read_text(encoding="utf-8").split()
    assert ".env" in gitignore  # the real one is never committed


# --------------------------------------------------------------------------- Dockerfile


def _dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    instructions, pending = [], ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, args = (pending + line).partition(" ")
        instructions.append((keyword.upper(), " ".join(args.split())))
        pending = ""
    assert not pending, "Dockerfile ends in a continuation"
    return instructions


def test_dockerfile_extends_the_official_image_at_build_time() -> None:
    instructions = _dockerfile()
    assert [args for keyword, args in instructions if keyword == "FROM"] == [BASE_IMAGE]
    assert instructions[0] == ("FROM", BASE_IMAGE)
    # the image's Airflow is the one requirements.txt pins (pip must not move it)
    pins = (REPO / "requirements.txt").read_text(encoding="utf-8")
    assert re.search(r"^apache-airflow==3\.3\.2\b", pins, re.M)
    assert "GX_ANALYTICS_ENABLED=False" in [args for k, args in instructions if k == "ENV"]

    user, pip_runs = "root", []
    for keyword, args in instructions:
        if keyword == "USER":
            user = args
        elif keyword == "RUN" and "pip install" in args:
            assert user == "airflow", f"pip as the airflow user: {args}"
            assert "--no-cache-dir" in args, args
            pip_runs.append(args)
    dependencies = [run for run in pip_runs if re.search(r"-r \S*requirements\.txt", run)]
    assert len(dependencies) == 1
    assert re.search(r"-r \S*/requirements\.txt\s+-c \S*/constraints\.txt", dependencies[0])
    copied = " ".join(args for keyword, args in instructions if keyword == "COPY")
    assert "requirements.txt" in copied and "constraints.txt" in copied
    project = [run for run in pip_runs if "--no-deps" in run]
    assert len(project) == 1
    source = re.search(r"--no-deps (\S+)", project[0]).group(1)
    copies = [args.split()[-2:] for keyword, args in instructions if keyword == "COPY"]
    assert ["pyproject.toml", f"{source}/pyproject.toml"] in copies
    assert ["include/", f"{source}/include/"] in copies
    assert ["dags/", "/opt/airflow/dags/"] in copies
    assert ["plugins/", "/opt/airflow/plugins/"] in copies
    assert all(args.startswith("--chown=airflow:0 ")
               for keyword, args in instructions if keyword == "COPY")


def test_no_test_tools_and_no_install_at_start_up() -> None:
    dockerfile = DOCKERFILE.read_text(encoding="utf-8")
    for text in (dockerfile, COMPOSE.read_text(encoding="utf-8")):
        assert "requirements-dev" not in text
        assert "_PIP_ADDITIONAL_REQUIREMENTS" not in text
    pip = " ".join(args for keyword, args in _dockerfile() if keyword == "RUN")
    for tool in DEV_TOOLS:
        assert tool not in pip, tool
    # what the image installs is runtime only
    names = [re.split(r"[\s=<>~!\[;#]", line.strip(), maxsplit=1)[0].lower()
             for line in (REPO / "requirements.txt").read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.lstrip().startswith(("#", "-"))]
    assert names and not set(names) & set(DEV_TOOLS), names


def test_dockerignore_keeps_local_state_out_and_what_the_image_needs_in() -> None:
    patterns = [line.strip().rstrip("/") for line in
                DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.lstrip().startswith("#")]

    def ignored(path: str) -> bool:
        verdict = False
        for pattern in patterns:  # docker's rule: the last matching pattern wins
            negated = pattern.startswith("!")
            pattern = pattern.lstrip("!")
            if fnmatch(path, pattern) or fnmatch(path, pattern.removeprefix("**/")):
                verdict = not negated
        return verdict

    for path in (".git", ".venv", "var", ".env", "requirements-dev.txt", ".pytest_cache",
                 ".ruff_cache", ".hypothesis", "tests"):
        assert ignored(path), f".dockerignore does not exclude {path}"
    assert "**/__pycache__" in patterns
    sources = [args.split()[1:-1] for keyword, args in _dockerfile() if keyword == "COPY"]
    for source in (s.rstrip("/") for group in sources for s in group):
        assert (REPO / source).exists(), source
        assert not ignored(source), f"the Dockerfile copies {source}, .dockerignore drops it"


# --------------------------------------------------------------------------- a real client


def _clients() -> list[list[str]]:
    clients = []
    if shutil.which("docker-compose"):
        clients.append(["docker-compose"])
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=60)
        if probe.returncode == 0:
            clients.append(["docker", "compose"])
    if not clients:
        if os.environ.get("CI"):
            pytest.fail(NO_CLIENT)
        pytest.skip(NO_CLIENT)
    return clients


def _hermetic_env() -> dict[str, str]:
    """This process's environment without anything the compose file reads."""
    used = set(ANY_VAR.findall(COMPOSE.read_text(encoding="utf-8")))  # comments too: harmless
    return {key: value for key, value in os.environ.items()
            if key not in used and not key.startswith("COMPOSE_")}


def _dummy_env(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """.env.example with a unique dummy value for each secret, as an env file."""
    values = _env_example()
    for key in values:
        if values[key].startswith("change-me"):
            values[key] = f"dummy-{key.lower().replace('_', '-')}"
    env_file = tmp_path / "compose.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in values.items()), encoding="utf-8")
    return env_file, values


def _config(client: list[str], env_file: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*client, "--env-file", str(env_file), "-f", str(COMPOSE), "config", *args],
        capture_output=True, text=True, cwd=REPO, env=_hermetic_env(), timeout=120,
    )


def test_compose_client_normalises_the_file(tmp_path: Path) -> None:
    env_file, values = _dummy_env(tmp_path)
    for client in _clients():
        result = _config(client, env_file)
        assert result.returncode == 0, (client, result.stderr)
        config = yaml.safe_load(result.stdout)
        services = config["services"]
        assert set(services) == SERVICES, client
        assert set(SHARED_VOLUMES) | set(DB_VOLUMES.values()) <= set(config["volumes"])

        for name in AIRFLOW_SERVICES:
            service = services[name]
            assert service["image"] == values["AIRFLOW_IMAGE_NAME"], name
            assert Path(service["build"]["context"]) == REPO, name
            mounts = _mounts(service)
            for volume, target in SHARED_VOLUMES.items():
                assert mounts[target] == volume, (client, name, target)
            env = service["environment"]
            assert env["AIRFLOW_CONN_CARBON_WAREHOUSE"] == (
                f"postgresql://carbon_publisher:{values['CARBON_PUBLISHER_PASSWORD']}"
                f"@warehouse:5432/{values['WAREHOUSE_DB']}")
            assert env["AIRFLOW__CORE__FERNET_KEY"] == values["AIRFLOW_FERNET_KEY"]
            assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == (
                "http://airflow-apiserver:8080/execution/")
            assert str(env["CARBON_LANDING_POLL_SECONDS"]) == "60"
        for name, service in services.items():
            assert ("healthcheck" in service) == (name != "airflow-init"), name
            assert "container_name" not in service, name
        assert "ports" not in services["airflow-worker"]
        assert _ports(services["warehouse"]) == [("127.0.0.1", "55432", "5432")]
        assert _ports(services["airflow-apiserver"]) == [("127.0.0.1", "8080", "8080")]
        # where each secret ends up once resolved
        superuser = values[SUPERUSER_PASSWORD]
        assert {n for n, s in services.items() if superuser in _text(s)} == {
            "warehouse", "airflow-init"}
        admin = values["AIRFLOW_ADMIN_PASSWORD"]
        assert {n for n, s in services.items() if admin in _text(s)} == {"airflow-init"}
        assert services["airflow-init"]["user"] == "0:0"
        assert services["airflow-worker"]["user"] == f"{values['AIRFLOW_UID']}:0"


def test_compose_client_refuses_a_missing_secret(tmp_path: Path) -> None:
    required = sorted(set(REQUIRED_VAR.findall(_compose_code())))
    example_ok = None
    for client in _clients():
        # .env.example itself is complete (placeholders): compose accepts a copy of it, and
        # airflow-init then refuses the placeholders (test_init_refuses_placeholders)
        example_ok = _config(client, ENV_EXAMPLE, "-q")
        assert example_ok.returncode == 0, (client, example_ok.stderr)
        env_file, values = _dummy_env(tmp_path)
        for name in required:
            partial = tmp_path / f"without-{name}.env"
            partial.write_text("".join(f"{k}={v}\n" for k, v in values.items() if k != name),
                               encoding="utf-8")
            result = _config(client, partial, "-q")
            assert result.returncode != 0, f"{client}: config passes without {name}"
            assert name in result.stderr, (client, name, result.stderr)
    assert example_ok is not None


def test_init_refuses_placeholders_left_from_env_example() -> None:
    """airflow-init's first step, run in bash as the container would: an unedited copy of
    .env.example stops the stack with the names of the variables still to set."""
    import subprocess

    script = _compose()["services"]["airflow-init"]["command"][1].replace("$$", "$")
    check = script.split('if [[ -z "${AIRFLOW_UID:-}" ]]; then')[0] + "echo placeholders-ok\n"
    base = {"PATH": os.environ["PATH"]}
    left = subprocess.run(["bash", "-c", check], capture_output=True, text=True,
                          env={**base, "AIRFLOW_JWT_SECRET": "change-me-jwt-secret",
                               "CARBON_PUBLISHER_PASSWORD": "change-me-publisher-password",
                               "AIRFLOW_UID": "1000"})
    assert left.returncode == 1
    assert "AIRFLOW_JWT_SECRET CARBON_PUBLISHER_PASSWORD" in left.stdout
    edited = subprocess.run(["bash", "-c", check], capture_output=True, text=True,
                            env={**base, "AIRFLOW_JWT_SECRET": "s3cr3t-from-openssl"})
    assert (edited.returncode, edited.stdout.strip()) == (0, "placeholders-ok")

# The carbon-assess Airflow image: the official Airflow 3.3.2 image (Python 3.11) extended with
# this project's pinned runtime dependencies, the carbon_assess package (and its `carbon-assess`
# console script), the DAGs and the UI plugin, all installed at build time, so that containers
# start without installing anything. See https://airflow.apache.org/docs/docker-stack/build.html
# ("Extending the image"). Built and run by docker-compose.yaml: `docker compose build`.
FROM apache/airflow:3.3.2-python3.11

# Great Expectations must not phone home from tasks.
ENV GX_ANALYTICS_ENABLED=False

# pip runs as the airflow user (the image refuses pip as root), into the image's own environment.
USER airflow

# 1. Runtime dependencies, pinned by the lock (one layer, rebuilt only when these two change).
#    requirements.txt pins apache-airflow==3.3.2 itself, so pip cannot move Airflow.
COPY --chown=airflow:0 requirements.txt constraints.txt /tmp/carbon-assess/
RUN pip install --no-cache-dir -r /tmp/carbon-assess/requirements.txt \
        -c /tmp/carbon-assess/constraints.txt

# 2. The project itself (no dependencies: they are all above), from a throw-away copy.
COPY --chown=airflow:0 pyproject.toml /tmp/carbon-assess/src/pyproject.toml
COPY --chown=airflow:0 include/ /tmp/carbon-assess/src/include/
RUN pip install --no-cache-dir --no-deps /tmp/carbon-assess/src \
    && rm -rf /tmp/carbon-assess \
    && carbon-assess --help >/dev/null \
    && python -c "import carbon_assess.settings"

# 3. The DAGs and the UI plugin, where Airflow looks for them.
COPY --chown=airflow:0 dags/ /opt/airflow/dags/
COPY --chown=airflow:0 plugins/ /opt/airflow/plugins/

# 4. Mount points of the compose volumes (landing folder, shared work area, simple auth manager
#    passwords), owned by airflow:0 so that a new named volume starts with the right owner.
RUN mkdir -p /opt/airflow/landing /opt/airflow/carbon /opt/airflow/config

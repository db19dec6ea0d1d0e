# PostgreSQL 15 with pg_auto_failover, from Debian's packages: the image of the monitor
# and of both database nodes in compose.ha.yml. From the repository root:
#   docker build -f docker/pg_auto_failover.Dockerfile -t party-center-pgaf .
FROM debian:bookworm-slim
# No default cluster: pg_autoctl creates its own data directory at first start.
RUN mkdir -p /etc/postgresql-common \
 && echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.conf \
 && apt-get update \
 && apt-get install -y --no-install-recommends \
        postgresql-15 postgresql-15-auto-failover pg-auto-failover-cli ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/postgresql/pgaf \
 && chown -R postgres:postgres /var/lib/postgresql
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config \
    PGDATA=/var/lib/postgresql/pgaf/data \
    XDG_CONFIG_HOME=/var/lib/postgresql/pgaf/config \
    XDG_DATA_HOME=/var/lib/postgresql/pgaf/share
USER postgres
WORKDIR /var/lib/postgresql
VOLUME /var/lib/postgresql/pgaf
EXPOSE 5432
# `pg_autoctl create ... --run` is idempotent: on a restart it finds its node and runs it.
ENTRYPOINT ["pg_autoctl"]

"""Find or start a PostgreSQL server for the test suite.

In order: TEST_DATABASE_URL (used as given); a server on 127.0.0.1:5432, in
which a private database is created and dropped afterwards; a throwaway
cluster from the PostgreSQL binaries on this machine, started on a free port
in a temporary folder and removed afterwards. None of these: None.
"""
import getpass
import glob
import os
import shutil
import subprocess
import tempfile
import time

import psycopg
from psycopg import sql

from tests.support.processes import free_port


def _run_sql(statements, **kwargs):
    """Run statements outside any transaction (CREATE/DROP DATABASE need that)."""
    conn = psycopg.connect(connect_timeout=3, autocommit=True, **kwargs)
    try:
        with conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
    finally:
        conn.close()


def _server_user(host, port):
    """Return a role that can create databases on host:port, or None."""
    for user in dict.fromkeys([os.environ.get("PGUSER"), getpass.getuser(), "postgres"]):
        if not user:
            continue
        for dbname in ("postgres", "template1"):
            try:
                _run_sql(["SELECT 1"], host=host, port=port, user=user, dbname=dbname)
                return user, dbname
            except psycopg.Error:
                continue
    return None


class PrivateDatabase:
    """A database of its own on an existing server; dropped on close()."""

    def __init__(self, host, port, user, maintenance_db):
        self.host, self.port, self.user, self.maintenance_db = host, port, user, maintenance_db
        self.name = f"wizard_test_{os.getpid()}"
        name = sql.Identifier(self.name)
        _run_sql([sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name),
                  sql.SQL("CREATE DATABASE {}").format(name)],
                 host=host, port=port, user=user, dbname=maintenance_db)
        self.url = f"postgresql://{user}@{host}:{port}/{self.name}"

    def close(self):
        _run_sql([sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name))],
                 host=self.host, port=self.port, user=self.user, dbname=self.maintenance_db)


class ThrowawayCluster:
    """initdb + pg_ctl in a temporary folder, on a free port."""

    def __init__(self, bindir):
        self.bindir = bindir
        self.folder = tempfile.mkdtemp(prefix="wizard-pg-")
        self.data = os.path.join(self.folder, "data")
        self.port = free_port()
        # PostgreSQL refuses to run as root; run it as the postgres user then.
        self.prefix = []
        if os.geteuid() == 0:
            self.prefix = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.folder, "postgres")
        self._run("initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync")
        self._run("pg_ctl", "-D", self.data, "-w", "-l", os.path.join(self.folder, "log"),
                  "-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off",
                  "start")
        for _ in range(50):
            try:
                _run_sql(["SELECT 1"], host="127.0.0.1", port=self.port, user="postgres", dbname="postgres")
                break
            except psycopg.Error:
                time.sleep(0.1)
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool, *args):
        subprocess.run(self.prefix + [os.path.join(self.bindir, tool), *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def close(self):
        try:
            self._run("pg_ctl", "-D", self.data, "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)



def find_or_start():
    """Return an object with .url and .close(), or None if no PostgreSQL can be had."""
    if os.environ.get("TEST_DATABASE_URL"):
        class Given:
            url = os.environ["TEST_DATABASE_URL"]

            def close(self):
                pass

        return Given()
    found = _server_user("127.0.0.1", 5432)
    if found:
        return PrivateDatabase("127.0.0.1", 5432, *found)
    bindirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    if bindirs and os.path.exists(os.path.join(bindirs[0], "initdb")):
        return ThrowawayCluster(bindirs[0])
    return None

# -*- test-case-name: tests.test_vxdb_methods -*-
"""
The VXDB schema, versioned with C{PRAGMA user_version}, and its seed data.

Rows are keyed by xid as in the original; every row that refers to a VPS or
a user goes away with it (foreign keys with ON DELETE CASCADE).
"""

from vcd import names

#: Each migration takes the schema from version N to N+1.
MIGRATIONS = [
    # 0 -> 1: the original's tables.
    """
    CREATE TABLE user (
        uid INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        password TEXT NOT NULL,
        admin INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE user_caps (
        uid INTEGER NOT NULL REFERENCES user(uid) ON DELETE CASCADE,
        cap TEXT NOT NULL,
        PRIMARY KEY (uid, cap)
    );
    CREATE TABLE xid_name_map (
        xid INTEGER PRIMARY KEY CHECK (xid BETWEEN 2 AND 65534),
        name TEXT NOT NULL UNIQUE
    );
    CREATE TABLE vps_root (
        xid INTEGER PRIMARY KEY
            REFERENCES xid_name_map(xid) ON DELETE CASCADE,
        state TEXT NOT NULL CHECK (state IN ('creating', 'rebuilding',
                                             'ready', 'broken', 'removing')),
        kind TEXT NOT NULL CHECK (kind IN ('copy', 'overlay')),
        vdir TEXT NOT NULL UNIQUE,
        template TEXT NOT NULL,
        layout TEXT
    );
    CREATE TABLE xid_uid_map (
        xid INTEGER NOT NULL REFERENCES xid_name_map(xid) ON DELETE CASCADE,
        uid INTEGER NOT NULL REFERENCES user(uid) ON DELETE CASCADE,
        PRIMARY KEY (xid, uid)
    );
    CREATE TABLE vx_bcaps (
        xid INTEGER NOT NULL REFERENCES xid_name_map(xid) ON DELETE CASCADE,
        bcap TEXT NOT NULL,
        PRIMARY KEY (xid, bcap)
    );
    CREATE TABLE vx_ccaps (
        xid INTEGER NOT NULL REFERENCES xid_name_map(xid) ON DELETE CASCADE,
        ccap TEXT NOT NULL,
        PRIMARY KEY (xid, ccap)
    );
    CREATE TABLE vx_flags (
        xid INTEGER NOT NULL REFERENCES xid_name_map(xid) ON DELETE CASCADE,
        flag TEXT NOT NULL,
        PRIMARY KEY (xid, flag)
    );
    CREATE TABLE vx_limit (
        xid INTEGER NOT NULL REFERENCES xid_name_map(xid) ON DELETE CASCADE,
        type TEXT NOT NULL,
        soft TEXT NOT NULL,
        max TEXT NOT NULL,
        PRIMARY KEY (xid, type)
    );
    CREATE TABLE vx_sched (
        xid INTEGER NOT NULL REFERENCES xid_name_map(xid) ON DELETE CASCADE,
        cpuid INTEGER NOT NULL,
        interval INTEGER NOT NULL,
        fillrate INTEGER NOT NULL,
        interval2 INTEGER NOT NULL,
        fillrate2 INTEGER NOT NULL,
        tokensmin INTEGER NOT NULL,
        tokensmax INTEGER NOT NULL,
        PRIMARY KEY (xid, cpuid)
    );
    CREATE TABLE vx_cpuset (
        xid INTEGER PRIMARY KEY
            REFERENCES xid_name_map(xid) ON DELETE CASCADE,
        cpus TEXT NOT NULL,
        mems TEXT NOT NULL,
        virtualize INTEGER NOT NULL
    );
    CREATE TABLE vx_uname (
        xid INTEGER NOT NULL REFERENCES xid_name_map(xid) ON DELETE CASCADE,
        uname TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (xid, uname)
    );
    CREATE TABLE dx_limit (
        xid INTEGER PRIMARY KEY
            REFERENCES xid_name_map(xid) ON DELETE CASCADE,
        space TEXT NOT NULL,
        inodes TEXT NOT NULL,
        reserved INTEGER NOT NULL
    );
    CREATE TABLE init_method (
        xid INTEGER PRIMARY KEY
            REFERENCES xid_name_map(xid) ON DELETE CASCADE,
        init TEXT NOT NULL DEFAULT '',
        halt TEXT NOT NULL DEFAULT '',
        reboot TEXT NOT NULL DEFAULT '',
        timeout INTEGER NOT NULL DEFAULT 15
    );
    CREATE TABLE mount (
        xid INTEGER NOT NULL REFERENCES xid_name_map(xid) ON DELETE CASCADE,
        src TEXT NOT NULL,
        dst TEXT NOT NULL,
        type TEXT NOT NULL,
        opts TEXT NOT NULL,
        PRIMARY KEY (xid, dst)
    );
    CREATE TABLE nx_addr (
        xid INTEGER NOT NULL REFERENCES xid_name_map(xid) ON DELETE CASCADE,
        addr TEXT NOT NULL,
        netmask TEXT NOT NULL,
        PRIMARY KEY (xid, addr)
    );
    CREATE TABLE nx_broadcast (
        xid INTEGER PRIMARY KEY
            REFERENCES xid_name_map(xid) ON DELETE CASCADE,
        broadcast TEXT NOT NULL
    );
    CREATE TABLE groups (
        gid INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE
    );
    CREATE TABLE xid_gid_map (
        xid INTEGER NOT NULL REFERENCES xid_name_map(xid) ON DELETE CASCADE,
        gid INTEGER NOT NULL REFERENCES groups(gid) ON DELETE CASCADE,
        PRIMARY KEY (xid, gid)
    );
    CREATE TABLE restart (
        xid INTEGER PRIMARY KEY
            REFERENCES xid_name_map(xid) ON DELETE CASCADE
    );
    CREATE INDEX xid_uid_map_uid ON xid_uid_map(uid);
    CREATE INDEX nx_addr_addr ON nx_addr(addr);
    """,
    # 1 -> 2: unprivileged VPSes: each VPS's range of host ids
    # (vcd.vxdb.userns). VPSes made before get theirs at the daemon's
    # start-up (vcd.vps.usernsmigration).
    """
    CREATE TABLE vps_userns (
        xid INTEGER PRIMARY KEY
            REFERENCES xid_name_map(xid) ON DELETE CASCADE,
        privileged INTEGER NOT NULL DEFAULT 0,
        idbase INTEGER NOT NULL UNIQUE CHECK (idbase > 0),
        idcount INTEGER NOT NULL CHECK (idcount > 0),
        filesbase INTEGER NOT NULL DEFAULT 0
    );
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)

#: The password column of a user who cannot log in until one is set.
LOCKED_PASSWORD = "!"


def migrate(connection):
    """
    Bring the schema of an open connection up to L{SCHEMA_VERSION}, each
    step in its own transaction, and seed a new database.

    @raise RuntimeError: if the database is newer than this code.
    """
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise RuntimeError("VXDB schema version %d is newer than this vcd"
                           " (%d)" % (version, SCHEMA_VERSION))
    for step in range(version, SCHEMA_VERSION):
        connection.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(MIGRATIONS[step]):
                connection.execute(statement)
            if step == 0:
                seed(connection)
            connection.execute("PRAGMA user_version = %d" % (step + 1,))
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise


def _statements(script):
    return [s.strip() for s in script.split(";") if s.strip()]


def seed(cursor):
    """
    Insert the original's seed data: C{admin} (admin flag, every capability
    but HELPER) and C{vshelper} (HELPER only), both locked until a password
    is set, and the group C{onboot}.
    """
    cursor.execute("INSERT INTO user (name, password, admin)"
                   " VALUES ('admin', ?, 1)", (LOCKED_PASSWORD,))
    adminUid = cursor.execute(
        "SELECT uid FROM user WHERE name = 'admin'").fetchone()[0]
    for cap in names.DAEMON_CAPS:
        if cap != "HELPER":
            cursor.execute("INSERT INTO user_caps VALUES (?, ?)",
                           (adminUid, cap))
    cursor.execute("INSERT INTO user (name, password, admin)"
                   " VALUES ('vshelper', ?, 0)", (LOCKED_PASSWORD,))
    helperUid = cursor.execute(
        "SELECT uid FROM user WHERE name = 'vshelper'").fetchone()[0]
    cursor.execute("INSERT INTO user_caps VALUES (?, 'HELPER')", (helperUid,))
    cursor.execute("INSERT INTO groups (name) VALUES ('onboot')")

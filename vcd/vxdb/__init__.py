"""
VXDB, the configuration database: SQLite in WAL mode, written on one
dedicated database thread, each method's work in one transaction.
"""

"""RQ job functions. Each takes ids, re-reads the database and re-checks that
its work is still due; see issue #3 for the purge, mail and sweep jobs."""

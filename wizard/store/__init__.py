"""The store: the database and its pool, migrations, the reused statements and
the models. It imports nothing of the wizard's but the shared seams (clock,
config); the domain and the web read and write through it."""

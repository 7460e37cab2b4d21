"""`make run` finds Redis, or starts its own."""
import os

import redis

from wizard import devrun


def test_redis_url_from_the_environment_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("REDIS_URL", "redis://example.invalid:1/3")
    assert devrun.find_or_start_redis(str(tmp_path)) == ("redis://example.invalid:1/3", None)


def test_without_a_server_an_embedded_redis_is_started_and_stopped(monkeypatch, tmp_path):
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setattr(devrun, "redis_answers", lambda url: False)
    url, server = devrun.find_or_start_redis(str(tmp_path))
    try:
        assert server is not None
        assert url.startswith("unix://")
        client = redis.Redis.from_url(url)
        assert client.ping()
        client.set("wizard-devrun-check", "1")
        assert client.get("wizard-devrun-check") == b"1"
    finally:
        socket_path = server.socket_file
        server.shutdown()
    assert not os.path.exists(socket_path) or not redis_alive(url)


def redis_alive(url):
    try:
        return redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except (redis.RedisError, OSError):
        return False

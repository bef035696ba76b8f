"""benchmarks/web_load.py --proxy nginx --instances 2: the load benchmark drives the production
set-up of docs/deploy.md (a short run: the figures are not the point, the wiring is)."""

from __future__ import annotations

import pytest

from .conftest import PROJECT, load_web_load, nginx_binary


@pytest.fixture
def redis_running():
    redis = pytest.importorskip("redis", reason="the Redis client package `redis` is not "
                                                "installed (pip install redis)")
    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis server reachable at 127.0.0.1:6379 ({exc})")


def test_two_instances_behind_nginx(capsys, redis_running):
    nginx_binary()
    web_load = load_web_load()
    status = web_load.main(["--seconds", "1.5", "--warmup", "0.5", "--concurrency", "4",
                            "--backend", "sqlite", "--proxy", "nginx", "--instances", "2",
                            "--wave", str(_year()), "--project-dir", str(PROJECT)])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "nginx + 2 x gunicorn -w 2" in out
    assert "nginx " in out.split("CPU:")[1].splitlines()[0]  # nginx's CPU is reported
    assert "PASS" in out


def test_two_instances_need_the_proxy(capsys):
    with pytest.raises(SystemExit):
        load_web_load().main(["--instances", "2"])
    assert "--instances 2 needs --proxy nginx" in capsys.readouterr().err


def _year() -> int:
    from .conftest import wave_file

    return int(wave_file().stem)

# SPDX-License-Identifier: MIT
"""What the queue survives: a worker killed with SIGKILL in the middle of
a job (another reclaims it after the visibility timeout; the front door
answers once, with the CLI's text) and Redis restarted with jobs queued
(they are in its append-only file; workers and front doors reconnect
with backoff and say so)."""
from conftest import STREAM, cli_texts, pending_count, result_events, shared_wavs, wait_for


def test_kill_9_mid_job_is_reclaimed_and_answered_once(redis_server, start_worker, start_client,
                                                      long_wav):
    long_wav, want = long_wav
    r = redis_server.client()
    victim = start_worker(["--jobs", "1", "--name", "victim", "--visibility-ms", "1500"])
    c = start_client([long_wav])

    def first_segment():
        keys = r.keys("amn:result:*")
        return keys and any(e["type"] == "segment" for e in result_events(r, keys[0].decode()[11:]))
    wait_for(first_segment, 60, "the first segment of the job", step=0.01)
    victim.kill()
    job = r.keys("amn:result:*")[0].decode()[11:]
    assert not any(e["type"] == "done" for e in result_events(r, job)), "killed too late"
    assert pending_count(r) == 1

    rescuer = start_worker(["--jobs", "1", "--name", "rescuer", "--visibility-ms", "1500"])
    rows = c.finish()
    assert c.proc.returncode == 0, c.log()
    assert len(rows) == 1
    i, got_job, kind, rest, text = rows[0]
    attempt, n_segments, streamed = (int(x) for x in rest.split()[:3])
    assert got_job == job and kind == "done"
    assert attempt == 2 and streamed == n_segments
    assert text == want
    # The stream holds the first delivery's segments and the second's; the
    # answer took each index once and stopped at the one done.
    events = result_events(r, job)
    assert [e["type"] for e in events].count("done") == 1
    assert {e["attempt"] for e in events if e["type"] == "segment"} == {"1", "2"}
    assert "reclaimed entry" in rescuer.log()
    assert pending_count(r) == 0 and r.xlen(STREAM) == 0


def test_redis_restart_with_jobs_queued(redis_server, start_worker, start_client):
    files = shared_wavs()[:6]
    want = cli_texts(files)
    r = redis_server.client()
    c = start_client(files)
    wait_for(lambda: r.exists(STREAM) and r.xlen(STREAM) == len(files), 30, "the jobs to be queued")
    # The group does not exist yet: the first worker creates it from entry 0.
    w = start_worker(["--jobs", "1", "--name", "survivor"])
    wait_for(lambda: r.keys("amn:result:*"), 60, "the first result")
    redis_server.restart(down_s=1.0)
    rows = c.finish()
    assert c.proc.returncode == 0, c.log() + "\n" + w.log()
    assert [row[2] for row in rows] == ["done"] * len(files)
    for i, job, kind, rest, text in rows:
        assert text == want[files[i]], files[i]
    r = redis_server.client()
    assert pending_count(r) == 0 and r.xlen(STREAM) == 0
    # Both sides lost the connection and said so, then came back.
    for log in (w.log(), c.log()):
        assert "connection lost" in log, log
        assert "cannot connect" in log and "connected after" in log, log

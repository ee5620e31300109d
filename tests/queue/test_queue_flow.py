# SPDX-License-Identifier: MIT
"""Many jobs through many workers and front doors: every answer is the
CLI's transcript, none is lost, none is given twice, and the queue is
empty afterwards (each job acknowledged and deleted)."""
import itertools

from conftest import GROUP, STREAM, cli_texts, pending_count, result_events, shared_wavs, wait_for


def test_forty_jobs_three_workers_two_front_doors(redis_server, start_worker, start_client):
    files = list(itertools.islice(itertools.cycle(shared_wavs()), 40))
    want = cli_texts(files)
    workers = [start_worker(["--jobs", "2", "--name", "w%d" % i]) for i in range(3)]
    halves = [files[0::2], files[1::2]]
    clients = [start_client(h) for h in halves]
    answers = {}
    for c, half in zip(clients, halves):
        rows = c.finish()
        assert c.proc.returncode == 0, c.log() + "\n" + repr(rows)
        assert len(rows) == len(half)
        for i, job, kind, rest, text in rows:
            assert kind == "done", (job, kind, rest)
            attempt, n_segments, streamed = (int(x) for x in rest.split()[:3])
            assert attempt == 1 and streamed == n_segments
            assert text == want[half[i]], "job %s (%s) differs from the CLI" % (job, half[i])
            assert job not in answers
            answers[job] = text
    assert len(answers) == 40

    r = redis_server.client()
    # Answered once: one done event per job, segments numbered 0..n-1 once.
    for job in answers:
        events = result_events(r, job)
        kinds = [e["type"] for e in events]
        assert kinds.count("done") == 1 and "error" not in kinds, (job, kinds)
        assert [int(e["index"]) for e in events if e["type"] == "segment"] == \
            list(range(kinds.count("segment")))
        assert 0 < r.ttl("amn:result:" + job) <= 3600
    # Nothing left behind: acknowledged and deleted, no dead letters.
    assert pending_count(r) == 0
    assert r.xlen(STREAM) == 0
    assert not r.exists(STREAM + ":dead")
    done_lines = sum(w.log().count(": done, ") for w in workers)
    assert done_lines == 40
    # The work was shared out: every worker took jobs.
    assert all(": done, " in w.log() for w in workers)
    assert {g["name"].decode() for g in r.xinfo_groups(STREAM)} == {GROUP}


def test_sigterm_finishes_the_job_in_progress(redis_server, start_worker, start_client, long_wav):
    long_wav, want = long_wav
    w = start_worker(["--jobs", "1"])
    c = start_client([long_wav])
    r = redis_server.client()
    wait_for(lambda: pending_count(r) == 1, 60, "the worker to take the job")
    assert w.stop() == 0
    assert "taking no more jobs" in w.log()
    rows = c.finish()
    assert rows and rows[0][2] == "done" and rows[0][4] == want
    assert pending_count(r) == 0

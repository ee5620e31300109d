# SPDX-License-Identifier: MIT
"""Jobs the workers must not choke on, written from Python in the wire
format (Documentation/scale-out.md): corrupt audio, an unknown version,
oversized audio, missing and unknown fields end in STREAM:dead with
their error (and an error event when the job has an id) while good jobs
keep flowing; a job already answered is only acknowledged; a job
delivered more than --max-attempts times is given up with its last error."""
import os

from conftest import (AUDIO, GROUP, STREAM, cli_texts, pending_count, result_events, wait_for)

JFK = os.path.join(AUDIO, "jfk.wav")


def job(job_id, audio, **extra):
    fields = {"v": "1"}
    if job_id is not None:
        fields["id"] = job_id
    fields.update(extra)
    if audio is not None:
        fields["audio"] = audio
    return fields


def dead_entries(r):
    return [{k.decode(): v for k, v in f.items()} for _, f in r.xrange(STREAM + ":dead")]


def test_bad_jobs_go_to_the_dead_letter_and_the_group_flows(redis_server, start_worker, start_client):
    r = redis_server.client()
    with open(JFK, "rb") as f:
        good = f.read()
    want = cli_texts([JFK])[JFK]
    bad = [
        ("bad-corrupt", job("bad-corrupt", os.urandom(4000)), 400, "audio"),
        ("bad-version", dict(job("bad-version", good), v="3"), 400, "version '3' is not supported"),
        ("bad-big", job("bad-big", os.urandom(500000)), 413, "more than the limit of 400000"),
        ("bad-noaudio", job("bad-noaudio", None), 400, "no field 'audio'"),
        (None, job(None, good), 400, "no field 'id'"),
        ("bad-field", job("bad-field", good, colour="blue"), 400, "unknown field 'colour'"),
        ("bad-beam", job("bad-beam", good, beam_size="0"), 400, "field 'beam_size'"),
    ]
    for _, fields, _, _ in bad:
        r.xadd(STREAM, fields)
    w = start_worker(["--jobs", "2", "--max-audio-bytes", "400000"])
    c = start_client([JFK])
    rows = c.finish()
    assert rows[0][2] == "done" and rows[0][4] == want, c.log() + w.log()
    wait_for(lambda: r.xlen(STREAM + ":dead") == len(bad), 60, "every bad job in the dead letter")
    dead = dead_entries(r)
    for job_id, fields, status, why in bad:
        match = [d for d in dead if d.get("id", b"").decode() == (job_id or "")]
        assert len(match) == 1, (job_id, dead)
        d = match[0]
        assert why in d["dead_error"].decode(), (job_id, d["dead_error"])
        assert int(d["dead_status"]) == status
        if status == 413:
            assert b"audio" not in d and int(d["audio_bytes"]) == 500000
        if job_id:
            events = result_events(r, job_id)
            assert [e["type"] for e in events] == ["error"], events
            assert int(events[0]["status"]) == status and why in events[0]["message"]
    assert pending_count(r) == 0 and r.xlen(STREAM) == 0
    assert w.log().count("dead-lettered") == len(bad)


def test_a_job_already_answered_is_only_acknowledged(redis_server, start_worker):
    r = redis_server.client()
    with open(JFK, "rb") as f:
        good = f.read()
    r.xadd("amn:result:dup-1", {"type": "done", "v": "1", "attempt": "1", "text": "earlier",
                                "language": "en", "language_prob": "1", "duration": "11",
                                "segments": "0"})
    w = start_worker(["--jobs", "1"])
    r.xadd(STREAM, job("dup-1", good))
    wait_for(lambda: "already answered" in w.log(), 60, "the worker to see the earlier answer")
    wait_for(lambda: pending_count(r) == 0 and r.xlen(STREAM) == 0, 10, "the acknowledgement")
    assert [e["text"] for e in result_events(r, "dup-1")] == ["earlier"]


def test_too_many_deliveries_is_given_up_with_the_last_error(redis_server, start_worker):
    r = redis_server.client()
    with open(JFK, "rb") as f:
        good = f.read()
    r.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    entry = r.xadd(STREAM, job("tired-1", good))
    # A consumer that took it three times and never finished: deliveries 1, 2, 3.
    r.xreadgroup(GROUP, "ghost", {STREAM: ">"}, count=1)
    for _ in range(2):
        r.xclaim(STREAM, GROUP, "ghost", 0, [entry])
    r.xadd("amn:result:tired-1", {"type": "retry", "v": "1", "attempt": "3",
                                  "message": "the engine ran out of memory"})
    w = start_worker(["--jobs", "1", "--max-attempts", "3", "--visibility-ms", "300"])
    wait_for(lambda: r.exists(STREAM + ":dead"), 30, "the job in the dead letter")
    d = dead_entries(r)[0]
    assert d["id"] == b"tired-1" and int(d["dead_deliveries"]) == 4
    assert d["dead_error"] == b"gave up after 3 deliveries; last error: the engine ran out of memory"
    assert d["audio"] == good  # kept, so that it can be sent again
    events = result_events(r, "tired-1")
    assert [e["type"] for e in events] == ["retry", "error"]
    assert events[1]["status"] == "500"
    assert pending_count(r) == 0
    assert "reclaimed entry" in w.log()

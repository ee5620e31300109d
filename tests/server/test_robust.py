# SPDX-License-Identifier: MIT
"""Bad input never takes the server down: truncated and random uploads,
wrong field types, huge headers, slow and vanishing clients get clear
answers (or a closed connection) and the server keeps serving; a client
that disconnects stops its work; schemathesis fuzzes the OpenAPI
description for a bounded time; SIGTERM lets in-flight work finish."""
import os
import random
import shutil
import signal
import socket
import subprocess
import threading
import time

import httpx
import pytest

from conftest import SAMPLE, make_wav

pytestmark = pytest.mark.usefixtures("need_server")


def healthy(s):
    return httpx.get(s.url + "/health", timeout=10).status_code == 200


def upload(s, name, data, timeout=120, **fields):
    return httpx.post(s.url + "/v1/audio/transcriptions", timeout=timeout,
                      files={"file": (name, data, "application/octet-stream")},
                      data=dict(model="whisper-1", **fields))


def test_truncated_and_random_uploads(shared_server):
    s = shared_server
    wav = open(SAMPLE, "rb").read()
    rng = random.Random(7)
    for cut in (0, 10, 44, 1000, len(wav) // 2):
        r = upload(s, "cut.wav", wav[:cut])
        assert r.status_code in (200, 400), (cut, r.status_code, r.text)
        if r.status_code == 400:
            assert r.json()["error"]["message"]
    for i in range(5):
        junk = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 20000)))
        r = upload(s, f"junk{i}.mp3", junk)
        assert r.status_code == 400, r.text
    assert healthy(s)


@pytest.mark.parametrize("field,value", [
    ("temperature", "abc"), ("temperature", "-3"), ("response_format", "5"),
    ("stream", "maybe"), ("timestamp_granularities[]", "syllable"), ("language", "x" * 300),
    ("vad_filter", "maybe"),
])
def test_wrong_field_values(shared_server, field, value):
    r = upload(shared_server, "jfk.wav", open(SAMPLE, "rb").read(), **{field: value})
    assert r.status_code == 400, (field, value, r.status_code, r.text)
    err = r.json()["error"]
    assert err["message"] and err["type"]


def test_not_multipart_and_empty_bodies(shared_server):
    u = shared_server.url + "/v1/audio/transcriptions"
    assert httpx.post(u, content=b"hello", headers={"content-type": "text/plain"}).status_code in (400, 415)
    assert httpx.post(u, content=b"").status_code in (400, 415)
    bad = b"--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n\r\nRIFF"
    r = httpx.post(u, content=bad, headers={"content-type": "multipart/form-data; boundary=XX"})
    assert r.status_code == 400
    assert healthy(shared_server)


def test_huge_headers(shared_server):
    r = None
    try:
        r = httpx.get(shared_server.url + "/health", headers={"X-Big": "a" * 300000}, timeout=30)
    except httpx.HTTPError:
        pass  # closing the connection is an answer too
    if r is not None:
        assert r.status_code in (400, 413, 431)
    assert healthy(shared_server)


def test_slow_and_vanishing_clients(shared_server):
    s = shared_server
    socks = []
    for _ in range(4):   # half a request line each, then silence
        c = socket.create_connection(("127.0.0.1", s.port), timeout=5)
        c.sendall(b"POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\nContent-Le")
        socks.append(c)
    # a body announced but never sent
    c = socket.create_connection(("127.0.0.1", s.port), timeout=5)
    c.sendall(b"POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data;"
              b" boundary=B\r\nContent-Length: 100000\r\n\r\n--B\r\n")
    socks.append(c)
    t0 = time.time()
    r = upload(s, "jfk.wav", open(SAMPLE, "rb").read())
    assert r.status_code == 200 and "ask not" in r.text, "slow clients blocked a real request"
    assert time.time() - t0 < 60
    for c in socks:
        c.close()
    assert healthy(s)


def test_disconnect_cancels_the_work(start_server, tmp_path):
    # 10 minutes of speech (19 MB, under the 25 MB upload limit): still
    # transcribing 1.5 s in
    # (3 minutes took 2.6 s here once the decoder got faster)
    long_ = make_wav(str(tmp_path / "long.wav"), repeat_to=600.0)
    s = start_server([])
    body = open(long_, "rb").read()
    boundary = "amnboundary"
    payload = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-1\r\n"
               f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"long.wav\"\r\n"
               f"Content-Type: audio/wav\r\n\r\n").encode() + body + f"\r\n--{boundary}--\r\n".encode()
    c = socket.create_connection(("127.0.0.1", s.port), timeout=30)
    c.sendall((f"POST /v1/audio/transcriptions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
               f"Content-Length: {len(payload)}\r\n\r\n").encode() + payload)
    time.sleep(1.5)      # transcribing by now (10 minutes take about 9 s on 2 cores)
    c.close()
    t0 = time.time()
    while time.time() - t0 < 30:
        if "cancel" in s.log().lower() or " 499 " in s.log():
            break
        time.sleep(0.2)
    else:
        pytest.fail("no cancelled request in the log 30 s after the client left:\n" + s.log())
    # a 3 minute file takes well over 30 s of work here; the server is free again much sooner
    assert healthy(s)


def test_sigterm_finishes_in_flight_work(need_server, tmp_path):
    from conftest import Server
    s = Server([])
    res = {}

    def run():
        res["r"] = upload(s, "jfk.wav", open(SAMPLE, "rb").read(), timeout=300)

    t = threading.Thread(target=run)
    t.start()
    time.sleep(0.3)
    s.proc.send_signal(signal.SIGTERM)
    t.join(300)
    assert res["r"].status_code == 200 and "ask not" in res["r"].text
    assert s.proc.wait(120) == 0
    with pytest.raises(httpx.HTTPError):
        httpx.get(s.url + "/health", timeout=5)


def test_schemathesis(shared_server, tmp_path):
    exe = shutil.which("schemathesis") or shutil.which("st")
    if not exe:
        pytest.skip("schemathesis is not installed")
    seconds = os.environ.get("AMN_SCHEMATHESIS_SECONDS", "60")
    r = subprocess.run([exe, "run", shared_server.url + "/openapi.json", "--max-time", seconds,
                        "--checks", "not_a_server_error,status_code_conformance,"
                        "content_type_conformance,response_schema_conformance",
                        "--workers", "1", "--suppress-health-check", "all",
                        "--request-timeout", "120"],
                       capture_output=True, text=True, timeout=int(seconds) + 300,
                       cwd=str(tmp_path))
    print(r.stdout[-4000:])
    assert r.returncode == 0, r.stdout[-8000:] + r.stderr[-2000:]
    assert healthy(shared_server)

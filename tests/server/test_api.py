# SPDX-License-Identifier: MIT
"""The server through the real OpenAI client (PyPI `openai`) and raw HTTP:
every response_format equals the CLI's output for the same file, streaming
events, translations, the OpenAI error object with the right statuses, and
the plain endpoints (/health, /ready, /v1/models, /metrics, 404, 405)."""
import json
import os
import subprocess

import httpx
import openai
import pytest

from conftest import MODEL, ROOT, SAMPLE, cli_output, keys_file

pytestmark = pytest.mark.usefixtures("need_server")


def client(server, key="none"):
    return openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0, timeout=300)


def cli_json(path=SAMPLE):
    return json.loads(cli_output(path, "json"))


def test_json_and_text_equal_the_cli(shared_server):
    c = client(shared_server)
    with open(SAMPLE, "rb") as f:
        r = c.audio.transcriptions.create(model="whisper-1", file=f)
    assert r.text.strip() == cli_json()["text"].strip()
    with open(SAMPLE, "rb") as f:
        t = c.audio.transcriptions.create(model="whisper-1", file=f, response_format="text")
    assert isinstance(t, str)
    assert t.strip() == cli_json()["text"].strip()


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_subtitles_equal_the_cli(shared_server, fmt):
    c = client(shared_server)
    with open(SAMPLE, "rb") as f:
        r = c.audio.transcriptions.create(model="whisper-1", file=f, response_format=fmt)
    assert r == cli_output(SAMPLE, fmt)


def test_verbose_json_segments(shared_server):
    c = client(shared_server)
    with open(SAMPLE, "rb") as f:
        r = c.audio.transcriptions.create(model="whisper-1", file=f, response_format="verbose_json",
                                          timestamp_granularities=["segment"])
    ref = cli_json()
    assert r.language in ("en", "english")
    assert abs(r.duration - 11.0) < 0.01
    assert r.text.strip() == ref["text"].strip()
    assert len(r.segments) == len(ref["segments"])
    for i, (s, t) in enumerate(zip(r.segments, ref["segments"])):
        assert s.id == i
        assert s.text == t["text"]
        assert abs(s.start - t["start"]) < 1e-3 and abs(s.end - t["end"]) < 1e-3
        assert list(s.tokens) == t["tokens"]
        for k in ("temperature", "avg_logprob", "compression_ratio", "no_speech_prob"):
            assert abs(getattr(s, k) - t[k]) < 1e-3, k
        assert s.seek >= 0


def test_stream_events(shared_server):
    c = client(shared_server)
    deltas, done = [], None
    with open(SAMPLE, "rb") as f:
        stream = c.audio.transcriptions.create(model="whisper-1", file=f, stream=True)
        for ev in stream:
            if ev.type == "transcript.text.delta":
                assert done is None, "delta after done"
                deltas.append(ev.delta)
            elif ev.type == "transcript.text.done":
                done = ev.text
    assert done is not None, "no transcript.text.done event"
    assert len(deltas) == len(cli_json()["segments"])
    assert "".join(deltas).strip() == done.strip() == cli_json()["text"].strip()


def test_translation_needs_a_multilingual_model(shared_server):
    c = client(shared_server)
    with open(SAMPLE, "rb") as f, pytest.raises(openai.BadRequestError) as e:
        c.audio.translations.create(model="whisper-1", file=f)
    assert "multilingual" in str(e.value)


def test_translation_with_base(start_server):
    base = os.path.join(ROOT, "models", "base")
    if not os.path.exists(os.path.join(base, "model.bin")):
        pytest.skip("models/base missing")
    s = start_server(["--model", base])
    with open(SAMPLE, "rb") as f:
        r = client(s).audio.translations.create(model="whisper-1", file=f)
    assert "ask not what your country can do for you" in r.text.lower().replace(",", "")


def test_keys_and_401(start_server):
    keys = keys_file(["# key tenant weight", "k-alpha alpha 1", "k-beta\tbeta\t3 max_concurrent=2"])
    s = start_server(["--keys", keys])
    with open(SAMPLE, "rb") as f, pytest.raises(openai.AuthenticationError):
        client(s, "wrong").audio.transcriptions.create(model="whisper-1", file=f)
    r = httpx.post(s.url + "/v1/audio/transcriptions", files={"file": open(SAMPLE, "rb")})
    assert r.status_code == 401
    assert set(r.json()["error"]) >= {"message", "type", "param", "code"}
    with open(SAMPLE, "rb") as f:
        ok = client(s, "k-beta").audio.transcriptions.create(model="whisper-1", file=f)
    assert "ask not" in ok.text
    os.unlink(keys)
    assert "beta" in s.log()   # the request's log line names its tenant


def test_bad_requests_are_400(shared_server):
    c = client(shared_server)
    with pytest.raises(openai.BadRequestError):
        c.audio.transcriptions.create(model="whisper-1", file=("x.wav", b"RIFF\0\0\0\0WAVEjunk"))
    with open(SAMPLE, "rb") as f, pytest.raises(openai.BadRequestError) as e:
        c.audio.transcriptions.create(model="whisper-1", file=f, response_format="xml")
    assert e.value.body["param"] == "response_format" if isinstance(e.value.body, dict) else True
    with open(SAMPLE, "rb") as f, pytest.raises(openai.BadRequestError):
        c.audio.transcriptions.create(model="whisper-1", file=f, temperature="warm")
    r = httpx.post(shared_server.url + "/v1/audio/transcriptions", data={"model": "whisper-1"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "file"


def test_batch_field_and_default(start_server, tmp_path):
    """batch=N runs N windows of one request at once, each holding its own
    --parallel slot; the transcript equals the CLI's --batch N; --batch is
    the default for requests that do not say; bad values are 400."""
    from conftest import make_wav
    wav = tmp_path / "long.wav"
    make_wav(str(wav), repeat_to=75)          # three windows
    want = json.loads(cli_output(str(wav), "json", ["--batch", "3"]))["text"].strip()
    s = start_server(["--parallel", "2"])
    with open(wav, "rb") as f:
        r = httpx.post(s.url + "/v1/audio/transcriptions", files={"file": f},
                       data={"batch": "3", "response_format": "verbose_json"}, timeout=300)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["text"].strip() == want
    starts = [seg["start"] for seg in body["segments"]]
    assert starts == sorted(starts) and starts[-1] < 75.0
    assert all(seg["seek"] == round(seg["start"] * 100) for seg in body["segments"])
    m = httpx.get(s.url + "/metrics").text
    assert "amanuensis_windows_running" in m
    for line in m.splitlines():
        if line.startswith("amanuensis_windows_running"):
            assert float(line.split()[-1]) == 0, line   # every slot given back
    for bad in ("0", "65", "-1", "two", "2.5"):
        with open(wav, "rb") as f:
            r = httpx.post(s.url + "/v1/audio/transcriptions", files={"file": f},
                           data={"batch": bad}, timeout=60)
        assert r.status_code == 400 and r.json()["error"]["param"] == "batch", (bad, r.text)
    s2 = start_server(["--batch", "3"])
    with open(wav, "rb") as f:
        r = httpx.post(s2.url + "/v1/audio/transcriptions", files={"file": f}, timeout=300)
    assert r.status_code == 200 and r.json()["text"].strip() == want


def test_upload_over_the_limit_is_413(start_server, tmp_path):
    s = start_server(["--max-upload-mb", "1"])
    big = tmp_path / "big.wav"
    from conftest import make_wav
    make_wav(str(big), repeat_to=40)          # 40 s of 16 kHz 16-bit: 1.28 MB
    with open(big, "rb") as f, pytest.raises(openai.APIStatusError) as e:
        client(s).audio.transcriptions.create(model="whisper-1", file=f)
    assert e.value.status_code == 413


def test_plain_endpoints(shared_server):
    u = shared_server.url
    assert httpx.get(u + "/health").status_code == 200
    assert httpx.get(u + "/ready").status_code == 200
    m = httpx.get(u + "/v1/models").json()
    assert m["object"] == "list" and len(m["data"]) == 1 and m["data"][0]["object"] == "model"
    r = httpx.get(u + "/nothing-here")
    assert r.status_code == 404 and r.json()["error"]["type"]
    r = httpx.get(u + "/v1/audio/transcriptions")
    assert r.status_code == 405 and "POST" in r.headers.get("allow", "")
    met = httpx.get(u + "/metrics")
    assert met.status_code == 200 and met.headers["content-type"].startswith("text/plain")
    text = met.text
    for name in ("amanuensis_requests_total", "amanuensis_audio_seconds_total",
                 "amanuensis_request_duration_seconds_bucket", "amanuensis_queue_depth",
                 "amanuensis_device_busy_seconds_total"):
        assert name in text, name
    spec = httpx.get(u + "/openapi.json").json()
    assert spec["openapi"].startswith("3.") and "/v1/audio/transcriptions" in spec["paths"]


def test_curl_raw_shape(shared_server):
    out = subprocess.run(["curl", "-s", "-S", "-F", f"file=@{SAMPLE}", "-F", "model=whisper-1",
                          "-F", "response_format=json", shared_server.url + "/v1/audio/transcriptions"],
                         capture_output=True, check=True, text=True, timeout=300)
    assert json.loads(out.stdout) == {"text": json.loads(out.stdout)["text"]}
    assert "ask not what your country" in out.stdout


def test_word_granularity(shared_server):
    """timestamp_granularities=["word"] with verbose_json: OpenAI's top-level
    words, equal to the CLI's --word-timestamps words; other formats: 400."""
    c = client(shared_server)
    with open(SAMPLE, "rb") as f:
        r = c.audio.transcriptions.create(model="whisper-1", file=f, response_format="verbose_json",
                                          timestamp_granularities=["word", "segment"])
    ref = json.loads(cli_output(SAMPLE, "json", ("--word-timestamps",)))
    want = [w for s in ref["segments"] for w in s["words"]]
    assert r.words and len(r.words) == len(want)
    for a, b in zip(r.words, want):
        assert a.word == b["word"]
        assert abs(a.start - b["start"]) < 1e-3 and abs(a.end - b["end"]) < 1e-3
    assert "".join(w.word for w in r.words).strip() == r.text.strip()
    assert len(r.segments) == len(ref["segments"])
    with open(SAMPLE, "rb") as f, pytest.raises(openai.BadRequestError) as e:
        c.audio.transcriptions.create(model="whisper-1", file=f, response_format="json",
                                      timestamp_granularities=["word"])
    assert "verbose_json" in str(e.value)

"""`wattwallet serve` as a user runs it: a real uvicorn process on a real port, on both databases.

The in-process tests cover the routes; this one proves the command, the app factory, settings from
the environment and the development SMS inbox work together over a real socket."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import AddConnection, free_port


@pytest.fixture
def server(store_url: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    inbox = tmp_path / "sms-inbox.jsonl"
    env = {
        **os.environ,
        "WATTWALLET_DATABASE_URL": store_url,
        "WATTWALLET_API__DEV_SMS_INBOX": str(inbox),
    }
    wattwallet = Path(sys.executable).with_name("wattwallet")
    process = subprocess.Popen(
        [str(wattwallet), "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/api/v1/openapi.json", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read().decode() if process.stdout else ""
                pytest.fail(f"wattwallet serve did not come up:\n{output}")
            time.sleep(0.1)
        yield base, inbox
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_consumer_signs_in_against_a_running_server(
    server: tuple[str, Path], add_connection: AddConnection
) -> None:
    base, inbox = server
    service_no = add_connection(mobile="+919812345678", language="te")
    with httpx.Client(base_url=base, timeout=10) as client:
        assert client.post("/api/v1/auth/otp", json={"service_no": service_no}).status_code == 202
        # The OTP goes after the answer: the dispatcher's courier hands it over within a second.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if inbox.exists() and inbox.read_text(encoding="utf-8").endswith("\n"):
                break
            time.sleep(0.05)
        sent = [json.loads(line) for line in inbox.read_text(encoding="utf-8").splitlines()]
        assert [s["to"] for s in sent] == ["+919812345678"]
        assert "సైన్ ఇన్" in sent[0]["text"]
        code = next(
            word.rstrip(".")
            for word in sent[0]["text"].split()
            if word.rstrip(".").isdigit() and len(word.rstrip(".")) == 6
        )
        answer = client.post("/api/v1/auth/session", json={"service_no": service_no, "otp": code})
        assert answer.status_code == 200, answer.text
        assert answer.json()["connections"] == [service_no]
        missing = client.get("/api/v1/no-such-route")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        assert missing.json()["code"] == "route_not_found"


def test_a_running_server_names_no_software_and_sends_the_security_headers(server: tuple[str, Path]) -> None:
    base, _ = server
    answer = httpx.get(f"{base}/api/v1/no-such-route", timeout=10)
    assert "server" not in answer.headers, answer.headers
    assert answer.headers["x-content-type-options"] == "nosniff"
    redirected = httpx.get(f"{base}/api/v1/openapi.json/", headers={"Host": "evil.example"}, timeout=10)
    assert redirected.status_code == 404 and "location" not in redirected.headers

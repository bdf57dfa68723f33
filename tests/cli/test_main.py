"""The ``ddp`` group: version, help, usage errors, exit codes, redaction."""

from __future__ import annotations

from typing import Any

import pytest

import ddp as ddp_package
from ddp.cli.errors import CLIError, ExitCode, describe
from ddp.cli.tracing import redact
from ddp.cli.values import looks_like_json, parse_arg
from ddp.exceptions import (
    ClientClosedError,
    DDPError,
    DDPTimeoutError,
    LoginError,
    MethodError,
    RateLimitedError,
    SubscriptionError,
)

from .conftest import run_ddp


def test_version(ddp: Any) -> None:
    result = ddp("--version")
    assert (result.code, result.out) == (0, f"ddp {ddp_package.__version__}\n")


def test_python_dash_m_ddp_shows_every_command() -> None:
    done = run_ddp("--help")
    assert done.returncode == 0
    for command in ("call", "sub", "watch", "ping", "bench", "serve", "demo", "Exit status"):
        assert command in done.stdout


def test_a_bare_ddp_shows_the_help(ddp: Any) -> None:
    result = ddp()
    assert result.code == 0 and "Commands:" in result.out and result.err == ""


@pytest.mark.parametrize(
    "args",
    [("nope",), ("call",), ("call", "localhost:3000"), ("ping", "x", "-c", "0"), ("call", "--bad")],
)
def test_usage_errors_are_one_line_and_exit_2(ddp: Any, args: tuple[str, ...]) -> None:
    result = ddp(*args)
    assert result.code == 2
    assert len(result.err.splitlines()) == 1 and result.out == ""


def test_an_interrupted_prompt_exits_130(ddp: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import click

    def interrupted(*args: Any, **kwargs: Any) -> str:
        raise click.Abort

    monkeypatch.delenv("DDP_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr(click, "prompt", interrupted)  # the terminal's Ctrl-C, not a network mock
    result = ddp("call", "localhost:3000", "x", "-u", "alice")
    assert (result.code, result.err) == (ExitCode.INTERRUPTED, "ddp: interrupted\n")


@pytest.mark.parametrize(
    ("error", "code", "start"),
    [
        (
            MethodError(400, "Match failed", {"f": 1}),
            1,
            'method error: Match failed [400] details: {"f":1}',
        ),
        (SubscriptionError(404, "gone"), 1, "subscription error: gone [404]"),
        (
            RateLimitedError("too-many-requests", "slow down"),
            1,
            "method error: slow down [too-many-requests]",
        ),
        (LoginError(403, "no"), 4, "login refused: no [403]"),
        (DDPTimeoutError("ping timed out"), 5, "timed out: ping timed out"),
        (ClientClosedError("closed"), 3, "connection failed: closed"),
    ],
)
def test_every_error_has_its_exit_code(error: object, code: int, start: str) -> None:
    assert isinstance(error, DDPError)
    described = describe(error)
    assert isinstance(described, CLIError)
    assert (int(described.code), described.message) == (code, start)


def test_exit_codes_are_documented() -> None:
    import ddp.cli.errors as errors

    for code in ExitCode:
        assert f"\n{int(code):<7}" in errors.__doc__


def test_redact_blanks_secret_values_and_given_secrets() -> None:
    frame = (
        '{"msg":"method","method":"login","params":[{"user":{"username":"al"},'
        '"password":{"digest":"abc\\"def","algorithm":"sha-256"}}]} {"resume": "tok"} Bearer xyz'
    )
    text = redact(frame, ["xyz"])
    assert "abc" not in text and "tok" not in text and "xyz" not in text
    assert '"username":"al"' in text and '"algorithm":"sha-256"' in text


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("word", "word"),
        ("42", 42),
        ("-1", -1),
        ("true", True),
        ("null", None),
        ("truex", "truex"),
        ('"42"', "42"),
        ('[1, {"a": 2}]', [1, {"a": 2}]),
        ("", ""),
        ("a b", "a b"),
    ],
)
def test_argument_values(text: str, value: Any) -> None:
    assert parse_arg(text) == value
    assert looks_like_json(text) == (text not in ("word", "truex", "", "a b"))

"""The command line as a new user meets it: every bad argument is one clear line and exit status 2 (never a
traceback), `--version`, defaults in `--help`, and `evaluate -` reading standard input."""

from __future__ import annotations

import io
import json
import socket
import subprocess
from pathlib import Path

import pytest

import cds_service
from cds_service import cli
from cds_service.web import serve
from tests.served import executable

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "patient-view.json"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = cli.main(list(argv))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        pytest.param(
            ["serve", "--port", "80000"],
            "argument --port: '80000' is not a TCP port (1-65535)",
            id="port-above-65535-was-an-OverflowError-traceback",
        ),
        pytest.param(["serve", "--port", "0"], "argument --port: '0' is not a TCP port", id="port-zero"),
        pytest.param(["serve", "--port", "-1"], "argument --port: '-1' is not a TCP port", id="negative-port"),
        pytest.param(["serve", "--port", "http"], "argument --port: 'http' is not a TCP port", id="port-not-a-number"),
        pytest.param(
            ["serve", "--workers", "0"],
            "argument --workers: '0' is not a worker count (1-256)",
            id="zero-workers-silently-meant-one-per-cpu",
        ),
        pytest.param(
            ["serve", "--workers", "two"], "argument --workers: 'two' is not a worker count", id="workers-not-a-number"
        ),
        pytest.param(
            ["serve", "--host", "999.1.1.1"],
            "argument --host: '999.1.1.1' is not an IP address or host name",
            id="host-not-an-address",
        ),
        pytest.param(
            ["serve", "--host", "http://127.0.0.1"],
            "argument --host: 'http://127.0.0.1' is not an IP",
            id="host-given-as-a-url",
        ),
        pytest.param(
            ["serve", "--host", "127.0.0.1:8080"],
            "argument --host: '127.0.0.1:8080' is not an IP",
            id="host-with-a-port",
        ),
        pytest.param(["serve", "--host", ""], "argument --host: '' is not an IP address or host name", id="empty-host"),
        pytest.param(
            ["evaluate", "x.json", "--as-of", "tomorrow"],
            "argument --as-of: 'tomorrow' is not a date YYYY-MM-DD",
            id="as-of-not-a-date",
        ),
        pytest.param(
            ["feedback-report", "--since", "2026-13-01"],
            "argument --since: '2026-13-01' is not a date",
            id="since-not-a-date",
        ),
        pytest.param(["serve", "--prot", "8080"], "unrecognized arguments: --prot 8080", id="misspelt-option"),
        pytest.param(["serv"], "argument COMMAND: invalid choice: 'serv'", id="unknown-command"),
        pytest.param([], "the following arguments are required: COMMAND", id="no-command"),
    ],
)
def test_a_bad_argument_is_one_line_and_exit_2(capsys, argv, says):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("backpain-cds") and says in err, err
    assert "--help" in err  # where to look next


def test_a_host_name_that_does_not_resolve_is_one_line(capsys, monkeypatch):
    def no_dns(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    code, _, err = run(capsys, "serve", "--host", "cds.example.invalid")
    assert code == 2 and "argument --host: host name 'cds.example.invalid' does not resolve" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0", "::1", "[::1]", "localhost"])
def test_good_hosts_are_accepted(host):
    args = cli.parser().parse_args(["serve", "--host", host, "--port", "65535", "--workers", "1"])
    assert args.host in {"127.0.0.1", "0.0.0.0", "::1", "localhost"} and args.port == 65535 and args.workers == 1


def test_version_is_the_package_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out == f"backpain-cds {cds_service.__version__}\n"


def test_serve_help_shows_the_defaults(capsys):
    code, out, _ = run(capsys, "serve", "--help")
    text = " ".join(out.split())
    assert code == 0
    assert "(default: 127.0.0.1)" in text and "(default: 8080)" in text
    assert "(default: BACKPAIN_CDS_WORKERS, else the CPU count)" in text


def test_evaluate_reads_standard_input(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("BACKPAIN_CDS_DATA_DIR", str(tmp_path))
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(EXAMPLE.read_bytes())))
    code, out, err = run(capsys, "evaluate", "-", "--as-of", "2026-11-27")
    assert code == 0, err
    assert "nsaid-first-line" in {c["source"]["topic"]["code"] for c in json.loads(out)["cards"]}


@pytest.mark.parametrize(
    ("stdin", "says"),
    [
        pytest.param(b"{", "error: standard input is not valid JSON", id="truncated-json"),
        pytest.param(b"", "error: standard input is not valid JSON", id="nothing-piped"),
        pytest.param(
            b" " * 101,
            "error: standard input is over the 100 byte limit (BACKPAIN_CDS_MAX_BODY_BYTES)",
            id="over-the-body-limit",
        ),
    ],
)
def test_evaluate_bad_standard_input_is_one_line_and_exit_2(capsys, monkeypatch, tmp_path, stdin, says):
    monkeypatch.setenv("BACKPAIN_CDS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BACKPAIN_CDS_MAX_BODY_BYTES", "100")
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    code, out, err = run(capsys, "evaluate", "-")
    assert code == 2 and out == "" and err.startswith(says) and err.count("\n") == 1, err


def test_evaluate_a_missing_file_is_one_line_and_exit_2(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("BACKPAIN_CDS_DATA_DIR", str(tmp_path))
    code, _, err = run(capsys, "evaluate", str(tmp_path / "request.json"))
    assert code == 2 and err == f"error: cannot read {tmp_path / 'request.json'}: No such file or directory\n"


@pytest.mark.slow
def test_the_installed_command_prints_no_traceback():
    """The user's own command, not main() in-process: the port that was an OverflowError traceback."""
    result = subprocess.run([executable(), "serve", "--port", "80000"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "backpain-cds serve: error: argument --port: '80000' is not a TCP port (1-65535) "
        "(see backpain-cds serve --help)"
    ]


def test_a_configured_metrics_folder_is_kept_and_emptied_of_an_earlier_runs_samples(monkeypatch, tmp_path):
    """PROMETHEUS_MULTIPROC_DIR set by the operator: serve uses it, without the counts a previous run left there."""
    (tmp_path / "counter_1234.db").write_bytes(b"old samples")
    (tmp_path / "notes.txt").write_text("not ours")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    serve.metrics_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]

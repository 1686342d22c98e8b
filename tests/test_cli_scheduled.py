"""`run` as a scheduler calls it, with [[files]] sources: exit codes, the run lock, what is
recorded (`status`, `history`, trend.csv), the kept previous report, JSON logs, and the
[notify] ping and e-mail digest against servers on loopback."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pipeline.store import Store
from tests.fakes.microsoft import tls_files
from tests.helpers import SAMPLE, rows, run

NETGARDEN = str(Path(sys.executable).with_name("netgarden"))


def _configure(home: Path, extra: str = "") -> None:
    """A home whose nightly run reads the sample address book and exchanges as [[files]]."""
    assert run("init").exit_code == 0
    (home / "networks.toml").write_text((SAMPLE / "networks.toml").read_text())
    with (home / "config.toml").open("a") as config:
        config.write(
            f'\n[[files]]\npath = "{SAMPLE}/contacts.vcf"\n'
            f'\n[[files]]\npath = "{SAMPLE}/interactions.csv"\nformat = "interactions"\n' + extra
        )


def test_a_user_without_accounts_gets_the_nightly_report_from_files(home: Path) -> None:
    _configure(home)
    first = run("run")
    assert first.exit_code == 0, first.output
    lines = first.stderr.splitlines()
    # One summary line a source, then the report's.
    assert lines[0].startswith(f"files {SAMPLE}/contacts.vcf: ")
    assert "new contacts" in lines[0]
    assert lines[1].startswith(f"files {SAMPLE}/interactions.csv: ")
    assert lines[2].startswith("report as of ")
    report = home / "reports" / "staleness.csv"
    first_report = report.read_text()
    assert len(rows(report)) > 100
    again = run("run")
    assert again.exit_code == 0
    assert f"files {SAMPLE}/contacts.vcf: unchanged" in again.stderr
    assert "(as many as the run before)" in again.stderr
    # The report before is kept beside the new one.
    assert (home / "reports" / "staleness.previous.csv").read_text() == first_report

    trend = rows(home / "reports" / "trend.csv")
    networks = [r["network"] for r in rows(home / "reports" / "networks.csv")]
    assert len(trend) == 2 * len(networks)
    assert [r["network"] for r in trend] == networks * 2
    assert len({r["run_at"] for r in trend}) <= 2
    first_figures = {r["network"]: r for r in trend[: len(networks)]}
    for row in rows(home / "reports" / "networks.csv"):
        assert first_figures[row["network"]]["overdue"] == row["overdue"]

    history = run("history")
    assert history.exit_code == 0
    assert history.output.startswith("#2 ")
    assert " ok (exit 0)" in history.output
    assert "unchanged" in history.output and "new exchanges (of " in history.output

    status = run("status")
    assert f"files {SAMPLE}/contacts.vcf: last read " in status.output
    assert "latest runs:" in status.output and "#1 " in status.output
    assert "unassigned" in status.output


def test_status_json_holds_the_store_each_source_and_the_runs(home: Path) -> None:
    _configure(home, '\n[[files]]\npath = "exports/*.vcf"\n')
    assert run("run").exit_code == 3  # the glob matches nothing: that source failed
    found = json.loads(run("status", "--format", "json").output)
    assert found["store"]["people"] > 100
    assert found["store"]["exchanges"] > 100
    assert found["store"]["unassigned"] == found["store"]["networks"]["unassigned"]
    by_name = {s["source"]: s for s in found["sources"]}
    glob = by_name["files exports/*.vcf"]
    assert glob["failing"] and glob["last_error"] == "matches no file"
    assert glob["last_success"] is None
    book = by_name[f"files {SAMPLE}/contacts.vcf"]
    assert not book["failing"] and book["last_success"]
    [latest] = found["runs"]
    assert (latest["state"], latest["exit_code"]) == ("partial", 3)
    assert [s["ok"] for s in latest["sources"]] == [True, True, False]
    assert latest["overdue"] == sum(n["overdue"] for n in latest["networks"])

    # The glob comes to match a file: the next run reads it and exits 0.
    (home / "exports").mkdir()
    (home / "exports" / "more.vcf").write_text(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Zed New\r\nEMAIL:zed@new.example\r\nEND:VCARD\r\n"
    )
    assert run("run").exit_code == 0
    found = json.loads(run("status", "--format", "json").output)
    glob = {s["source"]: s for s in found["sources"]}["files exports/*.vcf"]
    assert not glob["failing"] and glob["last_failure"] < glob["last_success"]
    assert found["runs"][0]["sources"][2]["contacts_new"] == 1


def test_status_without_a_store_or_sources_says_what_to_do(home: Path) -> None:
    result = run("status")
    assert result.exit_code == 0
    assert "store: none yet" in result.output
    assert "no sources configured" in result.output


def test_exit_1_when_nothing_can_be_done(home: Path) -> None:
    nothing = run("run")
    assert nothing.exit_code == 1
    assert nothing.stderr.startswith("error: nothing to run: no store in")
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text('[[files]]\nformat = "vcard"\n')
    broken = run("run")
    assert broken.exit_code == 1
    assert "a [[files]] table needs a 'path'" in broken.stderr
    (home / "config.toml").write_text('[[files]]\npath = "x"\nformat = "vcf"\n')
    assert "line 3: unknown format 'vcf' (one of vcard, " in run("run").stderr


def test_a_run_whose_report_cannot_be_written_fails_and_is_recorded(home: Path) -> None:
    _configure(home)
    (home / "networks.toml").write_text('[[networks]]\nname = "clients"\ncadence_days = "often"\n')
    result = run("run")
    assert result.exit_code == 1
    assert f"error: {home / 'networks.toml'}: " in result.stderr
    assert "cadence_days" in result.stderr
    [latest] = json.loads(run("history", "--format", "json").output)
    assert (latest["state"], latest["exit_code"]) == ("failed", 1)
    assert all(s["ok"] for s in latest["sources"])  # the sources were read all the same


def test_log_format_json_gives_one_object_a_line(home: Path) -> None:
    _configure(home, '\n[[files]]\npath = "missing.vcf"\n')
    result = run("run", "--log-format", "json")
    assert result.exit_code == 3
    entries = [json.loads(line) for line in result.stderr.splitlines()]
    assert {e["level"] for e in entries} == {"info", "warning"}
    [failed] = [e for e in entries if e["level"] == "warning"]
    assert failed["message"].startswith("files missing.vcf: failed: ")
    assert "no such file" in failed["message"]
    assert all(e["time"].endswith("+00:00") for e in entries)


def test_the_table_says_how_overdue_counts_moved_since_the_last_run(home: Path) -> None:
    _configure(home)
    assert run("run").exit_code == 0
    table = run("report", "--format", "table")
    assert table.exit_code == 0
    assert "vs last run" in table.output
    assert "the overdue count's change since the run of" in table.output


def _hold_lock(home: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process holding the run lock (as a run does), for `seconds`."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from pipeline.runlock import RunLock\n"
            "lock = RunLock(Path(sys.argv[1])); lock.acquire()\n"
            "print('held', flush=True); time.sleep(float(sys.argv[2]))",
            str(home),
            str(seconds),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    return holder


def test_a_second_run_is_refused_at_once_naming_the_first(home: Path) -> None:
    _configure(home)
    holder = _hold_lock(home, 60)
    try:
        refused = subprocess.run(
            [NETGARDEN, "run"], capture_output=True, text=True, timeout=60, check=False
        )
        assert holder.poll() is None  # refused while the other still runs, not after
        assert refused.returncode == 1
        assert f"another `netgarden run` is going (pid {holder.pid}, started " in refused.stderr
        assert len(refused.stderr.splitlines()) == 1
    finally:
        holder.kill()
        holder.wait()
    # Killed with SIGKILL: its lock is gone with it.
    assert run("-q", "run").exit_code == 0


def test_wait_waits_for_the_run_going_then_runs(home: Path) -> None:
    _configure(home)
    holder = _hold_lock(home, 1.5)
    try:
        waited = run("run", "--wait", "120")
        assert holder.poll() is not None  # it ran after the other had ended
        assert waited.exit_code == 0, waited.output
    finally:
        holder.kill()
        holder.wait()
    short = _hold_lock(home, 60)
    try:
        refused = run("run", "--wait", "0.5")
        assert refused.exit_code == 1
        assert "after waiting 0.5 s" in refused.stderr
    finally:
        short.kill()
        short.wait()


def test_a_run_killed_is_marked_interrupted_by_the_next(home: Path) -> None:
    _configure(home)
    assert run("-q", "run").exit_code == 0
    with Store(home / "netgarden.sqlite") as store, store.transaction():
        # What a run killed after it started leaves: a run without an end.
        store.db.execute(
            "INSERT INTO runs (started_at, pid) VALUES ('2026-01-01T03:00:00+00:00', 1)"
        )
    assert run("-q", "run").exit_code == 0
    states = [r["state"] for r in json.loads(run("history", "--format", "json").output)]
    assert states == ["ok", "interrupted", "ok"]


# -- [notify] ------------------------------------------------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    """A monitoring service: records every request (method, path, body)."""

    seen: list[tuple[str, str, str]]

    def _record(self) -> None:
        size = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(size).decode() if size else ""
        self.server.seen.append((self.command, self.path, body))  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"OK")

    do_GET = _record
    do_POST = _record

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def monitor() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _url(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/ping/0f1e2d"


def test_a_run_pings_start_then_success(home: Path, monitor: ThreadingHTTPServer) -> None:
    _configure(home, f'\n[notify]\nping_url = "{_url(monitor)}"\n')
    assert run("run").exit_code == 0
    seen = monitor.seen  # type: ignore[attr-defined]
    assert [(m, p) for m, p, _ in seen] == [("GET", "/ping/0f1e2d/start"), ("POST", "/ping/0f1e2d")]


def test_a_failing_source_pings_fail_with_the_log(home: Path, monitor: ThreadingHTTPServer) -> None:
    _configure(home, f'\n[[files]]\npath = "gone.vcf"\n\n[notify]\nping_url = "{_url(monitor)}"\n')
    assert run("run").exit_code == 3
    seen = monitor.seen  # type: ignore[attr-defined]
    assert [p for _, p, _ in seen] == ["/ping/0f1e2d/start", "/ping/0f1e2d/fail"]
    body = seen[1][2]
    assert "files gone.vcf: failed: " in body and "report as of " in body


def test_an_unreachable_monitoring_service_is_a_warning_not_a_failure(home: Path) -> None:
    port = _free_port()
    _configure(home, f'\n[notify]\nping_url = "http://127.0.0.1:{port}/secret-uuid"\n')
    result = run("run")
    assert result.exit_code == 0, result.output
    assert "warning: could not reach the monitoring service at http://127.0.0.1:" in result.stderr
    assert "secret-uuid" not in result.stderr  # a ping URL's path is its secret


def _free_port() -> int:
    """A loopback port nothing listens on (bound, then let go)."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = int(probe.getsockname()[1])
    probe.close()
    return port


Smtp = tuple[int, list[bytes], list[tuple[str, str]]]


@contextmanager
def _smtp_server(tls: bool) -> Iterator[Smtp]:
    """An SMTP server on loopback that takes a login (password hunter2) and keeps what it is
    sent; with `tls`, only after STARTTLS, with the fakes' throwaway certificate."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    received: list[bytes] = []
    logins: list[tuple[str, str]] = []

    class Keep:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            received.append(envelope.original_content)  # type: ignore[attr-defined]
            return "250 OK"

    def authenticate(server: object, session: object, envelope: object, mechanism: str,
                     data: object) -> AuthResult:  # fmt: skip
        assert isinstance(data, LoginPassword)
        logins.append((data.login.decode(), data.password.decode()))
        return AuthResult(success=data.password == b"hunter2", handled=False)

    context = None
    if tls:
        certificate, key = tls_files()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certificate, key)
    port = _free_port()  # aiosmtpd needs a port number, not 0
    controller = Controller(
        Keep(),
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticate,
        auth_require_tls=tls,
        tls_context=context,
        require_starttls=tls,
    )
    controller.start()
    try:
        yield port, received, logins
    finally:
        controller.stop()


@pytest.fixture
def smtp() -> Iterator[Smtp]:
    with _smtp_server(tls=False) as server:
        yield server


def test_the_digest_names_the_most_overdue_and_what_failed(
    home: Path, smtp: Smtp,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    port, received, logins = smtp
    monkeypatch.setenv("NG_SMTP_PASSWORD", "hunter2")
    _configure(
        home,
        '\n[[files]]\npath = "gone.vcf"\n'
        f'\n[notify]\nsmtp_host = "127.0.0.1"\nsmtp_port = {port}\nsmtp_starttls = false\n'
        'smtp_user = "robin"\nsmtp_password_env = "NG_SMTP_PASSWORD"\n'
        'mail_from = "netgarden@owner.example"\nmail_to = ["robin@owner.example"]\n'
        "digest_top = 2\n",
    )
    result = run("run")
    assert result.exit_code == 3
    assert "hunter2" not in result.output
    assert logins == [("robin", "hunter2")]
    [raw] = received
    digest = message_from_bytes(raw)
    assert digest["To"] == "robin@owner.example"
    assert digest["Subject"] == "netgarden: some sources failed"
    text = digest.get_payload(decode=True).decode().replace("\r\n", "\n")
    assert "What failed:\n  - files gone.vcf: " in text
    report = rows(home / "reports" / "staleness.csv")
    for network in {r["network"] for r in report if r["status"] == "overdue"}:
        overdue = [r for r in report if r["network"] == network and r["status"] == "overdue"]
        assert f"{network}: {len(overdue)} overdue of " in text
        for person in overdue[:2]:
            assert f"  - {person['name']}" in text
        for person in overdue[2:]:
            assert f"  - {person['name']} <" not in text


def test_a_wrong_smtp_password_or_server_is_a_warning(
    home: Path, smtp: Smtp, tmp_path: Path
) -> None:
    port, received, _ = smtp
    secret = tmp_path / "smtp-password"
    secret.write_text("s3cr3t-Passw0rd\n")
    _configure(
        home,
        f'\n[notify]\nsmtp_host = "127.0.0.1"\nsmtp_port = {port}\nsmtp_starttls = false\n'
        f'smtp_user = "robin"\nsmtp_password_file = "{secret}"\nmail_to = ["a@b.example"]\n',
    )
    result = run("run")
    assert result.exit_code == 0
    assert "warning: the digest was not sent: 127.0.0.1 refused the login (535)" in result.stderr
    assert "s3cr3t" not in result.stderr and received == []


def test_the_digest_goes_over_starttls_to_a_server_that_requires_it(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    certificate, _ = tls_files()
    monkeypatch.setenv("SSL_CERT_FILE", certificate)  # the only authority the client trusts
    secret = tmp_path / "smtp-password"
    secret.write_text("hunter2\n")
    with _smtp_server(tls=True) as (port, received, logins):
        _configure(
            home,
            f'\n[notify]\nsmtp_host = "127.0.0.1"\nsmtp_port = {port}\nsmtp_user = "robin"\n'
            f'smtp_password_file = "{secret}"\nmail_to = ["robin@owner.example"]\n',
        )
        result = run("run")
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr
    assert logins == [("robin", "hunter2")]
    [raw] = received
    assert message_from_bytes(raw)["Subject"].startswith("netgarden: ")
    monkeypatch.delenv("SSL_CERT_FILE")
    with _smtp_server(tls=True) as (port, received, _):
        (home / "config.toml").write_text(
            (home / "config.toml").read_text().replace("smtp_port = ", f"smtp_port = {port} #")
        )
        untrusted = run("run")
    assert untrusted.exit_code == 0
    assert "warning: the digest was not sent through 127.0.0.1:" in untrusted.stderr
    assert "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr and received == []


@pytest.mark.parametrize(
    ("table", "error"),
    [
        ('ping_url = "healthchecks.io/x"', "'ping_url' must be an http:// or https:// address"),
        ('smtp_host = "mail.example"', "an e-mail digest needs 'mail_to'"),
        ('smtp_host = "m"\nmail_to = ["a@b"]\nsmtp_user = "u"', "'smtp_user' needs"),
        ('smtp_password = "x"', "unknown [notify] setting 'smtp_password'"),
        ('digest_when = "never"', "'digest_when' must be one of always, problems"),
    ],
)
def test_notify_settings_that_cannot_work_are_one_line_at_once(
    home: Path, table: str, error: str
) -> None:
    home.mkdir(parents=True)
    (home / "config.toml").write_text(f"[notify]\n{table}\n")
    result = run("status")
    assert result.exit_code == 1
    assert error in result.stderr


# -- contrib/ ------------------------------------------------------------------------------


def test_the_systemd_and_cron_commands_run(home: Path, tmp_path: Path) -> None:
    """The commands of contrib/ as the scheduler would run them: %h and $HOME are the user's
    home, where pipx puts netgarden in ~/.local/bin."""
    contrib = Path(__file__).resolve().parent.parent / "contrib"
    user = tmp_path / "user"
    (user / ".local" / "bin").mkdir(parents=True)
    (user / ".local" / "bin" / "netgarden").symlink_to(NETGARDEN)
    _configure(home)
    service = (contrib / "systemd" / "netgarden.service").read_text()
    [command] = [
        line.split("=", 1)[1] for line in service.splitlines() if line.startswith("ExecStart=")
    ]
    ok_codes = {0} | {
        int(code)
        for line in service.splitlines()
        if line.startswith("SuccessExitStatus=")
        for code in line.split("=", 1)[1].split()
    }
    environment = {**os.environ, "HOME": str(user), "NETGARDEN_HOME": str(home)}
    done = subprocess.run(
        command.replace("%h", str(user)).split(),
        capture_output=True, text=True, env=environment, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode in ok_codes, done.stderr
    assert all(json.loads(line)["level"] for line in done.stderr.splitlines())
    timer = (contrib / "systemd" / "netgarden.timer").read_text()
    for setting in ("OnCalendar=daily", "Persistent=true", "RandomizedDelaySec="):
        assert setting in timer
    [entry] = [
        line
        for line in (contrib / "crontab").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    fields = entry.split(None, 5)
    assert len(fields) == 6
    cron = subprocess.run(
        ["/bin/sh", "-c", fields[5]],
        capture_output=True, text=True, env=environment, timeout=300, check=False,
    )  # fmt: skip
    assert cron.returncode == 0, cron.stderr
    assert cron.stdout == cron.stderr == ""  # --quiet: cron mails nothing on a good night
    assert len(json.loads(run("history", "--format", "json").output)) == 2

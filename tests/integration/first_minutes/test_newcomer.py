"""A newcomer's first minutes, done the way the README says, as a normal user: build the wheel,
install it into a fresh virtual environment of the machine's own Python (Debian's python3 when there
is one, so Debian 12's 3.11.2 here), run `gateway run` with no config, send a message, read the
start-up summary, open `/`; then `gateway init`, a rule of the site's own in rules.d/ beside the
config, `gateway rules check` and a dry run that shows the rule in force, all from the wheel install.

Cost: the dependencies come from a wheelhouse made once per dependency set (from PyPI through pip's
cache) and kept in /var/tmp; the test itself installs from it with --no-index. Run as root, it creates
a user of its own (useradd) and runs everything as that user; run as a normal user, it is that user.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import re
import secrets
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.needs import require
from tests.support.sink import RecordingSink

ROOT = Path(__file__).parents[3]
PORTS = (10025, 10026, 8025)  # the embedded defaults: smtp, next hop, web


def machine_python() -> str | None:
    """The Python a newcomer has: Debian's /usr/bin/python3 with venv, else the one running the tests
    (only usable by another user when it is not under /root)."""
    for candidate in ("/usr/bin/python3", sys.executable):
        if not Path(candidate).exists():
            continue
        ok = subprocess.run([candidate, "-c", "import venv, ensurepip"], capture_output=True, timeout=60)
        if ok.returncode == 0:
            return candidate
    return None


def port_free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class Newcomer:
    name: str
    home: Path
    uid: int
    gid: int
    created: bool

    def command(self, argv: list[str]) -> list[str]:
        return ["runuser", "-u", self.name, "--", *argv] if self.created else argv

    def env(self) -> dict[str, str]:
        keep = ("PATH", "LANG", "LC_ALL", "TZ")
        env = {k: v for k, v in os.environ.items() if k in keep}
        env.update(HOME=str(self.home), USER=self.name, LOGNAME=self.name, PIP_NO_INPUT="1")
        return env

    def run(self, argv: list[str], timeout: float = 600, **kw: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(argv), cwd=self.home, env=self.env(), capture_output=True, text=True, timeout=timeout, **kw
        )  # type: ignore[call-overload,no-any-return]


@pytest.fixture
def newcomer() -> Iterator[Newcomer]:
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.getuid())
        home = Path(tempfile.mkdtemp(prefix="gw-newcomer-"))
        yield Newcomer(me.pw_name, home, me.pw_uid, me.pw_gid, created=False)
        shutil.rmtree(home, ignore_errors=True)
        return
    require(None if shutil.which("useradd") and shutil.which("runuser") else "needs useradd and runuser (as root)")
    name = f"gwnew{secrets.token_hex(3)}"
    base = Path(tempfile.mkdtemp(prefix="gw-newcomer-"))
    base.chmod(0o755)
    home = base / name
    subprocess.run(["useradd", "--create-home", "--home-dir", str(home), "--shell", "/bin/sh", name], check=True)
    entry = pwd.getpwnam(name)
    try:
        yield Newcomer(name, home, entry.pw_uid, entry.pw_gid, created=True)
    finally:
        subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)  # only this test's own user
        subprocess.run(["userdel", name], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def dependency_key(python: str) -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    version = subprocess.run([python, "-c", "import sys; print(sys.version)"], capture_output=True, text=True).stdout
    return hashlib.sha256(("\n".join(project["dependencies"]) + version).encode()).hexdigest()[:16]


def build_wheel(out: Path) -> Path:
    """The project's wheel, built from a copy of the source tree (so that the checkout stays clean)."""
    src = out / "src"
    shutil.copytree(
        ROOT,
        src,
        ignore=shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__", ".mypy_cache", "bench"),
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = out.glob("mail_gateway-*.whl")
    return wheel


def wheelhouse(python: str, wheel: Path) -> Path:
    """Wheels of every dependency for `python`, made once per dependency set and kept in /var/tmp."""
    house = Path("/var/tmp") / f"gateway-test-wheelhouse-{dependency_key(python)}"
    if (house / ".complete").exists():
        return house
    for stale in Path("/var/tmp").glob("gateway-test-wheelhouse-*"):  # an older dependency set's
        shutil.rmtree(stale, ignore_errors=True)
    work = Path(tempfile.mkdtemp(prefix="gw-wheelhouse-", dir="/var/tmp"))
    venv = work / "venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=300)
    made = subprocess.run(
        # tesserocr built against the system's libtesseract, as the README and .ci/run install it
        [str(venv / "bin" / "pip"), "wheel", "-q", "--no-binary", "tesserocr", "-w", str(work / "wheels"), str(wheel)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if made.returncode != 0:
        shutil.rmtree(work, ignore_errors=True)
        require(f"cannot make the dependency wheels from PyPI: {made.stderr.strip().splitlines()[-1:]}")
    for built in (work / "wheels").glob("mail_gateway-*.whl"):
        built.unlink()  # the project's wheel is built fresh by every run
    (work / "wheels" / ".complete").write_text("ok\n")
    shutil.rmtree(venv)
    os.chmod(work, 0o755)
    with contextlib.suppress(OSError):  # another run made it meanwhile
        (work / "wheels").rename(house)
    shutil.rmtree(work, ignore_errors=True)
    for path in [house, *house.iterdir()]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return house


class Output:
    """A child's stderr, read in a thread, searchable while it runs."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._lock = threading.Lock()
        assert proc.stderr is not None
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    @property
    def text(self) -> str:
        with self._lock:
            return "\n".join(self.lines)

    def wait_for(self, pattern: str, timeout: float, proc: subprocess.Popen[str]) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(pattern, self.text):
                return
            if proc.poll() is not None:
                time.sleep(0.2)
                raise AssertionError(f"gateway ended ({proc.returncode}) before {pattern!r}:\n{self.text}")
            time.sleep(0.2)
        raise AssertionError(f"no {pattern!r} after {timeout}s:\n{self.text}")


def stop_gateway(proc: subprocess.Popen[str], user: Newcomer) -> None:
    """SIGTERM to the gateway itself (under runuser: its child), as an init system would."""
    pid = proc.pid
    if user.created:
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
        found = children.read_text().split() if children.exists() else []
        pid = int(found[0]) if found else proc.pid
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


@pytest.mark.slow
def test_a_newcomer_installs_the_wheel_runs_it_with_no_config_and_mail_goes_through(
    newcomer: Newcomer, tmp_path: Path
) -> None:
    python = machine_python()
    require(None if python else "needs a python3 with the venv module (apt-get install python3-venv)")
    assert python is not None
    if newcomer.created and python.startswith("/root/"):
        require(f"{python} is under /root, which the test's normal user cannot reach: needs Debian's python3")
    deadline = time.monotonic() + 120  # another test run may hold one of them for a moment
    while (busy := [p for p in PORTS if not port_free(p)]) and time.monotonic() < deadline:
        time.sleep(1)
    require(f"the default ports {busy} are taken on this machine" if busy else None)

    out = tmp_path / "dist"
    out.mkdir()
    wheel = build_wheel(out)
    house = wheelhouse(python, wheel)
    shared = Path(tempfile.mkdtemp(prefix="gw-newcomer-wheel-"))
    shared.chmod(0o755)
    own_wheel = shared / wheel.name
    shutil.copy(wheel, own_wheel)
    own_wheel.chmod(0o644)
    try:
        _the_first_minutes(newcomer, python, own_wheel, house)
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def _the_first_minutes(user: Newcomer, python: str, wheel: Path, house: Path) -> None:
    venv = user.home / ".venv"
    # The README's first command, with the wheel for `.` and the local wheelhouse for PyPI.
    made = user.run([python, "-m", "venv", str(venv)])
    assert made.returncode == 0, made.stderr
    installed = user.run(
        [str(venv / "bin" / "pip"), "install", "-q", "--no-index", "--find-links", str(house), str(wheel)],
        timeout=1200,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    where = user.run([str(venv / "bin" / "python"), "-c", "import gateway; print(gateway.__file__)"])
    assert where.stdout.startswith(str(venv)), where

    with RecordingSink(port=10026) as sink:
        proc = subprocess.Popen(
            user.command([str(venv / "bin" / "gateway"), "run"]),
            cwd=user.home,
            env=user.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        log = Output(proc)
        try:
            log.wait_for(r"gateway ready", 300, proc)
            state = user.home / ".local" / "state" / "gateway"
            summary = log.text
            assert f"store:        {state / 'gateway.db'} (SQLite)" in summary
            assert "smtp:         listening on 127.0.0.1:10025" in summary
            assert "next hop:     127.0.0.1:10026" in summary
            assert "web:          listening on 127.0.0.1:8025" in summary
            shipped = len(list((ROOT / "rules").glob("*.yaml")))
            assert f"rules:        {venv / 'share' / 'gateway' / 'rules'}: {shipped} file(s) read" in summary
            assert "local rules:  /etc/gateway/rules.d" in summary
            assert "!!! organization.internal_domains is empty" in summary
            assert "!!! rules bulk_pii_external, sensitive_id_external hold mail" in summary
            assert "Traceback" not in summary

            with smtplib.SMTP("127.0.0.1", 10025, timeout=30) as client:
                client.sendmail(
                    "taro@example.co.jp",
                    ["hanako@example.co.jp"],
                    b"From: taro@example.co.jp\r\nTo: hanako@example.co.jp\r\nSubject: hello\r\n\r\nhello\r\n",
                )
            assert sink.wait_for(1, 120), log.text
            assert sink.snapshot()[0].rcpt_tos == ("hanako@example.co.jp",)

            with urllib.request.urlopen("http://127.0.0.1:8025/", timeout=30) as page:  # redirects followed
                assert page.url.startswith("http://127.0.0.1:8025/admin/login")

            assert mode(state) == 0o700 and state.stat().st_uid == user.uid
            for side in state.iterdir():
                assert mode(side) == 0o600, side
        finally:
            stop_gateway(proc, user)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        assert proc.returncode == 0, log.text

    # The optional third step, then a rule of the site's own beside the config, from the wheel install.
    gateway = str(venv / "bin" / "gateway")
    init = user.run([gateway, "init", "--internal-domain", "example.co.jp", "--next-hop", "127.0.0.1:10026"])
    assert init.returncode == 0, init.stderr
    config_dir = user.home / ".config" / "gateway"
    assert "password (shown once, keep it): " in init.stdout
    (config_dir / "rules.d" / "site.yaml").write_text(
        "rules:\n"
        "  - name: site_no_quarterly_outside\n"
        "    description: {ja: 四半期報告は社外に送らない, en: no quarterly reports outside}\n"
        "    when: {recipients.any_external: true, subject: {contains: quarterly}}\n"
        "    action: reject\n"
        "    reason: {ja: 四半期報告は社外に送信できません。, en: Quarterly reports may not be sent outside.}\n",
        encoding="utf-8",
    )
    if user.created:
        os.chown(config_dir / "rules.d" / "site.yaml", user.uid, user.gid)
    config = str(config_dir / "config.yaml")
    checked = user.run([gateway, "rules", "check", "--config", config])
    assert checked.returncode == 0, checked.stderr
    assert f"{config_dir / 'rules.d'}" in checked.stdout and "site_no_quarterly_outside" in checked.stdout
    assert user.run([gateway, "check-config", "--config", config]).returncode == 0
    sample = user.home / "quarterly.eml"
    sample.write_bytes(b"From: taro@example.co.jp\r\nTo: someone@partner.example\r\nSubject: quarterly\r\n\r\nx\r\n")
    if user.created:
        os.chown(sample, user.uid, user.gid)
    dry = user.run([gateway, "check", "--config", config, str(sample)])
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith(f"{sample}: reject") and "site_no_quarterly_outside" in dry.stdout

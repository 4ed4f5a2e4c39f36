"""A throwaway Postfix instance for integration tests and benchmarks (never the system instance).

    with PostfixInstance(main={"relayhost": "[127.0.0.1]:10025"}) as mta:
        smtplib.SMTP("127.0.0.1", mta.port).sendmail(...)

Everything lives in a temporary directory: config (main.cf, master.cf), queue, data and the log
(`maillog_file` inside the directory; there is no syslog here, and without it Postfix fails
silently). It listens on a free loopback port only, without chroot, and is started and stopped with
`postfix -c DIR start|stop` (needs root: Postfix's master drops privileges to the `postfix` user).

`readme_blocks()` reads the main.cf / master.cf lines of the README's "Behind Postfix" section, so
that the tests configure exactly what the README tells an admin to configure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.net import free_port, wait_for_port

POSTFIX = "/usr/sbin/postfix"
ROOT = Path(__file__).resolve().parents[2]

# Every daemon a relay-only instance needs, none chrooted (a chroot would need copies of /etc files).
_MASTER_BASE = """\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def postfix_missing() -> str | None:
    """Why a Postfix instance cannot run here, or None when it can."""
    if not os.path.exists(POSTFIX):
        return f"{POSTFIX} is not installed (apt-get install postfix)"
    if os.geteuid() != 0:
        return "starting a Postfix instance needs root (postfix -c DIR start)"
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def readme_blocks() -> dict[str, dict[str, str]]:
    """The README's "Behind Postfix" snippets: {"relayhost": {"main.cf": ..., "master.cf": ...},
    "content_filter": {...}}, in the order the README shows them."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Behind Postfix", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```\n(.*?)```", section, flags=re.S)
    out: dict[str, dict[str, str]] = {}
    for name, block in zip(("relayhost", "content_filter"), blocks, strict=False):
        files: dict[str, str] = {}
        current = None
        for line in block.splitlines(keepends=True):
            match = re.match(r"# (main\.cf|master\.cf)\s*$", line)
            if match:
                current = match.group(1)
                files[current] = ""
            elif current is not None and not line.lstrip().startswith("#"):
                files[current] += line
        out[name] = files
    return out


def with_ports(text: str, ports: dict[int, int]) -> str:
    """The README's example ports (10025, 10026) replaced by the ones a test actually uses."""
    for old, new in ports.items():
        text = re.sub(rf"(?<=:){old}\b", str(new), text)
    return text


class PostfixInstance:
    """A Postfix with its own config directory, queue and log, listening on 127.0.0.1:`port`.

    `main` adds main.cf settings; `master` adds master.cf lines (services of the test)."""

    def __init__(self, main: dict[str, str] | None = None, master: str = "", main_text: str = "") -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="gw-postfix-"))
        self.root.chmod(0o755)  # the postfix user must traverse to its queue and data directories
        self.config_dir = self.root / "conf"
        self.queue_dir = self.root / "queue"
        self.data_dir = self.root / "data"
        self.maillog = self.root / "maillog"
        self.main = main or {}
        self.master = master
        self.main_text = main_text
        self.running = False

    def write_config(self) -> None:
        for d in (self.config_dir, self.queue_dir, self.data_dir):
            d.mkdir(parents=True, exist_ok=True)
        shutil.chown(self.data_dir, user="postfix")
        settings = {
            "compatibility_level": "3.6",
            "config_directory": str(self.config_dir),
            "queue_directory": str(self.queue_dir),
            "data_directory": str(self.data_dir),
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": "mta.example.co.jp",
            "mydomain": "example.co.jp",
            "myorigin": "example.co.jp",
            "mydestination": "",  # nothing is local: every recipient is relayed
            "local_recipient_maps": "",
            "alias_maps": "",
            "alias_database": "",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "smtpd_relay_restrictions": "permit_mynetworks, reject",
            "smtp_tls_security_level": "none",
            "smtpd_tls_security_level": "none",
            "maillog_file": str(self.maillog),
            "maillog_file_prefixes": str(self.root),
            # Retry soon in tests (defaults: 300 s / 4000 s).
            "queue_run_delay": "1s",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
            **self.main,
        }
        main_cf = "".join(f"{k} = {v}\n" for k, v in settings.items()) + self.main_text
        (self.config_dir / "main.cf").write_text(main_cf, encoding="utf-8")
        smtpd = f"127.0.0.1:{self.port} inet n - n - - smtpd\n"
        (self.config_dir / "master.cf").write_text(smtpd + _MASTER_BASE + self.master, encoding="utf-8")

    def postfix(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [POSTFIX, "-c", str(self.config_dir), *args], capture_output=True, text=True, timeout=60, check=False
        )

    def start(self) -> PostfixInstance:
        self.write_config()
        result = self.postfix("start")
        if result.returncode != 0:
            raise RuntimeError(f"postfix start failed: {result.stdout}{result.stderr}\n{self.log()}")
        self.running = True
        try:
            wait_for_port(self.port, timeout=20)
        except RuntimeError:
            self.stop()
            raise RuntimeError(f"postfix does not listen on {self.port}; log:\n{self.log()}") from None
        return self

    def stop(self) -> None:
        if self.running:
            pid = self.master_pid()
            self.postfix("stop")
            self.running = False
            # `postfix stop` returns before the master has exited: wait for it (it ends its children).
            deadline = time.monotonic() + 10
            while pid is not None and _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)

    def master_pid(self) -> int | None:
        try:
            return int((self.queue_dir / "pid" / "master.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        try:
            return self.maillog.read_text(errors="replace")
        except OSError:
            return ""

    def queue(self) -> list[dict[str, object]]:
        """The messages in Postfix's queue (postqueue -j)."""
        result = subprocess.run(
            ["/usr/sbin/postqueue", "-c", str(self.config_dir), "-j"], capture_output=True, text=True, check=False
        )
        return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]

    def flush(self) -> None:
        """Deliver deferred mail now (postqueue -f)."""
        subprocess.run(["/usr/sbin/postqueue", "-c", str(self.config_dir), "-f"], capture_output=True, check=False)

    def wait_log(self, pattern: str, timeout: float, count: int = 1) -> bool:
        """Block until `pattern` (a regex) occurs `count` times in the maillog."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern, re.M)
        while time.monotonic() < deadline:
            if len(regex.findall(self.log())) >= count:
                return True
            time.sleep(0.1)
        return False

    def __enter__(self) -> PostfixInstance:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

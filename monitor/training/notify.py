"""Telling the user about an alert from the CLI: a desktop notification and ``--notify-cmd``.

- Desktop: freedesktop notifications through ``notify-send`` (libnotify) or, without it,
  ``gdbus`` calling ``org.freedesktop.Notifications.Notify``; skipped silently when neither is
  installed or there is no session bus (a server over SSH). No new dependency.
- ``--notify-cmd CMD``: CMD is split once like a shell would (``shlex``), never run through a
  shell; in each word ``{kind}``, ``{state}``, ``{title}``, ``{message}``, ``{label}``,
  ``{step}`` are replaced by the alert's values, and the alert is also in the environment as
  ``RIGREADY_ALERT_KIND``, ``RIGREADY_ALERT_STATE``, ``RIGREADY_ALERT_TITLE``,
  ``RIGREADY_ALERT_MESSAGE``, ``RIGREADY_ALERT_LEVEL``, ``RIGREADY_ALERT_TIME``,
  ``RIGREADY_ALERT_STEP``, ``RIGREADY_RUN_LABEL``. Text from the run (its output lines) thus only
  ever becomes one argument or one variable, whatever characters it holds.

Commands start in the background (own session, no stdin) and are reaped later; one that is
still running after :data:`COMMAND_TIMEOUT_S` is killed. A failure is told once.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

COMMAND_TIMEOUT_S = 30.0
PLACEHOLDERS = ("kind", "state", "title", "message", "label", "step", "level")
MAX_TEXT = 2000


class NotifyError(ValueError):
    """A ``--notify-cmd`` that cannot be split into words."""


@dataclass(frozen=True, slots=True)
class Notice:
    """What one alert says, whatever engine raised it."""

    kind: str
    state: str
    title: str
    message: str
    level: str
    time: float
    step: int | None = None
    label: str | None = None

    def values(self) -> dict[str, str]:
        """Placeholder values (text cut to :data:`MAX_TEXT` characters)."""
        return {"kind": self.kind, "state": self.state, "title": self.title,
                "message": self.message[:MAX_TEXT], "level": self.level,
                "label": self.label or "", "step": "" if self.step is None else str(self.step)}


def split_command(text: str) -> tuple[str, ...]:
    """``--notify-cmd`` as words.

    Raises:
        NotifyError: Empty, or unbalanced quotes.
    """
    try:
        words = tuple(shlex.split(text))
    except ValueError as exc:
        raise NotifyError(f"--notify-cmd: {exc}") from None
    if not words:
        raise NotifyError("--notify-cmd is empty")
    return words


def command_argv(words: Sequence[str], notice: Notice) -> list[str]:
    """The words with placeholders filled (each word stays one argument)."""
    values = notice.values()
    out = []
    for word in words:
        for name in PLACEHOLDERS:
            word = word.replace("{" + name + "}", values[name])
        out.append(word)
    return out


def command_env(notice: Notice, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a notify command: ``base`` plus the alert's variables."""
    env = dict(os.environ if base is None else base)
    v = notice.values()
    env.update({"RIGREADY_ALERT_KIND": v["kind"], "RIGREADY_ALERT_STATE": v["state"],
                "RIGREADY_ALERT_TITLE": v["title"], "RIGREADY_ALERT_MESSAGE": v["message"],
                "RIGREADY_ALERT_LEVEL": v["level"], "RIGREADY_ALERT_STEP": v["step"],
                "RIGREADY_ALERT_TIME": f"{notice.time:.3f}", "RIGREADY_RUN_LABEL": v["label"]})
    return env


def desktop_argv(notice: Notice, which: Callable[[str], str | None] = shutil.which,
                 env: Mapping[str, str] | None = None) -> list[str] | None:
    """The command showing ``notice`` as a desktop notification, or None when impossible."""
    env = os.environ if env is None else env
    if not (env.get("DBUS_SESSION_BUS_ADDRESS") or env.get("DISPLAY")
            or env.get("WAYLAND_DISPLAY")):
        return None
    title = f"rigready: {notice.title}" + (f" ({notice.label})" if notice.label else "")
    body = notice.message[:MAX_TEXT]
    urgency = {"bad": "critical", "warn": "normal"}.get(notice.level, "low")
    tool = which("notify-send")
    if tool:
        return [tool, "--app-name=rigready", f"--urgency={urgency}", "--", title, body]
    tool = which("gdbus")
    if tool:
        return [tool, "call", "--session", "--dest", "org.freedesktop.Notifications",
                "--object-path", "/org/freedesktop/Notifications", "--method",
                "org.freedesktop.Notifications.Notify", "rigready", "0", "", title, body, "[]",
                "{}", "10000"]
    return None


@dataclass(slots=True)
class Notifier:
    """Starts the notification commands of alerts; never blocks, never raises."""

    command: tuple[str, ...] | None = None
    desktop: bool = True
    on_problem: Callable[[str], None] | None = None
    which: Callable[[str], str | None] = shutil.which
    env: Mapping[str, str] | None = None
    _running: list[tuple[subprocess.Popen[bytes], float, str]] = field(default_factory=list)
    _told: set[str] = field(default_factory=set)
    started: int = 0

    def notify(self, notice: Notice) -> None:
        """Show ``notice`` (desktop) and run the command, in the background."""
        self.reap()
        if self.desktop:
            argv = desktop_argv(notice, self.which, self.env)
            if argv is not None:
                self._start("desktop", argv, None)
        if self.command:
            self._start("command", command_argv(self.command, notice),
                        command_env(notice, self.env))

    def _start(self, what: str, argv: list[str], env: dict[str, str] | None) -> None:
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL if what == "desktop" else None,
                                    stderr=subprocess.DEVNULL if what == "desktop" else None,
                                    env=env, start_new_session=True, close_fds=True)
        except OSError as exc:
            if what == "command":
                self._tell(what, f"--notify-cmd could not start: {exc.strerror or exc}")
            return
        self.started += 1
        self._running.append((proc, time.monotonic(), what))

    def reap(self, wait_s: float = 0.0) -> None:
        """Collect finished commands (waiting up to ``wait_s``); kill ones past the timeout."""
        deadline = time.monotonic() + wait_s
        still = []
        for proc, started, what in self._running:
            timeout = max(0.0, deadline - time.monotonic())
            try:
                code = proc.wait(timeout) if timeout else proc.poll()
            except subprocess.TimeoutExpired:
                code = None
            if code is None and time.monotonic() - started > COMMAND_TIMEOUT_S:
                with contextlib.suppress(OSError):
                    proc.kill()
                code = proc.wait()
            if code is None:
                still.append((proc, started, what))
            elif code != 0 and what == "command":
                self._tell(f"exit{code}", f"--notify-cmd exited with status {code}")
        self._running = still

    def _tell(self, key: str, text: str) -> None:
        if key in self._told:
            return
        self._told.add(key)
        if self.on_problem is not None:
            with contextlib.suppress(Exception):
                self.on_problem(text)

"""Run a command on a pseudo-terminal and pass its output through unaltered.

The child gets a new session whose controlling terminal is the pty (so its tqdm bars redraw in
place, colours stay on, Ctrl-C typed by the user reaches it through the line discipline as it
would in a shell) and the window size of rigready's terminal (a 0x0 pty makes tqdm print
nothing). Every byte the child writes is written to rigready's stdout first, in order, and only
then handed to ``on_output`` (a copy for the parsers); an exception there is reported once and
never touches the pass-through.

- When rigready's stdin is a terminal and rigready is in the foreground, it is put in raw mode
  (no echo, no line editing, no signal keys: those go to the child's pty) and keystrokes are
  forwarded; the terminal is restored on every exit path (normal end, exception, signal). When
  stdin is not a terminal the child reads rigready's stdin directly.
- SIGINT, SIGTERM, SIGHUP and SIGQUIT received by rigready are sent to the child's process
  group; SIGWINCH copies the new window size to the pty (the kernel tells the child).
- If the child stops (Ctrl-Z), rigready restores the terminal and stops too; ``fg`` resumes
  both.
- The exit status is the child's, or 128 + N when signal N ended it, as shells report it.

POSIX only (``pty``, ``termios``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rigready.monitor.training.terminal import (
    foreground,
    make_controlling_tty,
    raw_attrs,
    window_size,
)

FORWARDED_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT")
READ_SIZE = 65536
#: With no output and no signal for this long, the child is looked at anyway (milliseconds).
QUIET_MS = 1000
#: After the child exits, output still arriving is read for this long (grandchildren may keep
#: the pty open; their output after that is not waited for).
DRAIN_AFTER_EXIT_S = 0.3


class LaunchError(Exception):
    """The command could not be started; ``status`` is what a shell would return (126/127)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class ChildExit:
    """How the child ended."""

    exit_code: int | None
    signal: int | None
    time: float
    #: Bytes passed through.
    output_bytes: int
    #: A signal rigready forwarded (the user interrupted), if any.
    forwarded: int | None = None

    @property
    def status(self) -> int:
        """The status rigready exits with: the code, or 128 + signal."""
        if self.signal is not None:
            return 128 + self.signal
        return self.exit_code if self.exit_code is not None else 1


class PtyRun:
    """One child on a pty: :meth:`start`, then :meth:`pump` on the main thread."""

    def __init__(self, argv: Sequence[str], *,
                 on_output: Callable[[bytes, float], None] | None = None,
                 on_problem: Callable[[str], None] | None = None,
                 env: Mapping[str, str] | None = None, cwd: str | None = None,
                 stdin_fd: int = 0, stdout_fd: int = 1,
                 clock: Callable[[], float] = time.time) -> None:
        """Configure; nothing starts until :meth:`start`."""
        if not argv:
            raise LaunchError("no command given", 2)
        self.argv = list(argv)
        self._on_output = on_output
        self._on_problem = on_problem or (lambda text: None)
        self._env = None if env is None else dict(env)
        self._cwd = cwd
        self._stdin = stdin_fd
        self._stdout = stdout_fd
        self._clock = clock
        self._master = -1
        self._proc: subprocess.Popen[bytes] | None = None
        self._saved_tty: list[Any] | None = None
        self._forward_input = False
        self._problems: set[str] = set()
        self._stdout_broken = False
        self.output_bytes = 0
        #: CPU time the pump's thread used (pass-through and the ``on_output`` hand-over).
        self.cpu_seconds = 0.0

    @property
    def pid(self) -> int | None:
        """The child's pid (also its process group and session id)."""
        return None if self._proc is None else self._proc.pid

    def _problem(self, key: str, text: str) -> None:
        if key not in self._problems:
            self._problems.add(key)
            with contextlib.suppress(Exception):
                self._on_problem(text)

    def start(self) -> int:
        """Spawn the child (call before starting any thread: the fork runs a small function).

        Raises:
            LaunchError: Not found (127), not executable (126).
        """
        import pty  # noqa: F401 - POSIX only; fails early and clearly elsewhere

        stdin_tty = os.isatty(self._stdin)
        in_front = stdin_tty and foreground(self._stdin)
        master, slave = os.openpty()
        try:
            import fcntl
            import termios

            fcntl.ioctl(slave, termios.TIOCSWINSZ, window_size((self._stdout, self._stdin, 2)))
            self._proc = subprocess.Popen(
                self.argv, stdin=slave if stdin_tty else None, stdout=slave, stderr=slave,
                start_new_session=True, preexec_fn=make_controlling_tty, env=self._env,
                cwd=self._cwd, close_fds=True)
        except FileNotFoundError:
            os.close(master)
            raise LaunchError(f"command not found: {self.argv[0]}", 127) from None
        except PermissionError:
            os.close(master)
            raise LaunchError(f"permission denied: {self.argv[0]}", 126) from None
        except OSError as exc:
            os.close(master)
            raise LaunchError(f"cannot run {self.argv[0]}: {exc.strerror or exc}", 126) from None
        finally:
            os.close(slave)
        self._master = master
        self._forward_input = in_front
        return self._proc.pid

    # -- the terminal ---------------------------------------------------------------------

    def _raw(self) -> None:
        if not self._forward_input or self._saved_tty is not None:
            return
        import termios

        try:
            attrs = termios.tcgetattr(self._stdin)
        except termios.error:
            self._forward_input = False
            return
        try:
            termios.tcsetattr(self._stdin, termios.TCSAFLUSH, raw_attrs(attrs))
        except termios.error:
            self._forward_input = False
            return
        self._saved_tty = attrs

    def _restore(self) -> None:
        if self._saved_tty is None:
            return
        import termios

        with contextlib.suppress(termios.error, OSError):
            termios.tcsetattr(self._stdin, termios.TCSAFLUSH, self._saved_tty)
        self._saved_tty = None

    def _resize(self) -> None:
        import fcntl
        import termios

        with contextlib.suppress(OSError):
            fcntl.ioctl(self._master, termios.TIOCSWINSZ,
                        window_size((self._stdout, self._stdin, 2)))

    # -- the loop -------------------------------------------------------------------------

    def pump(self) -> ChildExit:
        """Pass output through and input in until the child has ended; restore the terminal.

        Must run on the main thread (signal handlers). One wake-up per burst of output: a
        poll, one read of up to :data:`READ_SIZE`, one write; the poller is set up once, and
        the child is looked at only when SIGCHLD came (or nothing else did for a while).
        """
        proc = self._proc
        if proc is None:
            raise RuntimeError("start() first")
        cpu0 = time.thread_time()
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        received: list[int] = []

        def on_signal(signum: int, _frame: object) -> None:
            received.append(signum)

        names = (*FORWARDED_SIGNALS, "SIGWINCH", "SIGCHLD", "SIGCONT")
        handled = [getattr(signal, n) for n in names if hasattr(signal, n)]
        previous = {s: signal.signal(s, on_signal) for s in handled}
        old_wakeup = signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
        forwarded: int | None = None
        ended: tuple[int | None, int | None, float] | None = None
        master = self._master
        poller = select.poll()
        for fd in (master, wake_r) + ((self._stdin,) if self._forward_input else ()):
            poller.register(fd, select.POLLIN)
        listening = self._forward_input
        try:
            self._raw()
            while True:
                if listening and not self._forward_input:  # stdin reached its end
                    poller.unregister(self._stdin)
                    listening = False
                timeout = QUIET_MS if ended is None else int(DRAIN_AFTER_EXIT_S * 1000)
                try:
                    ready = {fd for fd, _ in poller.poll(timeout)}
                except InterruptedError:  # pragma: no cover - PEP 475 retries
                    ready = set()
                if wake_r in ready:
                    with contextlib.suppress(BlockingIOError, InterruptedError):
                        os.read(wake_r, 512)
                child_changed = not ready  # a timeout: look at the child anyway
                while received:
                    signum = received.pop(0)
                    if signum == getattr(signal, "SIGWINCH", None):
                        self._resize()
                    elif signum == getattr(signal, "SIGCONT", None):
                        self._raw()
                    elif signum == getattr(signal, "SIGCHLD", None):
                        child_changed = True
                    else:
                        forwarded = signum
                        with contextlib.suppress(ProcessLookupError, PermissionError):
                            os.killpg(proc.pid, signum)
                if master in ready and not self._read_master():
                    break  # EOF: every writer of the pty is gone
                if listening and self._stdin in ready:
                    self._forward_keys()
                if ended is None:
                    if child_changed:  # waitpid only when SIGCHLD came (or nothing else did)
                        ended = self._reap(proc)
                elif master not in ready:
                    break  # exited, and nothing more came for DRAIN_AFTER_EXIT_S
            if ended is None:
                ended = self._wait(proc)
        finally:
            self._restore()
            signal.set_wakeup_fd(old_wakeup)
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            for fd in (wake_r, wake_w, self._master):
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._master = -1
            self.cpu_seconds = time.thread_time() - cpu0
        code, sig, when = ended
        return ChildExit(code, sig, when, self.output_bytes, forwarded)

    def _read_master(self) -> bool:
        try:
            data = os.read(self._master, READ_SIZE)
        except OSError as exc:
            if exc.errno in (errno.EIO, errno.EBADF):
                return False
            raise
        if not data:
            return False
        now = self._clock()
        self._write_out(data)
        self.output_bytes += len(data)
        if self._on_output is not None:
            try:
                self._on_output(data, now)
            except Exception as exc:  # noqa: BLE001 - parsing must never touch the pass-through
                self._problem("on_output", f"reading the run's output failed ({exc!r}); "
                                           "its output is still shown, not parsed")
        return True

    def _write_out(self, data: bytes) -> None:
        if self._stdout_broken:
            return
        try:
            written = os.write(self._stdout, data)  # almost always all of it
        except InterruptedError:  # pragma: no cover - PEP 475 retries
            written = 0
        except OSError as exc:
            self._broken(exc)
            return
        if written == len(data):
            return
        view = memoryview(data)[written:]
        while view:
            try:
                written = os.write(self._stdout, view)
            except InterruptedError:  # pragma: no cover - PEP 475 retries
                continue
            except OSError as exc:
                self._broken(exc)
                return
            view = view[written:]

    def _broken(self, exc: OSError) -> None:
        self._stdout_broken = True
        self._problem("stdout", f"cannot write the run's output ({exc.strerror}); "
                                "the run goes on, its output is no longer shown")

    def _forward_keys(self) -> None:
        try:
            data = os.read(self._stdin, 4096)
        except OSError:
            data = b""
        if not data:
            self._forward_input = False
            return
        with contextlib.suppress(OSError):
            view = memoryview(data)
            while view:
                view = view[os.write(self._master, view):]

    def _reap(self, proc: subprocess.Popen[bytes]) -> tuple[int | None, int | None, float] | None:
        try:
            pid, status = os.waitpid(proc.pid, os.WNOHANG | os.WUNTRACED)
        except ChildProcessError:
            return (proc.returncode, None, self._clock())
        if pid == 0:
            return None
        if os.WIFSTOPPED(status):
            self._stop_with_child(proc)
            return None
        return self._decode(proc, status)

    def _wait(self, proc: subprocess.Popen[bytes]) -> tuple[int | None, int | None, float]:
        while True:
            try:
                _, status = os.waitpid(proc.pid, 0)
            except ChildProcessError:
                return (proc.returncode, None, self._clock())
            if not os.WIFSTOPPED(status):
                return self._decode(proc, status)

    def _decode(self, proc: subprocess.Popen[bytes],
                status: int) -> tuple[int | None, int | None, float]:
        code = os.waitstatus_to_exitcode(status)
        proc.returncode = code  # reaped here: keep Popen from waiting again
        if code < 0:
            return (None, -code, self._clock())
        return (code, None, self._clock())

    def _stop_with_child(self, proc: subprocess.Popen[bytes]) -> None:
        """The child stopped (Ctrl-Z): give the terminal back and stop; resume it on ``fg``."""
        self._restore()
        with contextlib.suppress(OSError):
            os.kill(os.getpid(), signal.SIGSTOP)
        self._raw()
        self._resize()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGCONT)


def main_thread_only() -> None:
    """Raise RuntimeError off the main thread (signal handling needs it)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("the run wrapper must run on the main thread")
    if sys.platform == "win32":  # pragma: no cover
        raise RuntimeError("rigready run needs a POSIX system (Linux, macOS)")

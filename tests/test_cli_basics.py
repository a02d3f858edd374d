"""The command line's own behaviour: version, help, bad input, no display."""

from __future__ import annotations

import pytest

from rigready.desktop import cli


def test_version_answers_without_building_the_parser(capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def fail() -> None:
        raise AssertionError("the parser was built")

    monkeypatch.setattr(cli, "build_parser", fail)
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out == f"rigready {cli.__version__}\n"


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["no-such-command"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rigready: error: ") and "invalid choice" in err
    assert err.count("\n") == 1 and "usage:" not in err


def test_no_display_prints_the_report_and_says_so(capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    assert cli.main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("rigready: no display found, so here is the terminal report instead.")
    assert "rigready report (this PC)" in out and "\nGPUs (" in out


def test_every_argparse_error_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    cases = [["estimate"], ["plan"], ["estimate", "7B", "--bogus"], ["estimate", "7B", "--epochs",
             "nan"], ["history", "--session", "9" * 30], ["monitor", "--duration", "inf"],
             ["estimate", "7B", "--method", "x\ny"], ["estimate", "9" * 5000], ["-x"],
             ["estimate", "~nosuchuser-rigready"], ["estimate", "~nosuchuser-rigready/c.json"]]
    for argv in cases:
        assert cli.main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("rigready: error: ") and err.count("\n") == 1, (argv, err)
        assert "usage:" not in err and len(err) < 800


def test_an_unknown_option_points_at_its_own_subcommands_help(
        capsys: pytest.CaptureFixture[str]) -> None:
    # issue 15: "rigready monitor --bogus" said "(see 'rigready --help')"
    parser = cli.build_parser()
    commands = next(a for a in parser._subparsers._group_actions  # type: ignore[union-attr]
                    if a.dest == "command").choices
    assert commands
    for command in commands:
        assert cli.main([command, "--bogus-option"]) == 2, command
        err = capsys.readouterr().err
        # (a command with a required argument may name that first: either way, its own help)
        assert err.startswith("rigready: error: ") and err.count("\n") == 1, (command, err)
        assert err.endswith(f" (see 'rigready {command} --help')\n"), (command, err)
    assert cli.main(["--bogus-option"]) == 2
    assert "(see 'rigready --help')" in capsys.readouterr().err

"""The command line: listings and clear errors for unknown names."""
import pytest

from benchmark.cli import main


def test_ls_methods_protocols_datasets(capsys):
    assert main(["ls", "methods"]) == 0
    assert "sta" in capsys.readouterr().out
    assert main(["ls", "protocols"]) == 0
    assert "cross_generator" in capsys.readouterr().out
    assert main(["ls", "datasets"]) == 0
    assert "vbench-mini" in capsys.readouterr().out


@pytest.mark.parametrize("args, expected", [
    (["--protocol", "cross_generator", "--method", "stta"], "Unknown method 'stta'. Did you mean: sta, tall?"),
    (["--protocol", "cross_generatr", "--method", "sta"],
     "Unknown protocol 'cross_generatr'. Did you mean: cross_generator"),
    (["--protocol", "cross_generator", "--method", "sta", "--data", "vbench-mni"],
     "Unknown dataset 'vbench-mni'. Did you mean: vbench-mini"),
    (["--protocol", "cross_generator", "--method", "sta", "--mode", "one_vs_al"],
     "Unknown value of option 'mode' 'one_vs_al'. Did you mean: one_vs_all?"),
    (["--protocol", "cross_generator", "--method", "sta", "--weights", "/nonexistent/w.pth"],
     "weights file not found: /nonexistent/w.pth"),
])
def test_bad_names_get_did_you_mean(capsys, tmp_path, args, expected):
    assert main(["run", *args, "--out", str(tmp_path)]) == 2
    assert expected in capsys.readouterr().err


def test_help_shows_examples(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert "vbench run --protocol cross_generator --method sta" in capsys.readouterr().out


def test_report_rejects_non_run_dir(capsys, tmp_path):
    assert main(["report", str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().err


@pytest.mark.parametrize("flag, value", [("--threads", "0"), ("--workers", "-1")])
def test_thread_and_worker_counts_below_their_least_are_one_line(capsys, flag, value):
    code = main(["run", "--protocol", "cross_generator", "--method", "sta", flag, value])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert err[0].startswith(f"vbench: error: {flag} expects an integer >= ") and value in err[0]

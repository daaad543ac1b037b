"""tools.notebooks: the thread limit that ``execute`` and ``labs`` pass to the kernel (``--threads N``)."""
import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from tools import notebooks as nbt


def test_thread_env_limits_every_library_and_keeps_other_xla_flags():
    env = nbt.thread_env(1, xla_flags="--xla_force_host_platform_device_count=8 --xla_cpu_multi_thread_eigen=true")
    assert {v: env[v] for v in nbt.THREAD_VARS} == {v: "1" for v in nbt.THREAD_VARS}
    assert env["XLA_FLAGS"].split() == ["--xla_force_host_platform_device_count=8",
                                        "--xla_cpu_multi_thread_eigen=false", "intra_op_parallelism_threads=1"]
    env4 = nbt.thread_env(4, xla_flags="intra_op_parallelism_threads=1")
    assert env4["OMP_NUM_THREADS"] == "4"
    assert env4["XLA_FLAGS"].split() == ["--xla_cpu_multi_thread_eigen=true", "intra_op_parallelism_threads=4"]


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "2"])
def test_thread_env_rejects_what_is_not_a_positive_integer(bad):
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        nbt.thread_env(bad)


@pytest.mark.parametrize("bad", ["0", "-1", "two"])
def test_the_command_line_rejects_a_bad_thread_count(bad, capsys):
    with pytest.raises(SystemExit) as exc:
        nbt.main(["execute", "--threads", bad, "nothing.ipynb"])
    assert exc.value.code == 2
    assert "--threads takes a positive integer" in capsys.readouterr().err


def test_the_kernel_runs_with_the_limit(tmp_path):
    path = tmp_path / "env.ipynb"
    nb = new_notebook(cells=[new_code_cell("import os\nprint(os.environ['OPENBLAS_NUM_THREADS'], "
                                           "os.environ['OPTM_SCALE'], os.environ['XLA_FLAGS'])")])
    nb["metadata"]["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    out = nbt.run_notebook(path, "smoke", extra_env=nbt.thread_env(1, xla_flags=""))
    text = out.cells[0].outputs[0]["text"].split()
    assert text == ["1", "smoke", "--xla_cpu_multi_thread_eigen=false", "intra_op_parallelism_threads=1"]

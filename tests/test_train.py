"""Training end to end on the embedded tiny model: killed and resumed, two processes, and the papermill notebook.

Every run here is a real `train` on CPU with a handful of very short steps; each test stays well under a minute.
Subprocesses run with one OpenMP thread each: on a shared 2-core machine, two processes with two threads each
oversubscribe the cores and every step slows down by an order of magnitude.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from grpo_nb.config import load_recipe
from grpo_nb.train import (LOG_HISTORY_FILE, TRAIN_RESULTS_FILE, RunExistsError, list_checkpoints, read_log_history,
                           train)

REPO = Path(__file__).resolve().parent.parent

# Small, fast steps: 4 completions of 8 tokens per step, a 2-step warm-up, few examples.
TINY = ["--per_device_train_batch_size", "4", "--num_generations", "4", "--max_completion_length", "8",
        "--logging_steps", "1", "--max_train_samples", "32", "--embedded_participants", "40",
        "--sft_warmup_steps", "2", "--sft_warmup_batch_size", "4", "--disable_tqdm", "true"]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("grpo_nb_cache")


def env_for(cache: Path, **extra) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "OMP_NUM_THREADS": "1", "GRPO_NB_CACHE": str(cache), "PYTHONUNBUFFERED": "1", **extra}
    env.pop("RANK", None); env.pop("WORLD_SIZE", None); env.pop("LOCAL_RANK", None)
    return env


def run(cmd, env, cwd=REPO, timeout=240) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def train_steps(out: Path) -> list[int]:
    return [e["step"] for e in read_log_history(out / LOG_HISTORY_FILE) if e["phase"] == "train"]


def assert_one_final_model(out: Path):
    assert (out / "config.json").is_file() and (out / "model.safetensors").is_file()
    assert (out / "tokenizer.json").is_file()
    assert not list(out.glob("*.tmp")), "a temporary file was left behind"


# ---------------------------------------------------------------- killed, then resumed

KILLED_RUN = textwrap.dedent("""
    # Train, and SIGKILL this very process once step 3 is logged (after checkpoint-2 was saved):
    # as abrupt as an external kill, but at a known point.
    import os, signal, sys
    from transformers import TrainerCallback
    from grpo_nb.config import load_recipe
    from grpo_nb.train import train

    class KillAtStep(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if state.global_step == 3: os.kill(os.getpid(), signal.SIGKILL)

    train(load_recipe("demo", sys.argv[1:]), callbacks=[KillAtStep()])
""")


def test_killed_run_resumes_from_latest_checkpoint_without_duplicate_or_missing_steps(tmp_path, cache_dir):
    out, env = tmp_path / "train", env_for(cache_dir)
    args = TINY + ["--max_steps", "6", "--save_steps", "2", "--output_dir", str(out)]
    script = tmp_path / "killed_run.py"
    script.write_text(KILLED_RUN)

    killed = run([sys.executable, str(script), *args], env)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert [p.name for p in list_checkpoints(out)] == ["checkpoint-2"]
    assert train_steps(out) == [1, 2, 3]                       # step 3 was logged after the checkpoint
    assert not (out / TRAIN_RESULTS_FILE).exists()

    # Starting afresh over the unfinished run is refused; resuming it is the way on.
    with pytest.raises(RunExistsError, match="resume_from_checkpoint latest"):
        train(load_recipe("demo", args))

    resumed = run([sys.executable, "-m", "grpo_nb.train", "--recipe", "demo", *args,
                   "--resume_from_checkpoint", "latest"], env)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    results = json.loads((out / TRAIN_RESULTS_FILE).read_text())
    assert results["global_step"] == 6 and results["resumed_from"] == str(out / "checkpoint-2")
    assert results["sft_warmup"]["reloaded"] is True           # the warm-up is not repeated on resume
    assert train_steps(out) == [1, 2, 3, 4, 5, 6]              # step 3 cut, then logged again: once each, no gap
    assert [p.name for p in list_checkpoints(out)] == ["checkpoint-4", "checkpoint-6"]   # save_total_limit: 2
    state = json.loads((out / "checkpoint-6" / "trainer_state.json").read_text())
    assert state["global_step"] == 6
    assert_one_final_model(out)

    # A finished run is not overwritten without overwrite: true.
    with pytest.raises(RunExistsError, match=f"{out} holds a finished training run"):
        train(load_recipe("demo", args))


def test_latest_without_checkpoint_starts_fresh_and_a_missing_checkpoint_is_named(tmp_path, cache_dir, monkeypatch):
    monkeypatch.setenv("GRPO_NB_CACHE", str(cache_dir))
    out = tmp_path / "train"
    cfg = load_recipe("demo", TINY + ["--max_steps", "1", "--save_strategy", "no", "--sft_warmup_steps", "0",
                                      "--output_dir", str(out)])
    with pytest.raises(FileNotFoundError, match="checkpoint-9"):
        train(cfg, resume_from_checkpoint="checkpoint-9")
    summary = train(cfg, resume_from_checkpoint="latest")
    assert summary["global_step"] == 1 and summary["resumed_from"] is None
    assert train_steps(out) == [1]


# ---------------------------------------------------------------- two processes

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_cpu_processes_write_one_model_one_log_one_set_of_checkpoints(tmp_path):
    """The accelerate path on 2 CPU processes (DDP over gloo), building the embedded model from a cold cache.

    `accelerate launch --cpu --num_processes 2` starts ONE process (accelerate 1.x launches several CPU processes
    only through MPI), so two processes are launched the torchrun way (`--multi_gpu`) with ACCELERATE_USE_CPU=true,
    and the test checks that training really saw a world of two.
    """
    pytest.importorskip("accelerate")
    out, cache = tmp_path / "train", tmp_path / "cold_cache"
    env = env_for(cache, ACCELERATE_USE_CPU="true")
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
           "--main_process_port", str(free_port()),
           "-m", "grpo_nb.train", "--recipe", "demo", *TINY, "--max_steps", "2", "--save_steps", "1",
           "--output_dir", str(out)]
    done = run(cmd, env)
    assert done.returncode == 0, done.stderr[-4000:]
    results = json.loads((out / TRAIN_RESULTS_FILE).read_text())
    assert results["world_size"] == 2 and results["global_step"] == 2
    assert train_steps(out) == [1, 2]                          # written once, by the main process
    assert [p.name for p in list_checkpoints(out)] == ["checkpoint-1", "checkpoint-2"]
    assert {p.name for p in (out / "checkpoint-2").glob("rng_state_*.pth")} == {"rng_state_0.pth", "rng_state_1.pth"}
    assert_one_final_model(out)
    assert done.stdout.count("trained 2 steps") == 1           # the summary line comes from the main process only
    built = cache / "models" / "tiny-qwen2"                    # built once, completely, despite two processes
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= {p.name for p in built.iterdir()}
    assert not [p for p in built.parent.iterdir() if p.name.startswith(".")], "a temporary build folder was left"


# ---------------------------------------------------------------- the papermill notebook

def test_train_notebook_runs_headless_with_papermill(tmp_path, cache_dir, monkeypatch):
    pm = pytest.importorskip("papermill")
    nb = json.loads((REPO / "nbs" / "train.ipynb").read_text())
    assert nb["cells"][0]["cell_type"] == "raw" and "skip_exec: true" in "".join(nb["cells"][0]["source"])
    assert any("parameters" in c.get("metadata", {}).get("tags", []) for c in nb["cells"])
    monkeypatch.setenv("GRPO_NB_CACHE", str(cache_dir))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    markers = {"HF_TOKEN": "hf_NOTEBOOKmarker81c2", "WANDB_API_KEY": "wandbNOTEBOOKmarker3f7e"}
    for name, value in markers.items(): monkeypatch.setenv(name, value)
    out = tmp_path / "train"
    # papermill's working directory is the notebook's folder (nbs/): the bare recipe name must still resolve.
    pm.execute_notebook(str(REPO / "nbs" / "train.ipynb"), str(tmp_path / "train.ipynb"), kernel_name="python3",
                        cwd=str(REPO / "nbs"), progress_bar=False,
                        parameters={"recipe": "demo.yaml", "output_dir": str(out), "max_steps": 2,
                                    "overrides": TINY + ["--save_steps", "1"]})
    assert json.loads((out / TRAIN_RESULTS_FILE).read_text())["global_step"] == 2
    assert (out / "training_curve.png").is_file()
    assert_one_final_model(out)
    executed = (tmp_path / "train.ipynb").read_text()
    assert "model saved in" in executed and "HF_TOKEN" not in executed
    for path in [tmp_path / "train.ipynb", *out.rglob("*")]:   # no secret in the notebook or anything the run wrote
        if path.is_file() and path.suffix not in (".safetensors", ".bin", ".pt", ".pth", ".png"):
            text = path.read_bytes().decode("utf-8", "replace")
            assert not any(m in text for m in markers.values()), f"secret marker in {path}"

    # run again into the finished folder (the README's papermill command after the quick start): shown, not retrained,
    # and the message names the papermill parameter that trains it again
    before = (out / TRAIN_RESULTS_FILE).read_bytes()
    pm.execute_notebook(str(REPO / "nbs" / "train.ipynb"), str(tmp_path / "again.ipynb"), kernel_name="python3",
                        cwd=str(REPO / "nbs"), progress_bar=False,
                        parameters={"recipe": "demo.yaml", "output_dir": str(out), "max_steps": 2,
                                    "overrides": TINY + ["--save_steps", "1"]})
    again = (tmp_path / "again.ipynb").read_text()
    assert "already holds a finished training run" in again and "-p overwrite True" in again
    assert "RunExistsError" not in again and (out / TRAIN_RESULTS_FILE).read_bytes() == before


# ---------------------------------------------------------------- SLURM and accelerate configs

FAKE_SLURM = {
    # scontrol: the job's two nodes; srun: run the command once per node, as SLURM does, with SLURM_NODEID set;
    # accelerate: print the launch it was asked for.
    "scontrol": 'printf "gpu-node-a\\ngpu-node-b\\n"\n',
    "srun": 'while [[ "$1" == --* ]]; do shift; done\n'
            'for node in $(seq 0 $((SLURM_NNODES - 1))); do SLURM_NODEID=$node SLURM_PROCID=$node "$@"; done\n',
    "accelerate": 'echo "accelerate $*"\n',
}


@pytest.mark.parametrize("script,recipe", [("train-gun.sh", "gun"), ("train-wage.sh", "wage")])
def test_slurm_script_launches_accelerate_once_per_node_with_the_right_ranks(tmp_path, script, recipe):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in FAKE_SLURM.items():
        (bin_dir / name).write_text("#!/bin/bash\n" + body)
        (bin_dir / name).chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "SLURM_SUBMIT_DIR": str(REPO),
           "SLURM_JOB_NODELIST": "gpu-node-[a-b]", "SLURM_NNODES": "2", "SLURM_GPUS_ON_NODE": "4",
           "SLURM_JOB_ID": "123", "RUN_DIR": str(tmp_path / "run")}
    done = subprocess.run(["bash", str(REPO / "slurm" / script), "--max_steps", "10"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    launches = [line for line in done.stdout.splitlines() if line.startswith("accelerate launch")]
    assert len(launches) == 2
    for rank, line in enumerate(launches):
        assert f"--num_machines 2 --machine_rank {rank} --main_process_ip gpu-node-a" in line
        assert "--num_processes 8" in line and "--config_file recipes/accelerate/zero2.yaml" in line
        assert line.endswith(f"-m grpo_nb train --recipe {recipe} --output_dir {tmp_path / 'run'}/train "
                             "--resume_from_checkpoint latest --max_steps 10")
    assert (tmp_path / "run" / "logs" / "train-123.log").read_text().count("accelerate launch") == 2


@pytest.mark.parametrize("name,kind", [("single_gpu", "NO"), ("ddp", "MULTI_GPU"), ("zero2", "DEEPSPEED"),
                                       ("zero3", "DEEPSPEED"), ("fsdp", "FSDP")])
def test_accelerate_configs_load(name, kind):
    from accelerate.commands.config.config_args import load_config_from_file
    config = load_config_from_file(str(REPO / "recipes" / "accelerate" / f"{name}.yaml"))
    assert str(config.distributed_type).endswith(kind) and config.mixed_precision == "bf16"
    if name.startswith("zero"): assert config.deepspeed_config["zero_stage"] == int(name[-1])
    if name == "fsdp": assert config.fsdp_config["fsdp_transformer_layer_cls_to_wrap"] == "Qwen2DecoderLayer"

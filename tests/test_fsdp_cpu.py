"""FSDP2 on two CPU processes (gloo), with `recipes/accelerate/fsdp.yaml`'s semantics: train, checkpoint, resume, save.

What is proven here: the demo recipe trains as 2 processes whose model is sharded with FSDP2 (`fully_shard`, one
Qwen2 decoder layer per unit, full state dict on save); it checkpoints in FSDP's format (`pytorch_model_fsdp.bin`,
one RNG state per rank); a run stopped after its first checkpoint resumes from it; and the saved model folder
loads with `from_pretrained` and holds exactly the weights the uninterrupted run ends with. What only a GPU
cluster can prove: bf16 mixed precision, NCCL, CPU-RAM-efficient loading, and speed (README: "GPU and SLURM").
accelerate never enables FSDP for CPU processes, so the launch goes through `tests/_fsdp_cpu_launch.py`, a shim
that upgrades accelerate's CPU state to FSDP and changes nothing else.
"""
import json, os, shutil, subprocess, sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="gloo process groups are tested on Linux")


def cpu_fsdp_config(tmp: Path) -> Path:
    "recipes/accelerate/fsdp.yaml for 2 CPU processes: no bf16 on CPU, no meta-device loading; the rest as it is."
    config = yaml.safe_load((ROOT / "recipes" / "accelerate" / "fsdp.yaml").read_text())
    assert config["distributed_type"] == "FSDP" and config["fsdp_config"]["fsdp_version"] == 2
    config.update(num_processes=2, use_cpu=True, mixed_precision="no")
    config["fsdp_config"]["fsdp_cpu_ram_efficient_loading"] = False
    path = tmp / "fsdp_cpu.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def launch(config: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ACCELERATE_USE_CPU": "true", "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(config), "--main_process_port",
           "0", str(ROOT / "tests" / "_fsdp_cpu_launch.py"), "--recipe", "demo", "--max_steps", "2",
           "--sft_warmup_steps", "40", "--sft_warmup_learning_rate", "5e-3", "--warmup_steps", "0", "--embedded_participants", "40", "--per_device_train_batch_size", "8",
           "--save_steps", "1", "--logging_steps", "1", "--output_dir", str(out), *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, cwd=out.parent)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


def weights(folder: Path) -> dict:
    from safetensors.torch import load_file
    return load_file(str(folder / "model.safetensors"))


def test_fsdp2_two_cpu_processes_train_resume_and_save(tmp_path):
    config = cpu_fsdp_config(tmp_path)
    full, resumed = tmp_path / "full" / "train", tmp_path / "resumed" / "train"
    full.parent.mkdir(); resumed.parent.mkdir()
    launch(config, full)
    result = json.loads((full / "train_results.json").read_text())
    # two processes, the model sharded by FSDP (accelerate wraps the class as FSDP<name>), FSDP-format checkpoints
    assert result["world_size"] == 2 and result["global_step"] == 2
    assert result["model"]["architecture"] == "FSDPQwen2ForCausalLM" and result["sft_warmup"]["sharded"]
    entries = [json.loads(l) for l in (full / "log_history.jsonl").read_text().splitlines()]
    assert all(e["grad_norm"] > 0 for e in entries if "loss" in e)     # GRPO had groups with reward spread to learn from
    for step in (1, 2):
        checkpoint = full / f"checkpoint-{step}"
        assert (checkpoint / "pytorch_model_fsdp.bin").is_file()
        assert (checkpoint / "rng_state_0.pth").is_file() and (checkpoint / "rng_state_1.pth").is_file()
    # the run, stopped after its first checkpoint: copy checkpoint-1 alone, then resume with `latest`
    resumed.mkdir()
    shutil.copytree(full / "checkpoint-1", resumed / "checkpoint-1")
    shutil.copy(full / "recipe.yaml", resumed / "recipe.yaml")
    shutil.copytree(full / "sft_warmup", resumed / "sft_warmup")
    launch(config, resumed, "--resume_from_checkpoint", "latest")
    again = json.loads((resumed / "train_results.json").read_text())
    assert again["world_size"] == 2 and again["global_step"] == 2
    assert again["resumed_from"].endswith("checkpoint-1")
    steps = [e["step"] for e in map(json.loads, (resumed / "log_history.jsonl").read_text().splitlines()) if "loss" in e]
    assert steps == [2], steps      # only the step after the checkpoint was trained again, none twice
    # the saved model loads as a plain model and holds the weights of the uninterrupted run's end
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained(str(resumed))
    assert type(model).__name__ == "Qwen2ForCausalLM"
    a, b = weights(full), weights(resumed)
    assert a.keys() == b.keys() and len(a) > 10
    import torch
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])][:5]
    warm = weights(full / "sft_warmup" / "model")   # the warm-up ran under FSDP too; GRPO then moved the weights
    assert a.keys() == warm.keys() and any(not torch.equal(a[k], warm[k]) for k in a)

"""Run `grpo_nb.train` as one process of an FSDP2 group on CPU (gloo).

accelerate treats CPU processes as `MULTI_CPU` and never turns on FSDP for them (state.py only upgrades GPU-like
distributed types), so under `accelerate launch --config_file <fsdp, use_cpu>` the trainer would silently fall back
to DDP. This shim upgrades the state to FSDP when `ACCELERATE_USE_FSDP` is set, and nothing else; the model is then
sharded with `fully_shard` over gloo exactly as on GPUs (`recipes/accelerate/fsdp.yaml` semantics).
"""
import os, sys
import accelerate.state as state

_init = state.AcceleratorState.__init__

def _init_allowing_cpu_fsdp(self, *args, fsdp_plugin=None, **kwargs):
    _init(self, *args, fsdp_plugin=fsdp_plugin, **kwargs)
    plugin = fsdp_plugin or getattr(self, "fsdp_plugin", None)   # later inits of the singleton pass no plugin
    if (os.environ.get("ACCELERATE_USE_FSDP", "false").lower() == "true" and plugin is not None
            and self.distributed_type == state.DistributedType.MULTI_CPU):
        self.distributed_type, self.fsdp_plugin = state.DistributedType.FSDP, plugin

state.AcceleratorState.__init__ = _init_allowing_cpu_fsdp

if __name__ == "__main__":
    from grpo_nb.cli import main
    sys.exit(main(["train", *sys.argv[1:]]))

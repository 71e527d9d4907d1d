"""The predecessor's four published recipes load as its users have them (`--config PATH`): every PPO-era key is
named as having no effect, with its reason, and the published reward is mapped to grpo_nb's rewards."""
import contextlib, io, logging
from pathlib import Path

import pytest

RECIPES = ["config_grpo_gun.yaml", "config_grpo_wage.yaml", "config_grail_gun.yaml", "config_grail_wage.yaml"]
PPO_ERA = ["kl_horizon", "kl_ctl_step_size", "reward_normalization", "advantage_normalization", "log_kl_per_token",
           "log_grad_norm_after_clip"]


@pytest.mark.parametrize("name", RECIPES)
def test_published_recipe_loads_and_names_what_has_no_effect(shared_data, name, caplog):
    from grpo_nb.cli import main
    from grpo_nb.config import load_recipe
    path = Path(shared_data) / "published-recipes" / name
    with caplog.at_level(logging.WARNING, logger="grpo_nb.config"):
        cfg = load_recipe(path, hardware_checks=False)
    notes = caplog.text
    for key in PPO_ERA: assert f"recipe key {key!r} has no effect: " in notes, key
    assert cfg.script.reward_funcs == ["accuracy", "opinion_direction"]
    assert "published average of next-video accuracy and opinion direction" in notes
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(["config", "--config", str(path)]) == 0


def test_did_you_mean_is_offered_only_for_a_close_key():
    from grpo_nb.config import unknown_key_message
    assert "did you mean 'learning_rate'" in unknown_key_message("learning_rat")
    assert "did you mean" not in unknown_key_message("discriminator_lr")   # (was: did you mean ask_opinion)
    assert "did you mean 'ask_opinion'" in unknown_key_message("ask_opinon")

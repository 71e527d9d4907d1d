"""Family 3 (issue 11, round 2): secrets inside URLs — query and fragment parameters of signed S3/GCS/Azure links,
`hf_token=`, `api-key=`, `#access_token=`, percent-encoded names, `Authorization: Bearer` headers and `user:pass@` —
never reach stderr, stdout, snapshots or records, while harmless parameters (`?split=train`, `revision=main`) stay."""
import json
import re
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from grpo_nb.config import (is_credential_key, is_secret_param_name, load_recipe, redact_record, redact_secrets,
                            save_recipe_snapshot)

REPO = Path(__file__).resolve().parent.parent
SECRET = "S3CR3TVALUE42"

SECRET_PARAMS = ["X-Amz-Security-Token", "X-Amz-Signature", "X-Amz-Credential", "hf_token", "api-key", "api_key",
                 "apikey", "access_token", "token", "sig", "Signature", "X-Goog-Signature", "X-Goog-Credential",
                 "AWSAccessKeyId", "client_secret", "password", "passwd", "pwd", "sessionid", "SESSION_TOKEN",
                 "auth", "authorization", "key", "X%2DAmz%2DSignature", "hf%5Ftoken", "jwt", "Cookie", "id_token",
                 "refresh-token", "PrivateKey"]
HARMLESS = ["split=train", "revision=main", "page=2", "format=parquet", "author=me", "keyword=guns", "sv=2021-08-06",
            "download=true", "name=study1"]


@pytest.mark.parametrize("name", SECRET_PARAMS)
@pytest.mark.parametrize("lead", ["?", "&", "#", ";"])
def test_a_secret_named_parameter_is_redacted_in_query_and_fragment(name, lead):
    url = f"https://bucket.example/data.parquet?split=train{lead if lead != '?' else '&'}{name}={SECRET}&page=2"
    if lead == "?": url = f"https://bucket.example/data.parquet?{name}={SECRET}&split=train&page=2"
    out = redact_secrets(url, {})
    assert SECRET not in out and f"{name}=[REDACTED]" in out
    assert "split=train" in out and "page=2" in out
    assert is_secret_param_name(name)


@pytest.mark.parametrize("param", HARMLESS)
def test_harmless_parameters_are_kept(param):
    url = f"https://h/x.parquet?{param}&other={param.split('=')[1]}"
    assert redact_secrets(url, {}) == url
    assert not is_secret_param_name(param.split("=")[0])


@pytest.mark.parametrize("text,clean", [
    ("https://h/x?next=https%3A%2F%2Fh%2Fy%3Ftoken%3DS3CR3TVALUE42%26page%3D2",
     "https://h/x?next=https%3A%2F%2Fh%2Fy%3Ftoken%3D[REDACTED]%26page%3D2"),              # a URL inside a URL
    ("https://h/x?sig=S3CR3TVALUE42%2Bmore%3D&sv=1", "https://h/x?sig=[REDACTED]&sv=1"),     # encoded value, whole
    ("https://me:S3CR3TVALUE42@h/x", "https://[REDACTED]@h/x"),
    ("https://:S3CR3TVALUE42@h/x", "https://[REDACTED]@h/x"),                                   # no user
    ("https://me:S3CR@3TVALUE42@h/x", "https://[REDACTED]@h/x"),                               # '@' in the password
    ("hf://datasets/x?token=S3CR3TVALUE42", "hf://datasets/x?token=[REDACTED]"),
    ("Authorization: Bearer S3CR3TVALUE42", "Authorization: Bearer [REDACTED]"),
    ("{'authorization': 'Basic S3CR3TVALUE42'}", "{'authorization': 'Basic [REDACTED]'}"),
    ("X-Api-Key: S3CR3TVALUE42", "X-Api-Key: [REDACTED]"),
    ("sent bearer S3CR3TVALUE42 to the hub", "sent bearer [REDACTED] to the hub"),
])
def test_other_spellings_of_a_credential(text, clean):
    assert redact_secrets(text, {}) == clean


def test_a_long_hostile_line_is_redacted_quickly():
    import time
    text = ("?" + "a" * 120 + "&token=" + "x" * 1000) * 2000 + "=" * 100_000
    start = time.perf_counter()
    out = redact_secrets(text, {})
    assert time.perf_counter() - start < 5 and "x" * 1000 not in out


def test_redact_record_of_nested_dicts_and_lists():
    record = {"recipe": {"dataset_mixture": [{"name": f"s3://b/x?X-Amz-Signature={SECRET}", "weight": 1},
                                             {"name": f"https://h/y#access_token={SECRET}", "weight": 2}]},
              "headers": [["Authorization", f"Bearer {SECRET}"]], "X-Amz-Security-Token": SECRET,
              "hub_token": SECRET, "api-key": SECRET, f"https://h/?hf_token={SECRET}": {"n": 3, "ok": True},
              "revision": "main", "tuple": ("u:plain", 1.5, None)}
    out = redact_record(record)
    assert SECRET not in json.dumps(out)
    assert out["recipe"]["dataset_mixture"][0] == {"name": "s3://b/x?X-Amz-Signature=[REDACTED]", "weight": 1}
    assert out["recipe"]["dataset_mixture"][1]["name"] == "https://h/y#access_token=[REDACTED]"
    assert out["headers"] == [["Authorization", "Bearer [REDACTED]"]]
    assert "X-Amz-Security-Token" not in out and "hub_token" not in out and "api-key" not in out
    assert out["https://h/?hf_token=[REDACTED]"] == {"n": 3, "ok": True}
    assert out["revision"] == "main" and out["tuple"] == ["u:plain", 1.5, None]   # no URL, no secret name: kept
    assert [is_credential_key(k) for k in ("X-Amz-Security-Token", "api-key", "client.secret", "max_length")] == \
        [True, True, True, False]


def test_a_recipe_snapshot_keeps_no_url_secret(tmp_path):
    url = f"https://h/gun.parquet?X-Amz-Credential={SECRET}&X-Amz-Signature={SECRET}&split=train"
    cfg = load_recipe("demo", ["--dataset_name", url, "--system_prompt", f"see https://h/?api-key={SECRET}"])
    text = save_recipe_snapshot(cfg, tmp_path / "config.yaml").read_text()
    assert SECRET not in text
    assert yaml.safe_load(text)["dataset_name"] == \
        "https://h/gun.parquet?X-Amz-Credential=[REDACTED]&X-Amz-Signature=[REDACTED]&split=train"


def test_log_records_are_redacted(caplog):
    from grpo_nb.pipeline import RedactSecrets
    record = logging.LogRecord("grpo_nb", logging.WARNING, __file__, 1, "loading %s", (f"https://h/x?hf_token={SECRET}",), None)
    assert RedactSecrets().filter(record) is not False
    assert SECRET not in record.getMessage() and "hf_token=[REDACTED]" in record.getMessage()


def cli(*args, timeout=120) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "grpo_nb", *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_grpo_nb_config_prints_no_url_secret():
    url = f"s3://b/x.parquet?X-Amz-Security-Token={SECRET}&hf_token={SECRET}&split=train#access_token={SECRET}"
    proc = cli("config", "--recipe", "demo", "--dataset_name", url)
    assert proc.returncode == 0, proc.stderr
    assert SECRET not in proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["dataset"] == ("s3://b/x.parquet?X-Amz-Security-Token=[REDACTED]&hf_token=[REDACTED]"
                                                  "&split=train#access_token=[REDACTED]")


def test_a_failing_prepare_names_the_dataset_without_its_secret(tmp_path):
    url = f"https://h/gun.parquet?api-key={SECRET}&X-Amz-Signature={SECRET}&revision=main"
    proc = cli("prepare", "--recipe", "demo", "--out", str(tmp_path / "p"), "--dataset_name", url)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert SECRET not in proc.stdout + proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("grpo-nb prepare: error: ") and "api-key=[REDACTED]&X-Amz-Signature=[REDACTED]&revision=main" in line


# ---------------------------------------------------------------- round 3 of the outside audit
@pytest.mark.parametrize("text, secret", [
    ("https://h.example.org/x.jsonl?pass=PASSSECRET1x9", "PASSSECRET1x9"),
    ("https://h.example.org/x.jsonl?pw=PWSECRET77a", "PWSECRET77a"),
    ("https://h.example.org/x.jsonl?passphrase=PHRASESECRET", "PHRASESECRET"),
    ("https://bob:ab?CREDSECRET9@host.example.org/x.jsonl", "CREDSECRET9"),
])
def test_round3_url_credentials_are_redacted(text, secret):
    from grpo_nb.core import redact_secrets
    out = redact_secrets(text, environ={})
    assert secret not in out and "[REDACTED]" in out, out


@pytest.mark.parametrize("name", ["AWS_SECRET_ACCESS_KEY", "GITHUB_PAT", "AWS_SESSION_TOKEN", "OPENAI_API_KEY",
                                  "DB_PASSWORD", "GH_TOKEN", "SLACK_SIGNING_KEY", "MY_CREDENTIALS"])
def test_round3_secret_environment_names_are_redacted_wherever_their_value_appears(name):
    from grpo_nb.core import redact_secrets
    value = "v4lue-" + name.lower()[:6] + "-x9y8z7"
    out = redact_secrets(f"https://h.example.org/{value}/x.jsonl?ref={value}", environ={name: value})
    assert value not in out and f"[REDACTED:{name}]" in out, out


def test_round3_harmless_environment_and_parameters_are_kept():
    from grpo_nb.core import redact_secrets, secret_values
    env = {"TOKENIZERS_PARALLELISM": "false-but-long", "HOME": "/root/somewhere", "PAGE": "1234567890"}
    assert secret_values(env) == {}
    text = "https://h.example.org/x.jsonl?split=train&revision=main&passage=3&page=2"
    assert redact_secrets(text, environ=env) == text


@pytest.mark.parametrize("overrides, words", [({"warmup_ratio": 2}, "fraction of the training steps in [0, 1)"),
                                              ({"warmup_ratio": -0.1}, "fraction of the training steps"),
                                              ({"bootstrap_resamples": 0}, "bootstrap_resamples must be >= 100"),
                                              ({"bootstrap_resamples": 50}, "bootstrap_resamples must be >= 100")])
def test_round3_ratios_and_resamples_that_cannot_mean_what_they_say_are_refused(overrides, words):
    from grpo_nb.config import RecipeError, load_recipe
    with pytest.raises(RecipeError, match=re.escape(words)): load_recipe("demo", overrides=overrides, hardware_checks=False)

"""Issue 13 item 5: torch's CPU threads are chosen from the cores available NOW (the affinity mask less the other
work busy on it at start-up), divided among this job's local processes; OMP_NUM_THREADS wins when a positive integer."""
import logging
import os
import subprocess
import sys
import time

import pytest

from grpo_nb import model as M


@pytest.mark.parametrize("cores, samples, local, omp, threads", [
    (2, [0.0, 0.05, 0.0], 1, None, 2),           # idle 2-core box: both cores, as before
    (2, [2.0, 1.97, 1.98], 1, None, 1),          # a neighbour busy on both cores: one thread
    (4, [1.1, 0.9, 1.0], 1, None, 3),            # one core's worth busy
    (16, [3.0, 12.0, 3.2], 1, None, 13),         # one sample's blip does not decide (median)
    (8, [40.0], 1, None, 1),                     # load far above the cores: never below 1
    (16, [1.0, 1.0, 1.0], 2, None, 8),           # the other local rank starting up is not foreign load
    (16, [5.0], 2, None, 6),                     # 4 foreign + 1 rank: 12 free cores / 2 ranks
    (2, [0.0], 4, None, 1),                      # more ranks than cores
    (6, None, 1, None, 6),                       # nothing measured (no /proc, no load average): plain cores
    (6, None, 3, None, 2),
    (16, [15.0], 1, "3", 3),                     # OMP_NUM_THREADS wins, even on a busy machine
    (2, [0.0], 1, " 4,2 ", 4),                   # OpenMP's nested list: the outer level
    (2, [0.0], 1, "zero", 2), (2, [2.0], 1, "0", 1), (2, [0.0], 1, "-1", 2), (2, [0.0], 1, "", 2),   # nonsense
])
def test_choice_from_made_up_measurements(cores, samples, local, omp, threads):
    assert M.choose_torch_threads(cores, samples, local, omp)[0] == threads


def test_reason_names_cores_busy_and_choice():
    assert M.choose_torch_threads(2, [1.96, 2.0, 1.99]) == (
        1, "2 cores, 2.0 busy with other work, 1 free / 1 local process(es) = 1")
    assert M.choose_torch_threads(16, [5.0], 2)[1] == (
        "16 cores, 5.0 busy with other work (4.0 beside this job's ranks), 12 free / 2 local process(es) = 6")
    ignored = M.choose_torch_threads(2, [0.0], 1, "zero")[1]
    assert ignored.endswith("OMP_NUM_THREADS='zero' ignored, not a positive integer")


@pytest.mark.parametrize("env, count", [
    ({}, 1), ({"WORLD_SIZE": "4"}, 4), ({"LOCAL_WORLD_SIZE": "2", "WORLD_SIZE": "8"}, 2),
    ({"LOCAL_WORLD_SIZE": "x", "WORLD_SIZE": "3"}, 3), ({"LOCAL_WORLD_SIZE": "0", "WORLD_SIZE": "-2"}, 1),
])
def test_local_process_count(env, count):
    assert M.local_process_count(env) == count


def test_torch_thread_count_does_not_measure_when_told():
    def measure(cpus): raise AssertionError("measured although OMP_NUM_THREADS decides")
    assert M.torch_thread_count({"OMP_NUM_THREADS": "5"}, cpus=range(2), measure=measure) == (5, "OMP_NUM_THREADS=5")
    busy = lambda cpus: ([2.0, 2.0, 2.0], "made up")
    assert M.torch_thread_count({"OMP_NUM_THREADS": "nope"}, cpus={0, 1}, measure=busy)[0] == 1
    assert M.torch_thread_count({"LOCAL_WORLD_SIZE": "2"}, cpus=range(8), measure=busy)[0] == 3   # 1 foreign: 7 // 2


def test_proc_stat_parsing_and_one_sample():
    stat = "cpu  1 2 3 4\ncpu0 10 0 5 80 5 0 0 0 0 0\ncpu1 50 1 20 20 0 0 0 9\ncpu12 1 1 1 1\ncpufreq x\nctxt 9\n"
    assert M.cpu_busy_ticks(stat, {0, 1, 3}) == {0: (15, 100), 1: (80, 100)}
    before, after = {0: (15, 100), 1: (80, 100)}, {0: (19, 104), 1: (82, 104)}
    assert M.busy_cores_between(before, after, own_cpu_s=0.0, wall_s=0.04) == 1.5
    assert M.busy_cores_between(before, after, own_cpu_s=0.04, wall_s=0.04) == 0.5     # this process's own share out


def test_missing_proc_falls_back_to_load_average_then_plain_cores(monkeypatch, tmp_path):
    everything = set(range(os.cpu_count() or 1))
    monkeypatch.setattr(M.os, "getloadavg", lambda: (3.0, 2.0, 1.0))
    assert M.other_busy_cores(everything, stat_path=str(tmp_path / "no-stat")) == ([3.0], "1-minute load average")
    if len(everything) > 1:   # a mask smaller than the machine: the machine-wide load says nothing about its cores
        assert M.other_busy_cores({0}, stat_path=str(tmp_path / "no-stat")) == (None, "no /proc/stat or load average")

    def no_loadavg(): raise OSError("no load average here")
    monkeypatch.setattr(M.os, "getloadavg", no_loadavg)
    missing = lambda cpus: M.other_busy_cores(cpus, stat_path=str(tmp_path / "no-stat"))
    assert M.torch_thread_count({}, cpus={0, 1, 2, 3}, measure=missing, quota=lambda: None) == (
        4, "4 cores, load not measurable, / 1 local process(es) = 4")


def test_a_cgroup_cpu_quota_caps_the_threads_and_is_named(tmp_path):
    "Docker's --cpus 3 on a 64-core host: the affinity mask says 64, the quota 3; 3 threads, and the reason says why."
    (tmp_path / "cgroup").write_text("0::/system.slice/job.scope\n")
    (tmp_path / "fs/system.slice/job.scope").mkdir(parents=True)
    (tmp_path / "fs/system.slice/job.scope/cpu.max").write_text("300000 100000\n")
    quota = lambda: M.cgroup_cpu_quota(str(tmp_path / "fs"), str(tmp_path / "cgroup"))
    threads, why = M.torch_thread_count({}, cpus=range(64), measure=lambda cpus: ([0.0, 0.0, 0.0], "idle"), quota=quota)
    assert threads == 3 and "a CPU quota of 3 core(s)" in why, why
    threads, why = M.torch_thread_count({"LOCAL_WORLD_SIZE": "2"}, cpus=range(64), measure=lambda c: ([1.0], "x"),
                                        quota=quota)
    assert threads == 1, why                                   # two ranks share 3 cores' worth: 1 each, not 1.5
    (tmp_path / "fs/system.slice/job.scope/cpu.max").write_text("max 100000\n")
    assert M.torch_thread_count({}, cpus=range(64), measure=lambda c: ([0.0], "idle"), quota=quota)[0] == 64


@pytest.mark.skipif(not os.path.exists("/proc/stat") or not hasattr(os, "sched_getaffinity"), reason="needs /proc")
def test_real_busy_neighbours_are_seen_and_leave_their_cores():
    "Spin one process per core (up to 4) on this process's cores: the measurement sees them, the choice leaves them."
    cpus = os.sched_getaffinity(0)
    if len(cpus) < 2: pytest.skip("one core: nothing to leave")
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(min(len(cpus), 4))]
    try:
        time.sleep(0.5)
        samples, how = M.other_busy_cores(cpus)
        threads, why = M.torch_thread_count({}, cpus=cpus)
    finally:
        for p in spinners: p.kill(); p.wait()
    assert how.startswith("/proc/stat") and len(samples) == 3, (samples, how)
    assert sorted(samples)[1] >= len(spinners) - 0.5, samples
    assert threads <= max(1, len(cpus) - len(spinners)), why


def test_configure_logs_the_choice_once(caplog, monkeypatch):
    code = ("import logging; logging.basicConfig(level=logging.INFO)\n"
            "from grpo_nb.model import configure_torch_threads as c\nprint(c(), c())")
    env = {k: v for k, v in os.environ.items() if k not in ("LOCAL_WORLD_SIZE", "WORLD_SIZE")}
    env["OMP_NUM_THREADS"] = "bogus"
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-2000:]
    lines = [l for l in run.stderr.splitlines() if "CPU thread" in l]
    assert len(lines) == 1, run.stderr[-2000:]
    threads = int(run.stdout.split()[0])
    assert run.stdout.split() == [str(threads)] * 2
    assert f"torch uses {threads} CPU thread(s): {len(os.sched_getaffinity(0))} cores, " in lines[0]
    assert "busy with other work" in lines[0] and f"= {threads};" in lines[0] and "'bogus' ignored" in lines[0]

"""`run --workers N` (or `--devices 0,1,...`): N processes on one results folder, one per device.

Each worker is `fer-bench run` with the same arguments, in a process of its own: on a GPU machine with
`CUDA_VISIBLE_DEVICES` set to its card, on a CPU pinned to its share of the cores. Sweeps share their
trials through the claim files that any two runs on one folder use (scheduling/claims.py), so every
worker forms its groups from what is left. A spec with a search is handed out by a chief on loopback
(`--chief`, distributed/chief.py), since a search proposes as scores come in. Each worker's lines come
out prefixed with its name; the exit code is the most serious of the processes'.
"""

import os
import socket
import subprocess
import sys
import threading

from fer_bench.errors import EXIT_OK, EXIT_TRIALS, UserError, WriteError

STRIPPED = ("--workers", "--devices")  # this launcher's own flags, not its workers'
SEVERITY = (UserError.exit_code, WriteError.exit_code, 4, 130, EXIT_TRIALS)  # 4: a worker lost its chief


def strip_flags(argv: list[str], flags=STRIPPED) -> list[str]:
    """argv without the given flags and their values (`--flag V` or `--flag=V`)."""
    kept, skip = [], False
    for token in argv:
        if skip:
            skip = False
        elif token in flags:
            skip = True
        elif not token.startswith(tuple(f"{flag}=" for flag in flags)):
            kept.append(token)
    return kept


def core_shares(workers: int) -> list[set[int]]:
    """This process's cores split into `workers` contiguous shares (shared round-robin if fewer cores)."""
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))
    if len(cores) < workers:
        return [{cores[i % len(cores)]} for i in range(workers)]
    size, extra = divmod(len(cores), workers)
    shares, start = [], 0
    for i in range(workers):
        end = start + size + (i < extra)
        shares.append(set(cores[start:end]))
        start = end
    return shares


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _pump(stream, label: str, out) -> None:
    for line in stream:
        out.write(f"[{label}] {line}")
        out.flush()


def _spawn(argv: list[str], label: str, env: dict, cores: set[int] | None) -> tuple[subprocess.Popen, list]:
    pin = (lambda: os.sched_setaffinity(0, cores)) if cores and hasattr(os, "sched_setaffinity") else None
    process = subprocess.Popen([sys.executable, "-m", "fer_bench", *argv], env={**os.environ, **env},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=pin)
    pumps = [threading.Thread(target=_pump, args=(process.stdout, label, sys.stdout), daemon=True),
             threading.Thread(target=_pump, args=(process.stderr, label, sys.stderr), daemon=True)]
    for pump in pumps:
        pump.start()
    return process, pumps


def _wait(processes: list[tuple[subprocess.Popen, list]]) -> list[int]:
    """Every process's exit code; an interrupt reaches them too (one process group), and is waited out."""
    codes = []
    for process, pumps in processes:
        while True:
            try:
                codes.append(process.wait())
                break
            except KeyboardInterrupt:
                continue
        for pump in pumps:
            pump.join()
    return codes


def combined(codes: list[int]) -> int:
    """The most serious exit code of the workers (a worker killed by a signal counts as a write failure)."""
    found = {WriteError.exit_code if code < 0 else code for code in codes} - {EXIT_OK}
    return next((code for code in SEVERITY if code in found), max(found, default=EXIT_OK))


def run_workers(argv: list[str], workers: int | None, devices: list[str] | None, searching: bool,
                rerun: bool) -> int:
    """Start the workers (and a chief for searches), wait for all of them; the combined exit code. `argv`:
    this command's, from its verb on."""
    count = len(devices) if devices else workers
    if devices and workers not in (None, len(devices)):
        raise UserError(f"--workers {workers} with --devices {','.join(devices)}: one worker per device; give "
                        "one of the two or as many workers as devices")
    if count is None or count < 2:
        raise UserError("--workers N: give 2 or more (a plain run is one worker)")
    if searching and rerun:
        raise UserError("fer-bench run --workers: a search is spread through a chief, which does not take --rerun; "
                        "retrain into a fresh --out or remove the records first (fer-bench clean)")
    base = strip_flags(argv)
    shares = [None] * count if devices else core_shares(count)
    envs = [{"CUDA_VISIBLE_DEVICES": d} for d in devices] if devices else [{}] * count
    processes = []
    if searching:
        port = free_port()
        processes.append(_spawn([*base, "--chief", "--host", "127.0.0.1", "--port", str(port)], "chief", {}, None))
        worker_argv = [*strip_flags(base, ("--only",)), "--worker", "--chief-address", f"127.0.0.1:{port}"]
        processes += [_spawn([*worker_argv, "--worker-id", f"worker-{i}"], f"worker {i}", envs[i], shares[i])
                      for i in range(count)]
    else:
        processes += [_spawn(base, f"worker {i}", envs[i], shares[i]) for i in range(count)]
    return combined(_wait(processes))

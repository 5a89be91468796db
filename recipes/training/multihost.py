"""Training on several processes or machines: Keras' JAX backend with `keras.distribution`.

`--strategy multihost` is Keras 3's own multi-host path: JAX's distributed
runtime forms the cluster and `keras.distribution.DataParallel` keeps one
replica of the model per device, so `model.fit` runs as on one machine, with
every process feeding its share of each global batch. (Keras 3's `fit` does
not run under TensorFlow's MultiWorkerMirroredStrategy, keras-team/keras#20585.)

The cluster is read from Keras' environment variables, with Slurm's as
fallback:

- `KERAS_DISTRIBUTION_JOB_ADDRESSES`: the coordinator's `host:port` (process
  0's), or every process's address, comma-separated, coordinator first;
- `KERAS_DISTRIBUTION_NUM_PROCESSES`: the number of processes;
- `KERAS_DISTRIBUTION_PROCESS_ID`: this process's id, 0 to N-1.

Under Slurm (`srun`), the count and id default to `SLURM_NTASKS` and
`SLURM_PROCID`, and the coordinator to the job's first node at a port derived
from the job id (as JAX's own Slurm detection does).

Before JAX's runtime starts, the processes meet at the coordinator's address
(`rendezvous`): JAX aborts the whole process with a C++ stack trace when a
peer or the coordinator never shows up, so the meeting is where a wrong
address, a missing process or an inconsistent description fails, within
`--cluster-timeout` seconds and with one line.
"""

from __future__ import annotations

import os
import re
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from zoo.errors import UsageError, ZooError

ADDRESSES = "KERAS_DISTRIBUTION_JOB_ADDRESSES"
NUM_PROCESSES = "KERAS_DISTRIBUTION_NUM_PROCESSES"
MAX_PROCESSES = 4096
"""The most processes a run may count (process 0 keeps a set of the ones it waits for)."""
HELLO_BYTES = 64
"""The longest greeting a process sends process 0 (`zoo INDEX PROCESSES`)."""
HELLO_SECONDS = 5.0
"""How long process 0 gives a connection to greet it before it drops the connection."""
PROCESS_ID = "KERAS_DISTRIBUTION_PROCESS_ID"
_HOW = (
    f"set {ADDRESSES} (process 0's host:port), {NUM_PROCESSES} and {PROCESS_ID} "
    "on every process, or start them with Slurm's srun"
)


class ClusterError(ZooError):
    """The processes of a multi-host run could not form their cluster."""


@dataclass(frozen=True)
class Cluster:
    """The processes of one multi-host run, seen from one of them.

    Attributes:
        coordinator: Process 0's `host:port`.
        processes: How many processes train together.
        index: This process's id; 0 is the coordinator and the only one
            that writes the run directory.
        source: Where the description came from (`environment` or `slurm`).
    """

    coordinator: str
    processes: int
    index: int
    source: str

    @property
    def host(self) -> str:
        """The coordinator's host."""
        return self.coordinator.rsplit(":", 1)[0]

    @property
    def port(self) -> int:
        """The coordinator's port."""
        return int(self.coordinator.rsplit(":", 1)[1])


def describe_cluster(environ: Mapping[str, str] | None = None) -> Cluster:
    """Reads the cluster from Keras' `KERAS_DISTRIBUTION_*` variables, or Slurm's.

    Args:
        environ: The environment (default: this process's).

    Returns:
        The cluster, checked for consistency.

    Raises:
        UsageError: A missing, malformed or inconsistent description.
    """
    env = os.environ if environ is None else environ
    slurm = "SLURM_JOB_ID" in env and "SLURM_PROCID" in env
    source = "environment" if ADDRESSES in env or not slurm else "slurm"
    processes = _integer(env, NUM_PROCESSES, env.get("SLURM_NTASKS") if slurm else None)
    index = _integer(env, PROCESS_ID, env.get("SLURM_PROCID") if slurm else None)
    addresses = env.get(ADDRESSES) or (_slurm_coordinator(env) if slurm else None)
    missing = [
        name
        for name, value in ((ADDRESSES, addresses), (NUM_PROCESSES, processes), (PROCESS_ID, index))
        if value is None
    ]
    if missing:
        raise UsageError(
            f"--strategy multihost needs the cluster: {', '.join(missing)} unset; {_HOW}."
        )
    assert processes is not None and index is not None and addresses is not None
    if not 1 <= processes <= MAX_PROCESSES:
        raise UsageError(f"{NUM_PROCESSES} must be 1 to {MAX_PROCESSES}. Received: {processes}")
    if not 0 <= index < processes:
        raise UsageError(
            f"{PROCESS_ID} must be 0 to {processes - 1} for {processes} processes. "
            f"Received: {index}"
        )
    listed = [address.strip() for address in addresses.split(",")]
    if len(listed) > 1 and len(listed) != processes:
        raise UsageError(
            f"{ADDRESSES} lists {len(listed)} addresses but {NUM_PROCESSES} is {processes}; "
            "give the coordinator's address alone, or one per process."
        )
    coordinator = listed[0]
    if (
        not re.fullmatch(r"[^\s:]+:\d{1,5}", coordinator)
        or not 0 < int(coordinator.rsplit(":", 1)[1]) < 65536
    ):
        raise UsageError(
            f"{ADDRESSES} must start with the coordinator's host:port, e.g. 10.0.0.1:12345. "
            f"Received: {coordinator!r}"
        )
    return Cluster(coordinator, processes, index, source)


def _integer(env: Mapping[str, str], name: str, fallback: str | None) -> int | None:
    raw = env.get(name, fallback)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise UsageError(f"{name} must be a whole number. Received: {raw!r}") from None


def _slurm_coordinator(env: Mapping[str, str]) -> str | None:
    nodes = env.get("SLURM_STEP_NODELIST") or env.get("SLURM_JOB_NODELIST")
    if not nodes:
        return None
    # The port JAX's Slurm detection picks: one of the top 4096, from the job id.
    port = int(env["SLURM_JOB_ID"]) % 4096 + 65536 - 4096
    return f"{first_slurm_host(nodes)}:{port}"


def first_slurm_host(nodelist: str) -> str:
    """The first host of a Slurm node list such as `gpu[003-010,012],cpu1`.

    Args:
        nodelist: `SLURM_JOB_NODELIST` or `SLURM_STEP_NODELIST`.

    Returns:
        The first host name, e.g. `gpu003`.
    """
    first = re.match(r"([^,\[]+)(?:\[([^\]]+)\])?", nodelist.strip())
    if first is None:
        return nodelist
    prefix, ranges = first.group(1), first.group(2)
    if not ranges:
        return prefix
    return prefix + re.split(r"[-,]", ranges)[0]


def rendezvous(cluster: Cluster, timeout: float) -> None:
    """Makes sure every process is there, with the same description, before JAX starts.

    Process 0 listens on the coordinator's port until the other processes
    have said who they are; each of them connects (retrying while the
    coordinator is not up yet) and waits for process 0's answer. Then process
    0 closes the port, and JAX's coordination service takes it over.

    Args:
        cluster: This process's view of the cluster.
        timeout: Seconds to wait for the others (or for the coordinator).

    Raises:
        ClusterError: A process did not come, or the processes disagree.
    """
    if cluster.processes == 1:
        return
    if cluster.index == 0:
        _gather(cluster, timeout)
    else:
        _report(cluster, timeout)


def _gather(cluster: Cluster, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    waiting = set(range(1, cluster.processes))
    peers: list[socket.socket] = []
    try:
        server = socket.create_server(("", cluster.port))
    except OSError as error:
        raise ClusterError(
            f"process 0 cannot listen on port {cluster.port} ({_reason(error)}); choose a free "
            f"port in {ADDRESSES}."
        ) from None
    with server:
        try:
            while waiting:
                server.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    peer, _ = server.accept()
                except TimeoutError:
                    missing = ", ".join(map(str, sorted(waiting)))
                    raise ClusterError(
                        f"process 0 waited {timeout:g} s at {cluster.coordinator} for process(es) "
                        f"{missing} of {cluster.processes}; start them all with the same cluster "
                        "settings (--cluster-timeout sets the wait)."
                    ) from None
                problem = _check_peer(peer, cluster, waiting, deadline)
                if problem is None:  # not a process of this run: dropped, the wait goes on
                    peer.close()
                    continue
                peers.append(peer)
                if problem:
                    peer.sendall(f"error {problem}\n".encode())
                    raise ClusterError(problem)
            for peer in peers:
                peer.sendall(b"ok\n")
        finally:
            for peer in peers:
                peer.close()


def _check_peer(
    peer: socket.socket, cluster: Cluster, waiting: set[int], deadline: float
) -> str | None:
    """What is wrong with a process that greeted process 0 ("": nothing).

    Returns `None` for a connection that is not a process of this run: one that
    says nothing, too slowly, too much, or something else within
    `HELLO_SECONDS` and `HELLO_BYTES`.
    """
    line = _read_line(peer, min(deadline, time.monotonic() + HELLO_SECONDS), HELLO_BYTES)
    words = (line or "").split()
    try:
        if len(words) != 3 or words[0] != "zoo":
            return None
        index, processes = int(words[1]), int(words[2])
    except ValueError:
        return None
    if processes != cluster.processes:
        return (
            f"process {index} counts {processes} processes, process 0 counts "
            f"{cluster.processes}; give every process the same {NUM_PROCESSES}"
        )
    if index not in waiting:
        return f"two processes have the id {index}; give each its own {PROCESS_ID}"
    waiting.discard(index)
    return ""


def _read_line(peer: socket.socket, deadline: float, limit: int) -> str | None:
    """One line of at most `limit` bytes, whole before `deadline`; `None` otherwise."""
    received = b""
    while b"\n" not in received:
        left = deadline - time.monotonic()
        if left <= 0 or len(received) >= limit:
            return None
        peer.settimeout(left)
        try:
            chunk = peer.recv(limit - len(received))
        except OSError:
            return None
        if not chunk:
            return None
        received += chunk
    return received.split(b"\n", 1)[0].decode("ascii", "replace")


def _report(cluster: Cluster, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((cluster.host, cluster.port), timeout=5) as conn:
                conn.sendall(f"zoo {cluster.index} {cluster.processes}\n".encode())
                conn.settimeout(max(1.0, deadline - time.monotonic()))
                answer = conn.makefile("r").readline().strip()
            break
        except OSError as error:  # refused, timed out, unknown host
            if time.monotonic() >= deadline:
                raise ClusterError(
                    f"process {cluster.index} could not reach the coordinator at "
                    f"{cluster.coordinator} within {timeout:g} s ({_reason(error)}); check that "
                    "process 0 runs there and the port is open (--cluster-timeout sets the wait)."
                ) from None
            time.sleep(0.2)
    if answer != "ok":
        raise ClusterError(answer.removeprefix("error ") or "process 0 closed the connection")


def _reason(error: BaseException) -> str:
    return getattr(error, "strerror", None) or type(error).__name__


def join_cluster(cluster: Cluster, timeout: float) -> None:
    """Meets the other processes, starts JAX's distributed runtime and Keras' data parallelism.

    Every device of every process holds one replica of the model; each
    process feeds its own share of every batch (`recipes.training.sharding`).
    `jax.distributed.initialize` is called directly rather than through
    `keras.distribution.initialize`, which cannot pass JAX's timeouts.

    Args:
        cluster: This process's view of the cluster.
        timeout: Seconds to wait for the others.

    Raises:
        UsageError: Keras does not run on JAX.
        ClusterError: The cluster could not form.
    """
    import keras

    if keras.backend.backend() != "jax":
        raise UsageError(
            "--strategy multihost runs on Keras' JAX backend: start every process with "
            f"KERAS_BACKEND=jax (this one runs {keras.backend.backend()}; "
            "pip install 'keras-zoo[multihost]' installs JAX)."
        )
    import jax

    global _joined
    if _joined is not None:
        if _joined != cluster:
            raise UsageError("this process already belongs to another cluster; start a new one.")
        return
    rendezvous(cluster, timeout)
    if cluster.processes > 1:
        jax.distributed.initialize(
            coordinator_address=cluster.coordinator,
            num_processes=cluster.processes,
            process_id=cluster.index,
            initialization_timeout=max(1, int(timeout)),
        )
    devices = keras.distribution.list_devices()
    keras.distribution.set_distribution(
        keras.distribution.DataParallel(devices=devices, auto_shard_dataset=False)
    )
    _joined = cluster


_joined: Cluster | None = None
"""The cluster this process joined: JAX's runtime starts once per process."""


def same_on_every_process(*arrays: Any) -> list[Any]:
    """Process 0's values of host arrays, on every process of a multi-host run.

    Values each process computes alike up to rounding (a probe fitted on the
    same features) must be equal to the last bit before they become weights:
    JAX refuses to place differing values as one replicated variable.
    `jax.experimental.multihost_utils.broadcast_one_to_all` sends process 0's.
    Without several JAX processes the arrays are returned as they are.

    Args:
        *arrays: NumPy arrays.

    Returns:
        The arrays, process 0's on every process.
    """
    import keras

    if keras.backend.backend() != "jax":
        return list(arrays)
    import jax

    if jax.process_count() == 1:
        return list(arrays)
    from jax.experimental import multihost_utils

    return [np.asarray(array) for array in multihost_utils.broadcast_one_to_all(tuple(arrays))]
